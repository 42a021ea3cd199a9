"""The public Python API: ``twopoint.run`` and the lower level, as a notebook would use them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import twopoint as tp
from conftest import REPO

TINY = ("data.dim=20", "optim.steps=30", "sim.replicas=8", "record.points=10", "sim.device=cpu")


def test_run_returns_table_metrics_and_curves_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = tp.run(*TINY)
    assert list(tmp_path.iterdir()) == []  # no files unless save_to
    assert set(res.table.source) == {"simulation", "theory"}
    assert list(res.table.columns) == ["source", "method", "quantity", "step", "time", "value", "stderr"]
    assert res.verdict in ("pass", "fail") and res.metrics["verdict"] == res.verdict
    assert res.simulation.values["test_risk"].shape == (8, res.problem.record_steps.size)
    np.testing.assert_array_equal(res.theory.steps, res.simulation.steps)
    assert res.run_dir is None


def test_run_saves_the_run_folder_only_when_asked(tmp_path):
    res = tp.run(*TINY, "compare.figure_formats=[png]", save_to=tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.yaml", "curves.csv", "metrics.json", "replicas.parquet", "loss_curves.png"} <= names
    assert res.run_dir == tmp_path / "run"


def test_plot_returns_a_figure_outside_pyplot():
    from matplotlib.figure import Figure

    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = tp.run(*TINY, "sim.enabled=false").plot()
    assert isinstance(fig, Figure) and fig.axes
    assert plt.get_fignums() == before  # not registered with pyplot: no duplicate inline display, no leak


def test_bad_config_raises_config_error_not_system_exit():
    with pytest.raises(tp.ConfigError, match="data.spectrum.alpha"):
        tp.run("data.spectrum.alpha=-1")
    with pytest.raises(tp.ConfigError):
        tp.compose("optim.learning_rate=0.1")  # unknown key
    with pytest.raises(tp.ConfigError):
        tp.compose("model=nonexistent")  # unknown group option
    with pytest.raises(tp.ConfigError, match="compare.figure_formats"):
        tp.run(*TINY, "compare.figure_formats=[xyz]")
    with pytest.raises(tp.ConfigError, match="sim.enabled"):
        tp.run(*TINY, "sim.enabled=false", "theory.enabled=false")  # nothing to run
    assert issubclass(tp.ConfigError, tp.TwopointError) and issubclass(tp.ConfigError, ValueError)


def test_lower_level_equals_run():
    problem = tp.build_problem(tp.compose(*TINY))
    sim, theory = tp.simulate(problem), tp.predict(problem)
    ev = tp.evaluate(sim, theory)
    res = tp.run(*TINY)
    np.testing.assert_array_equal(sim.values["test_risk"], res.simulation.values["test_risk"])
    np.testing.assert_array_equal(theory.values["test_risk"], res.theory.values["test_risk"])
    assert ev.metrics["verdict"] == res.verdict


def test_import_is_light_and_leaves_matplotlib_alone():
    """``import twopoint`` neither loads torch nor selects a matplotlib backend; plotting keeps the backend."""
    code = ("import sys, matplotlib; matplotlib.use('svg'); import twopoint as tp; "
            "assert 'torch' not in sys.modules and 'matplotlib.pyplot' not in sys.modules; "
            "res = tp.run('data.dim=10', 'optim.steps=10', 'sim.replicas=4', 'record.points=5'); res.plot(); "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); print(res.verdict)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ, "CI": "true"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("pass", "fail")


def readme_example() -> tuple[str, str]:
    """The README's API example (the ```python block after '<!-- api-example -->') and its printed output."""
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```\s*```text\n(.*?)```", text, re.S)
    assert match, "README.md has no API example"
    return match.group(1), match.group(2)


def test_readme_api_example_runs_and_prints_what_the_readme_says(tmp_path):
    code, expected = readme_example()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "CI": "true", "MPLBACKEND": "agg"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected.split()
    assert list(Path(tmp_path).iterdir()) == []
