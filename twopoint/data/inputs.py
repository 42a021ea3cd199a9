"""Non-Gaussian inputs for kernel machines, resolved into an eigen-spectrum and a teacher (docs/theory.md §8).

A kernel machine is linear regression in the kernel's eigenfeatures ψ_k(x) = √λ_k e_k(x): with the Mercer
decomposition K(x, x') = Σ_k λ_k e_k(x) e_k(x') under the input distribution (E e_j e_k = δ_jk) and the
target y*(x) = Σ_k c*_k e_k(x) + r(x), the theory sees the population Σ = diag(λ_k), w*_k = c*_k/√λ_k
(λ_k w*_k² = c*_k²) and the noise σ_e² = σ² + E r², where r is the part of the target outside the kept modes
(``residual_power``) and σ the label noise.  Labels are y = y*(x) + ε, ε ~ N(0, σ²); the test risk
E(f(x) − y)² includes σ².

``data.kind`` (each resolved by a function registered in :data:`INPUTS`):
* ``circle``: x uniform on [0, 1), ``periodic`` kernel with per-frequency eigenvalues μ_0..μ_M from
  ``model.kernel.spectrum`` (powerlaw: μ_m = scale (m + 1)^−α), modes (1, cos, sin, ...) as in
  :func:`twopoint.kernels.circle_mode_eigenvalues`; target Σ_k c*_k e_k from ``data.teacher`` in this basis.
* ``sphere``: x uniform on S^{d−1}, dot-product kernel truncated after degree L = ``model.kernel.max_degree``
  (eigenvalues by quadrature); zonal target y*(x) = Σ_ℓ √(N_ℓ p_ℓ) P_ℓ(x_1) with power p_ℓ in degree ℓ
  (``data.sphere.target_power``), i.e. one mode of each degree carries c*² = p_ℓ.
* ``digits``: the M = 1797 images of scikit-learn's ``load_digits`` (64 pixels, each standardised over the
  pool), the uniform measure on the pool; eigenpairs of the Gram matrix G/M = Σ_k λ_k v_k v_kᵀ give
  e_k(x_i) = √M v_k[i] and c*_k = v_kᵀy*/√M.  Target: ``one_vs_rest`` (±1 for ``digit``) or ``value``
  (the digit 0–9, standardised over the pool).

Modes with λ_k ≤ ``model.kernel.cutoff`` × max λ are dropped; their target power joins ``residual_power``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from twopoint.data.kernels import (DOT_PRODUCT, RADIAL, circle_mode_eigenvalues, dot_product_eigenvalues, euclidean_gram,
                              harmonic_multiplicity)
from twopoint.core.constraints import Options
from twopoint.core.errors import ConfigError
from twopoint.core.registry import Registry
from twopoint.data.spectra import build_spectrum, build_teacher

INPUTS: Registry = Registry("input distribution")
KERNELS_FOR = {"circle": ("periodic",), "sphere": DOT_PRODUCT, "digits": RADIAL}
POOL_SIZE = 1797


@dataclass(frozen=True)
class InputSpec:
    """Inputs, kernel and target of a kernel problem, with the eigen-data the theory sees.

    ``eigenvalues`` λ_k and ``coefficients`` c*_k of the kept modes; ``residual_power`` the target power
    outside them; ``label_noise_std`` the σ of the training labels.
    """

    kind: str
    kernel: str
    eigenvalues: np.ndarray
    coefficients: np.ndarray
    residual_power: float
    label_noise_std: float

    @property
    def teacher(self) -> np.ndarray:
        """w*_k = c*_k/√λ_k."""
        return self.coefficients / np.sqrt(self.eigenvalues)

    @property
    def target_power(self) -> float:
        """E y*(x)² under the input distribution."""
        return float(np.sum(self.coefficients**2) + self.residual_power)

    @property
    def effective_noise_std(self) -> float:
        """σ_e = √(σ² + residual power): the noise level of the Gaussian-equivalent problem."""
        return float(np.hypot(self.label_noise_std, np.sqrt(self.residual_power)))  # no overflow for huge σ


@dataclass(frozen=True)
class CircleInputs(InputSpec):
    """Fourier modes 1, cos(2πmx), sin(2πmx), m = 1..M (``eigenvalues`` has 2M + 1 entries)."""

    @property
    def frequencies(self) -> int:
        return (self.eigenvalues.size - 1) // 2


@dataclass(frozen=True)
class SphereInputs(InputSpec):
    """S^{dim−1}; ``degree_eigenvalues`` μ_ℓ of the simulated kernel (0 for dropped degrees), ``target_series``
    g_ℓ of the zonal target y*(x) = Σ_ℓ g_ℓ P_ℓ(x_1)."""

    dim: int
    degree_eigenvalues: np.ndarray
    target_series: np.ndarray


@dataclass(frozen=True)
class DigitsInputs(InputSpec):
    """The pool's Gram matrix G (M × M), the target y* on the pool, whether training points are drawn with
    replacement (iid from the pool) or without (a random subset), and the pool's Mercer features
    ψ(x_i) = √M v_k[i] √λ_k over *all* M modes (rows; ΨΨᵀ = G up to rounding, E_x ψψᵀ = diag λ)."""

    gram: np.ndarray
    target: np.ndarray
    replace: bool
    pool_features: np.ndarray


def _kept(eigenvalues: np.ndarray, cutoff: float) -> np.ndarray:
    return eigenvalues > cutoff * eigenvalues.max()


def _check_kernel(kind: str, kernel) -> None:
    """The kernel must suit the inputs (each key's own range is checked by the config's constraint tables)."""
    allowed = KERNELS_FOR[kind]
    Options(*allowed, description=f"one of {', '.join(allowed)} for data.kind={kind}").check("model.kernel.kind", kernel.kind)


@INPUTS.register("circle")
def circle_inputs(cfg, seed: int, noise_std: float) -> CircleInputs:
    kernel = cfg.model.kernel
    M = kernel.frequencies
    mu = build_spectrum(kernel.spectrum, "model.kernel.spectrum", M + 1)
    if np.any(mu <= 0):
        raise ConfigError("model.kernel.spectrum", "<spectrum>", "strictly positive eigenvalues")
    lam = circle_mode_eigenvalues(mu)
    teacher = build_teacher(cfg.data.teacher, "data.teacher", lam, seed)
    return CircleInputs("circle", "periodic", lam, np.sqrt(lam) * teacher, 0.0, noise_std)


@INPUTS.register("sphere")
def sphere_inputs(cfg, seed: int, noise_std: float) -> SphereInputs:
    kernel, s = cfg.model.kernel, cfg.data.sphere
    d, L = s.dim, kernel.max_degree
    power = np.asarray(list(s.target_power), dtype=np.float64)
    mu = dot_product_eigenvalues(kernel.kind, d, L, kernel.bandwidth)
    mu = np.where(_kept(mu, kernel.cutoff), mu, 0.0)
    degrees = np.flatnonzero(mu)
    mult = np.array([harmonic_multiplicity(d, int(ell)) for ell in degrees])
    lam = np.repeat(mu[degrees], mult)
    coeff = np.zeros(lam.size)
    in_target = degrees < power.size
    coeff[np.concatenate([[0], np.cumsum(mult)[:-1]])[in_target]] = np.sqrt(power[degrees[in_target]])
    residual = float(power.sum() - np.sum(coeff**2))
    g = np.sqrt(power * np.array([harmonic_multiplicity(d, ell) for ell in range(power.size)]))
    return SphereInputs("sphere", kernel.kind, lam, coeff, max(residual, 0.0), noise_std, d, mu, g)


def digits_pool() -> tuple[np.ndarray, np.ndarray]:
    """(images standardised per pixel over the pool (constant pixels stay 0), labels 0–9) of ``load_digits``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), data.target.astype(np.int64)


