"""``python -m twopoint.cli.universality``: a kernel problem on its real inputs, on Gaussian features with the
same spectrum, and the theory, with the gaps between them (:mod:`twopoint.compare.universality`).

      python -m twopoint.cli.universality experiment=kernel_circle sim.replicas=64 --out outputs/universality

writes ``universality.png``/``.pdf`` and ``universality.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twopoint.api import build_problem, compose, predict, simulate
from twopoint.compare.universality import equivalence_gap, gaussian_equivalent
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.report import style
from twopoint.report.universality import universality_figure


def universality(problem: Problem) -> tuple[dict, Curves, Curves, Curves | None]:
    """Simulate the kernel problem and its Gaussian equivalent, predict, and measure the gaps."""
    real, gaussian = simulate(problem), simulate(gaussian_equivalent(problem))
    theory = predict(problem) if problem.theory_enabled else None
    gaps = {"real_vs_gaussian": {q: equivalence_gap(real, gaussian, q) for q in real.quantities}}
    if theory is not None:
        gaps["real_vs_theory"] = {q: equivalence_gap(real, theory, q) for q in real.quantities}
        gaps["gaussian_vs_theory"] = {q: equivalence_gap(gaussian, theory, q) for q in gaussian.quantities}
    return gaps, real, gaussian, theory


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m twopoint.cli.universality", description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", help="twopoint config overrides (e.g. experiment=kernel_circle)")
    parser.add_argument("--out", default="outputs/universality", help="output folder")
    parser.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated")
    args = parser.parse_args(argv)

    problem = build_problem(compose(*args.overrides))
    gaps, real, gaussian, theory = universality(problem)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    o, inputs = problem.optim, problem.data.inputs
    title = f"{inputs.kernel} kernel, {inputs.kind}, {o.algorithm}, P={problem.data.n_train}, D={problem.data.dim}"
    style.save(universality_figure(real, gaussian, theory, title), out / "universality", args.formats.split(","))
    report = {"overrides": args.overrides, "gaps": gaps}
    (out / "universality.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
