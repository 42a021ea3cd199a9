"""Multi-pass minibatch SGD on P fixed samples, linear regression and random features (docs/theory.md §6, §7).

Conventions (docs/theory.md §1): rows x_μ ~ N(0, Σ), y = w*·x + ε, ε ~ N(0, σ²); per-sample loss ½(f − y)²;
each step draws B indices uniformly *with replacement* from the P samples and applies
w ← w − η[(1/B) Σ_batch (f − y) x + γw] (ridge γ = weight decay every step), w(0) = 0; time = step
count.  Test risk R(t) = E[(w − w*)ᵀ M (w − w*)] + σ² (M = diag(pop.test_eigenvalues), includes σ²);
train loss L̂(t) = E (1/P) Σ_μ (f(x_μ) − y_μ)² without the ridge term.  Averages are over data,
label noise and batches.

Closure: the batch-noise covariance is replaced by its Gaussian (Wick, "C2") form
(1/B)[L̂(w)Σ̂ + g gᵀ].  The closed equations and their generating-function algebra are in
:mod:`theory.sgd_noise`; the test risk is R = R_GD + Dmean + R_noise with R_GD the full-batch GD risk.
Two evaluations of the same equations:

* :func:`multipass_sgd` — deterministic equivalents.  The Stieltjes sums at the roots x of
  1 − ζa(κ) come from the master equation κ(x) (docs/theory.md §3), with b = Xᵀy/P:
      Σ κ²/(κ + x) ≍ tr Σ − x d(κ),   Σ M̂_jj κ/(κ + x) ≍ Σ_k m_k λ_k/(λ_k + κ),
      B0(x) = bᵀ(Σ̂ + x)⁻¹b ≍ S − x Σ_k λ_k w*_k²/(λ_k + κ) + σ² d(κ)/P,
  and the forcing follows from B0 by partial fractions (γ = 0: E(κ)/κ + (σ²/P)(r − d(κ))/x, r = min(P, D)).
  The noise kernels see M only through diag(VᵀMV) ≍ one-point traces, which need only the diagonal
  of M in Σ's eigenbasis (all a :class:`Population` can express).
  R_GD is :func:`theory.full_batch.gradient_descent`.  Dmean is taken to first order in η²/B:
      Dmean(t) ≈ (η²/B) t W(t − 1),   W(τ) = E[bᵀφ^τ M φ^τ b],   φ = 1 − η(Σ̂ + γ),
  i.e. the norm of the GD mean gradient −φ^τ b (exact to this order for γ = 0; with γ > 0 the ridge
  part γ(1 − φ^τ)w_γ of the mean gradient is left out).  W is the diagonal of a two-point
  generating function, W̃(ζ1, ζ2) = Q(x(ζ1), x(ζ2))/(η²ζ1ζ2), x(ζ) = (1 − ζϕ)/(ζη), with
      Q(x, y) = bᵀ(Σ̂ + x)⁻¹M(Σ̂ + y)⁻¹b ≍ Σ m λ² w*²/((λ + κ)(λ + κ'))
                + [κκ' Σ λ w*²/((λ + κ)(λ + κ')) + σ²] dM/(1 − q)          (docs/theory.md §4).
* :func:`multipass_sgd_given_data` — the exact eigendecomposition of sampled Σ̂ (label noise
  averaged analytically), exact R_GD and exact C2 Dmean, averaged over draws.  Its difference from
  :func:`multipass_sgd` is the deterministic-equivalent (and first-order Dmean) error alone.

Stability (C2): every a_j < 1 and the SGD-noise kernel mass (η²/B) Σ_j κ_j²/(1 − a_j) < 1
(:func:`sgd_stability_margin`).  Beyond it E L̂ grows geometrically; both predictors then return
``inf`` for every step ≥ 1 rather than numbers from an invalid inversion.

The deterministic-equivalent sums (:class:`EquivalentSums`) and the stability margin also serve P = ∞, where the
train equation is the online risk equation: :mod:`theory.online_random_features`.
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.contours import (DEFAULT_CIRCLE_POINTS, DEFAULT_NODES, OSCILLATION_THRESHOLD, circle_points,
                                      fft_threshold, invert_generating_function, talbot_contour)
from twopoint.theory.feature_spaces import FeatureSpace, feature_space, sampled_top_eigenvalue
from twopoint.theory.full_batch import TrainTestCurves, gradient_descent
from twopoint.theory.online_linear import DIVERGENCE_FACTOR
from twopoint.theory.population import Population
from twopoint.theory.sgd_noise import StepRule, StieltjesSums, c2_transforms
from twopoint.theory.two_point import ModeSums, divided_differences

_NODE_CHUNK = 16  # generating-function nodes per (nodes × r × r) work array of the exact Dmean
CRITICAL_LR_RTOL = 1e-10  # sgd_critical_lr bisects until the bracket is this small relative to its upper end
# Singular values of a sampled X below this fraction of the largest are rounding (rank-deficient X, P < D):
# those directions have κ_j = 0, keep w = 0 and carry no weight.
SINGULAR_VALUE_RTOL = 1e-10


def step_rule(n_train, lr, batch, ridge) -> StepRule:
    """The validated SGD step (η, B, γ); raises ``ValueError`` unless P > 0, η > 0, B ≥ 1, γ ≥ 0."""
    if n_train <= 0 or lr <= 0 or batch < 1 or ridge < 0:
        raise ValueError(f"need P > 0, η > 0, B ≥ 1, γ ≥ 0; got {n_train}, {lr}, {batch}, {ridge}")
    return StepRule(float(lr), int(batch), float(ridge))


def integer_steps(steps) -> np.ndarray:
    """``steps`` as int64; raises ``ValueError`` unless they are non-negative integers."""
    steps = np.asarray(steps)
    if not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError("steps must be non-negative integers")
    return steps.astype(np.int64)


def diverged_curves(pop: Population, steps, start_train) -> TrainTestCurves:
    """The curves of unstable dynamics: the initial values at step 0, ``inf`` at every later step."""
    test = np.where(steps == 0, pop.initial_risk, np.inf)
    return TrainTestCurves(test, np.where(steps == 0, start_train, np.inf))


# --- deterministic equivalents --------------------------------------------------------------------
class EquivalentSums:
    """Deterministic-equivalent Stieltjes sums of :mod:`theory.sgd_noise` in a feature space.

    ``space`` is a :mod:`theory.feature_spaces` feature space (linear or random features; P = ∞ for online SGD,
    where κ(x) = x, the noise and rank terms vanish and the train equation is the online risk equation).
    """

    _FAMILIES = ("teacher_sigma", "sigma", "sigma_test")

    def __init__(self, space: FeatureSpace, ridge: float):
        self.space, self.ridge = space, ridge
        self.n_train = np.inf if space.n_train is None else float(space.n_train)
        self.rank = min(self.n_train, space.feature_rank)
        if ridge:
            self._b0_ridge, self._b1_ridge = self._b0_and_slope(ridge)

    def _b0_and_slope(self, x: float):
        """B0(x) and B1(x) = −B0'(x) = Σ_j b_j²/(κ_j + x)² at a real x > 0."""
        kappa, first, second = self.space.sums(np.asarray(x), self._FAMILIES)
        p, noise = self.n_train, self.space.noise_var
        d2 = first[1] - kappa * second[1]  # Σ μ²/(μ + κ)²
        slope = 1.0 / (1.0 - d2 / p)  # dκ/dx
        b0 = self.space.signal - x * first[0] + noise * first[1] / p
        b1 = first[0] - x * slope * second[0] + noise * slope * second[1] / p
        return float(b0), float(b1)

    def train_floor(self) -> float:
        """L̂_γ: σ² max(0, 1 − r/P) for γ = 0, S + σ² − B0(γ) − γB1(γ) otherwise."""
        noise = self.space.noise_var
        if not self.ridge:
            return noise * max(0.0, 1.0 - self.rank / self.n_train)
        return self.space.signal + noise - self._b0_ridge - self.ridge * self._b1_ridge

    def __call__(self, x) -> StieltjesSums:
        _, first, _ = self.space.sums(x, self._FAMILIES)
        signal, d, test = first[..., 0], first[..., 1], first[..., 2]
        noise, p = self.space.noise_var, self.n_train
        noise_kernel_train = self.space.trace - x * d
        if not self.ridge:
            forcing = signal + (noise * (self.rank - d) / (p * x) if np.isfinite(p) else 0.0)
            return StieltjesSums(forcing, np.zeros_like(forcing), noise_kernel_train, test)
        b0 = self.space.signal - x * signal + noise * d / p
        gap = x - self.ridge
        weights = (b0 - self._b0_ridge) / gap**2 + self._b1_ridge / gap
        return StieltjesSums(self._b1_ridge - x * weights, weights, noise_kernel_train, test)


