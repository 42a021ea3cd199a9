"""The launcher configs run real sweeps: joblib worker processes, and submitit's local executor (the
SLURM launcher's code path without a cluster).  Each sweep is aggregated by the callback in the main
process, which also sees failures that happened in the workers.  Slow: every worker imports torch."""

import pandas as pd
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

TINY = ("data.dim=20", "optim.steps=40", "sim.replicas=8", "record.points=10", "sim.device=cpu",
        "compare.figure_formats=[]", "hydra.callbacks.aggregate.formats=[png]")


def _statuses(root) -> dict:
    jobs = pd.read_csv(root / "aggregate" / "jobs.csv")
    for job in jobs.job:
        assert (root / str(job) / "status.json").is_file()
    assert (root / "aggregate" / "sweep_curves.png").stat().st_size > 0
    return dict(zip(jobs["optim.lr"], jobs.status))


def test_joblib_launcher_ok_diverged_and_failed_jobs(tmp_path):
    # lr = 4 is beyond the stability edge (a result: "diverged"); lr = -1 is invalid (a failure)
    res = run_cli(tmp_path, "-m", "hydra/launcher=workstation", "hydra.launcher.n_jobs=2", *TINY, "optim.lr=0.3,4.0,-1")
    assert res.returncode == 1, res.stderr
    assert "Joblib.Parallel(n_jobs=2" in res.stdout + res.stderr
    assert _statuses(tmp_path / "sweep") == {0.3: "ok", 4.0: "diverged", -1.0: "failed"}
    jobs = pd.read_csv(tmp_path / "sweep" / "aggregate" / "jobs.csv").set_index("optim.lr")
    assert "optim.lr" in jobs.loc[-1.0, "error"]
    assert jobs.loc[4.0, "sim_diverged_fraction"] >= 0.5 and jobs.loc[4.0, "theory_diverged"]


def test_submitit_local_launcher_two_jobs(tmp_path):
    res = run_cli(tmp_path, "-m", "hydra/launcher=slurm_local", *TINY, "optim.lr=0.3,0.5", timeout=600)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "sweep" / ".submitit").is_dir()
    assert _statuses(tmp_path / "sweep") == {0.3: "ok", 0.5: "ok"}
