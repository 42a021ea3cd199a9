"""Spectral functions of the population and the master equation with its solver (docs/theory.md §3, §9.1).

For the population covariance Σ = diag(λ_k) with teacher weights w*_k (all sums over modes k are
weighted by ``pop.multiplicity``):

    d(ω)  = Σ λ/(λ + ω),          d2(ω) = Σ λ²/(λ + ω)²,
    E(ω)  = Σ λ w*² ω/(λ + ω),     e2(ω) = dE/dω = Σ λ² w*²/(λ + ω)²     (E(∞) = S = w*ᵀΣw*).

:func:`spectral_d` and :func:`spectral_E` evaluate d and E; the derivatives d2 and e2 are taken in the same pass
as d and E where they are needed (the slope of the master equation here; :mod:`theory.random_feature_equivalent`),
all through :func:`resolvent_moments`.

Master equation (random features N, training samples P; ``None`` stands for ∞):

    s = ω (1 − d(ω)/N)(1 − d(ω)/P),      ω1 = ω (1 − d(ω)/N).

Linear regression is N = ∞, where ω1 = ω = κ is the renormalised ridge of λ(Σ̂ + λ)⁻¹ ≍ κ(Σ + κ)⁻¹
with λ = s.  With an explicit ridge γ pass s + γ.

Physical branch: for real s > 0 the unique root ω > ω*, where d(ω*) = min(N, P) (ω* = 0 when
min(N, P) ≥ D); for complex s its analytic continuation, with sign(Im ω) = sign(Im s) and
ω(s̄) = conj ω(s).  s = 0 returns the limit ω*.  Real s < 0 is accepted only where the branch
continues analytically through the negative axis (to the left of the spectrum of −Σ̂, e.g. the
nodes of discrete-time contours); there ω is real.  Inside the spectrum the solver raises.

All functions are vectorised over ω or s arrays of any shape; mode sums are computed in chunks of
nodes so that the work arrays stay bounded.  Every result is float64 / complex128.
"""

from __future__ import annotations

import functools

import numpy as np
from threadpoolctl import ThreadpoolController

from twopoint.theory.errors import ConvergenceError
from twopoint.theory.population import Population

_CHUNK_ELEMENTS = 1 << 16  # nodes × modes per work array (1 MiB complex, cache-sized)
# Solver of docs/theory.md §9.1.  Real root: bisection in log ω to a relative bracket of _BISECTION_RTOL (at most
# _BISECTION_STEPS halvings), then _REAL_NEWTON_STEPS Newton steps clipped to the bracket (quadratic from 1e-3:
# 1e-6, 1e-12, rounding).  Complex s: _NEWTON_PER_STEP Newton steps at each of n points of the arc |s| e^{iφ j/n},
# n from _ARC_STEPS (finer arcs only for the arguments that failed), then at most _POLISH_STEPS Newton steps until
# the step is below _POLISH_TOL relative.  Accepted when the residual is below _RESIDUAL_TOL (|s| + |ω|) and Im ω
# has the sign of Im s (to _IMAG_SIGN_RTOL |ω|); real s must give |Im ω| ≤ _REAL_AXIS_RTOL |ω|.
_BISECTION_RTOL = 1e-3
_BISECTION_STEPS = 200
_REAL_NEWTON_STEPS = 4
_ARC_STEPS = (12, 48, 192)
_NEWTON_PER_STEP = 2
_POLISH_STEPS = 20
_POLISH_TOL = 1e-13
_RESIDUAL_TOL = 1e-11
_IMAG_SIGN_RTOL = 1e-10
_REAL_AXIS_RTOL = 1e-8
# The physical real root is bracketed above by max(|s| + tr Σ (1/N + 1/P), tr Σ max(1/N, 1/P)) grown by this
# relative margin (and _TINY, for |s| = 0 limits), so that rounding cannot put the root outside the bracket.
_BRACKET_MARGIN = 1e-12
_TINY = 1e-300  # smallest positive scale: floors of the log brackets
# ω* (d(ω*) = min(N, P)): the lower bracket starts at tr Σ/min(N, P) and shrinks by _OMEGA_STAR_SHRINK until
# d(lo) > min(N, P); brentq in log ω then solves to _OMEGA_STAR_TOL (xtol and rtol).
_OMEGA_STAR_SHRINK = 1e-3
_OMEGA_STAR_TOL = 1e-15
_BRENT_MAX_ITERATIONS = 500
_BLAS = ThreadpoolController()