_GRADIENT_FAMILIES = ("teacher_sigma2_test", "teacher_sigma", "sigma_test", "sigma_sigma")


def _gradient_norm_transform(space: FeatureSpace, rule: StepRule):
    """W̃(ζ1, ζ2) = Σ_{τ1,τ2} ζ1^τ1 ζ2^τ2 E[bᵀφ^τ1 M φ^τ2 b] (deterministic equivalent, module docstring)."""
    n_train = space.n_train

    def transform(rows, cols):
        sums = []
        for zeta in (rows, cols):
            x = (1.0 - zeta * rule.decay) / (zeta * rule.lr)
            sums.append(space.sums(x, _GRADIENT_FAMILIES))
        left = ModeSums(sums[0].kappa[..., :, None], *(a[..., :, None, :] for a in sums[0][1:]))
        right = ModeSums(sums[1].kappa[..., None, :], *(a[..., None, :, :] for a in sums[1][1:]))
        pairs = divided_differences(left, right)
        k1k2 = left.kappa[..., None] * right.kappa[..., None]
        q, dm = pairs[..., 3] / n_train, pairs[..., 2] / n_train
        bilinear = pairs[..., 0] + (k1k2[..., 0] * pairs[..., 1] + space.noise_var) * dm / (1.0 - q)
        return bilinear / (rule.lr**2 * rows[..., :, None] * cols[..., None, :])

    return transform


