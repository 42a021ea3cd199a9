"""``twopoint-regress``: the stored references pass as they are; an injected regression in the simulator
or in the theory, or a shift of the stored curves by several standard errors, fails with a readable
report; the tolerance scales with the stored Monte-Carlo standard error."""

import shutil

import numpy as np
import pandas as pd
import pytest

import twopoint.simulate as simulate
import twopoint.theory.predict as theory_predict
from twopoint.compare.regression import compare_to_reference
from twopoint.cli.regress import CASES
from twopoint.cli.regress import load_cases, main

CASE = "online_sgd"


@pytest.fixture
def references(tmp_path):
    """A private copy of the stored reference set (cases.yaml and the case's curves)."""
    shutil.copy(CASES.parent / "cases.yaml", tmp_path / "cases.yaml")
    shutil.copy(CASES.parent / f"{CASE}.csv", tmp_path / f"{CASE}.csv")
    return tmp_path / "cases.yaml"


def _scaled(select, factor):
    """Wrap ``select`` (simulator or predictor lookup) so that every curve it yields is ``factor`` × the truth."""
    def wrapped(problem):
        found = select(problem)
        name, fn = found if isinstance(found, tuple) else (None, found)

        def scaled(p):
            c = fn(p)
            for v in c.values.values():
                v *= factor
            return c

        return (name, scaled) if isinstance(found, tuple) else scaled

    return wrapped


def test_every_stored_case_has_its_reference():
    for name in load_cases(CASES.parent / "cases.yaml"):
        curves = pd.read_csv(CASES.parent / f"{name}.csv")
        assert {"simulation", "theory"} <= set(curves.source)
        assert (curves[curves.source == "simulation"].query("step > 0").stderr > 0).all()


def test_unchanged_code_passes(references, capsys):
    assert main(["--cases", str(references), "--only", CASE]) == 0
    assert f"PASS  {CASE}" in capsys.readouterr().out


def test_injected_simulation_regression_fails_with_a_report(references, capsys, monkeypatch):
    monkeypatch.setattr(simulate, "select_simulator", _scaled(simulate.select_simulator, 1.10))
    assert main(["--cases", str(references), "--only", CASE]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {CASE}" in out and "vs reference: " in out and "simulation points with |z| > 5" in out


def test_injected_theory_regression_fails_with_a_report(references, capsys, monkeypatch):
    monkeypatch.setattr(theory_predict, "select_predictor", _scaled(theory_predict.select_predictor, 1.001))
    assert main(["--cases", str(references), "--only", CASE]) == 1
    out = capsys.readouterr().out
    assert "theory points with relative difference > 1e-06" in out


def test_reference_tolerance_scales_with_the_stored_standard_error():
    ref = pd.read_csv(CASES.parent / f"{CASE}.csv")
    sim = (ref.source == "simulation") & (ref.step > 0)
    combined = np.sqrt(2) * ref.stderr.where(sim, 0.0)  # new and stored runs with equal standard errors

    def shifted(k):
        return ref.assign(value=ref.value + k * combined)

    assert compare_to_reference(ref, ref).ok and compare_to_reference(ref, ref).max_abs_z == 0
    assert compare_to_reference(shifted(3.0), ref).ok  # 3 combined standard errors: noise
    bad = compare_to_reference(shifted(6.0), ref)
    assert not bad.ok and bad.max_abs_z == pytest.approx(6.0)
    assert compare_to_reference(shifted(6.0), ref, z_max=7).ok