def single_threaded_blas(func):
    """Run ``func`` with one BLAS thread: the mode sums are many small matrix–vector products,
    for which thread hand-off costs more than it gains (and stalls badly on busy cores)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _BLAS.limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


@single_threaded_blas
def resolvent_moments(omega, eigenvalues, first_weights, second_weights=None):
    """Σ_k a_k/(λ_k + ω) and Σ_k b_k/(λ_k + ω)² for every ω.

    ``first_weights`` (D,) or (D, m) and ``second_weights`` likewise (or ``None``).  Returns arrays
    of shape ``omega.shape`` (+ ``(m,)`` for 2-D weights); the second is ``None`` when not asked.
    """
    omega = np.asarray(omega)
    flat = omega.reshape(-1)
    lam = np.asarray(eigenvalues, dtype=np.float64)
    dtype = np.result_type(flat, 1.0)
    chunk = max(1, _CHUNK_ELEMENTS // max(lam.size, 1))
    first = np.empty(flat.shape + np.shape(first_weights)[1:], dtype=dtype)
    second = None
    if second_weights is not None:
        second = np.empty(flat.shape + np.shape(second_weights)[1:], dtype=dtype)
    buffer = np.empty((min(chunk, flat.size), lam.size), dtype=dtype)
    for start in range(0, flat.size, chunk):
        block = slice(start, start + chunk)
        res = buffer[: flat[block].size]
        np.add(lam[None, :], flat[block, None], out=res)
        np.reciprocal(res, out=res)
        first[block] = res @ first_weights
        if second is not None:
            np.multiply(res, res, out=res)
            second[block] = res @ second_weights
    first = first.reshape(omega.shape + first.shape[1:])
    if second is not None:
        second = second.reshape(omega.shape + second.shape[1:])
    return first, second


def _d_and_d2(omega, pop: Population):
    lam, mult = pop.eigenvalues, pop.multiplicity
    return resolvent_moments(omega, lam, mult * lam, mult * lam * lam)


def spectral_d(omega, pop: Population):
    """d(ω) = Σ λ/(λ + ω)."""
    return resolvent_moments(omega, pop.eigenvalues, pop.multiplicity * pop.eigenvalues)[0]


def spectral_E(omega, pop: Population):
    """E(ω) = Σ λ w*² ω/(λ + ω)  (E(0) = 0, E(∞) = S)."""
    omega = np.asarray(omega)
    weights = pop.multiplicity * pop.eigenvalues * pop.teacher_sq
    return omega * resolvent_moments(omega, pop.eigenvalues, weights)[0]


def omega1(omega, pop: Population, n_features=None):
    """ω1 = ω (1 − d(ω)/N); equals ω for N = ∞ (``None``)."""
    omega = np.asarray(omega)
    if n_features is None:
        return omega
    return omega * (1.0 - spectral_d(omega, pop) / n_features)


def _inverse_sizes(n_train, n_features):
    inv_n = 0.0 if n_features is None else 1.0 / float(n_features)
    inv_p = 0.0 if n_train is None else 1.0 / float(n_train)
    return inv_n, inv_p


def _master_and_slope(omega, pop, inv_n, inv_p):
    """s(ω) and ds/dω (docs/theory.md §3)."""
    d, d2 = _d_and_d2(omega, pop)
    a, b = 1.0 - d * inv_n, 1.0 - d * inv_p
    return omega * a * b, a * b + (d - d2) * (inv_n * b + inv_p * a)


def critical_omega(pop: Population, n_train=None, n_features=None) -> float:
    """ω* with d(ω*) = min(N, P); 0 when min(N, P) ≥ number of modes with λ > 0."""
    sizes = [float(n) for n in (n_train, n_features) if n is not None]
    rank = float(np.sum(pop.multiplicity[pop.eigenvalues > 0]))
    if not sizes or min(sizes) >= rank:
        return 0.0
    target = min(sizes)
    trace = float(np.sum(pop.multiplicity * pop.eigenvalues))
    hi = trace / target  # d(ω) ≤ tr Σ/ω
    lo = hi
    while spectral_d(lo, pop) <= target:
        lo *= _OMEGA_STAR_SHRINK
        if lo < _TINY:
            raise ConvergenceError("could not bracket ω* (d(ω*) = min(N, P))")
    from scipy.optimize import brentq  # imported where used: scipy.optimize costs ~0.3 s of start-up

    root = brentq(lambda x: float(spectral_d(np.exp(x), pop)) - target, np.log(lo), np.log(hi),
                  xtol=_OMEGA_STAR_TOL, rtol=_OMEGA_STAR_TOL, maxiter=_BRENT_MAX_ITERATIONS)
    return float(np.exp(root))


def _real_root(radius, pop, inv_n, inv_p, omega_star):
    """Physical root ω > ω* of s(ω) = radius > 0 by bisection in log ω, then Newton."""
    trace = float(np.sum(pop.multiplicity * pop.eigenvalues))
    lo = np.maximum(radius, omega_star)  # s(ω) ≤ ω on the branch, and s(ω*) = 0
    cap = trace * max(inv_n, inv_p)  # beyond it both factors of s(ω) lie in [0, 1]
    hi = np.maximum(radius + trace * (inv_n + inv_p), cap) * (1.0 + _BRACKET_MARGIN) + _TINY
    log_lo, log_hi = np.log(lo), np.log(hi)
    for _ in range(_BISECTION_STEPS):
        if np.all(log_hi - log_lo <= _BISECTION_RTOL):
            break
        mid = 0.5 * (log_lo + log_hi)
        below = _master_and_slope(np.exp(mid), pop, inv_n, inv_p)[0] < radius
        log_lo = np.where(below, mid, log_lo)
        log_hi = np.where(below, log_hi, mid)
    omega = np.exp(0.5 * (log_lo + log_hi))
    for _ in range(_REAL_NEWTON_STEPS):
        value, slope = _master_and_slope(omega, pop, inv_n, inv_p)
        step = (value - radius) / slope
        omega = np.clip(omega - step, np.exp(log_lo), np.exp(log_hi))
    return omega


def _continue_on_arcs(s, start, pop, inv_n, inv_p, n_steps):
    """Newton continuation from the real root at |s| along |s| e^{iφ j/n}, then polish."""
    radius, phase = np.abs(s), np.angle(s)
    omega = start.astype(np.complex128)
    for j in range(1, n_steps + 1):
        target = radius * np.exp(1j * phase * j / n_steps)
        for _ in range(_NEWTON_PER_STEP):
            value, slope = _master_and_slope(omega, pop, inv_n, inv_p)
            omega = omega - (value - target) / slope
    for _ in range(_POLISH_STEPS):
        value, slope = _master_and_slope(omega, pop, inv_n, inv_p)
        step = (value - s) / slope
        omega = omega - step
        if np.all(np.abs(step) <= _POLISH_TOL * np.abs(omega)):
            break
    return omega


def _accepted(s, omega, pop, inv_n, inv_p):
    value = _master_and_slope(omega, pop, inv_n, inv_p)[0]
    scale = np.abs(s) + np.abs(omega)
    ok = np.isfinite(omega) & (np.abs(value - s) <= _RESIDUAL_TOL * scale)
    im_tol = _IMAG_SIGN_RTOL * np.abs(omega)
    upper, lower, on_axis = s.imag > 0, s.imag < 0, s.imag == 0
    ok &= ~upper | (omega.imag > -im_tol)
    ok &= ~lower | (omega.imag < im_tol)
    ok &= ~on_axis | (np.abs(omega.imag) <= _REAL_AXIS_RTOL * np.abs(omega))
    return ok


@single_threaded_blas
def solve_master(s, pop: Population, n_train=None, n_features=None):
    """ω(s) on the physical branch of s = ω (1 − d(ω)/N)(1 − d(ω)/P) (docs/theory.md §9.1).

    ``s`` may be any array shape.  Complex input returns complex128; real input returns float64
    (real s ≥ 0 always; real s < 0 only outside the spectrum, see the module docstring).
    Raises :class:`ConvergenceError` when the residual or branch checks fail after refining arcs.
    """
    s_in = np.asarray(s)
    is_real = not np.iscomplexobj(s_in)
    flat = s_in.astype(np.complex128).reshape(-1)
    inv_n, inv_p = _inverse_sizes(n_train, n_features)
    omega_star = critical_omega(pop, n_train, n_features)
    out = np.empty_like(flat)
    zero = flat == 0
    out[zero] = omega_star
    nonzero = ~zero
    if nonzero.any():
        out[nonzero] = _solve_nonzero(flat[nonzero], pop, inv_n, inv_p, omega_star)
    on_axis = flat.imag == 0
    out[on_axis] = out[on_axis].real
    out = out.reshape(s_in.shape)
    return out.real if is_real else out


def _solve_nonzero(s, pop, inv_n, inv_p, omega_star):
    if inv_n == 0.0 and inv_p == 0.0:
        return s.copy()
    start = _real_root(np.abs(s), pop, inv_n, inv_p, omega_star)
    omega = np.empty_like(s)
    pending = np.arange(s.size)
    for n_steps in _ARC_STEPS:
        trial = _continue_on_arcs(s[pending], start[pending], pop, inv_n, inv_p, n_steps)
        ok = _accepted(s[pending], trial, pop, inv_n, inv_p)
        omega[pending[ok]] = trial[ok]
        pending = pending[~ok]
        if pending.size == 0:
            return omega
    bad = s[pending]
    raise ConvergenceError(
        f"master equation: {bad.size} argument(s) failed the residual/branch checks after "
        f"{_ARC_STEPS[-1]} arc steps (e.g. s = {bad[0]!r}; real s < 0 inside the spectrum of −Σ̂ "
        f"has no single-valued branch)"
    )
