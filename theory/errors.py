"""Errors raised by the theory solvers instead of returning unreliable numbers."""


class ConvergenceError(RuntimeError):
    """A numerical solver (root finder, branch continuation, inversion) did not converge."""
