"""``twopoint-figure`` draws every recipe from saved outputs only (synthetic run directories written by
the real writers), and the numbers it reports are those of the saved curves."""

import re

import numpy as np
import pytest

from twopoint.compare.scaling import theory_slopes
from conftest import compose_config
from saved_outputs import power_law, write_run, write_sweep
from twopoint.cli.tools import figure_main

SMALL = ["record.points=15", "optim.steps=200"]


def _online(value, steps):
    return {"test_risk": power_law(steps, -0.5, 0.1, 3.0)}, {}


def _finite(p, steps):
    static = {"test_risk": 0.2 + 10 / p, "train_loss": 0.01 * p / 100}
    theory = {q: power_law(steps, -0.7, floor, 3.0) for q, floor in static.items()}
    return theory, {"static_limit": static if p != 100 else {"error": "diverges"}}


def _rf(n, steps):
    static = {"test_risk": 1 + 1 / abs(np.log(n / 100)) if n != 100 else None}
    theory = {"test_risk": power_law(steps, -0.4, static["test_risk"] or 2.0, 2.0)}
    return theory, {"static_limit": static if n != 100 else {"error": "diverges"}, "approximation_error": 10 / n}


def _shift(alpha, steps):
    return {"test_risk": power_law(steps, -0.5, 0.1, 3.0 / alpha)}, {}


def _scheduled(kind, steps):
    floor = {"constant": 0.3, "cosine": 0.2, "wsd": 0.15}[kind]
    return {"test_risk": power_law(steps, -0.5, floor, 3.0)}, {}


def _momentum(beta, steps):
    return {"test_risk": power_law(steps, -0.5, 0.1 + beta / 10, 3.0)}, {}


CASES = {
    "online_batch": (["experiment=online_batch", *SMALL], "optim.batch_size", [1, 4, 16], _online),
    "finite_data": (["experiment=finite_data", *SMALL], "data.n_train", [25, 50, 100, 200], _finite),
    "rf_size": (["experiment=rf_size", *SMALL], "model.n_features", [50, 100, 200], _rf),
    "covariate_shift": (["experiment=covariate_shift", *SMALL], "data.test_spectrum.alpha", [1.0, 1.5, 2.0], _shift),
    "schedules": (["experiment=schedules", *SMALL, "optim.schedule.warmup_steps=10"], "optim.schedule.kind",
                  ["constant", "cosine", "wsd"], _scheduled),
    "momentum": (["experiment=momentum", *SMALL], "optim.momentum", [0.0, 0.5, 0.9], _momentum),
}


@pytest.mark.parametrize("recipe", sorted(CASES))
def test_recipe_figure_from_saved_sweep(recipe, tmp_path, capsys):
    base, key, values, make = CASES[recipe]
    root = write_sweep(tmp_path / "sweep", base, key, values, make)
    stem = tmp_path / "figures" / f"recipe_{recipe}"
    assert figure_main([recipe, str(root), "-o", str(stem)]) == 0
    for fmt in ("png", "pdf"):
        assert stem.with_suffix(f".{fmt}").stat().st_size > 5000
    report = capsys.readouterr().out
    for value in values:  # the reported final theory values are the saved ones
        theory, _ = make(value, np.array([0, 200]))
        assert f"theory {theory['test_risk'][-1]:.4g}" in report


@pytest.mark.parametrize("key, values, labels, fixed", [
    ("optim.lr", [0.2, 0.1], ["η=0.1", "η=0.2"], "B = 16"),
    ("optim.batch_size", [16, 1, 4], ["B=1", "B=4", "B=16"], "η = 0.25"),
])
def test_online_batch_labels_curves_by_the_swept_key(key, values, labels, fixed, tmp_path):
    """An lr sweep at a fixed batch size: one curve per learning rate, labelled by η (never "B=16" twice)."""
    from twopoint.report.recipes import draw

    base = ["experiment=online_batch", *SMALL] + (["optim.batch_size=16"] if key == "optim.lr" else [])
    root = write_sweep(tmp_path / "sweep", base, key, values, lambda v, steps: _online(v, steps))
    fig, report = draw("online_batch", root)
    for ax in fig.axes[:2]:
        simulated = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert [line.get_label() for line in simulated] == labels
        for line in simulated:  # each curve is one job's: steps strictly increasing
            assert np.all(np.diff(line.get_xdata()) > 0)
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()][:len(labels)] == labels
    assert fixed in fig.get_suptitle()
    assert [line.split(":")[0].strip() for line in report.splitlines()] == labels


