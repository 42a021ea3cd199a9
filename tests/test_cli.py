"""The ``twopoint`` command end to end in a subprocess: artefacts, multirun, check exit codes."""

import json

import pandas as pd

from conftest import run_cli

TINY = ("data.dim=20", "optim.steps=50", "sim.replicas=16", "record.points=12", "sim.device=cpu")


def test_single_run_writes_every_artefact(tmp_path):
    res = run_cli(tmp_path, *TINY)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    for name in ["curves.csv", "replicas.parquet", "metrics.json", "loss_curves.png", "loss_curves.pdf", "twopoint.log", ".hydra/config.yaml"]:
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    curves = pd.read_csv(run / "curves.csv")
    assert {"source", "quantity", "step", "time", "value", "stderr"} <= set(curves.columns)
    assert set(curves.source) == {"simulation", "theory"}
    assert curves.loc[curves.source == "theory", "stderr"].isna().all()
    m = strict_json((run / "metrics.json").read_text())
    assert m["verdict"] in {"pass", "fail"} and m["theory_method"]
    for key in ["max_rel_err", "median_rel_err", "max_abs_z", "frac_within_2se"]:
        assert key in m["quantities"]["test_risk"]
    assert set(m["timings"]) >= {"theory_s", "simulation_s"}
    assert m["divergence"]["simulation"]["diverged"] is False
    assert "outputs:" in res.stdout + res.stderr
    assert json.loads((run / "status.json").read_text()) == {"status": "ok"}
    assert res.stderr.strip() == ""


def test_multirun_two_jobs(tmp_path):
    res = run_cli(tmp_path, "-m", *TINY, "optim.batch_size=1,4")
    assert res.returncode == 0, res.stderr
    for job in ("0", "1"):
        assert (tmp_path / "sweep" / job / "metrics.json").is_file()


def test_check_exit_codes(tmp_path):
    ok = run_cli(tmp_path / "a", *TINY, "compare.check=true", "sim.replicas=64")
    assert ok.returncode == 0, ok.stderr
    # the continuous-time approximation at a large step size is far off: a failing verdict
    bad = run_cli(tmp_path / "b", *TINY, "compare.check=true", "theory.method=continuous_time", "optim.lr=1.4",
                  "optim.batch_size=16", "optim.steps=200", "sim.replicas=64")
    assert bad.returncode == 1, bad.stderr
    assert json.loads((tmp_path / "b" / "run" / "metrics.json").read_text())["verdict"] == "fail"
    same_without_check = run_cli(tmp_path / "c", *TINY, "theory.method=continuous_time", "optim.lr=1.4",
                                 "optim.batch_size=16", "optim.steps=200", "sim.replicas=64")
    assert same_without_check.returncode == 0


def strict_json(text: str):
    """``json.loads`` that rejects the non-standard constants Infinity, -Infinity and NaN."""
    def reject(constant):
        raise ValueError(f"metrics.json holds {constant}")

    return json.loads(text, parse_constant=reject)


def test_predicted_and_observed_divergence_is_a_pass(tmp_path):
    res = run_cli(tmp_path, *TINY, "optim.lr=4.0", "optim.steps=300", "compare.check=true")
    assert res.returncode == 0, res.stderr
    m = strict_json((tmp_path / "run" / "metrics.json").read_text())  # strict JSON although the run diverged
    assert m["verdict"] == "pass" and m["verdict_reason"] == "both diverged"
    assert m["divergence"]["theory"]["diverged"] and m["divergence"]["simulation"]["fraction"] >= 0.5
    assert m["theory_info"]["kernel_mass"] is None and m["nonfinite"]["theory_info.kernel_mass"] == "inf"


def test_readme_shows_what_twopoint_info_prints():
    import re
    from pathlib import Path

    from twopoint.cli.info import info_text

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"`twopoint info` prints what is registered[^\n]*\n\n```\n(.*?)```", readme, re.S)
    assert block is not None and block.group(1).strip() == info_text().strip()
