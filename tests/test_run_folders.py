"""Run folders, interrupts and one-line errors of the ``twopoint`` command; strict JSON in ``metrics.json``.

Every run gets a folder of its own (``<time>-<id>``, even for runs started in the same second), never writes
into a folder that holds another run's files (exit 2), records SIGINT/SIGTERM in ``status.json`` (exit 130/143,
one line, no traceback) and prints each error once, as one line.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, run_cli
from twopoint.report.outputs import metrics_json, strict_json
from twopoint.report.status import FolderInUse, claim_folder
from twopoint.report.status import read_status, write_status

TINY = ("data.dim=20", "optim.steps=50", "sim.replicas=16", "record.points=12", "sim.device=cpu",
        "compare.figure_formats=[]")
LONG = ("optim.steps=200000", "data.dim=2000", "sim.replicas=64", "theory.enabled=false", "sim.device=cpu")
ENV = {**os.environ, "CI": "true"}


def twopoint(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``twopoint`` with its default run/sweep folders, relative to ``cwd``."""
    return subprocess.Popen([sys.executable, "-m", "twopoint", *args], cwd=cwd, env=env or ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: int = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def strict_loads(text: str):
    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def stderr_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# --- unique run folders --------------------------------------------------------------------------------------

def test_default_run_dirs_differ_for_configs_composed_in_the_same_second():
    from hydra import compose, initialize_config_dir
    from twopoint.api import CONFIG_DIR
    from twopoint.core.config import register_configs

    register_configs()
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfgs = [compose("config", return_hydra_config=True) for _ in range(5)]
    run_dirs = [str(c.hydra.run.dir) for c in cfgs]
    sweep_dirs = [str(c.hydra.sweep.dir) for c in cfgs]
    assert len(set(run_dirs)) == 5 and len(set(sweep_dirs)) == 5, run_dirs
    for cfg, run_dir in zip(cfgs, run_dirs):
        assert str(cfg.hydra.run.dir) == run_dir  # drawn once per config: every reading agrees
        assert run_dir.startswith("outputs/") and len(run_dir.rsplit("-", 1)[1]) == 6


def test_two_runs_started_together_get_their_own_folders(tmp_path):
    procs = [twopoint(*TINY, f"seed={seed}", cwd=tmp_path) for seed in (1, 2)]
    results = [finish(p) for p in procs]
    for rc, _, err in results:
        assert rc == 0, err
    runs = sorted(p for p in (tmp_path / "outputs").glob("*/*") if p.is_dir())
    assert len(runs) == 2, runs
    seeds = set()
    for run in runs:
        overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
        seed = int(next(o for o in overrides if o.startswith("seed=")).split("=")[1])
        assert yaml.safe_load((run / ".hydra" / "config.yaml").read_text())["seed"] == seed
        assert read_status(run) == {"status": "ok"}
        assert strict_loads((run / "metrics.json").read_text())["verdict"] in {"pass", "fail"}
        log = (run / "twopoint.log").read_text()
        assert log.count("verdict:") == 1 and log.count("outputs:") == 1  # no other run's lines
        seeds.add(seed)
    assert seeds == {1, 2}


def test_a_sweep_with_the_default_folder_keeps_every_job_in_one_fresh_folder(tmp_path):
    rc, _, err = finish(twopoint("-m", *TINY, "seed=1,2", "hydra.callbacks.aggregate.formats=[]", cwd=tmp_path))
    assert rc == 0, err
    sweeps = [p for p in (tmp_path / "multirun").glob("*/*") if p.is_dir()]
    assert len(sweeps) == 1, sweeps
    assert {p.name for p in sweeps[0].iterdir()} == {"0", "1", "aggregate", "multirun.yaml"}
    for job in ("0", "1"):
        assert read_status(sweeps[0] / job) == {"status": "ok"}


def test_a_run_never_writes_into_a_folder_that_holds_another_run(tmp_path):
    first = run_cli(tmp_path, *TINY, "seed=1")
    assert first.returncode == 0, first.stderr
    run = tmp_path / "run"
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = run_cli(tmp_path, *TINY, "seed=2")
    assert again.returncode == 2
    lines = stderr_lines(again.stderr)
    assert len(lines) == 1 and "hydra.run.dir" in lines[0] and str(run) in lines[0], again.stderr
    assert "Traceback" not in again.stderr + again.stdout
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # nothing of the refused run was written there


def test_a_sweep_never_writes_into_a_folder_that_holds_another_sweep(tmp_path):
    (tmp_path / "sweep" / "0").mkdir(parents=True)
    (tmp_path / "sweep" / "0" / "metrics.json").write_text("{}")
    res = run_cli(tmp_path, "-m", *TINY, "seed=1,2")
    assert res.returncode == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and "hydra.sweep.dir" in lines[0], res.stderr
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["0"]


def test_an_empty_existing_run_folder_is_accepted(tmp_path):
    (tmp_path / "run").mkdir()
    res = run_cli(tmp_path, *TINY)
    assert res.returncode == 0, res.stderr
    assert read_status(tmp_path / "run") == {"status": "ok"}


def test_claim_folder(tmp_path):
    assert claim_folder(tmp_path / "a" / "b", ".hydra") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b" / ".hydra").is_dir()
    with pytest.raises(FolderInUse, match=r"\.hydra"):
        claim_folder(tmp_path / "a" / "b", ".hydra")  # the second claimant of the same folder is refused
    (tmp_path / "empty").mkdir()
    claim_folder(tmp_path / "empty", "multirun.yaml", marker_is_dir=False)
    assert (tmp_path / "empty" / "multirun.yaml").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderInUse):
        claim_folder(tmp_path / "file")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.json").write_text("{}")
    with pytest.raises(FolderInUse, match="metrics.json"):
        claim_folder(tmp_path / "old")