def test_scaling_time_fit_recovers_the_saved_slope(tmp_path, capsys):
    overrides = ["experiment=scaling_time", "record.points=30", "optim.steps=2000"]
    data = compose_config(*overrides).data
    slope = theory_slopes(data.spectrum.alpha, data.teacher.beta)["risk_vs_time"]
    run = write_run(tmp_path / "run", overrides, lambda steps: ({"test_risk": power_law(steps, slope)}, {}),
                    replicas=64, noise=0.3)
    assert figure_main(["scaling_time", str(run), "-o", str(tmp_path / "fit"), "--formats", "png"]) == 0
    report = capsys.readouterr().out
    sim = re.search(r"simulation (-?[\d.]+) ± ([\d.]+) \(95%: \[(-?[\d.]+), (-?[\d.]+)\]\)", report)
    _, se, lo, hi = map(float, sim.groups())
    assert lo <= slope <= hi and 0 < se < 0.05
    assert f"theory     {slope:.4f}" in report and f"asymptotic {slope:.4f}" in report


def test_compute_frontier_recovers_the_exponents_of_saved_curves(tmp_path, capsys):
    """L(N, t) = 1/N + t^(−(β−1)/α) has the frontier L* ~ C^(−(β−1)/(α+1)) at N* ~ C^(1/(α+1))."""
    alpha, beta = 1.5, 2.0
    base = ["experiment=compute_frontier", "record.points=80", "optim.steps=1000000", "data.dim=50"]
    sizes = np.unique(np.geomspace(4, 4096, 11).round().astype(int))

    def make(n, steps):
        return {"test_risk": 1 / n + power_law(steps, -(beta - 1) / alpha)}, {}

    root = write_sweep(tmp_path / "sweep", base, "model.n_features", sizes, make, replicas=0)
    assert figure_main(["compute_frontier", str(root), "-o", str(tmp_path / "frontier"), "--formats", "png"]) == 0
    report = capsys.readouterr().out
    fitted = {name: float(v) for name, v in re.findall(r"(\w+): fitted (-?[\d.]+)", report)}
    expected = theory_slopes(alpha, beta)
    # N* is resolved only to the ×2 grid of widths (the exact frontier law is tested in test_scaling_fits)
    assert fitted["loss_vs_compute"] == pytest.approx(expected["loss_vs_compute"], abs=0.03)
    assert fitted["optimal_size_vs_compute"] == pytest.approx(expected["optimal_size_vs_compute"], abs=0.08)


def test_unknown_recipe_is_a_clear_error(tmp_path, capsys):
    assert figure_main(["no_such_recipe", str(tmp_path)]) == 2
    assert "no_such_recipe" in capsys.readouterr().err


def test_venue_sizes_figures_to_its_text_width():
    from twopoint.report import style

    try:
        style.use_venue("neurips2024")
        assert style.panel_size(2, 1)[0] == pytest.approx(5.5, rel=1e-6)  # NeurIPS text width in inches
    finally:
        style.use_venue(None)
    assert style.panel_size(2, 1) == (2 * style.PANEL[0], style.PANEL[1])
    with pytest.raises(ValueError, match="neurips2024"):
        style.use_venue("no_such_venue")


def test_a_recipe_on_a_sweep_without_its_keys_is_a_one_line_error(tmp_path, capsys):
    """rf_size on a batch-size sweep of the linear model: exit 2 and one line naming the missing keys (was a TypeError)."""
    from twopoint.cli.tools import figure_main

    root = write_sweep(tmp_path / "sweep", ["data.dim=50"], "optim.batch_size", [1, 4],
                       lambda v, steps: ({"test_risk": power_law(steps, -0.5)}, {}))
    assert figure_main(["rf_size", str(root), "-o", str(tmp_path / "fig")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.n_features" in err[0] and "data.n_train" in err[0]


def test_sweep_overview_has_a_residual_row_under_the_curves(tmp_path):
    from twopoint.report.aggregate import collect
    from twopoint.report.sweep_figures import sweep_curves_figure

    root = write_sweep(tmp_path / "sweep", ["data.dim=50"], "optim.batch_size", [1, 4],
                       lambda v, steps: ({"test_risk": power_law(steps, -0.5)}, {}))
    fig = sweep_curves_figure(collect(root))
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels.count("(sim − theory)/theory") == 1 and labels.count("test risk") == 1
    residual = fig.axes[labels.index("(sim − theory)/theory")]
    assert len(residual.get_lines()) >= 3  # one line per job and the zero line
