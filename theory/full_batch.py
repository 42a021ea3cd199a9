"""Full-batch gradient flow / gradient descent on P samples: the two-point deterministic equivalent (docs/theory.md §5).

Linear regression, and random features averaged over F with ``n_features`` N (docs/theory.md §7); the feature space
comes from :mod:`theory.feature_spaces`.  Multi-pass minibatch SGD on the same P samples is :mod:`theory.multipass_sgd`.

Conventions (docs/theory.md §1): rows x_μ ~ N(0, Σ), y = w*·x + ε with ε ~ N(0, σ²), Σ̂ = XᵀX/P,
b = Xᵀy/P, ridge γ ≥ 0, w(0) = 0.  Per-sample loss ½(f − y)², so
    gradient flow (continuous time t):  dw/dt = −(Σ̂ + γ) w + b,
    gradient descent (integer steps t): w ← w − η[(Σ̂ + γ) w − b]   (≈ gradient flow at time ηt).
Reported curves are averages over the data (deterministic equivalents):
    test risk  R(t) = E[(w − w*)ᵀ M (w − w*)] + σ²   (M = diag(pop.test_eigenvalues); includes σ²),
    train loss L̂(t) = E[(1/P) Σ_μ (w·x_μ − y_μ)²]   (no ridge term).

Double Laplace transforms (z_i = s_i + γ, κ_i = κ(z_i) from the master equation with N = ∞,
q = (1/P) tr(ΣGΣG'), dM = (1/P) tr(ΣGMG'), sums from :mod:`theory.two_point`):
    Ê(s1, s2) = [κ1κ2 w*ᵀGMG'w* + dM/(1 − q) (κ1κ2 w*ᵀGΣG'w* + σ²)] / (s1 s2),
    L̃(s1, s2) = z1 z2 [κ1κ2 w*ᵀΣGG'w* + σ²] / (κ1κ2 (1 − q) s1 s2).
The curves are the diagonal t1 = t2 = t of the double inversion
    f(t, t) = Σ_{k,l} W_k W_l F(S_k, S_l),
a product of two one-dimensional rules whose weights W carry the time dependence:
  * gradient flow: fixed Talbot nodes S and weights w e^{tS};
  * gradient descent: s(u) = expm1(u)/η with weights w e^{u(t+1)}/η on Talbot nodes u for late
    steps (plus the contour shifted by iπ, weight (−1)^t, when η(λ̂_max + γ) > ``OSCILLATION_THRESHOLD``), and the
    Cauchy circle ζ = e^{−u}, |ζ| = ρ, weights ζ^{−(t+1)}/(nη) for early steps (docs/theory.md §9.3).
The rules are conjugate-symmetric, so rows use the non-redundant half of the nodes (doubled) and
columns the whole set: κ is solved once per distinct node.  Coinciding nodes use the diagonal limits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from twopoint.theory.contours import (DEFAULT_CIRCLE_POINTS, DEFAULT_NODES, OSCILLATION_THRESHOLD, circle_points,
                                      fft_threshold, talbot_contour)
from twopoint.theory.errors import ConvergenceError
from twopoint.theory.feature_spaces import PAIR_FAMILIES, FeatureSpace, feature_space, sampled_top_eigenvalue
from twopoint.theory.population import Population
from twopoint.theory.two_point import pair_sums

_TIME_CHUNK = 128  # times per (times × nodes × nodes) work array of the double inversion
# Ridgeless static limit: P within this relative distance of the feature rank counts as P = rank (divergent).
RANK_EQUALITY_RTOL = 1e-9


class TrainTestCurves(NamedTuple):
    """Test risk (including σ²) and train loss at the requested times."""

    test_risk: np.ndarray
    train_loss: np.ndarray


class _Rule(NamedTuple):
    """One-dimensional quadrature in s: nodes (T or 1, n), weights (T, n), real nodes (n,)."""

    nodes: np.ndarray
    weights: np.ndarray
    real: np.ndarray


def _join(*rules: _Rule) -> _Rule:
    count = max(r.nodes.shape[0] for r in rules)
    nodes = [np.broadcast_to(r.nodes, (count, r.nodes.shape[1])) for r in rules]
    return _Rule(np.concatenate(nodes, axis=1), np.concatenate([r.weights for r in rules], axis=1),
                 np.concatenate([r.real for r in rules]))


def _mirror(half, real):
    """Append the conjugates of the non-real nodes (axis 1): half contour → whole contour."""
    return np.concatenate([half, np.conj(np.compress(~real, half, axis=1))], axis=1)


def _invert(rule: _Rule, space: FeatureSpace, ridge: float) -> TrainTestCurves:
    """Excess test risk and train loss f(t, t) = Re Σ_{kl} W_k W_l F(S_k, S_l) for each time."""
    anchor = _late_time_anchor(space, ridge)
    rows = space.sums(rule.nodes + ridge, PAIR_FAMILIES, anchor)
    n_train = space.n_train
    cols = rows.map(lambda a: _mirror(a, rule.real))
    s_rows, s_cols = rule.nodes, _mirror(rule.nodes, rule.real)
    w_rows = rule.weights * np.where(rule.real, 1.0, 2.0)
    w_cols = _mirror(rule.weights, rule.real)
    left, right = rows.map(lambda a: a[:, :, None]), cols.map(lambda a: a[:, None])
    pairs = pair_sums(left, right, anchor)
    s1, s2 = s_rows[:, :, None], s_cols[:, None, :]
    k1k2 = left.kappa * right.kappa
    q = pairs.sigma_sigma / n_train
    dm = pairs.sigma_test / n_train
    noise = space.noise_var
    variance_part = k1k2 * pairs.teacher_sigma + noise
    excess = (k1k2 * pairs.teacher_test + dm / (1.0 - q) * variance_part) / (s1 * s2)
    train = (s1 + ridge) * (s2 + ridge) * variance_part / (k1k2 * (1.0 - q) * s1 * s2)
    shared = excess.shape[0] != w_rows.shape[0]  # one node set for all times (circle)

    def contract(values):
        if shared:
            return np.real(np.einsum("tr,rc,tc->t", w_rows, values[0], w_cols))
        return np.real(np.einsum("tr,trc,tc->t", w_rows, values, w_cols))

    return TrainTestCurves(contract(excess), contract(train))


def _late_time_anchor(space: FeatureSpace, ridge):
    """κ(γ) (ω* when ridgeless), where the late-time nodes κ(s + γ) cluster; None where not supported."""
    if not space.anchored:
        return None
    anchor = float(space.kappa(float(ridge)))
    return anchor if space.anchor_ok(anchor) else None


def _evaluate(rule_for, times, space: FeatureSpace, ridge):
    """Apply :func:`_invert` in chunks of times; ``rule_for(times)`` builds the rule."""
    test, train = np.empty(times.shape), np.empty(times.shape)
    for start in range(0, times.size, _TIME_CHUNK):
        block = slice(start, start + _TIME_CHUNK)
        curves = _invert(rule_for(times[block]), space, ridge)
        test[block], train[block] = curves
    return TrainTestCurves(test + space.noise_var, train)


def _half_talbot(times, n_nodes):
    """Upper half of the fixed Talbot contour with plain (undoubled) weights."""
    nodes, weights = talbot_contour(times, n_nodes, full=True)
    real = np.arange(n_nodes) == 0
    return nodes[:, n_nodes - 1 :], weights[:, n_nodes - 1 :], real


def _initial(space: FeatureSpace, shape) -> TrainTestCurves:
    return TrainTestCurves(np.full(shape, space.initial_risk), np.full(shape, space.signal + space.noise_var))


def _space(pop: Population, n_train, ridge, n_features) -> FeatureSpace:
    if n_train <= 0:
        raise ValueError(f"n_train must be positive, got {n_train}")
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge}")
    if n_features is not None and n_features <= 0:
        raise ValueError(f"n_features must be positive, got {n_features}")
    return feature_space(pop, float(n_train), n_features)


def gradient_flow(pop: Population, n_train, ridge, times, *, n_features=None, n_nodes: int = DEFAULT_NODES):
    """Test risk and train loss of gradient flow at continuous times t ≥ 0 (t = 0 exact).

    ``n_features`` N: random features f = v·(Fx) averaged over F (docs/theory.md §7); None: linear regression.
    """
    space = _space(pop, n_train, ridge, n_features)
    times = np.asarray(times, dtype=np.float64)
    if np.any(times < 0):
        raise ValueError("times must be non-negative")
    out = _initial(space, times.shape)
    late = times > 0
    if late.any():

        def rule_for(t):
            nodes, weights, real = _half_talbot(t, n_nodes)
            return _Rule(nodes, weights * np.exp(t[:, None] * nodes), real)

        curves = _evaluate(rule_for, times[late], space, float(ridge))
        out.test_risk[late], out.train_loss[late] = curves
    return out


def gd_stability_edge(pop: Population, n_train, ridge, n_features=None) -> float:
    """Largest stable GD step η_crit = 2/(λ̂_max + γ), λ̂_max from :func:`theory.feature_spaces.sampled_top_eigenvalue`."""
    return 2.0 / (sampled_top_eigenvalue(pop, n_train, n_features) + ridge)


def gradient_descent(pop: Population, n_train, ridge, lr, steps, *, n_features=None, n_nodes: int = DEFAULT_NODES,
                     n_circle: int = DEFAULT_CIRCLE_POINTS):
    """Test risk and train loss of full-batch GD with step ``lr`` at integer ``steps`` ≥ 0.

    Raises ``ValueError`` when η(λ̂_max + γ) ≥ 2 (the mean risk diverges).  With
    η(λ̂_max + γ) > ``OSCILLATION_THRESHOLD`` the contour for oscillating modes is added (docs/theory.md §9.3).
    ``n_features`` as in :func:`gradient_flow`.
    """
    space = _space(pop, n_train, ridge, n_features)
    steps = np.asarray(steps)
    if not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError("steps must be non-negative integers")
    eta = float(lr)
    contraction = eta * (sampled_top_eigenvalue(pop, n_train, n_features) + ridge)
    if not 0 < contraction < 2:
        raise ValueError(f"GD step outside the stable range: η(λ̂_max + γ) = {contraction:.4g}")
    oscillating = contraction > OSCILLATION_THRESHOLD
    out = _initial(space, steps.shape)
    threshold = max(fft_threshold(n_circle), n_nodes * (2 if oscillating else 1))
    early = (steps > 0) & (steps < threshold)
    late = steps >= threshold
    if early.any():
        zeta, rho = circle_points(n_circle)
        half = zeta[: n_circle // 2 + 1]
        real = np.zeros(half.size, dtype=bool)
        real[[0, -1]] = True

        def circle_rule(t):
            powers = half[None, :] ** (-(t[:, None] + 1.0))
            return _Rule(((1.0 / half - 1.0) / eta)[None, :], powers / (n_circle * eta), real)

        curves = _evaluate(circle_rule, steps[early].astype(np.float64), space, ridge)
        out.test_risk[early], out.train_loss[early] = curves
    if late.any():

        def talbot_rule(t):
            u, w, real = _half_talbot(t, n_nodes)
            growth = np.exp(u * (t[:, None] + 1.0))
            rule = _Rule(np.expm1(u) / eta, w * growth / eta, real)
            if not oscillating:
                return rule
            sign = np.where(t % 2 == 0, -1.0, 1.0)[:, None]  # (−1)^{t+1}
            shifted = _Rule(-(1.0 + np.exp(u)) / eta, sign * w * growth / eta, real)
            return _join(rule, shifted)

        curves = _evaluate(talbot_rule, steps[late].astype(np.float64), space, ridge)
        out.test_risk[late], out.train_loss[late] = curves
    return out


def static_limit(pop: Population, n_train, ridge, n_features=None) -> TrainTestCurves:
    """t → ∞ limit (docs/theory.md §5, §7): ridge solution, or the min-norm interpolator / OLS when γ = 0.

    With κ = κ(γ) of the feature covariance (K = FΣFᵀ for random features, κ = ω1(γ)):
    E∞ = κ²[w*ᵀGMGw* + dM/(1−q) w*ᵀGΣGw*] + σ² dM/(1−q) (R∞ = E∞ + σ², σ² → σ² + E0 for random features),
    L̂∞ = (γ/κ)²[κ² w*ᵀΣG²w* + σ²]/(1 − q); ridgeless with P above the feature rank r (D, or min(N, D))
    gives L̂∞ = σ²(1 − r/P) and κ = 0; ridgeless P < r interpolates (L̂∞ = 0).  Ridgeless P = r diverges
    and raises ``ValueError``.
    """
    space = _space(pop, n_train, ridge, n_features)
    n_train, ridge = float(n_train), float(ridge)
    rank = space.feature_rank
    if ridge == 0.0 and abs(n_train - rank) <= RANK_EQUALITY_RTOL * n_train:
        raise ValueError("ridgeless regression with P equal to the feature rank: the test risk diverges (use ridge > 0)")
    at = space.sums(np.asarray(ridge), PAIR_FAMILIES)
    kappa = float(at.kappa)
    pairs = pair_sums(at, at)
    q, dm = pairs.sigma_sigma / n_train, pairs.sigma_test / n_train
    noise = space.noise_var
    bias = kappa**2 * (pairs.teacher_test + dm / (1 - q) * pairs.teacher_sigma) if kappa > 0 else 0.0
    excess = bias + noise * dm / (1 - q)
    if ridge > 0:
        train = (ridge / kappa) ** 2 * (kappa**2 * pairs.teacher_sigma + noise) / (1 - q)
    else:
        train = noise * max(0.0, 1.0 - rank / n_train)
    if not np.isfinite(excess):
        raise ConvergenceError("static limit is not finite")
    return TrainTestCurves(np.asarray(float(excess) + noise), np.asarray(float(train)))
