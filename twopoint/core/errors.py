"""The exceptions twopoint raises; library code raises them and never exits the process.

:class:`TwopointError` is the root.  :class:`ConfigError` (also a ``ValueError``) is an invalid input,
named by its config key; the command line maps it to exit code 2.  Numerical solvers raise
:class:`twopoint.theory.errors.ConvergenceError` (a ``RuntimeError``) when they do not converge.
"""

from __future__ import annotations


class TwopointError(Exception):
    """Base class of every error twopoint raises on purpose."""


class ConfigError(TwopointError, ValueError):
    """A config value is invalid; the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is invalid: {allowed}")
