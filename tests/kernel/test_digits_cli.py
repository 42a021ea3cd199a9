"""The digits kernel pipeline end to end through the ``twopoint`` command, at CI size."""

import json

import pandas as pd
import pytest

from conftest import run_cli

TINY = ("experiment=kernel_digits", "data.n_train=40", "sim.replicas=16", "optim.steps=100", "record.points=12",
        "sim.device=cpu")


def test_digits_run_writes_kernel_artefacts(tmp_path):
    res = run_cli(tmp_path, *TINY)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    for name in ["curves.csv", "metrics.json", "loss_curves.png", "kernel_spectrum.png", "kernel_spectrum.pdf"]:
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    m = json.loads((run / "metrics.json").read_text())
    assert "kernel spectrum" in m["theory_method"] and m["theory_info"]["inputs"] == "digits"
    assert m["theory_info"]["n_modes"] == 1797
    gap = m["gaussian_equivalence_gap"]
    for q in ("test_risk", "train_loss"):
        assert gap[q]["points"] == 11 and gap[q]["max_abs_rel"] >= gap[q]["median_abs_rel"] >= 0
        assert gap[q]["max_abs_rel"] == m["quantities"][q]["max_rel_err"]  # the same comparison, named for kernels
    curves = pd.read_csv(run / "curves.csv")
    sim = curves[(curves.source == "simulation") & (curves.quantity == "test_risk")]
    assert sim.value.iloc[0] == pytest.approx(1.0, abs=1e-12)  # f = 0 on a ±1 target without label noise: the risk is E y*² = 1
    assert sim.value.iloc[-1] < 0.5
