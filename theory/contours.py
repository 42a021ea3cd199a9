"""Numerical inversion of Laplace transforms and generating functions (docs/theory.md §9.2–§9.3).

Two inversions are provided, both vectorised over all requested times at once:

* :func:`invert_laplace` — fixed Talbot contour (Abate–Valkó) for a continuous-time Laplace
  transform ``F(s) = ∫_0^∞ e^{-st} f(t) dt``:  ``f(t) ≈ Re Σ_k w_k e^{t s_k} F(s_k)``.
* :func:`invert_generating_function` — a discrete-time sequence from its generating function
  ``G(ζ) = Σ_{t≥0} f(t) ζ^t``.  With ``ζ = e^{-u}``, ``f(t) = (2πi)^{-1} ∫ G(e^{-u}) e^{ut} du``
  is an inverse Laplace transform in ``u`` whose singularities sit on the real axis (modes with
  a positive contraction factor ``a = e^{u}``) or on ``Im u = π`` (oscillating modes, ``a < 0``).
  Late times use the Talbot contour in ``u`` (valid while the contour stays inside the strip
  ``|Im u| < 2π``, i.e. ``t > 2M/5``; ``t > 4M/5`` with oscillating modes); early times use the
  Cauchy/FFT formula on the circle ``|ζ| = ρ = 10^{-11/n}`` (aliasing error ~1e-11).

Callables receive complex arrays of any shape and must return arrays of the same shape.
Accuracy (measured in tests): ``M = 16`` nodes agree with ``M = 24`` to ~1e-9.
The GD, multi-pass SGD and online curves of :mod:`theory.full_batch`, :mod:`theory.multipass_sgd`,
:mod:`theory.online_linear` and :mod:`theory.online_random_features` all invert through this module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ComplexFn = Callable[[np.ndarray], np.ndarray]

DEFAULT_NODES = 16  # Talbot nodes M: agrees with M = 12 and 24 to ~2e-8 (docs/theory.md §9.2)
DEFAULT_CIRCLE_POINTS = 128  # Cauchy-circle points n_c: 128 and 256 agree to ~1e-9 on the early steps (§10)
CIRCLE_ALIASING_DIGITS = 11.0  # circle radius ρ = 10^(−11/n_c): the aliasing error is ~1e-11 (docs/theory.md §9.3)
CIRCLE_STEP_FRACTION = 4  # the circle serves steps t < n_c/4, where rounding grows by ρ^(−t) ≤ 10^(11/4) ≈ 1e3
# η(λ̂_max + γ) above which the Talbot contour shifted by iπ is added (§9.3).  Mean factors 1 − η(λ + γ) turn
# negative only at 1; switching at 0.95 also covers sampled eigenvalues a little above the deterministic-equivalent
# edge λ̂_max (they fluctuate about it by O(P^(−2/3)), §3), and without negative factors the extra contour adds ~0.
OSCILLATION_THRESHOLD = 0.95


def talbot_contour(times: np.ndarray, n_nodes: int = DEFAULT_NODES, *, full: bool = False):
    """Nodes ``s`` and weights ``w`` of the fixed Talbot contour for each time.

    Returns arrays of shape ``(len(times), n)``.  With ``full=False`` (``n = n_nodes``) only the
    upper half of the contour is returned and the weights already include the factor 2 of
    conjugate symmetry, so that for a real-valued ``f`` with ``F(s̄) = conj F(s)``
    ``f(t) ≈ Re Σ_k w_k e^{t s_k} F(s_k)``.  With ``full=True`` (``n = 2 n_nodes − 1``) the whole
    contour is returned with plain weights, ``f(t) ≈ Σ_k w_k e^{t s_k} F(s_k)``; use this for
    products of transforms in several variables (2-D inversion: ``Σ_{k,l} w_k w_l …``).
    """
    times = np.asarray(times, dtype=np.float64)
    if np.any(times <= 0):
        raise ValueError("Talbot inversion needs strictly positive times")
    theta = np.arange(1, n_nodes) * np.pi / n_nodes
    cot = 1.0 / np.tan(theta)
    shape = np.concatenate([[1.0 + 0.0j], theta * (cot + 1j)])  # s / r
    sigma = np.concatenate([[0.0], theta + (theta * cot - 1.0) * cot])
    r = (2.0 * n_nodes / (5.0 * times))[:, None]  # Abate–Valkó's r = 2M/(5t) (docs/theory.md §9.2)
    nodes = r * shape[None, :]
    weights = (r / (2.0 * n_nodes)) * (1.0 + 1j * sigma)[None, :]
    if full:
        nodes = np.concatenate([np.conj(nodes[:, :0:-1]), nodes], axis=1)
        weights = np.concatenate([np.conj(weights[:, :0:-1]), weights], axis=1)
    else:
        weights = weights * np.where(np.arange(n_nodes) == 0, 1.0, 2.0)[None, :]
    return nodes, weights


def invert_laplace(transform: ComplexFn, times: np.ndarray, n_nodes: int = DEFAULT_NODES) -> np.ndarray:
    """``f(times)`` from its Laplace transform by the fixed Talbot rule (real ``f``, ``t > 0``)."""
    times = np.asarray(times, dtype=np.float64)
    nodes, weights = talbot_contour(times, n_nodes)
    values = transform(nodes)
    return np.real(np.sum(weights * np.exp(times[:, None] * nodes) * values, axis=1))


def circle_points(n_points: int = DEFAULT_CIRCLE_POINTS):
    """Points ``ζ_j = ρ e^{2πij/n}`` and radius ``ρ = 10^{-11/n}`` of the Cauchy/FFT circle."""
    rho = 10.0 ** (-CIRCLE_ALIASING_DIGITS / n_points)
    return rho * np.exp(2j * np.pi * np.arange(n_points) / n_points), rho


def invert_on_circle(values_on_circle: np.ndarray, rho: float, steps: np.ndarray) -> np.ndarray:
    """Coefficients ``f(t)`` for integer ``0 ≤ t < n`` from ``G`` sampled by :func:`circle_points`.

    ``values_on_circle`` may carry trailing batch axes after the circle axis.
    """
    n = values_on_circle.shape[0]
    coeffs = np.fft.fft(values_on_circle, axis=0) / n
    steps = np.asarray(steps, dtype=np.int64)
    scale = rho ** (-steps.astype(np.float64))
    return np.real(coeffs[steps]) * scale.reshape((-1,) + (1,) * (coeffs.ndim - 1))


def fft_threshold(n_circle: int = DEFAULT_CIRCLE_POINTS) -> int:
    """Steps below this use the circle; the round-off amplification ρ^{-t} stays below ~1e3."""
    return n_circle // CIRCLE_STEP_FRACTION


def invert_generating_function(
    generating_fn: ComplexFn,
    steps: np.ndarray,
    *,
    n_nodes: int = DEFAULT_NODES,
    n_circle: int = DEFAULT_CIRCLE_POINTS,
    oscillating: bool = False,
) -> np.ndarray:
    """Sequence values ``f(steps)`` from ``G(ζ) = Σ_t f(t) ζ^t`` (docs/theory.md §9.3).

    ``oscillating=True`` adds the Talbot contour shifted by ``iπ`` (weight ``(−1)^t``) for
    sequences with negative contraction factors (GD with ``η λ > 1``).
    """
    steps = np.asarray(steps, dtype=np.int64)
    if np.any(steps < 0):
        raise ValueError("steps must be non-negative")
    out = np.empty(steps.shape, dtype=np.float64)
    early = steps < max(fft_threshold(n_circle), n_nodes * (2 if oscillating else 1))
    if early.any():
        zeta, rho = circle_points(n_circle)
        if steps[early].max() >= n_circle // 2:
            raise ValueError("too few circle points for the requested early steps")
        out[early] = invert_on_circle(generating_fn(zeta), rho, steps[early])
    late = ~early
    if late.any():
        t = steps[late].astype(np.float64)
        out[late] = invert_laplace(lambda u: generating_fn(np.exp(-u)), t, n_nodes)
        if oscillating:
            shifted = invert_laplace(lambda v: generating_fn(-np.exp(-v)), t, n_nodes)
            out[late] += np.where(steps[late] % 2 == 0, 1.0, -1.0) * shifted
    return out
