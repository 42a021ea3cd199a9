"""``twopoint-regress``: rerun the stored reference configs and exit 1 on any regression.

The reference set ships with the package in ``twopoint/regression/``: ``cases.yaml`` maps a case name to its overrides of the
default config (small: seconds each), and ``<case>.csv`` holds the accepted run's ``curves.csv``.
Each case is rerun (:func:`twopoint.api.run_config`) and must pass three checks:

1. simulation vs theory: the run's own verdict (``compare`` tolerances) is ``pass``;
2. simulation vs the stored simulation: within ``--z-max`` combined Monte-Carlo standard errors at every
   recorded step (:mod:`compare.regression`);
3. theory vs the stored theory: relative difference ≤ ``--rtol`` (deterministic numerics).

Before the comparison each stored reference is checked against the case's own contract
(:func:`compare.regression.validate_reference`): the ``curves.csv`` columns and types, finite values,
a positive standard error at every simulation step > 0 and none for the theory, both sources, every
quantity the new run records and exactly its step grid.  A missing, extra or non-finite reference point,
an unreadable or missing reference file, a bad ``cases.yaml`` entry or a crashing run fails that case
with a one-line reason; the other cases still run and report.  Exit 1 when any case failed (or there is
no case to check), 2 for an unknown ``--only`` name.

``--update`` rewrites the stored curves from the new runs (after a deliberate change, reviewed); only a
run whose own verdict is ``pass`` is stored.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

CASES = Path(str(resources.files("twopoint.regression"))) / "cases.yaml"
CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class CaseResult:
    name: str
    problems: list[str]
    summary: str
    verdict: str | None = None  # this invocation's run (None: not run)

    @property
    def ok(self) -> bool:
        return not self.problems


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line (whitespace collapsed), cut at ``limit`` characters."""
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_cases(path: Path) -> dict[str, object]:
    """Case name → its overrides as written in ``cases.yaml`` (each entry is checked by :func:`case_problem`
    when the case runs, so one bad entry fails that case only).  ValueError when the file itself is
    unreadable or not a mapping."""
    try:
        cases = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {path}: {one_line(exc)}") from exc
    if cases is None:
        return {}
    if not isinstance(cases, dict):
        raise ValueError(f"{path}: expected a mapping of case name to a list of overrides, got {type(cases).__name__}")
    return {str(name): overrides for name, overrides in cases.items()}


def case_problem(name: str, overrides: object) -> str | None:
    """Why a ``cases.yaml`` entry cannot run (None when it can)."""
    if not CASE_NAME.fullmatch(name):
        return f"case name {name!r} is not a plain file name (letters, digits, _ . -)"
    if not isinstance(overrides, list):
        return f"expected a list of overrides, got {type(overrides).__name__} {overrides!r:.80}"
    bad = [o for o in overrides if not isinstance(o, str) or not o.strip()]
    if bad:
        return f"overrides must be non-empty strings, got {bad[0]!r:.80}"
    return None


def run_case(overrides: list[str], run_dir: Path) -> tuple[dict, pd.DataFrame]:
    """(metrics, curves) of one fresh run of the default config with ``overrides`` (no figures)."""
    from twopoint.api import run

    result = run(*overrides, "compare.figure_formats=[]", save_to=run_dir)
    return result.metrics, pd.read_csv(run_dir / "curves.csv")


def read_reference(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    """(table, None) or (None, why it cannot be read)."""
    if not path.is_file():
        return None, f"no stored reference {path} (create it with --update)"
    try:
        return pd.read_csv(path), None
    except Exception as exc:  # noqa: BLE001  (binary garbage, a ragged or empty file: any parser error)
        return None, f"stored reference {path.name} is unreadable: {one_line(exc)}"


def check_case(name: str, overrides: object, reference: Path, run_dir: Path, z_max: float, rtol: float) -> CaseResult:
    from twopoint.compare.regression import compare_to_reference, validate_reference

    problem = case_problem(name, overrides)
    if problem:
        return CaseResult(name, [f"bad cases.yaml entry: {problem}"], "not run")
    try:
        metrics, curves = run_case(overrides, run_dir)
    except Exception as exc:  # a config error or a crash: report it like any failure, run the other cases
        return CaseResult(name, [f"run failed: {one_line(exc)}"], "run failed")
    problems = []
    if metrics["verdict"] != "pass":
        problems.append(f"simulation vs theory: verdict {metrics['verdict']} ({metrics['verdict_reason']})")
    rel = max((s["max_rel_err"] or 0.0) for s in metrics["quantities"].values()) if metrics["quantities"] else float("nan")
    result = CaseResult(name, problems, f"verdict {metrics['verdict']} (max rel. err {rel:.2%})", metrics["verdict"])
    ref, unreadable = read_reference(reference)
    if unreadable:
        problems.append(unreadable)
        result.summary += "; not compared"
        return result
    try:
        invalid = validate_reference(ref, curves)
        if invalid:
            problems += [f"invalid reference {reference.name}: {p}" for p in invalid]
            result.summary += "; not compared (invalid reference)"
            return result
        check = compare_to_reference(curves, ref, z_max, rtol)
    except Exception as exc:  # noqa: BLE001  (a reference the checks did not foresee: fail this case only)
        problems.append(f"reference check crashed: {one_line(exc)}")
        return result
    problems += [f"vs reference: {p}" for p in check.problems]
    result.summary += (f"; vs reference ({check.points} points): simulation max |z| {check.max_abs_z:.2f} "
                       f"(limit {z_max:g}), theory max rel. diff {check.max_theory_rel:.1e} (limit {rtol:g})")
    return result


def main(argv: list[str] | None = None) -> int:
    from twopoint.compare.regression import RTOL, Z_MAX

    parser = argparse.ArgumentParser(prog="twopoint-regress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=CASES, help="cases.yaml (references are <name>.csv next to it)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these cases")
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--z-max", type=float, default=Z_MAX, help="simulation tolerance in combined standard errors")
    parser.add_argument("--rtol", type=float, default=RTOL, help="theory tolerance (relative)")
    parser.add_argument("--update", action="store_true", help="store the new curves as the references")
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.cases)
    except ValueError as err:
        print(f"twopoint-regress: {err}", file=sys.stderr)
        return 1
    if not cases:
        print(f"twopoint-regress: no cases in {args.cases}: nothing to check", file=sys.stderr)
        return 1
    unknown = set(args.only or []) - set(cases)
    if unknown:
        print(f"twopoint-regress: unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(cases)}", file=sys.stderr)
        return 2
    names = args.only or list(cases)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        results, updated = [], []
        for name in names:
            reference = args.cases.parent / f"{name}.csv"
            result = check_case(name, cases[name], reference, out / name, args.z_max, args.rtol)
            results.append(result)
            if args.update and result.verdict == "pass":  # never store a run that disagrees with the theory
                pd.read_csv(out / name / "curves.csv").to_csv(reference, index=False)
                updated.append(name)
    failed = [r for r in results if not r.ok]
    print(f"twopoint-regress: {len(results)} cases, {len(failed)} failed"
          + (f" (references updated: {', '.join(updated) or 'none'})" if args.update else ""))
    for r in results:
        print(f"  {'PASS' if r.ok else 'FAIL'}  {r.name}: {r.summary}")
        for p in r.problems:
            print(f"        {p}")
    if args.update:
        return 0 if len(updated) == len(results) else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
