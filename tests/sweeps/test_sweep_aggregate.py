"""A real 2×2 multirun (basic launcher) with one invalid cell, aggregated by the callback and by
``twopoint-aggregate``; partial sweeps keep every job in the table."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from twopoint.report.aggregate import collect
from conftest import run_cli
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
