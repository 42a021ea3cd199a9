"""Gaussian-equivalence measurements: the gap statistic, the Gaussian-equivalent problem, the universality command."""

import json

import numpy as np
import pytest

from twopoint.cli.universality import main
from twopoint.compare.universality import equivalence_gap, gaussian_equivalent
from conftest import make_problem
from twopoint.core.curves import SIMULATION, THEORY, Curves

STEPS = np.array([0, 1, 10, 100])


def curves(source, values):
    values = np.asarray(values, float)
    diverged = np.full(values.shape[0] if source == SIMULATION else 1, -1)
    return Curves(source, "m", STEPS, STEPS * 1.0, {"test_risk": values}, diverged)


def test_equivalence_gap_against_theory_and_against_a_simulation():
    sim = curves(SIMULATION, [[2.0, 1.1, 0.55, 0.32], [2.0, 0.9, 0.45, 0.28]])  # mean 2, 1, 0.5, 0.3
    theory = curves(THEORY, [2.0, 1.0, 0.4, 0.25])
    gap = equivalence_gap(sim, theory, "test_risk")
    assert gap["points"] == 3 and gap["max_abs_rel"] == pytest.approx(0.25)
    assert gap["median_abs_rel"] == pytest.approx(0.2) and gap["final_rel"] == pytest.approx(0.2)
    assert gap["max_abs_z"] == pytest.approx(0.05 / 0.02)  # last step: stderr of (0.32, 0.28) is 0.02
    other = curves(SIMULATION, [[2.0, 1.0, 0.5, 0.30], [2.0, 1.0, 0.5, 0.30]])  # the same means, no spread
    gap = equivalence_gap(sim, other, "test_risk")
    assert gap["max_abs_rel"] == pytest.approx(0.0, abs=1e-12) and gap["max_abs_z"] == pytest.approx(0.0, abs=1e-12)
    spread = curves(SIMULATION, [[2.0, 1.0, 0.5, 0.33], [2.0, 1.0, 0.5, 0.23]])  # last step: mean 0.28, stderr 0.05
    gap = equivalence_gap(other, spread, "test_risk")  # a simulated reference: its stderr enters the z-score
    assert gap["max_abs_z"] == pytest.approx(0.02 / 0.05) and gap["final_rel"] == pytest.approx(0.02 / 0.28)


def test_gaussian_equivalent_keeps_spectrum_teacher_noise_and_optimiser():
    p = make_problem("experiment=kernel_sphere", "data.sphere.target_power=[0.0,1.0,0.5,0.25]", "model.kernel.max_degree=2")
    g = gaussian_equivalent(p)
    assert g.regime == "linear/finite" and g.data.inputs is None and g.optim == p.optim
    np.testing.assert_array_equal(g.data.eigenvalues, p.data.eigenvalues)
    np.testing.assert_array_equal(g.data.teacher, p.data.teacher)
    assert g.data.noise_std**2 == pytest.approx(0.1**2 + 0.25)  # the degree-3 target power is noise here
    with pytest.raises(ValueError):
        gaussian_equivalent(make_problem())


def test_universality_command_writes_figure_and_gaps(tmp_path):
    report = main(["experiment=kernel_circle", "model.kernel.frequencies=20", "data.n_train=30", "sim.replicas=16",
                   "optim.steps=50", "record.points=10", "sim.device=cpu", "--out", str(tmp_path), "--formats", "png"])
    assert (tmp_path / "universality.png").stat().st_size > 0
    assert json.loads((tmp_path / "universality.json").read_text()) == json.loads(json.dumps(report))
    for pair in ("real_vs_gaussian", "real_vs_theory", "gaussian_vs_theory"):
        assert report["gaps"][pair]["test_risk"]["points"] == 9


@pytest.mark.parametrize("n_train", ["null", "16"])
def test_every_kernel_run_reports_its_gaussian_equivalence_gap(n_train):
    """Online (fresh centres) and finite-data kernel runs alike: the simulation info names the inputs, so the
    evaluation records the gap of the real inputs from the Gaussian theory."""
    import twopoint as tp

    res = tp.run("experiment=kernel_circle", f"data.n_train={n_train}", "model.kernel.frequencies=8", "optim.steps=20",
                 "sim.replicas=8", "record.points=6", "sim.device=cpu")
    assert res.simulation.info["inputs"] == "circle"
    gap = res.metrics["gaussian_equivalence_gap"]["test_risk"]
    assert gap["points"] > 0 and gap["max_abs_rel"] >= 0
