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
A learning-rate schedule or momentum replaces the filter (1 + ηs)^t by the residual polynomial φ_t(−s) of the
optimiser (:func:`filtered_descent`, :func:`filtered_flow`; docs/theory.md §15).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from twopoint.theory.contours import (CIRCLE_STEP_FRACTION, DEFAULT_CIRCLE_POINTS, DEFAULT_NODES, OSCILLATION_THRESHOLD,
                                      circle_points,
                                      fft_threshold, talbot_contour)
from twopoint.theory.errors import ConvergenceError
from twopoint.theory.feature_spaces import PAIR_FAMILIES, FeatureSpace, feature_space, sampled_top_eigenvalue
from twopoint.theory.population import Population
from twopoint.theory.residual_filter import ResidualFilter
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


def _invert(rule: _Rule, space: FeatureSpace, ridge: float, checked: bool = False) -> TrainTestCurves:
    """Excess test risk and train loss f(t, t) = Re Σ_{kl} W_k W_l F(S_k, S_l) for each time.

    ``checked``: raise ``ConvergenceError`` where Σ|W_k W_l F_kl| exceeds ``MAX_CANCELLATION`` × max(|f|, 1e-6 |f(0)|).
    """
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
        return np.real(_contract(w_rows, values, w_cols, shared))

    curves = TrainTestCurves(contract(excess), contract(train))
    if checked:
        starts = (space.initial_risk - space.noise_var, space.signal + space.noise_var)
        for name, values, result, start in zip(curves._fields, (excess, train), curves, starts):
            size = np.real(_contract(np.abs(w_rows), np.abs(values), np.abs(w_cols), shared))
            scale = np.maximum(np.abs(result), CANCELLATION_FLOOR * abs(start))
            if np.any(size > MAX_CANCELLATION * scale):
                raise ConvergenceError(f"{name}: the contour sum cancels more than {np.log10(MAX_CANCELLATION):.0f} "
                                       f"digits (worst ratio {np.max(size / scale):.3g})")
    return curves


def _contract(rows, values, cols, shared: bool):
    """Σ_{kl} rows_tk values_(t)kl cols_tl for each t; ``shared``: one (1, r, c) node set for all times."""
    if shared:
        return np.einsum("tr,rc,tc->t", rows, values[0], cols)
    return np.einsum("tr,trc,tc->t", rows, values, cols)


def _late_time_anchor(space: FeatureSpace, ridge):
    """κ(γ) (ω* when ridgeless), where the late-time nodes κ(s + γ) cluster; None where not supported."""
    if not space.anchored:
        return None
    anchor = float(space.kappa(float(ridge)))
    return anchor if space.anchor_ok(anchor) else None


def _evaluate(rule_for, times, space: FeatureSpace, ridge, checked: bool = False):
    """Apply :func:`_invert` in chunks of times; ``rule_for(times)`` builds the rule.

    ``checked``: raise ``ConvergenceError`` where the contour sum cancels more than ``MAX_CANCELLATION``.
    """
    test, train = np.empty(times.shape), np.empty(times.shape)
    for start in range(0, times.size, _TIME_CHUNK):
        block = slice(start, start + _TIME_CHUNK)
        curves = _invert(rule_for(times[block]), space, ridge, checked)
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