def _diagonal_coefficients(transform, taus, oscillating: bool, n_nodes: int, n_circle: int):
    """f(τ, τ) from F(ζ1, ζ2) = Σ f(τ1, τ2) ζ1^τ1 ζ2^τ2 (docs/theory.md §9.3 applied in both variables).

    ``transform(rows, cols)`` takes node arrays (..., n) and returns (..., n, n).  Early τ use the
    Cauchy circle in both variables (one 2-D FFT); later τ the product of two Talbot rules in
    u = −log ζ, with the contour shifted by iπ (weight (−1)^τ) added for oscillating modes.
    """
    out = np.empty(taus.shape)
    early = taus < max(fft_threshold(n_circle), n_nodes * (2 if oscillating else 1))
    if early.any():
        zeta, rho = circle_points(n_circle)
        coeffs = np.fft.fft2(transform(zeta, zeta)) / n_circle**2
        t = taus[early]
        out[early] = np.real(coeffs[t, t]) * rho ** (-2.0 * t)
    late = ~early
    if late.any():
        t = taus[late].astype(np.float64)
        u, w = talbot_contour(t, n_nodes, full=True)
        weights = w * np.exp(t[:, None] * u)
        nodes = np.exp(-u)
        if oscillating:
            sign = np.where(taus[late] % 2 == 0, 1.0, -1.0)[:, None]
            nodes = np.concatenate([nodes, -nodes], axis=1)
            weights = np.concatenate([weights, sign * weights], axis=1)
        values = transform(nodes, nodes)
        out[late] = np.real(np.einsum("tr,trc,tc->t", weights, values, weights))
    return out


class _Cached:
    """Evaluate (L̃, R̃_noise) once per node array and hand out either part."""

    def __init__(self, fn):
        self.fn, self.key, self.value = fn, None, None

    def part(self, index: int):
        def get(zeta):
            key = (zeta.shape, zeta.tobytes())
            if key != self.key:
                self.key, self.value = key, self.fn(zeta)
            return self.value[index]

        return get


