"""Learning-rate schedules and momentum: the multipliers of every schedule kind, the engine's update against
``torch.optim.SGD`` with ``LambdaLR``, closed-form GD against GD run step by step through the engine, and the
errors for what an implementation does not support."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import make_problem
from twopoint.core.config import ScheduleConfig
from twopoint.core.errors import ConfigError
from twopoint.core.schedule import multipliers
from twopoint.simulate import simulate

T = 10


def schedule(**keys):
    return OmegaConf.structured(ScheduleConfig(**keys))


@pytest.mark.parametrize("keys, expected", [
    ({"kind": "constant", "warmup_steps": 4}, [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1]),
    ({"kind": "linear", "final_lr_frac": 0.5}, 1 - 0.05 * np.arange(T)),
    ({"kind": "cosine", "warmup_steps": 2}, [0.5, 1.0] + [0.5 * (1 + np.cos(np.pi * k / 8)) for k in range(8)]),
    ({"kind": "step", "milestones": [3, 7], "gamma": 0.5}, [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]),
    ({"kind": "wsd", "decay_frac": 0.3, "final_lr_frac": 0.1}, [1] * 7 + [1.0, 0.7, 0.4]),
    ({"kind": "power", "t0": 2.0, "power": 1.0}, 1 / (1 + np.arange(T) / 2)),
    ({"kind": "custom", "values": [0.1 * k for k in range(T)]}, 0.1 * np.arange(T)),
])
def test_schedule_multipliers_follow_the_documented_formulas(keys, expected):
    np.testing.assert_allclose(multipliers(schedule(**keys), T), expected, rtol=1e-14)


def test_constant_schedule_is_no_schedule_and_keeps_plain_sgd_bit_for_bit():
    plain = make_problem("optim.steps=60", "sim.replicas=4", "data.dim=30", "sim.device=cpu")
    named = make_problem("optim.steps=60", "sim.replicas=4", "data.dim=30", "sim.device=cpu", "optim.schedule.kind=constant",
                         "optim.momentum=0.0", "optim.nesterov=true")
    assert named.optim.multipliers is None and not named.optim.extensions
    np.testing.assert_array_equal(simulate(plain).values["test_risk"], simulate(named).values["test_risk"])


def test_named_schedule_and_the_same_custom_multipliers_give_identical_curves():
    base = ("optim.steps=80", "sim.replicas=4", "data.dim=30", "sim.device=cpu", "theory.enabled=false")
    named = make_problem(*base, "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=8", "optim.schedule.final_lr_frac=0.1")
    values = ",".join(repr(float(m)) for m in named.optim.multipliers)
    custom = make_problem(*base, "optim.schedule.kind=custom", f"optim.schedule.values=[{values}]")
    np.testing.assert_array_equal(simulate(named).values["test_risk"], simulate(custom).values["test_risk"])


@pytest.mark.parametrize("bad, key", [
    (("optim.schedule.kind=cosine", "optim.schedule.warmup_steps=80"), "optim.schedule.warmup_steps"),
    (("optim.schedule.kind=custom", "optim.schedule.values=[1,2]"), "optim.schedule.values"),
    (("optim.schedule.kind=custom",), "optim.schedule.values"),
    (("optim.schedule.kind=custom", "optim.schedule.path=/nonexistent.npy"), "optim.schedule.path"),
    (("optim.schedule.kind=triangle",), "optim.schedule.kind"),
    (("optim.momentum=1.0",), "optim.momentum"),
    (("optim.schedule.decay_frac=0",), "optim.schedule.decay_frac"),
    (("data.n_train=40", "optim.algorithm=gradient_flow", "optim.momentum=0.5"), "optim.momentum"),
])
def test_bad_schedule_or_momentum_names_the_key(bad, key):
    with pytest.raises(ConfigError) as err:
        make_problem("optim.steps=80", *bad)
    assert err.value.key == key


class Linear(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(dim, dtype=torch.float64))


@pytest.mark.parametrize("nesterov", [False, True])
def test_engine_update_equals_torch_sgd_with_lambda_lr(nesterov):
    """Online linear SGD with momentum and a warmup–cosine schedule: replaying the engine's batches through
    ``torch.optim.SGD(momentum, nesterov, weight_decay=ridge)`` + ``LambdaLR`` gives the same risk curve."""
    over = ("data.dim=12", "optim.steps=40", "optim.batch_size=3", "optim.lr=0.2", "optim.momentum=0.8", "optim.ridge=0.05",
            f"optim.nesterov={str(nesterov).lower()}", "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=5",
            "sim.replicas=1", "sim.device=cpu", "record.points=41")
    p = make_problem(*over)
    from twopoint.simulate.linear_online import OnlineLinear

    model = OnlineLinear(p, range(1), torch.device("cpu"), torch.float64)
    w_star = torch.as_tensor(p.data.teacher)
    sigma = torch.as_tensor(p.data.eigenvalues)
    net = Linear(p.data.dim)
    opt = torch.optim.SGD(net.parameters(), lr=p.optim.lr, momentum=0.8, nesterov=nesterov, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: float(p.optim.multipliers[min(s, p.optim.steps - 1)]))
    risks = [float(((net.w.detach() - w_star) ** 2 * sigma).sum()) + p.data.noise_std**2]
    for chunk in model.chunks():
        for batch in chunk:
            theta = (net.w.detach() - w_star)[None]
            grad, _ = model.gradient(theta, batch)
            opt.zero_grad()
            net.w.grad = grad[0].clone()
            opt.step()
            sched.step()
            risks.append(float(((net.w.detach() - w_star) ** 2 * sigma).sum()) + p.data.noise_std**2)
    sim = simulate(p).values["test_risk"][0]
    np.testing.assert_allclose(sim, np.asarray(risks)[p.record_steps], rtol=1e-12)


@pytest.mark.parametrize("extra", [
    ("optim.schedule.kind=step", "optim.schedule.milestones=[100]", "optim.schedule.gamma=0.1"),
    ("optim.momentum=0.7", "optim.lr=0.15"),
    ("optim.momentum=0.7", "optim.lr=0.15", "optim.nesterov=true", "optim.schedule.kind=wsd", "optim.ridge=0.01"),
])
@pytest.mark.parametrize("model", [("model=linear",), ("model=random_features", "model.n_features=30")])
def test_closed_form_gd_equals_gd_step_by_step(extra, model):
    """GD in closed form (each mode iterated) and full-batch SGD epochs (B = P) through the engine: same numbers."""
    base = (*model, "data.dim=40", "data.n_train=25", "optim.steps=200", "optim.lr=0.4", "sim.replicas=3", "sim.device=cpu", *extra)
    gd = simulate(make_problem(*base, "optim.algorithm=gd")).values
    steps = simulate(make_problem(*base, "optim.algorithm=sgd_epochs", "optim.batch_size=25")).values
    for q in ("test_risk", "train_loss"):
        np.testing.assert_allclose(gd[q], steps[q], rtol=1e-10)


def test_gradient_flow_with_a_schedule_runs_at_the_summed_time():
    """A schedule reparametrises gradient-flow time: m ≡ 0.5 (custom) over T steps is lr/2 without one."""
    base = ("data.dim=30", "data.n_train=20", "optim.algorithm=gradient_flow", "sim.replicas=2", "sim.device=cpu", "record.points=200")
    half = simulate(make_problem(*base, "optim.lr=0.5", "optim.steps=100", "optim.schedule.kind=custom",
                                 f"optim.schedule.values=[{','.join(['0.5'] * 100)}]")).values["test_risk"]
    plain = simulate(make_problem(*base, "optim.lr=0.25", "optim.steps=100")).values["test_risk"]
    np.testing.assert_allclose(half, plain, rtol=1e-12)


def test_sphere_online_kernel_rejects_momentum_but_takes_a_schedule():
    over = ("data=sphere", "model=kernel", "data.n_train=null", "optim.steps=20", "optim.batch_size=2", "sim.replicas=2", "sim.device=cpu")
    with pytest.raises(ConfigError) as err:
        simulate(make_problem(*over, "optim.momentum=0.5"))
    assert err.value.key == "optim.momentum"
    assert np.all(np.isfinite(simulate(make_problem(*over, "optim.schedule.kind=cosine")).values["test_risk"]))
