"""Kernel functions and their Mercer spectra w.r.t. an input distribution (docs/theory.md §8).

Convention: K(x, x') = Σ_k λ_k e_k(x) e_k(x') with eigenfunctions orthonormal under the input
distribution (E e_j e_k = δ_jk), so Σ_k λ_k = E K(x, x).

* Euclidean kernels of the squared distance r² = ‖x − x'‖² (bandwidth ℓ):
  ``rbf`` exp(−r²/(2ℓ²)), ``laplace`` exp(−r/ℓ).
* Dot-product kernels on the sphere S^{d−1}, functions of t = x·x' (radial kernels with r² = 2 − 2t), plus
  ``relu_ntk``: the neural tangent kernel of a two-layer ReLU network without biases,
  k(t) = t κ0(t) + κ1(t), κ0 = (π − arccos t)/π, κ1 = (t(π − arccos t) + √(1 − t²))/π (k(1) = 2).
  Funk–Hecke: k(x·x') = Σ_ℓ μ_ℓ N(d, ℓ) P_ℓ(x·x'), with P_ℓ the Gegenbauer polynomial normalised to
  P_ℓ(1) = 1 (Chebyshev T_ℓ for d = 2, Legendre for d = 3) and N(d, ℓ) the number of degree-ℓ spherical
  harmonics; the eigenvalue μ_ℓ (multiplicity N(d, ℓ)) is μ_ℓ = E_t[k(t) P_ℓ(t)], t = x·x' for independent
  uniform x, x', i.e. μ_ℓ = ∫_0^π k(cos θ) P_ℓ(cos θ) sin^{d−2}θ dθ / ∫_0^π sin^{d−2}θ dθ, evaluated by
  Gauss–Legendre quadrature in θ (the integrands are smooth in θ).
* The circle x ∈ [0, 1) is S¹ (d = 2, θ = 2πx): a translation-invariant kernel
  K(x, x') = μ_0 + Σ_{m≥1} 2 μ_m cos(2πm(x − x')) has the eigenfunctions 1, √2 cos(2πmx), √2 sin(2πmx)
  with eigenvalues μ_0, μ_m, μ_m.
"""

from __future__ import annotations

from math import comb

import numpy as np

RADIAL = ("rbf", "laplace")
DOT_PRODUCT = ("rbf", "laplace", "relu_ntk")


def radial_profile(kind: str, sq_dist, bandwidth: float):
    """k(r²) of a radial kernel with length scale ``bandwidth``."""
    if kind == "rbf":
        return np.exp(-np.asarray(sq_dist) / (2.0 * bandwidth**2))
    if kind == "laplace":
        return np.exp(-np.sqrt(np.maximum(sq_dist, 0.0)) / bandwidth)
    raise ValueError(f"unknown radial kernel {kind!r}; one of {RADIAL}")


def relu_ntk(t):
    """NTK of a two-layer ReLU network on the sphere, as a function of t = x·x' ∈ [−1, 1]."""
    t = np.clip(t, -1.0, 1.0)
    angle = np.pi - np.arccos(t)
    return (2.0 * t * angle + np.sqrt(1.0 - t * t)) / np.pi


def dot_product_profile(kind: str, t, bandwidth: float):
    """k(t) of a kernel on the unit sphere, t = x·x'."""
    if kind == "relu_ntk":
        return relu_ntk(t)
    return radial_profile(kind, 2.0 - 2.0 * np.asarray(t), bandwidth)


def euclidean_gram(x: np.ndarray, kind: str, bandwidth: float) -> np.ndarray:
    """Gram matrix K(x_i, x_j) of a radial kernel on the rows of ``x`` (float64)."""
    from scipy.spatial.distance import cdist  # loaded on first use (digits only)
    return radial_profile(kind, cdist(x, x, "sqeuclidean"), bandwidth)


def harmonic_multiplicity(dim: int, degree: int) -> int:
    """N(d, ℓ): the dimension of the degree-ℓ spherical harmonics on S^{d−1} (2 for d = 2, ℓ ≥ 1)."""
    if degree == 0:
        return 1
    return (2 * degree + dim - 2) * comb(degree + dim - 3, degree - 1) // degree


def zonal_table(t, max_degree: int, dim: int) -> list:
    """[P_0(t), ..., P_L(t)]: Gegenbauer polynomials on S^{d−1} normalised to P_ℓ(1) = 1.

    Three-term recurrence P_{ℓ+1} = [(2ℓ + d − 2) t P_ℓ − ℓ P_{ℓ−1}] / (ℓ + d − 2), P_0 = 1, P_1 = t.
    Uses arithmetic operators only, so ``t`` may be a numpy array or a torch tensor.
    """
    table = [t * 0 + 1, t]
    for ell in range(1, max_degree):
        table.append(((2 * ell + dim - 2) * t * table[ell] - ell * table[ell - 1]) / (ell + dim - 2))
    return table[: max_degree + 1]


def zonal_sums(t, coefficient_sets, dim: int) -> list:
    """[Σ_ℓ c[ℓ] P_ℓ(t) for c in coefficient_sets]: several zonal series from one pass of the recurrence of
    :func:`zonal_table`, holding two polynomials at a time (memory of a few ``t``, whatever the degree; in-place
    updates, as this is the inner loop of the sphere simulators).  Zero coefficients are skipped; ``t`` may be a
    numpy array or a torch tensor."""
    sets = [[float(c) for c in cs] for cs in coefficient_sets]
    sums = [t * 0.0 for _ in sets]  # floating point even for integer t, never aliasing t
    prev, cur = None, t * 0.0 + 1.0
    for ell in range(max(len(cs) for cs in sets)):
        for i, cs in enumerate(sets):
            if ell < len(cs) and cs[ell] != 0.0:
                sums[i] += cs[ell] * cur
        if ell == 0:
            prev, cur = cur, t * 1.0
        else:
            nxt = t * cur
            nxt *= (2 * ell + dim - 2) / (ell + dim - 2)
            nxt -= (ell / (ell + dim - 2)) * prev
            prev, cur = cur, nxt
    return sums


def zonal_series(t, coefficients, dim: int):
    """Σ_ℓ coefficients[ℓ] P_ℓ(t) (numpy array or torch tensor ``t``); zero coefficients are skipped."""
    return zonal_sums(t, [coefficients], dim)[0]


def dot_product_eigenvalues(kind: str, dim: int, max_degree: int, bandwidth: float, nodes: int | None = None) -> np.ndarray:
    """μ_0..μ_L of a dot-product kernel on S^{dim−1} under the uniform measure (Funk–Hecke, quadrature in θ)."""
    if dim < 2:
        raise ValueError(f"the sphere needs dim >= 2, got {dim}")
    n = nodes or 4 * max_degree + 400
    from scipy.special import roots_legendre  # loaded on first use (sphere only)

    u, w = roots_legendre(n)
    theta = 0.5 * np.pi * (u + 1.0)
    weight = w * np.sin(theta) ** (dim - 2)
    t = np.cos(theta)
    k = dot_product_profile(kind, t, bandwidth)
    table = np.array(zonal_table(t, max_degree, dim))
    return table @ (weight * k) / weight.sum()


def circle_mode_eigenvalues(frequency_eigenvalues: np.ndarray) -> np.ndarray:
    """Eigenvalues of the Fourier modes (1, cos 1, sin 1, cos 2, sin 2, ...) from μ_0..μ_M."""
    mu = np.asarray(frequency_eigenvalues, dtype=np.float64)
    return np.concatenate([mu[:1], np.repeat(mu[1:], 2)])