def multipass_sgd(pop: Population, n_train, lr, batch, steps, ridge=0.0, *, n_features=None, include_dmean=True,
                  n_nodes: int = DEFAULT_NODES, n_circle: int = DEFAULT_CIRCLE_POINTS) -> TrainTestCurves:
    """Deterministic-equivalent test risk and train loss of multi-pass SGD at integer ``steps``.

    ``n_features`` N: random features f = v·(Fx) averaged over F (docs/theory.md §7: §6 with the random-feature
    dictionary of :mod:`theory.random_feature_equivalent`); None: linear regression.  ``include_dmean=False`` drops the
    mean-path term Dmean (for measuring its size).  Returns ``inf`` for every step ≥ 1 when the C2 dynamics
    is unstable (:func:`sgd_stability_margin` ≥ 1).
    """
    rule = step_rule(n_train, lr, batch, ridge)
    steps = integer_steps(steps)
    space = feature_space(pop, float(n_train), n_features)
    start_train = space.signal + space.noise_var
    top = sampled_top_eigenvalue(pop, float(n_train), n_features)
    if noise_kernel_mass(space, rule, top) >= 1.0:
        return diverged_curves(pop, steps, start_train)
    sums = EquivalentSums(space, rule.ridge)
    floor = sums.train_floor()
    cached = _Cached(lambda z: c2_transforms(rule, sums, floor, z))
    oscillating = rule.lr * (top + rule.ridge) > OSCILLATION_THRESHOLD
    kwargs = dict(n_nodes=n_nodes, n_circle=n_circle, oscillating=oscillating)
    train = invert_generating_function(cached.part(0), steps, **kwargs)
    noise = invert_generating_function(cached.part(1), steps, **kwargs)
    test = gradient_descent(pop, n_train, rule.ridge, rule.lr, steps, n_features=n_features, n_nodes=n_nodes,
                            n_circle=n_circle).test_risk
    test = test + noise
    if include_dmean and np.any(steps > 0):
        later = steps > 0
        taus = steps[later] - 1
        gradient_norm = _diagonal_coefficients(_gradient_norm_transform(space, rule), taus, oscillating, n_nodes,
                                               n_circle)
        test[later] += rule.noise_gain * steps[later] * gradient_norm
    return TrainTestCurves(test, train)


def sgd_stability_margin(pop: Population, n_train, lr, batch, ridge=0.0, n_features=None) -> float:
    """C2 noise-kernel mass (η²/B) E Σ_j κ_j²/(1 − a_j) (= (η/B) E tr Σ̂(2 − ηΣ̂(1 + 1/B))⁻¹ for γ = 0).

    Stable when < 1.  Returns ``inf`` when some a(κ) ≥ 1 on the deterministic-equivalent spectrum of
    Σ̂ (K̂ for random features; its right edge from :func:`theory.feature_spaces.sampled_top_eigenvalue`).
    It equals ζh k̃_tr(ζ) at ζ = 1, whose roots x1,2 are real: x2 ≥ 0 and x1 < −edge.  ``n_train`` None: online.
    """
    rule = step_rule(1.0 if n_train is None else n_train, lr, batch, ridge)
    n_train = None if n_train is None else float(n_train)
    top = sampled_top_eigenvalue(pop, n_train, n_features)
    return noise_kernel_mass(feature_space(pop, n_train, n_features), rule, top)


def noise_kernel_mass(space: FeatureSpace, rule: StepRule, top: float) -> float:
    """:func:`sgd_stability_margin` in a given feature space whose sampled spectrum ends at ``top``."""
    if rule.contraction(top) >= 1.0 or rule.contraction(0.0) > 1.0:
        return np.inf
    x1, x2, _ = (np.real(x) for x in rule.roots(1.0))
    noise_kernel = [space.trace - x * space.sums(np.asarray(x), ("sigma",)).first[..., 0] for x in (x1, x2)]
    return float(rule.noise_gain * (noise_kernel[0] - noise_kernel[1]) / (rule.curvature * (x1 - x2)))


def sgd_critical_lr(pop: Population, n_train, batch, ridge=0.0, n_features=None) -> float:
    """Largest η with :func:`sgd_stability_margin` < 1 (bisection to 1e-10 relative); ``n_train`` None: online."""
    n_train = None if n_train is None else float(n_train)
    space = feature_space(pop, n_train, n_features)
    top = sampled_top_eigenvalue(pop, n_train, n_features)
    lo, hi = 0.0, 2.0 / (top + ridge)
    while hi - lo > CRITICAL_LR_RTOL * hi:
        mid = 0.5 * (lo + hi)
        stable = noise_kernel_mass(space, step_rule(1.0, mid, batch, ridge), top) < 1.0
        lo, hi = (mid, hi) if stable else (lo, mid)
    return lo


