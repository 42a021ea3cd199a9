"""Gaussian equivalence of kernel machines on real input distributions (THEORY §8, §11).

The theory of a kernel problem is the linear theory on the kernel's eigen-spectrum: it treats the eigenfeatures
ψ_k(x) = √λ_k e_k(x) as Gaussian.  Two measurements of that assumption:
* :func:`equivalence_gap` — the relative gap (mean − reference)/reference of a simulation from a reference curve
  on the common grid (step 0 excluded); ``twopoint`` records it against the theory as
  ``gaussian_equivalence_gap`` in ``metrics.json`` for every kernel run;
* the universality comparison — the kernel machine on the real inputs against the *same* spectrum, teacher and
  noise σ_e with Gaussian features (the linear simulator, :func:`gaussian_equivalent`), and the theory:

      python -m compare.universality experiment=kernel_circle sim.replicas=64 --out outputs/universality

  writes ``universality.png``/``.pdf`` and ``universality.json`` (gaps of both simulations from the theory and
  of the real inputs from the Gaussian features) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from compare import style
from compare.figures import LABELS, band
from twopoint.curves import THEORY, Curves
from twopoint.problem import ModelSpec, Problem


def _finite_or_none(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def equivalence_gap(sim: Curves, reference: Curves, quantity: str) -> dict:
    """Relative gap of ``sim``'s replica mean from ``reference`` (theory, or the mean of another simulation).

    ``max_abs_rel``/``median_abs_rel`` of |mean − ref|/|ref|, ``final_rel`` the signed gap at the last step,
    ``max_abs_z`` in units of the combined standard error (both simulations' errors when the reference is one).
    """
    keep = sim.steps > 0
    mean, ref = sim.mean(quantity)[keep], reference.mean(quantity)[keep]
    se = sim.stderr(quantity)[keep]
    if reference.source != THEORY:
        se = np.hypot(se, reference.stderr(quantity)[keep])
    ok = np.isfinite(mean) & np.isfinite(ref) & (ref != 0)
    if not ok.any():
        return {"points": 0}
    diff = (mean - ref)[ok]
    rel = diff / np.abs(ref[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(diff == 0, 0.0, np.abs(diff / se[ok]))
    return {"points": int(ok.sum()), "max_abs_rel": float(np.max(np.abs(rel))), "median_abs_rel": float(np.median(np.abs(rel))),
            "final_rel": _finite_or_none(rel[-1]), "max_abs_z": _finite_or_none(np.max(z))}


def gaussian_equivalent(problem: Problem) -> Problem:
    """The same spectrum, teacher, noise σ_e, P and optimiser with Gaussian features (the linear model)."""
    if problem.data.inputs is None:
        raise ValueError("the problem has Gaussian inputs already (not a kernel problem)")
    return replace(problem, data=replace(problem.data, inputs=None), model=ModelSpec("linear"))


def universality_figure(real: Curves, gaussian: Curves, theory: Curves | None, title: str = ""):
    """Left: replica means ±2 stderr (test solid, train dotted) for the real inputs and for Gaussian features with
    the same spectrum, theory dashed.  Right: the relative gap of the real inputs from the Gaussian features."""
    style.apply()
    fig, (ax, gap_ax) = plt.subplots(1, 2, figsize=style.panel_size(2, 1.2))
    colors = dict(zip(("real", "gaussian"), style.colors(2)))
    labels = {"real": f"{real.info.get('inputs', 'real')} inputs", "gaussian": "Gaussian features"}
    for name, curves in (("real", real), ("gaussian", gaussian)):
        keep = curves.steps > 0
        for q in curves.quantities:
            mean = curves.mean(q)[keep]
            ax.plot(curves.steps[keep], mean, style.QUANTITY_LINESTYLE.get(q, "-"), color=colors[name],
                    label=f"{LABELS.get(q, q)}: {labels[name]}")
            band(ax, curves.steps[keep], mean, curves.stderr(q)[keep], colors[name])
    if theory is not None:
        keep = theory.steps > 0
        for q in theory.quantities:
            ax.plot(theory.steps[keep], theory.values[q][keep], style.THEORY_LINESTYLE, color="k", lw=style.THEORY_LW,
                    label="theory" if q == "test_risk" else None)
    keep = real.steps > 0
    for q, color in zip(real.quantities, style.colors(len(real.quantities) + 1)):
        ref, se = gaussian.mean(q)[keep], np.hypot(real.stderr(q)[keep], gaussian.stderr(q)[keep])
        rel = (real.mean(q)[keep] - ref) / ref
        gap_ax.plot(real.steps[keep], rel, style.QUANTITY_LINESTYLE.get(q, "-"), color=color, label=LABELS.get(q, q))
        gap_ax.fill_between(real.steps[keep], rel - 2 * se / ref, rel + 2 * se / ref, color=color, alpha=style.BAND_ALPHA, lw=0)
    gap_ax.axhline(0.0, color="k", lw=0.6)
    gap_ax.set_xscale("log")
    gap_ax.set_xlabel("step t")
    gap_ax.set_ylabel("relative gap to Gaussian features")
    gap_ax.legend(loc="best")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("loss")
    ax.legend(loc="lower left", fontsize="small")
    fig.suptitle(f"{title or 'Gaussian equivalence'} ({real.replicas} replicas each, bands ±2 stderr)")
    fig.subplots_adjust(wspace=0.35)
    return fig


def universality(problem: Problem) -> tuple[dict, Curves, Curves, Curves | None]:
    """Simulate the kernel problem and its Gaussian equivalent, predict, and measure the gaps."""
    from simulate import simulate
    from theory.predict import predict

    real, gaussian = simulate(problem), simulate(gaussian_equivalent(problem))
    theory = predict(problem) if problem.theory_enabled else None
    gaps = {"real_vs_gaussian": {q: equivalence_gap(real, gaussian, q) for q in real.quantities}}
    if theory is not None:
        gaps["real_vs_theory"] = {q: equivalence_gap(real, theory, q) for q in real.quantities}
        gaps["gaussian_vs_theory"] = {q: equivalence_gap(gaussian, theory, q) for q in gaussian.quantities}
    return gaps, real, gaussian, theory


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m compare.universality", description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", help="twopoint config overrides (e.g. experiment=kernel_circle)")
    parser.add_argument("--out", default="outputs/universality", help="output folder")
    parser.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated")
    args = parser.parse_args(argv)

    from hydra import compose, initialize_config_dir

    from twopoint.app import CONFIG_DIR
    from twopoint.problem import build_problem

    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        problem = build_problem(compose("config", overrides=args.overrides))
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
