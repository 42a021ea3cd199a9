"""Theory vs simulation for online SGD with learning-rate schedules and momentum (docs/theory.md §14).

The verdict is the project's rule (``tp.evaluate``: every point within 3 % or 4 standard errors, and no consistent
bias).  Each case also checks *power*: the theory of another optimiser (the schedule without its decay, β = 0, the
other momentum variant) is rejected by the same rule on the same simulation.  Step sizes stay at ≤ 0.6 of the
momentum-aware critical value, where the per-replica risk is not heavy-tailed (docs/theory.md §2, §14).
"""

import pytest

import twopoint as tp

BASE = ("data.dim=20", "data.spectrum.alpha=1.3", "data.teacher.kind=random", "optim.steps=300", "optim.batch_size=4",
        "sim.replicas=128", "record.points=30", "sim.device=cpu")
RF = ("model=random_features", "model.n_features=60", "data.dim=120", "sim.sampler=features", "optim.batch_size=4",
      "optim.steps=400", "sim.replicas=128", "record.points=30", "sim.device=cpu")


def verdicts(base, case, other):
    """(verdict of the theory of ``case``, verdict of the theory of ``case`` + ``other``) on the simulation of
    ``case``; checks that the step sizes are in the benign region."""
    problem = tp.build_problem(tp.compose(*base, *case))
    sim, theory = tp.simulate(problem), tp.predict(problem)
    assert theory.info["peak_lr"] <= 0.6 * theory.info["critical_lr"]
    wrong = tp.predict(tp.build_problem(tp.compose(*base, *case, *other)))
    return tp.evaluate(sim, theory).metrics["verdict"], tp.evaluate(sim, wrong).metrics["verdict"]


@pytest.mark.parametrize("case, other", [
    # cosine decay after a warmup, with ridge: the theory without the decay is rejected
    (("optim.lr=0.7", "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=20", "optim.ridge=0.05",
      "data.noise_std=0.5"), ("optim.schedule.kind=constant",)),
    # warmup-stable-decay: the theory without the decay is rejected
    (("optim.lr=0.7", "optim.schedule.kind=wsd", "optim.schedule.decay_frac=0.3", "data.noise_std=0.5"),
     ("optim.schedule.kind=constant",)),
    # heavy ball with ridge and covariate shift: the theory with β = 0 is rejected
    (("optim.lr=0.2", "optim.momentum=0.8", "optim.ridge=0.02", "data.test_spectrum.kind=powerlaw",
      "data.test_spectrum.alpha=0.7"), ("optim.momentum=0.0",)),
    # Nesterov with a step decay: the heavy-ball theory is rejected
    (("optim.lr=0.2", "optim.momentum=0.8", "optim.nesterov=true", "optim.schedule.kind=step",
      "optim.schedule.milestones=[150]", "optim.schedule.gamma=0.2", "data.noise_std=0.5"), ("optim.nesterov=false",)),
])
def test_online_linear_schedule_and_momentum(case, other):
    assert verdicts(BASE, case, other) == ("pass", "fail")


@pytest.mark.parametrize("method", ["deterministic_equivalent", "given_features"])
def test_online_random_features_wsd(method):
    case = ("optim.lr=0.6", "optim.schedule.kind=wsd", "optim.schedule.decay_frac=0.3", "data.noise_std=0.3",
            f"theory.method={method}")
    assert verdicts(RF, case, ("optim.schedule.kind=constant",)) == ("pass", "fail")


def test_online_random_features_momentum():
    case = ("optim.lr=0.15", "optim.momentum=0.8", "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=40")
    assert verdicts(RF, case, ("optim.momentum=0.0",)) == ("pass", "fail")


@pytest.mark.slow
@pytest.mark.parametrize("case, other", [
    (("optim.lr=0.5", "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=100", "optim.batch_size=8"),
     ("optim.schedule.kind=constant",)),
    (("optim.lr=0.12", "optim.momentum=0.9", "optim.batch_size=4", "optim.schedule.kind=wsd",
      "optim.schedule.decay_frac=0.2"), ("optim.momentum=0.0",)),
])
def test_online_linear_larger_dimension(case, other):
    base = ("data.dim=300", "optim.steps=4000", "sim.replicas=256", "record.points=40", "sim.device=cpu")
    assert verdicts(base, case, other) == ("pass", "fail")