# --- interrupts ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_exits_128_plus_the_signal_and_records_it(tmp_path, sig, code):
    run = tmp_path / "run"
    proc = twopoint(*LONG, f"hydra.run.dir={run}", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not (run / ".hydra" / "overrides.yaml").is_file():  # the job has started
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.1)
        time.sleep(2.0)
        assert proc.poll() is None, "the long run ended before the signal"
        proc.send_signal(sig)
        rc, out, err = finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert rc == code, err
    lines = stderr_lines(err)
    assert len(lines) == 1, err
    assert signal.Signals(sig).name in lines[0] and "status.json" in lines[0]
    assert "Traceback" not in out + err
    record = read_status(run)
    assert record["status"] == "interrupted" and record["signal"] == signal.Signals(sig).name
    assert not (run / "metrics.json").exists()


def test_write_status_records_an_interrupt_and_replaces_the_file_whole(tmp_path):
    class Term(KeyboardInterrupt):
        signal_name = "SIGTERM"

    write_status(tmp_path, RuntimeError("boom"))
    assert read_status(tmp_path)["status"] == "failed"
    record = write_status(tmp_path, Term())
    assert record["status"] == "interrupted" and record["signal"] == "SIGTERM"
    assert read_status(tmp_path)["signal"] == "SIGTERM"
    assert write_status(tmp_path, KeyboardInterrupt())["signal"] == "SIGINT"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary file left


# --- errors, once and one line each --------------------------------------------------------------------------

@pytest.mark.parametrize("override, names", [
    ("data.dim=abc", ["data.dim=abc", "Integer"]),
    ("optim.learning_rate=0.1", ["optim.learning_rate"]),
    ("model=foo", ["model/foo", "linear"]),
    ("optim.lrr=0.1", ["optim.lrr", "did you mean optim.lr?"]),
    ("data.dim=[1", ["data.dim=[1"]),
])
def test_hydra_override_errors_are_one_line_naming_the_key(tmp_path, override, names):
    res = run_cli(tmp_path, override)
    assert res.returncode == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("twopoint: config error: ")
    for name in names:
        assert name in lines[0], lines[0]
    assert res.stdout.strip() == ""
    assert not (tmp_path / "run").exists()  # rejected before a run folder exists