def _circle_rule(eta: float, n_circle: int, gain, nodes=None):
    """Cauchy circle ζ = ρe^{iθ} (upper half, conjugate symmetry) in s = (1/ζ − 1)/η, or s = ``nodes(ζ)``:
    ``rule_for(t)`` has the weights gain(t, ζ)/(n_c η), where gain(t, ζ) = −ζ (ds/dζ) η × (the filter at s),
    e.g. ζ^{−(t+1)} for constant GD."""
    zeta, _ = circle_points(n_circle)
    half = zeta[: n_circle // 2 + 1]
    real = np.zeros(half.size, dtype=bool)
    real[[0, -1]] = True
    s = (1.0 / half - 1.0) / eta if nodes is None else nodes(half)

    def rule_for(t):
        return _Rule(s[None, :], gain(t, half) / (n_circle * eta), real)

    return rule_for


def _talbot_rule(eta: float, n_nodes: int, oscillating: bool, gain, clock=None, nodes=None):
    """Talbot contour in u, s = expm1(u)/η or ``nodes(u)``, plus (``oscillating``) the contour s = −(1 + e^u)/η
    shifted by iπ.

    ``rule_for(t)`` uses the contour of time ``clock(t)`` (default t) and weights w·gain(t, u, shifted)/η, where
    gain = −ζ (ds/dζ) η × (the filter at s) with ζ = e^{−u} (the shifted contour's orientation in s is reversed),
    e.g. e^{u(t+1)} and (−1)^{t+1} e^{u(t+1)} for constant GD (docs/theory.md §9.3, §15).
    """

    def rule_for(t):
        u, w, real = _half_talbot(t if clock is None else clock(t), n_nodes)
        rule = _Rule(np.expm1(u) / eta if nodes is None else nodes(u), w * gain(t, u, False) / eta, real)
        if not oscillating:
            return rule
        return _join(rule, _Rule(-(1.0 + np.exp(u)) / eta, w * gain(t, u, True) / eta, real))

    return rule_for


def gradient_descent(pop: Population, n_train, ridge, lr, steps, *, n_features=None, n_nodes: int = DEFAULT_NODES,
                     n_circle: int = DEFAULT_CIRCLE_POINTS):
    """Test risk and train loss of full-batch GD with step ``lr`` at integer ``steps`` ≥ 0.

    Raises ``ValueError`` when η(λ̂_max + γ) ≥ 2 (the mean risk diverges).  With
    η(λ̂_max + γ) > ``OSCILLATION_THRESHOLD`` the contour for oscillating modes is added (docs/theory.md §9.3).
    ``n_features`` as in :func:`gradient_flow`.  A schedule or momentum: :func:`filtered_descent`.
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
        circle_rule = _circle_rule(eta, n_circle, lambda t, zeta: zeta[None, :] ** (-(t[:, None] + 1.0)))
        curves = _evaluate(circle_rule, steps[early].astype(np.float64), space, ridge)
        out.test_risk[early], out.train_loss[early] = curves

    def power(t, u, shifted):
        growth = np.exp(u * (t[:, None] + 1.0))
        return np.where(t % 2 == 0, -1.0, 1.0)[:, None] * growth if shifted else growth  # shifted: (−1)^{t+1}

    if late.any():
        curves = _evaluate(_talbot_rule(eta, n_nodes, oscillating, power), steps[late].astype(np.float64), space, ridge)
        out.test_risk[late], out.train_loss[late] = curves
    return out


# Momentum: the circle serves the steps at which an underdamped mode (|factor| √β per step) still carries more than
# this fraction of its weight, (t + 1) β^{t/2} > MOMENTUM_TRANSIENT (the Talbot contour resolves only the slow modes).
MOMENTUM_TRANSIENT = 1e-16
MAX_CIRCLE_POINTS = 1024  # circle sizes beyond this cost too much memory (n_c²/2 node pairs)
# Rounding: Σ|W_k W_l F_kl| / max(|f|, CANCELLATION_FLOOR |f(0)|) above this means the contour sum lost > 10 digits (results good to ~1e-6).
MAX_CANCELLATION = 1e10
CANCELLATION_FLOOR = 1e-6  # a curve below 1e-6 of its start (a train loss going to 0) is measured against that


def _momentum_circle_steps(beta: float) -> int:
    """First step t with (t + 1) β^{t/2} ≤ ``MOMENTUM_TRANSIENT`` (0 for β = 0)."""
    if beta == 0.0:
        return 0
    t = 0
    while (t + 1) * beta ** (t / 2) > MOMENTUM_TRANSIENT:
        t += 1
    return t


def filtered_descent(pop: Population, n_train, ridge, filt: ResidualFilter, steps, *, n_features=None,
                     n_nodes: int = DEFAULT_NODES) -> TrainTestCurves:
    """Test risk and train loss of full-batch GD with a step-size schedule and/or momentum (docs/theory.md §15).

    The double inversion of :func:`gradient_descent` with the filter (1 + ηs)^t replaced by the residual polynomial
    φ_t(−s) of ``filt`` (:mod:`theory.residual_filter`), evaluated exactly at every contour node:
        E_t = (2πi)⁻² ∮∮ φ_t(−s1) φ_t(−s2) Ê(s1, s2) ds1 ds2
    over closed contours around 0 and −spec(Σ̂ + γ) (Ê, L̃ as in the module docstring).  Early steps: the Cauchy
    circle |ζ| = ρ mapped by :meth:`ResidualFilter.contour_map` with η = max η_s (for β > 0 an ellipse on which one
    characteristic root is 1/ζ), with n_c ≥ 4(t + 1) points.  Later steps: the Talbot contour in u, s = expm1(u)/η_T
    with the slow modes' step η_T = max η_s/(1 − β), at the time τ_t/η_T (φ_t(r) ≈ e^{−rτ_t} for small r), plus the
    iπ-shifted contour for β = 0 and η_T(λ̂_max + γ) > ``OSCILLATION_THRESHOLD``.  With momentum the circle serves
    every step at which underdamped modes (|root| √β) still matter, (t + 1)β^{t/2} > ``MOMENTUM_TRANSIENT``.
    Constant-rate plain GD through this path agrees with :func:`gradient_descent` to ~1e-11.

    Raises ``ValueError`` for steps beyond the range covered (max η_s(λ̂_max + γ) ≥ the edge of
    :meth:`ResidualFilter.stability_edge_rate`; with β > 0 also ≥ :meth:`ResidualFilter.fast_rate`, (1 + √β)² for the
    heavy ball, where slow oscillating modes would need another contour) and ``ConvergenceError`` when the evaluation cannot be trusted (more than
    ``MAX_CIRCLE_POINTS`` circle points needed, i.e. β ≳ 0.7; or the contour sum cancels more than 10 digits).
    """
    space = _space(pop, n_train, ridge, n_features)
    steps = filt.check_steps(steps)
    top = sampled_top_eigenvalue(pop, n_train, n_features) + ridge
    peak = float(filt.step_sizes.max(initial=0.0)) * top
    beta, limit = filt.momentum, filt.covered_rate()
    if not 0 < peak < limit:
        raise ValueError(f"GD step outside the range this evaluation covers: max η_s(λ̂_max + γ) = {peak:.4g} "
                         f"(need < {limit:.4g})")
    eta_ref = float(filt.step_sizes.max())
    oscillating = beta == 0.0 and peak > OSCILLATION_THRESHOLD
    # Talbot contour: the GD map s = expm1(u)/η_T with the slow modes' step η_T = max η_s/(1 − β), at the time τ_t/η_T
    eta_talbot = filt.peak_effective_step()
    clock = filt.elapsed(steps) / eta_talbot
    talbot_from = max(fft_threshold(DEFAULT_CIRCLE_POINTS), n_nodes * (2 if oscillating else 1))
    early = (steps > 0) & ((clock < talbot_from) | (steps < _momentum_circle_steps(beta)))
    late = (steps > 0) & ~early
    out = _initial(space, steps.shape)
    if early.any():
        last = int(steps[early].max())
        n_circle = max(DEFAULT_CIRCLE_POINTS, 1 << int(np.ceil(np.log2(CIRCLE_STEP_FRACTION * (last + 1)))))
        if n_circle > MAX_CIRCLE_POINTS:
            raise ConvergenceError(f"the Cauchy circle would need {n_circle} points (steps up to {last}); "
                                   f"at most {MAX_CIRCLE_POINTS}")

        def circle_gain(t, zeta):
            s, jacobian = filt.contour_map(-np.log(zeta), eta_ref)
            return filt.values(np.broadcast_to(-s, (t.size, s.size)), t.astype(np.int64)) * jacobian[None, :]

        rule = _circle_rule(eta_ref, n_circle, circle_gain, nodes=lambda zeta: filt.contour_map(-np.log(zeta), eta_ref)[0])
        out.test_risk[early], out.train_loss[early] = _evaluate(rule, steps[early], space, ridge, checked=True)
    if late.any():
        clock_of = dict(zip(steps[late].tolist(), clock[late].tolist()))

        def talbot_gain(t, u, shifted):
            s = -(1.0 + np.exp(u)) / eta_talbot if shifted else np.expm1(u) / eta_talbot
            value = np.exp(u) * filt.values(-s, t.astype(np.int64))
            return -value if shifted else value

        rule = _talbot_rule(eta_talbot, n_nodes, oscillating, talbot_gain,
                            clock=lambda t: np.array([clock_of[int(k)] for k in t]))
        out.test_risk[late], out.train_loss[late] = _evaluate(rule, steps[late], space, ridge, checked=True)
    return out


def filtered_flow(pop: Population, n_train, ridge, filt: ResidualFilter, steps, *, n_features=None,
                  n_nodes: int = DEFAULT_NODES) -> TrainTestCurves:
    """Gradient flow with a schedule: :func:`gradient_flow` at the elapsed time τ(t) = Σ_{s<t} η_s (docs/theory.md
    §15; φ_t(r) = e^{−rτ(t)}).  Momentum has no gradient-flow form here (``ValueError``)."""
    if filt.momentum:
        raise ValueError("gradient flow with momentum is not defined")
    return gradient_flow(pop, n_train, ridge, filt.elapsed(steps), n_features=n_features, n_nodes=n_nodes)


def filter_growth(pop: Population, n_train, ridge, filt: ResidualFilter, steps, *, n_features=None,
                  n_grid: int = 2001) -> np.ndarray:
    """max_r |φ_t(r)| over the deterministic-equivalent spectrum [0, λ̂_max + γ] of Σ̂ + γ (a uniform grid of
    ``n_grid`` rates, both ends included) at each of ``steps``: > 1 where some mode has grown (docs/theory.md §15)."""
    top = sampled_top_eigenvalue(pop, n_train, n_features) + ridge
    return np.max(np.abs(filt.values(np.linspace(0.0, top, n_grid), steps)), axis=1)


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
