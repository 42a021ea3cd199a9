"""``twopoint-regress``: rerun the stored reference configs and exit 1 on any regression.

The reference set ships with the package in ``twopoint/regression/``: ``cases.yaml`` maps a case name to its overrides of the
default config (small: seconds each), and ``<case>.csv`` holds the accepted run's ``curves.csv``.
Each case is rerun (:func:`twopoint.api.run_config`) and must pass three checks:

1. simulation vs theory: the run's own verdict (``compare`` tolerances) is ``pass``;
2. simulation vs the stored simulation: within ``--z-max`` combined Monte-Carlo standard errors at every
   recorded step (:mod:`compare.regression`);
3. theory vs the stored theory: relative difference ≤ ``--rtol`` (deterministic numerics).

``--update`` rewrites the stored curves from the new runs (after a deliberate change, reviewed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

CASES = Path(str(resources.files("twopoint.regression"))) / "cases.yaml"


@dataclass
class CaseResult:
    name: str
    problems: list[str]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems


def load_cases(path: Path) -> dict[str, list[str]]:
    cases = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(cases, dict) or not all(isinstance(v, list) for v in cases.values()):
        raise ValueError(f"{path}: expected a mapping of case name to a list of overrides")
    return cases


def run_case(overrides: list[str], run_dir: Path) -> tuple[dict, pd.DataFrame]:
    """(metrics, curves) of one fresh run of the default config with ``overrides`` (no figures)."""
    from twopoint.api import run

    result = run(*overrides, "compare.figure_formats=[]", save_to=run_dir)
    return result.metrics, pd.read_csv(run_dir / "curves.csv")


def check_case(name: str, overrides: list[str], reference: Path, run_dir: Path, z_max: float, rtol: float) -> CaseResult:
    from twopoint.compare.regression import compare_to_reference

    try:
        metrics, curves = run_case(overrides, run_dir)
    except Exception as exc:  # a config error or a crash: report it like any failure, run the other cases
        return CaseResult(name, [f"run failed: {type(exc).__name__}: {exc}"], "")
    problems = []
    if metrics["verdict"] != "pass":
        problems.append(f"simulation vs theory: verdict {metrics['verdict']} ({metrics['verdict_reason']})")
    rel = max((s["max_rel_err"] or 0.0) for s in metrics["quantities"].values()) if metrics["quantities"] else float("nan")
    summary = f"verdict {metrics['verdict']} (max rel. err {rel:.2%})"
    if not reference.is_file():
        problems.append(f"no stored reference {reference} (create it with --update)")
        return CaseResult(name, problems, summary)
    check = compare_to_reference(curves, pd.read_csv(reference), z_max, rtol)
    problems += [f"vs reference: {p}" for p in check.problems]
    summary += (f"; vs reference ({check.points} points): simulation max |z| {check.max_abs_z:.2f} (limit {z_max:g}), "
                f"theory max rel. diff {check.max_theory_rel:.1e} (limit {rtol:g})")
    return CaseResult(name, problems, summary)


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
    cases = load_cases(args.cases)
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
            results.append(check_case(name, cases[name], reference, out / name, args.z_max, args.rtol))
            if args.update and _verdict(out / name) == "pass":  # never store a run that disagrees with the theory
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


def _verdict(run_dir: Path) -> str | None:
    metrics = run_dir / "metrics.json"
    return json.loads(metrics.read_text()).get("verdict") if metrics.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