def test_a_config_error_is_printed_once(tmp_path):
    res = run_cli(tmp_path, *TINY, "data.spectrum.alpha=-1")
    assert res.returncode == 2
    assert stderr_lines(res.stderr) == ["twopoint: config error: data.spectrum.alpha=-1.0 is invalid: alpha > 0"]
    assert "alpha" not in res.stdout and "ERROR" not in res.stdout
    assert "alpha > 0" in (tmp_path / "run" / "twopoint.log").read_text()  # the log file keeps it
    assert read_status(tmp_path / "run")["status"] == "failed"


def test_an_unexpected_error_is_one_line_with_its_traceback_in_status_json(tmp_path):
    code = ("import sys, twopoint.cli.app as app\n"
            "def boom(cfg, save_to=None):\n    raise RuntimeError('solver exploded')\n"
            "app.run_config = boom\napp.main()\n")
    res = subprocess.run([sys.executable, "-c", code, f"hydra.run.dir={tmp_path}/run", *TINY], cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and "RuntimeError: solver exploded" in lines[0] and "status.json" in lines[0], res.stderr
    assert "Traceback" not in res.stderr and "solver exploded" not in res.stdout
    record = read_status(tmp_path / "run")
    assert record["status"] == "failed" and "Traceback" in record["traceback"]
    assert "solver exploded" in (tmp_path / "run" / "twopoint.log").read_text()


def test_figure_formats_are_checked_before_any_compute(tmp_path):
    start = time.monotonic()
    res = run_cli(tmp_path, *LONG, "compare.figure_formats=[xyz]", timeout=120)
    assert res.returncode == 2
    assert stderr_lines(res.stderr) == [
        "twopoint: config error: compare.figure_formats=['xyz'] is invalid: a list of png, pdf, svg, eps, jpg, tif"]
    assert not (tmp_path / "run" / "curves.csv").exists()
    assert time.monotonic() - start < 120


def test_figure_formats_are_checked_before_the_simulator_is_chosen(monkeypatch):
    import twopoint.api as tp
    import twopoint.simulate

    def computed(problem):
        raise AssertionError("selected a simulator before checking compare.figure_formats")

    monkeypatch.setattr(twopoint.simulate, "select_simulator", computed)
    with pytest.raises(tp.ConfigError, match="compare.figure_formats"):
        tp.run(*TINY[:-1], "compare.figure_formats=[xyz]")


# --- strict JSON ---------------------------------------------------------------------------------------------

def test_strict_json_turns_non_finite_numbers_into_null_and_lists_them():
    metrics = {"a": math.inf, "b": {"c": -math.inf, "d": [1.0, math.nan]}, "e": np.float64(np.inf),
               "f": np.array([1.5, np.nan]), "g": np.int64(3), "h": 2.5, "i": None, "j": "inf"}
    nonfinite: dict = {}
    clean = strict_json(metrics, nonfinite=nonfinite)
    assert clean == {"a": None, "b": {"c": None, "d": [1.0, None]}, "e": None, "f": [1.5, None], "g": 3, "h": 2.5,
                     "i": None, "j": "inf"}
    assert nonfinite == {"a": "inf", "b.c": "-inf", "b.d.1": "nan", "e": "inf", "f.1": "nan"}
    text = metrics_json(metrics)
    assert strict_loads(text)["nonfinite"] == nonfinite
    assert "nonfinite" not in strict_loads(metrics_json({"x": 1.0}))


def test_a_diverging_run_writes_strict_json(tmp_path):
    import twopoint.api as tp

    res = tp.run(*TINY, "optim.lr=4.0", "optim.steps=300", save_to=tmp_path / "run")
    assert res.metrics["verdict_reason"] == "both diverged"
    assert math.isinf(res.metrics["theory_info"]["kernel_mass"])  # what used to be written as Infinity
    text = (tmp_path / "run" / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    m = strict_loads(text)
    assert m["theory_info"]["kernel_mass"] is None and m["nonfinite"]["theory_info.kernel_mass"] == "inf"
    assert m["verdict"] == "pass"
