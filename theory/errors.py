"""Errors raised by the theory solvers instead of returning unreliable numbers (docs/theory.md §9.1, §3)."""

from twopoint.core.errors import TwopointError


class ConvergenceError(TwopointError, RuntimeError):
    """A numerical solver (root finder, branch continuation, inversion) did not converge."""