# --- given data ------------------------------------------------------------------------------------
class _Sample:
    """Exact C2 quantities for one draw of X (label noise averaged analytically).

    With X = U diag(√(Pκ)) Vᵀ (thin SVD), b_j = β_j + n_j, β = κ∘(Vᵀw*), E n_j² = σ²κ_j/P, so
    w_j = b_j/(κ_j + γ) has mean ω_j = β_j/(κ_j + γ) and variance ν_j = σ²κ_j/(P(κ_j + γ)²).
    Only the range of Σ̂ (κ_j > 0) carries weight; null directions keep w = 0 and a = ϕ² ≤ 1.
    """

    def __init__(self, pop: Population, n_train: int, rule: StepRule, rng: np.random.Generator):
        self.pop, self.rule = pop, rule
        lam, p, noise = pop.eigenvalues, n_train, pop.noise_var
        x = rng.standard_normal((n_train, lam.size)) * np.sqrt(lam)
        _, sv, vt = np.linalg.svd(x, full_matrices=False)
        keep = sv > SINGULAR_VALUE_RTOL * sv.max()
        self.kappa, self.basis = sv[keep] ** 2 / p, vt[keep].T
        teacher = np.sqrt(pop.teacher_sq)
        beta = self.kappa * (self.basis.T @ teacher)
        shifted = self.kappa + rule.ridge
        self.mean, self.var = beta / shifted, noise * self.kappa / (p * shifted**2)
        self.second = self.mean**2 + self.var
        self.test = (self.basis * pop.test_eigenvalues[:, None]).T @ self.basis  # M̂ = VᵀMV
        self.test_diag = np.diag(self.test).copy()
        start = float(np.sum(self.kappa * (self.basis.T @ teacher) ** 2)) + noise  # w*ᵀΣ̂w* + σ²
        self.start_train = start
        fraction = (self.kappa + 2 * rule.ridge) / shifted**2
        self.floor = start - float(np.sum((beta**2 + noise * self.kappa / p) * fraction))

    def noise_kernel_mass(self) -> float:
        """(η²/B) Σ_j κ_j²/(1 − a_j) on this draw's spectrum (< 1 for stability)."""
        a = self.rule.contraction(self.kappa)
        if np.any(a >= 1.0) or self.rule.decay**2 > 1.0:
            return np.inf
        return float(self.rule.noise_gain * np.sum(self.kappa**2 / (1.0 - a)))

    def __call__(self, x) -> StieltjesSums:
        res = 1.0 / (self.kappa + x[..., None])
        k = self.kappa
        return StieltjesSums(res @ (k * self.second), res @ self.second, res @ (k * k), res @ (self.test_diag * k))

    def gd_risk(self, steps) -> np.ndarray:
        """Exact full-batch GD test risk: w_t = (1 − φ^t) w_γ in the eigenbasis."""
        return self.filtered_risk(self.rule.mean_factor(self.kappa)[None, :] ** steps[:, None])

    def filtered_risk(self, residual) -> np.ndarray:
        """Exact mean-path test risk for residual factors φ_t(κ_j + γ) (times, r): w_t = (1 − φ_t) w_γ."""
        grown = 1.0 - residual
        error = (grown * self.mean) @ self.basis.T - np.sqrt(self.pop.teacher_sq)
        return self.pop.noise_var + error**2 @ self.pop.test_eigenvalues + grown**2 @ (self.test_diag * self.var)

    def dmean_transform(self, zeta) -> np.ndarray:
        """Σ_t ζ^t Dmean(t) = hζ Σ_jl M̂_jl E[w_j w_l]/(1 − ζb_jl) Σ_s ζ^s (κ_jφ_j^s + γ)(κ_lφ_l^s + γ)."""
        rule, k = self.rule, self.kappa
        phi = rule.mean_factor(k)
        weight = self.test * np.outer(self.mean, self.mean) + np.diag(self.test_diag * self.var)
        pair_phi, pair_k = np.outer(phi, phi), np.outer(k, k)
        pair_b = pair_phi + rule.noise_gain * pair_k
        flat = np.asarray(zeta, dtype=np.complex128).reshape(-1)
        out = np.empty_like(flat)
        for start in range(0, flat.size, _NODE_CHUNK):
            z = flat[start : start + _NODE_CHUNK, None, None]
            source = pair_k / (1.0 - z * pair_phi)
            if rule.ridge:
                single = rule.ridge * k / (1.0 - z[..., 0] * phi)  # (nodes, r)
                source = source + single[:, :, None] + single[:, None, :] + rule.ridge**2 / (1.0 - z)
            out[start : start + _NODE_CHUNK] = np.sum(weight * source / (1.0 - z * pair_b), axis=(1, 2))
        return (rule.noise_gain * flat * out).reshape(np.shape(zeta))


