"""Full-batch GD and gradient flow in closed form, primal and dual: every recorded step at once, exactly.

Both are linear in the parameters.  On a fixed design with features H (P × K), targets y, K̂ = HᵀH/P and
ridge γ, GD θ ← θ − η[(K̂ + γ)θ − Hᵀy/P] from θ_0 = 0 and gradient flow dθ/dt = −(K̂ + γ)θ + Hᵀy/P give,
with K̂ = V diag(κ) Vᵀ,
    θ(t) = V diag(ψ(t)) Vᵀ Hᵀy / P,   ψ_j(t) = (1 − φ_j(t)) / (κ_j + γ),
    φ_j(t) = (1 − η(κ_j + γ))^t (GD, t = step) or e^{−(κ_j + γ)ηt} (gradient flow at time ηt),
ψ_j → ηt as κ_j + γ → 0 (docs/theory.md §5).  With a schedule η_s or momentum β (docs/theory.md §1) each mode
still evolves alone: ψ_j(t) is θ_j(t)/(Vᵀ Hᵀy/P)_j, the iterate of u ← u − η_s b_s, b_s = β b_{s−1} + (κ_j + γ)u − 1
from u = b = 0 (Nesterov: u ← u − η_s [(κ_j + γ)u − 1 + β b_s]), run over all T steps; gradient flow with a
schedule runs at time τ(t) = Σ_{s<t} η_s.  In the dual, with the Gram matrix G = HHᵀ = U diag(Λ) Uᵀ
(κ = Λ/P on the same nonzero modes), θ(t) = Hᵀa(t) with the dual coefficients
    Uᵀa(t) = (Uᵀy / P) ⊙ ψ(Λ/P, t),
which is also exactly kernel GD, a ← (1 − ηγ)a − (η/P)(Ga − y), for any kernel G.  The primal costs O(K³),
the dual O(P³): fixed designs use the smaller one.
"""

from __future__ import annotations

import numpy as np
import torch

from twopoint.core.curves import SIMULATION, Curves
from twopoint.core.problem import OptimSpec, Problem
from twopoint.simulate.recorder import DIVERGENCE_FACTOR


def response(rate: torch.Tensor, steps: torch.Tensor, opt: OptimSpec) -> torch.Tensor:
    """ψ(rate, t) = (1 − φ(t)) / rate per mode and recorded step, shape rate.shape + steps.shape.

    η Σ_{s<t} (1 − η rate)^s for GD, ∫_0^{ηt} e^{−rate τ} dτ for gradient flow; exact as rate → 0 (ψ → ηt),
    through expm1/log1p while η·rate < 1 and the plain power for oscillating or diverging modes.
    """
    if opt.extensions and opt.algorithm == "gd":
        return iterated_response(rate, steps, opt)
    r, lr = rate[..., None], opt.lr
    if opt.multipliers is not None:  # gradient flow at time τ(t) = Σ_{s<t} η_s
        elapsed = np.concatenate([[0.0], np.cumsum(opt.step_sizes)])
        tau = torch.as_tensor(elapsed, dtype=steps.dtype, device=steps.device)[steps.long()]
        return torch.where(r == 0, tau, -torch.expm1(-r * tau) / r)
    if opt.algorithm == "gradient_flow":
        out = -torch.expm1(-r * (lr * steps)) / r
    else:
        step = lr * r
        out = torch.where(step < 1.0, -torch.expm1(steps * torch.log1p(-step)) / r, (1.0 - (1.0 - step) ** steps) / r)
    return torch.where(r == 0, lr * steps, out)


def iterated_response(rate: torch.Tensor, steps: torch.Tensor, opt: OptimSpec) -> torch.Tensor:
    """ψ(rate, t) of GD with a schedule and/or momentum, by iterating every mode over all T steps (module docstring)."""
    u, b = torch.zeros_like(rate), torch.zeros_like(rate)
    out = torch.empty(rate.shape + steps.shape, dtype=rate.dtype, device=rate.device)
    want = {int(t): i for i, t in enumerate(steps.tolist())}
    for s, eta in enumerate([*opt.step_sizes.tolist(), 0.0]):
        if s in want:
            out[..., want[s]] = u
        grad = rate * u - 1.0
        b = opt.momentum * b + grad
        u = u - eta * (grad + opt.momentum * b if opt.nesterov else b)
    return out


def recorded_steps(problem: Problem, like: torch.Tensor) -> torch.Tensor:
    """The recorded steps as a float64 tensor on ``like``'s device."""
    return torch.as_tensor(problem.record_steps, dtype=torch.float64, device=like.device)


def primal_weights(features: torch.Tensor, targets: torch.Tensor, problem: Problem) -> torch.Tensor:
    """θ(t) (R, T, K) at the recorded steps from features (R, P, K) and targets (R, P), float64, via K̂'s eigenbasis."""
    P = features.shape[1]
    kappa, vecs = torch.linalg.eigh(features.mT @ features / P)
    gain = response(kappa + problem.optim.ridge, recorded_steps(problem, features), problem.optim)  # (R, K, T)
    return (vecs @ (gain * (vecs.mT @ (features.mT @ targets[..., None])) / P)).mT


def dual_coefficients(gram: torch.Tensor, targets: torch.Tensor, problem: Problem) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Λ, U, c(t)): the Gram eigenvalues Λ (R, P), eigenvectors U (R, P, P) and Uᵀa(t) (R, T, P) at the recorded
    steps, so a(t) = U c(t)."""
    P = gram.shape[1]
    lam, vecs = torch.linalg.eigh(gram)
    gain = response(lam / P + problem.optim.ridge, recorded_steps(problem, gram), problem.optim)  # (R, P, T)
    return lam, vecs, ((vecs.mT @ targets[..., None]) / P * gain).mT


def closed_form_curves(problem: Problem, risk: torch.Tensor, loss: torch.Tensor, method: str) -> Curves:
    """Curves of test risk and train loss (R, T) at the recorded steps, with the engine's divergence rule:
    a replica diverges at the first recorded step where either is non-finite or beyond ``DIVERGENCE_FACTOR``
    × its value at step 0."""
    risk, loss = risk.cpu().numpy(), loss.cpu().numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(risk) | ~np.isfinite(loss) | (risk > DIVERGENCE_FACTOR * risk[:, :1]) | (loss > DIVERGENCE_FACTOR * loss[:, :1])
    steps = problem.record_steps
    first = np.where(bad.any(1), steps[np.argmax(bad, axis=1)], -1)
    after = steps[None, :] >= np.where(first >= 0, first, np.iinfo(np.int64).max)[:, None]
    values = {"test_risk": np.where(after, np.nan, risk), "train_loss": np.where(after, np.nan, loss)}
    return Curves(SIMULATION, method, steps, problem.record_times, values, first)
