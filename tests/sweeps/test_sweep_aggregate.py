"""A real 2×2 multirun (basic launcher) with one invalid cell, aggregated by the callback and by
``twopoint-aggregate``; partial sweeps keep every job in the table.  A sweep fails loudly: a failed
aggregation or a job that failed ``compare.check`` makes ``twopoint -m`` exit 1, and the summary counts
check-failed jobs apart, printing unset keys as unset and integers as integers."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from omegaconf import OmegaConf

from twopoint.report import status
from twopoint.report.aggregate import collect, format_value, status_counts, summary
from conftest import run_cli
from saved_outputs import power_law, write_run, write_sweep
from twopoint.cli.tools import aggregate_main

# sgd_epochs needs B <= P: the cell (B=30, P=20) is invalid, the other three run
GRID = ("data.dim=20", "optim.steps=30", "sim.replicas=8", "record.points=10", "sim.device=cpu",
        "optim.algorithm=sgd_epochs", "compare.figure_formats=[]", "hydra.callbacks.aggregate.formats=[png]",
        "optim.batch_size=10,30", "data.n_train=20,40")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    res = run_cli(tmp, "-m", *GRID)
    return tmp / "sweep", res


def test_multirun_ends_with_one_table_and_figures(sweep):
    root, res = sweep
    assert res.returncode == 1, res.stderr  # one job failed, the others ran
    out = root / "aggregate"
    for name in ["jobs.csv", "jobs.parquet", "sweep.csv", "sweep.parquet", "sweep_curves.png", "sweep_metrics.png"]:
        assert (out / name).stat().st_size > 0, name
    jobs = pd.read_parquet(out / "jobs.parquet")
    assert len(jobs) == 4
    assert list(jobs.columns[:5]) == ["job", "status", "error", "optim.batch_size", "data.n_train"]
    failed = jobs[jobs.status == "failed"]
    assert len(failed) == 1
    bad = failed.iloc[0]
    assert (bad["optim.batch_size"], bad["data.n_train"]) == (30, 20)
    assert "ConfigError" in bad.error and "optim.batch_size" in bad.error
    assert set(jobs.status) == {"ok", "failed"}
    assert "1 failed" in res.stdout + res.stderr


def test_tidy_table_matches_each_jobs_own_files(sweep):
    root, _ = sweep
    table = pd.read_csv(root / "aggregate" / "sweep.csv")
    jobs = pd.read_csv(root / "aggregate" / "jobs.csv")
    for _, job in jobs[jobs.status == "ok"].iterrows():
        own = pd.read_csv(root / str(job.job) / "curves.csv")
        mine = table[table.job == job.job]
        assert len(mine) == len(own)
        np.testing.assert_array_equal(mine.sort_values(["source", "quantity", "step"]).value.to_numpy(),
                                      own.sort_values(["source", "quantity", "step"]).value.to_numpy())
        metrics = json.loads((root / str(job.job) / "metrics.json").read_text())
        assert job["test_risk.max_rel_err"] == pytest.approx(metrics["quantities"]["test_risk"]["max_rel_err"])
        last = own[(own.source == "simulation") & (own.quantity == "train_loss")].sort_values("step").iloc[-1]
        assert job["train_loss.final_simulation"] == pytest.approx(last.value)
        assert job["train_loss.final_simulation_se"] == pytest.approx(last.stderr)
    failed_rows = table[table.status == "failed"]
    assert len(failed_rows) == 1 and failed_rows.value.isna().all()  # present, with empty curve columns


def test_partial_sweep_keeps_every_job(sweep, tmp_path):
    root, _ = sweep
    copy = tmp_path / "sweep"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "aggregate")
    shutil.rmtree(copy / "1")  # never started
    (copy / "3" / "metrics.json").unlink()  # killed while writing
    (copy / "3" / "status.json").unlink()
    assert aggregate_main([str(copy), "--formats", "png"]) == 1
    jobs = pd.read_csv(copy / "aggregate" / "jobs.csv")
    status = dict(zip(jobs.job_num, jobs.status))
    assert status == {0: "ok", 1: "not_started", 2: "failed", 3: "incomplete"}
    started = jobs[jobs.job_num == 1].iloc[0]
    assert (started["optim.batch_size"], started["data.n_train"]) == (10, 40)
    assert (copy / "aggregate" / "sweep_metrics.png").stat().st_size > 0


def test_collect_accepts_run_directories(sweep):
    root, _ = sweep
    s = collect(root / "0", root / "3")
    assert len(s.jobs) == 2 and set(s.jobs.status) == {"ok"}
    assert s.swept == ["optim.batch_size", "data.n_train"]


# --- sweeps fail loudly ---------------------------------------------------------------------------------------
SMALL = ("sim.replicas=4", "optim.steps=20", "data.dim=20", "sim.device=cpu", "compare.figure_formats=[]")


def test_failed_aggregation_makes_the_sweep_exit_1(tmp_path):
    # every job is fine; writing the overview figures fails (an unknown format): Hydra alone would only warn
    res = run_cli(tmp_path, "-m", *SMALL, "hydra.callbacks.aggregate.formats=[nosuchformat]", "optim.lr=0.2,0.3")
    log = res.stdout + res.stderr
    assert res.returncode == 1, log[-3000:]
    assert "sweep aggregation failed (aggregation of" in log and "nosuchformat" in log
    assert "2 jobs: 2 ok" in log  # the jobs' summary is still reported


def test_check_failed_job_makes_the_sweep_exit_1_and_is_counted_apart(tmp_path):
    # with 4 replicas the verdict is judged on the relative error alone: 1e-6 fails, 10 passes
    res = run_cli(tmp_path, "-m", *SMALL, "hydra.callbacks.aggregate.formats=[]", "compare.check=true",
                  "compare.max_rel_err=1e-6,10")
    log = res.stdout + res.stderr
    assert res.returncode == 1, log[-3000:]
    assert "2 jobs: 1 ok, 1 check_failed" in log
    assert re.search(r"job 0 \[check_failed\] compare\.max_rel_err=1e-0?6: compare\.check: verdict fail \(test_risk", log)
    jobs = pd.read_csv(tmp_path / "sweep" / "aggregate" / "jobs.csv")
    assert list(jobs.status) == ["ok", "ok"] and list(jobs.check_failed) == [True, False]  # still results


def _online(steps):
    return {"test_risk": power_law(steps, -0.5, 0.1, 3.0)}, {}


SYNTHETIC = ["record.points=10", "optim.steps=100"]


def test_callback_finds_failures_in_saved_outputs_and_records_its_own(tmp_path, monkeypatch):
    """As with a launcher whose jobs ran in other processes: only the saved outputs tell what happened."""
    from twopoint.cli import callbacks

    monkeypatch.setattr(callbacks, "FAILURES", [])
    monkeypatch.setattr(status, "FAILED", set())
    root = write_sweep(tmp_path / "sweep", ["compare.check=true", *SYNTHETIC], "optim.lr", [0.1, 0.2, 0.3, 0.4],
                       lambda v, steps: _online(steps))
    metrics = json.loads((root / "1" / "metrics.json").read_text())
    (root / "1" / "metrics.json").write_text(json.dumps({**metrics, "verdict": "fail", "verdict_reason": "off"}))
    status.write_status(root / "2", ValueError("boom"))
    (root / "3" / "status.json").unlink()
    (root / "3" / "metrics.json").unlink()  # killed
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(root)}}})
    callbacks.AggregateSweep(formats=[]).on_multirun_end(config)
    assert [f.split(":")[0] for f in callbacks.FAILURES] == ["job 2 failed", "job 3 incomplete", "job 1 failed compare.check"]
    assert status.FAILED == {str((root / "2").resolve()), str((root / "3").resolve())}
    text = summary(collect(root))
    assert text.splitlines()[0] == "4 jobs: 1 ok, 1 check_failed, 1 failed, 1 incomplete"
    assert "  job 1 [check_failed] optim.lr=0.2: compare.check: verdict fail (off)" in text
    assert "  job 2 [failed] optim.lr=0.3: ValueError: boom" in text
    assert "  job 3 [incomplete] optim.lr=0.4: no result" in text
    callbacks.FAILURES.clear()
    callbacks.AggregateSweep(formats=["nosuchformat"]).on_multirun_end(config)  # must not raise: Hydra would only warn
    assert callbacks.FAILURES[-1].startswith(f"aggregation of {root} failed: ValueError: Format 'nosuchformat'")
    (root / "1" / ".hydra" / "config.yaml").write_text(
        (root / "1" / ".hydra" / "config.yaml").read_text().replace("check: true", "check: false"))
    assert collect(root).check_failed.empty  # a failing verdict without compare.check is a result, not a failure


def test_summary_prints_unset_keys_as_unset_and_integers_as_integers(tmp_path):
    a = write_run(tmp_path / "a", ["optim.batch_size=16", *SYNTHETIC], _online)
    b = write_run(tmp_path / "b", ["optim.lr=0.25", *SYNTHETIC], _online)
    status.write_status(a, RuntimeError("boom"))
    status.write_status(b, RuntimeError("bang"))
    sweep = collect(a, b)
    assert sweep.swept == ["optim.batch_size", "optim.lr"]
    assert sweep.jobs["optim.batch_size"].dtype == float  # the column holds 16.0 and NaN
    text = summary(sweep)
    assert "[failed] optim.batch_size=16 optim.lr unset: RuntimeError: boom" in text
    assert "[failed] optim.batch_size unset optim.lr=0.25: RuntimeError: bang" in text
    assert "nan" not in text.lower() and "16.0" not in text
    assert status_counts(sweep) == "2 jobs: 2 failed"


def test_format_value():
    assert [format_value(v) for v in (16.0, np.int64(16), 16, np.nan, 0.001, 1e-6, 0.1 + 0.2, True, None, "cosine")] == \
        ["16", "16", "16", "unset", "0.001", "1e-06", "0.30000000000000004", "true", "null", "cosine"]