def multipass_sgd_given_data(pop: Population, n_train, lr, batch, steps, *, n_draws, seed, ridge=0.0,
                             n_nodes: int = DEFAULT_NODES,
                             n_circle: int = DEFAULT_CIRCLE_POINTS) -> TrainTestCurves:
    """The closed C2 equations on the exact spectrum of sampled Σ̂, averaged over ``n_draws`` draws.

    Data X ~ N(0, Σ) is drawn with ``numpy.random.default_rng(seed)``; the label noise is averaged
    analytically.  A draw whose C2 dynamics is unstable makes every step ≥ 1 ``inf``.  Needs an
    uncompressed population (unit multiplicities).
    """
    rule = step_rule(n_train, lr, batch, ridge)
    steps = integer_steps(steps)
    if np.any(pop.multiplicity != 1.0):
        raise ValueError("given-data SGD needs an uncompressed population (unit multiplicities)")
    rng = np.random.default_rng(seed)
    test, train = np.zeros(steps.shape), np.zeros(steps.shape)
    for _ in range(int(n_draws)):
        sample = _Sample(pop, int(n_train), rule, rng)
        if sample.noise_kernel_mass() >= 1.0:
            curves = diverged_curves(pop, steps, sample.start_train)
        else:
            curves = _sample_curves(sample, rule, steps, n_nodes, n_circle)
        test += curves.test_risk / n_draws
        train += curves.train_loss / n_draws
    return TrainTestCurves(test, train)


def _sample_curves(sample: _Sample, rule: StepRule, steps, n_nodes, n_circle) -> TrainTestCurves:
    cached = _Cached(lambda z: c2_transforms(rule, sample, sample.floor, z))
    top = float(sample.kappa.max()) if sample.kappa.size else 0.0
    kwargs = dict(n_nodes=n_nodes, n_circle=n_circle, oscillating=rule.lr * (top + rule.ridge) > OSCILLATION_THRESHOLD)
    train = invert_generating_function(cached.part(0), steps, **kwargs)
    noise = invert_generating_function(lambda z: cached.part(1)(z) + sample.dmean_transform(z), steps, **kwargs)
    return TrainTestCurves(sample.gd_risk(steps) + noise, train)


# --- given data, any step sizes and momentum (docs/theory.md §15) ---------------------------------------------------
def _fluctuation_step(moments, rates, kappa, noise, eta, beta, nesterov):
    """One update of the SGD-noise moments A = E δe δeᵀ, C = E δe δbᵀ, Q = E δb δbᵀ (r × r, eigenbasis of Σ̂).

    δb' = βδb + Rδe + ξ with R = diag(κ + γ) and Cov ξ = ``noise``; heavy ball δe' = δe − η δb', Nesterov
    δe' = δe − η d, d = (1 + β)(Rδe + ξ) + β² δb (docs/theory.md §15).  A and Q are returned symmetrised.
    """
    a, c, q = moments
    ra = rates[:, None] * a * rates[None, :] + noise  # E g gᵀ, g = Rδe + ξ
    rc = rates[:, None] * c  # E g δbᵀ
    new_q = beta * beta * q + beta * (rc + rc.T) + ra
    x = beta * c + a * rates[None, :]  # E δe δb'ᵀ
    if not nesterov:
        new_a, new_c = a - eta * (x + x.T) + eta * eta * new_q, x - eta * new_q
    else:
        y = (1.0 + beta) * a * rates[None, :] + beta * beta * c  # E δe dᵀ
        dd = (1.0 + beta) ** 2 * ra + (1.0 + beta) * beta * beta * (rc + rc.T) + beta**4 * q
        db = (1.0 + beta) * (beta * rc + ra) + beta**3 * q + beta * beta * rc.T
        new_a, new_c = a - eta * (y + y.T) + eta * eta * dd, x - eta * db
    # A and Q are symmetric; the map above amplifies an antisymmetric part (rounding) by up to
    # 1 + η|r_j − r_l| + … per step, so it is projected out
    return 0.5 * (new_a + new_a.T), new_c, 0.5 * (new_q + new_q.T)


