"""Compare a simulation with a theory prediction and write the run's artefacts.

``evaluate`` only reads :class:`~twopoint.curves.Curves`; it never recomputes either side.
Artefacts (in the run directory): ``curves.csv`` (tidy: source, method, quantity, step, time,
value, stderr), ``replicas.parquet`` (per-replica simulation values), ``metrics.json`` and the
``loss_curves`` figure; for kernel machines also ``kernel_spectrum`` and, in ``metrics.json``,
``gaussian_equivalence_gap`` (:mod:`compare.universality`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from compare import style
from compare.figures import loss_curves_figure
from compare.kernel_figures import write_kernel_figures
from compare.metrics import quantity_metrics
from compare.verdict import Tolerances, curve_verdict, divergence_verdict
from twopoint.curves import Curves


@dataclass
class Evaluation:
    metrics: dict
    table: pd.DataFrame
    sim: Curves | None = None
    theory: Curves | None = None
    extra: dict = field(default_factory=dict)


def _divergence_summary(curves: Curves | None) -> dict | None:
    if curves is None:
        return None
    steps = curves.diverged_at[curves.diverged_at >= 0]
    return {
        "diverged": curves.diverged,
        "fraction": curves.diverged_fraction,
        "first_step": int(steps.min()) if steps.size else None,
        "median_step": float(np.median(steps)) if steps.size else None,
    }


def evaluate(sim: Curves | None, theory: Curves | None, tol: Tolerances) -> Evaluation:
    """Metrics (per quantity), divergence flags and a verdict (``pass``, ``fail`` or ``n/a``)."""
    metrics: dict = {
        "theory_method": theory.method if theory else None,
        "simulation_method": sim.method if sim else None,
        "divergence": {"simulation": _divergence_summary(sim), "theory": _divergence_summary(theory)},
        "tolerances": {"max_rel_err": tol.max_rel_err, "max_abs_z": tol.max_abs_z},
        "quantities": {},
    }
    if theory is not None:
        metrics["theory_info"] = theory.info
    if sim is None or theory is None:
        verdict, reason = "n/a", "needs both simulation and theory"
    else:
        stats = {q: quantity_metrics(sim, theory, q) for q in sim.quantities if q in theory.values}
        metrics["quantities"] = {q: {k: v for k, v in s.items() if not k.startswith("_")} for q, s in stats.items()}
        verdict, reason = divergence_verdict(sim, theory) or curve_verdict(stats, tol)
        if "inputs" in sim.info:  # kernel machine on real inputs: the theory assumes Gaussian eigenfeatures
            from compare.universality import equivalence_gap  # here, so that `python -m compare.universality` runs clean

            metrics["gaussian_equivalence_gap"] = {q: equivalence_gap(sim, theory, q) for q in stats}
    metrics["verdict"], metrics["verdict_reason"] = verdict, reason
    table = pd.concat([c.to_frame() for c in (sim, theory) if c is not None], ignore_index=True)
    return Evaluation(metrics, table, sim, theory)


def replicas_frame(sim: Curves) -> pd.DataFrame:
    """Long table of every replica's values: replica, quantity, step, time, value."""
    frames = []
    for q, v in sim.values.items():
        r, t = np.meshgrid(np.arange(v.shape[0]), np.arange(v.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({"replica": r.ravel(), "quantity": q, "step": sim.steps[t.ravel()],
                                    "time": sim.time[t.ravel()], "value": v.ravel()}))
    return pd.concat(frames, ignore_index=True)


def write_outputs(run_dir: Path, ev: Evaluation, formats, title: str = "", problem=None) -> list[str]:
    """Write curves, metrics and figures into ``run_dir``; returns the file names written.

    With the run's ``problem`` of a kernel machine, also its spectrum/alignment figure.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ev.table.to_csv(run_dir / "curves.csv", index=False)
    written.append("curves.csv")
    if ev.sim is not None:
        replicas_frame(ev.sim).to_parquet(run_dir / "replicas.parquet", index=False)
        written.append("replicas.parquet")
    (run_dir / "metrics.json").write_text(json.dumps(ev.metrics, indent=2, default=float))
    written.append("metrics.json")
    if ev.sim is not None or ev.theory is not None:
        fig = loss_curves_figure(ev.sim, ev.theory, title)
        written += [Path(p).name for p in style.save(fig, run_dir / "loss_curves", formats)]
    if problem is not None and problem.data.inputs is not None:
        written += write_kernel_figures(run_dir, problem.data.inputs, formats)
    return written
