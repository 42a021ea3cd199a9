"""``twopoint-regress``: the stored references pass as they are; an injected regression in the simulator
or in the theory, or a shift of the stored curves by several standard errors, fails with a readable
report; the tolerance scales with the stored Monte-Carlo standard error.  A damaged, truncated, padded,
unreadable or missing reference, or a bad cases.yaml entry, fails its case with a one-line reason while
the other cases still run and pass."""

import io
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

import twopoint.simulate as simulate
import twopoint.theory.predict as theory_predict
from twopoint.compare.regression import compare_to_reference, validate_reference
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


# --- damaged or missing references: never a vacuous pass ---------------------------------------------------

def _stored() -> pd.DataFrame:
    return pd.read_csv(CASES.parent / f"{CASE}.csv")


def _damaged() -> dict:
    """name → (how the stored reference is damaged: a table, raw bytes or None = no file, the one-line reason)."""
    ref = _stored()
    extra = ref[ref.source == "simulation"].iloc[[3]].assign(step=ref.step.max() + 1)
    return {
        "header_only": (ref.iloc[:0], "no data rows (header only)"),
        "all_nan_value": (ref.assign(value=np.nan), f"value not finite at {len(ref)} of {len(ref)} points"),
        "no_simulation": (ref[ref.source == "theory"], "no simulation rows"),
        "one_row_deleted": (ref.drop(index=ref.index[ref.source == "simulation"][5]),
                            "1 point missing from the case's step grid (first: simulation test_risk step"),
        "one_row_extra": (pd.concat([ref, extra]),
                          f"1 point not on the case's step grid (first: simulation test_risk step {ref.step.max() + 1})"),
        "garbage_text": (b"<html>\nnot, a curves table\n", "not a curves.csv table: missing column(s) source, method"),
        "garbage_binary": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20, "is unreadable: UnicodeDecodeError"),
        "missing_file": (None, "no stored reference"),
    }


def _cached_runs(monkeypatch):
    """Every case of a test reruns the same config: run it once, hand each case its curves."""
    import twopoint.cli.regress as regress

    real, cache = regress.run_case, {}

    def run_case(overrides, run_dir):
        if tuple(overrides) not in cache:
            cache[tuple(overrides)] = real(overrides, run_dir)
        metrics, curves = cache[tuple(overrides)]
        return metrics, curves.copy()

    monkeypatch.setattr(regress, "run_case", run_case)


def _report_blocks(out: str) -> dict[str, str]:
    """case name → its report (the PASS/FAIL line and the reason lines under it)."""
    blocks, name = {}, None
    for line in out.splitlines():
        if line.startswith(("  PASS  ", "  FAIL  ")):
            name = line[8:].split(":", 1)[0]
            blocks[name] = line
        elif name and line.startswith("        "):
            blocks[name] += "\n" + line
    return blocks


def test_damaged_references_fail_one_by_one_and_intact_case_passes(tmp_path, capsys, monkeypatch):
    _cached_runs(monkeypatch)
    overrides = load_cases(CASES.parent / "cases.yaml")[CASE]
    damaged = _damaged()
    cases = {CASE: overrides, **{name: overrides for name in damaged}, "bad_entry": "data.dim=50",
             "bad_override": [*overrides, 3]}
    (tmp_path / "cases.yaml").write_text(yaml.safe_dump(cases, sort_keys=False))
    shutil.copy(CASES.parent / f"{CASE}.csv", tmp_path / f"{CASE}.csv")
    for name, (content, _) in damaged.items():
        if isinstance(content, pd.DataFrame):
            content.to_csv(tmp_path / f"{name}.csv", index=False)
        elif content is not None:
            (tmp_path / f"{name}.csv").write_bytes(content)
    assert main(["--cases", str(tmp_path / "cases.yaml")]) == 1
    out = capsys.readouterr().out
    blocks = _report_blocks(out)
    assert f"{len(cases)} cases, {len(cases) - 1} failed" in out
    assert blocks[CASE].startswith(f"  PASS  {CASE}") and "vs reference (28 points)" in blocks[CASE]
    for name, (_, reason) in damaged.items():
        report = blocks[name]
        assert report.startswith(f"  FAIL  {name}"), report
        assert reason in report, (name, report)
        assert "(0 points)" not in report and "Traceback" not in report
        assert all(len(line) < 400 for line in report.splitlines())
    assert "bad cases.yaml entry: expected a list of overrides, got str" in blocks["bad_entry"]
    assert "bad cases.yaml entry: overrides must be non-empty strings, got 3" in blocks["bad_override"]