def _stepped_sample_curves(sample: _Sample, filt, batch: int, steps) -> TrainTestCurves:
    """Exact C2 moments of one sampled data set, stepped in time (docs/theory.md §15).

    Mean path: e̅_j = −φ_t(κ_j + γ) w_j (w = Vᵀw_γ, E w wᵀ = W over the label noise).  Fluctuations: A, C, Q of
    :func:`_fluctuation_step` with Cov ξ = (1/B)[L̂ diag(κ) + f W f + K A K], f = κφ + γ (the C2 closure of §6 with the
    mean data gradient −f w).  L̂(t) = L̂_γ + 2γ Σ φ_j W_jj + Σ κ_j (φ_j² W_jj + A_jj), R(t) = R_GD(t) + tr(M̂ A).
    Returns ``inf`` from the first step whose L̂ exceeds ``DIVERGENCE_FACTOR`` × L̂(0) or is not finite.
    """
    kappa, rates = sample.kappa, sample.kappa + sample.rule.ridge
    weights = np.outer(sample.mean, sample.mean) + np.diag(sample.var)
    beta, ridge, floor = filt.momentum, sample.rule.ridge, sample.floor
    zeros = np.zeros((kappa.size, kappa.size))
    moments = (zeros, zeros, zeros)
    phi, buffer = np.ones(kappa.size), np.zeros(kappa.size)
    residual = np.empty((steps.size, kappa.size))
    noise_risk, train = np.full(steps.shape, np.inf), np.full(steps.shape, np.inf)
    where = {int(t): i for i, t in enumerate(steps)}
    limit = DIVERGENCE_FACTOR * sample.start_train
    pair_kappa, diagonal = np.outer(kappa, kappa), np.diag_indices(kappa.size)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging draw overflows; the loss check stops it
        for s in range(int(steps.max(initial=0)) + 1):
            a = moments[0]
            loss = floor + 2.0 * ridge * np.sum(phi * np.diag(weights)) + np.sum(kappa * (phi * phi * np.diag(weights) + np.diag(a)))
            if not np.isfinite(loss) or loss > limit:
                break
            if s in where:
                i = where[s]
                residual[i], train[i], noise_risk[i] = phi, loss, np.sum(sample.test * a)
            if s == steps.max():
                break
            eta = filt.step_sizes[s]
            f = kappa * phi + ridge
            noise = (np.outer(f, f) * weights + pair_kappa * a) / batch
            noise[diagonal] += loss * kappa / batch
            moments = _fluctuation_step(moments, rates, kappa, noise, eta, beta, filt.nesterov)
            buffer = beta * buffer - phi
            phi = phi + eta * rates * ((beta * buffer - phi) if filt.nesterov else buffer)
    done = np.isfinite(train)
    test = np.full(steps.shape, np.inf)
    test[done] = sample.filtered_risk(residual[done]) + noise_risk[done]
    return TrainTestCurves(test, train)


def multipass_sgd_given_data_stepped(pop: Population, n_train, batch, filt, steps, *, n_draws, seed, ridge=0.0
                                     ) -> TrainTestCurves:
    """Multi-pass SGD with step sizes η_s and momentum β (``filt``: a :class:`~theory.residual_filter.ResidualFilter`):
    the C2 closure on exactly diagonalised sampled data sets, stepped in time and averaged over ``n_draws`` draws
    (docs/theory.md §15; draws as in :func:`multipass_sgd_given_data`, whose constant-rate β = 0 equations it
    reproduces).  A draw that diverges makes every later step ``inf``.  Cost O(T r²) per draw, r = min(P, D).
    """
    steps = integer_steps(steps)
    rule = step_rule(n_train, float(np.max(filt.step_sizes, initial=0.0)) or 1.0, batch, ridge)
    if np.any(pop.multiplicity != 1.0):
        raise ValueError("given-data SGD needs an uncompressed population (unit multiplicities)")
    if steps.size and steps.max() > filt.horizon:
        raise ValueError(f"steps beyond the {filt.horizon} step sizes given")
    rng = np.random.default_rng(seed)
    test, train = np.zeros(steps.shape), np.zeros(steps.shape)
    for _ in range(int(n_draws)):
        curves = _stepped_sample_curves(_Sample(pop, int(n_train), rule, rng), filt, int(batch), steps)
        test += curves.test_risk / n_draws
        train += curves.train_loss / n_draws
    return TrainTestCurves(test, train)