def digits_target(labels: np.ndarray, kind: str, digit: int) -> np.ndarray:
    if kind == "one_vs_rest":
        return np.where(labels == digit, 1.0, -1.0)
    return (labels - labels.mean()) / labels.std()


@lru_cache(maxsize=4)
def _digits_eigen(kernel: str, bandwidth: float, target: str, digit: int):
    """(Gram G, target y*, λ = eig(G/M) descending, c* = Vᵀy*/√M, Mercer features Ψ); cached: the
    eigendecomposition takes seconds."""
    x, labels = digits_pool()
    gram = euclidean_gram(x, kernel, bandwidth)
    y = digits_target(labels, target, digit)
    lam, vecs = np.linalg.eigh(gram / len(y))
    lam, vecs = lam[::-1], vecs[:, ::-1]
    features = vecs * np.sqrt(len(y) * np.clip(lam, 0.0, None))
    for a in (gram, y, lam, features):
        a.setflags(write=False)
    return gram, y, lam, vecs.T @ y / np.sqrt(len(y)), features


@INPUTS.register("digits")
def digits_inputs(cfg, seed: int, noise_std: float) -> DigitsInputs:
    kernel, g = cfg.model.kernel, cfg.data.digits
    P = cfg.data.n_train
    if P is not None and not g.replace and P > POOL_SIZE:
        raise ConfigError("data.n_train", P, f"at most the pool size {POOL_SIZE} without replacement (or data.digits.replace=true)")
    gram, y, lam, coeff, features = _digits_eigen(kernel.kind, float(kernel.bandwidth), g.target, int(g.digit))
    keep = _kept(lam, kernel.cutoff)
    residual = float(np.mean(y**2) - np.sum(coeff[keep] ** 2))
    return DigitsInputs("digits", kernel.kind, lam[keep].copy(), coeff[keep].copy(), max(residual, 0.0), noise_std,
                        gram, y, bool(g.replace), features)


def build_inputs(cfg, seed: int, noise_std: float) -> InputSpec:
    """Resolve ``data.kind`` with ``model.kernel`` (kind validated before any compute; every key's range is
    checked before, against the config's constraint tables, by :func:`twopoint.data.build.build_problem`)."""
    kind = cfg.data.kind
    builder = INPUTS.get(kind, "data.kind")
    _check_kernel(kind, cfg.model.kernel)
    return builder(cfg, seed, noise_std)
