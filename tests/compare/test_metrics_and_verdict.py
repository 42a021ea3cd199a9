"""compare on synthetic Curves: metrics, the pointwise and global verdict rules and divergence agreement."""

import numpy as np
import pytest

from twopoint.compare import Tolerances, evaluate
from twopoint.compare.metrics import quantity_metrics
from twopoint.core.curves import SIMULATION, THEORY, Curves

STEPS = np.array([0, 1, 10, 100])


def make(values, source, diverged=None):
    values = np.asarray(values, dtype=float)
    div = np.full(values.shape[0] if source == SIMULATION else 1, -1) if diverged is None else np.asarray(diverged)
    return Curves(source, "test", STEPS, STEPS * 0.5, {"test_risk": values}, div)


def test_metrics_on_known_numbers():
    theory = make([2.0, 1.0, 0.5, 0.25], THEORY)
    sim = make([[2.0, 1.1, 0.5, 0.25], [2.0, 0.9, 0.5, 0.35]], SIMULATION)
    m = quantity_metrics(sim, theory, "test_risk")
    assert m["points"] == 3  # step 0 excluded
    assert m["max_rel_err"] == pytest.approx(0.2)  # (0.30 − 0.25)/0.25
    assert m["median_rel_err"] == pytest.approx(0.0)
    assert m["argmax_rel_err_step"] == 100
    assert m["max_abs_z"] == pytest.approx(1.0)  # stderr at step 100 is 0.05


def test_verdict_accepts_precise_small_bias_and_noisy_large_error_but_not_both():
    tol = Tolerances(max_rel_err=0.03, max_abs_z=4.0)
    theory = make([1.0, 1.0, 1.0, 1.0], THEORY)
    eight = lambda rows: make(rows * 4, SIMULATION)  # noqa: E731 (8 replicas: enough to judge by stderr)
    precise_biased = eight([[1.0, 1.02, 1.02, 1.02], [1.0, 1.0201, 1.0201, 1.0201]])
    assert evaluate(precise_biased, theory, tol).metrics["verdict"] == "pass"
    noisy = eight([[1.0, 1.5, 1.5, 1.5], [1.0, 0.7, 0.7, 0.7]])  # 10 % off, 0.66 stderr
    assert evaluate(noisy, theory, tol).metrics["verdict"] == "pass"
    wrong = eight([[1.0, 1.2, 1.2, 1.2], [1.0, 1.21, 1.21, 1.21]])
    ev = evaluate(wrong, theory, tol)
    assert ev.metrics["verdict"] == "fail" and "3/3 points" in ev.metrics["verdict_reason"]


def noisy_run(bias: float, replicas: int = 32, points: int = 40, spread: float = 1.5, seed: int = 0):
    """Replicas v_r(t) = (1 + bias) + N(0, spread²) independently at each of ``points`` steps; theory 1."""
    steps = np.arange(points + 1)
    values = 1.0 + bias + spread * np.random.default_rng(seed).standard_normal((replicas, points + 1))
    values[:, 0] = 1.0
    sim = Curves(SIMULATION, "test", steps, steps * 1.0, {"test_risk": values}, np.full(replicas, -1))
    theory = Curves(THEORY, "test", steps, steps * 1.0, {"test_risk": np.ones(points + 1)}, np.array([-1]))
    return sim, theory


def test_global_bias_rejects_a_consistent_offset_that_no_single_point_resolves():
    """30 % too high everywhere, each point within 4 stderr (max |z| < 4), but the grid-mean bias of 32
    independent replicas is ≈ 7 stderr off: fail; the same noise without the offset passes."""
    tol = Tolerances(0.03, 4.0)
    ev = evaluate(*noisy_run(0.3), tol)
    q = ev.metrics["quantities"]["test_risk"]
    assert q["max_abs_z"] < 4.0 and q["mean_rel_bias_z"] > 5.0
    assert ev.metrics["verdict"] == "fail" and "consistent bias +" in ev.metrics["verdict_reason"]
    assert "points off" not in ev.metrics["verdict_reason"]
    assert evaluate(*noisy_run(0.0), tol).metrics["verdict"] == "pass"


def test_few_replicas_are_judged_by_relative_error_alone():
    tol = Tolerances(0.03, 4.0)
    sim, theory = noisy_run(0.0, replicas=4, spread=0.5)
    ev = evaluate(sim, theory, tol)  # 4 replicas: 0.5 spread is far beyond 3 %, and stderr may not excuse it
    assert ev.metrics["verdict"] == "fail" and "only 4 replicas" in ev.metrics["verdict_reason"]
    sim, theory = noisy_run(0.0, replicas=4, spread=0.001)
    ev = evaluate(sim, theory, tol)
    assert ev.metrics["verdict"] == "pass" and "relative error alone" in ev.metrics["verdict_reason"]
    one, theory = noisy_run(0.0, replicas=1, spread=0.001)
    ev = evaluate(one, theory, tol)
    assert ev.metrics["verdict"] == "pass" and "stderr" not in ev.metrics["verdict_reason"].split("(")[0]


@pytest.mark.parametrize(
    "theory_div, sim_div, verdict",
    [(5, [3, 4], "pass"), (5, [-1, -1], "fail"), (-1, [3, -1], "fail"), (5, [3, -1], "pass")],
)
def test_divergence_agreement(theory_div, sim_div, verdict):
    tol = Tolerances(0.03, 4.0)
    theory = make([1.0, 1.0, np.nan, np.nan] if theory_div >= 0 else [1.0] * 4, THEORY, [theory_div])
    sim = make([[1.0, 1.0, np.nan, np.nan], [1.0, 1.0, 1.0, 1.0]], SIMULATION, sim_div)
    assert evaluate(sim, theory, tol).metrics["verdict"] == verdict


def test_mean_skips_diverged_replicas_and_table_is_tidy():
    sim = make([[1.0, 2.0, np.nan, np.nan], [1.0, 4.0, 6.0, 8.0]], SIMULATION, [10, -1])
    np.testing.assert_allclose(sim.mean("test_risk"), [1.0, 3.0, 6.0, 8.0])
    assert np.isnan(sim.stderr("test_risk")[-1])  # one replica left: no error estimate
    df = sim.to_frame()
    assert list(df.columns) == ["source", "method", "quantity", "step", "time", "value", "stderr"]
    assert len(df) == 4


def test_tolerances_must_be_positive():
    from types import SimpleNamespace

    from twopoint.core.errors import ConfigError

    with pytest.raises(ConfigError, match="compare.max_rel_err"):
        Tolerances.from_config(SimpleNamespace(max_rel_err=0.0, max_abs_z=4.0))