@pytest.mark.parametrize("name", sorted(set(_damaged()) - {"garbage_binary", "missing_file"}))
def test_damaged_reference_is_invalid_and_never_compared(name):
    new = _stored()
    content, reason = _damaged()[name]
    ref = content if isinstance(content, pd.DataFrame) else pd.read_csv(io.BytesIO(content))
    problems = validate_reference(ref, new)
    assert problems and any(reason in p for p in problems), problems
    check = compare_to_reference(new, ref)
    assert not check.ok and check.points == 0
    assert validate_reference(new, new) == [] and compare_to_reference(new, new).points == len(new)


def test_reference_contract_on_values_and_standard_errors():
    ref = _stored()
    sim_late = (ref.source == "simulation") & (ref.step > 0)
    first_theory = ref.index[ref.source == "theory"][0]
    cases = {
        "one NaN value": (ref.assign(value=ref.value.where(ref.index != 4)), "value not finite at 1 of"),
        "an infinite value": (ref.assign(value=ref.value.where(ref.index != 4, np.inf)), "value not finite at 1 of"),
        "zero stderr": (ref.assign(stderr=ref.stderr.where(~sim_late, 0.0)), "simulation stderr missing, not finite or not > 0"),
        "NaN stderr": (ref.assign(stderr=ref.stderr.where(ref.index != 3)), "simulation stderr missing, not finite or not > 0 at 1"),
        "theory stderr": (ref.assign(stderr=ref.stderr.where(ref.index != first_theory, 0.1)), "theory stderr set at 1 points"),
        "duplicated row": (pd.concat([ref, ref.iloc[[2]]]), "1 duplicated point"),
        "no theory": (ref[ref.source == "simulation"], "no theory rows"),
        "float steps": (ref.assign(step=ref.step + 0.5), "wrong column type(s): step"),
        "a column less": (ref.drop(columns="stderr"), "missing column(s) stderr"),
        "an unrecorded quantity": (pd.concat([ref, ref.assign(quantity="train_loss")]),
                                   "2 curve(s) the case does not record: simulation train_loss, theory train_loss"),
    }
    for what, (damaged, reason) in cases.items():
        problems = validate_reference(damaged, ref)
        assert any(reason in p for p in problems), (what, problems)
    two = pd.read_csv(CASES.parent / "finite_gd.csv")
    lost = two[~((two.source == "theory") & (two.quantity == "train_loss"))]
    assert validate_reference(lost, two) == ["no rows for 1 recorded curve(s): theory train_loss"]


def test_unusable_cases_file_fails_instead_of_passing(tmp_path, capsys):
    (tmp_path / "empty.yaml").write_text("# no case\n")
    assert main(["--cases", str(tmp_path / "empty.yaml")]) == 1
    assert "no cases" in capsys.readouterr().err
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert main(["--cases", str(tmp_path / "list.yaml")]) == 1
    assert "expected a mapping" in capsys.readouterr().err
    (tmp_path / "broken.yaml").write_text("a: [unclosed\n")
    assert main(["--cases", str(tmp_path / "broken.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["--cases", str(tmp_path / "absent.yaml")]) == 1


def test_update_repairs_a_damaged_reference_but_never_stores_a_failing_run(references, capsys, monkeypatch):
    path = references.parent / f"{CASE}.csv"
    _stored().iloc[:0].to_csv(path, index=False)
    assert main(["--cases", str(references), "--only", CASE, "--update"]) == 0
    assert "invalid reference" in capsys.readouterr().out  # reported against the damaged file, then replaced
    assert main(["--cases", str(references), "--only", CASE]) == 0
    stored = pd.read_csv(path)
    monkeypatch.setattr(simulate, "select_simulator", _scaled(simulate.select_simulator, 1.5))
    assert main(["--cases", str(references), "--only", CASE, "--update"]) == 1
    assert "references updated: none" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(path), stored)
