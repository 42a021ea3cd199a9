"""Compare a simulation with a theory prediction: metrics, the tidy table and a verdict (pure, no files).

``evaluate`` only reads :class:`~twopoint.core.curves.Curves`; it never recomputes either side.  For kernel
machines on real inputs ``metrics`` also holds ``gaussian_equivalence_gap`` (:mod:`twopoint.compare.universality`).
Given the run's :class:`~twopoint.core.problem.Problem`, ``metrics["regime_diagnostics"]`` lists the known
deviations that apply (:mod:`twopoint.compare.diagnostics`) and the verdict reason names them at failing points.
Writing a run folder is :mod:`twopoint.report.outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twopoint.compare.diagnostics import regime_diagnostics
from twopoint.compare.metrics import quantity_metrics
from twopoint.compare.universality import equivalence_gap
from twopoint.compare.verdict import Tolerances, curve_verdict, divergence_verdict
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem


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


def evaluate(sim: Curves | None, theory: Curves | None, tol: Tolerances, problem: Problem | None = None) -> Evaluation:
    """Metrics (per quantity), divergence flags, the regime diagnostics (with ``problem``) and a verdict
    (``pass``, ``fail`` or ``n/a``)."""
    metrics: dict = {
        "theory_method": theory.method if theory else None,
        "simulation_method": sim.method if sim else None,
        "divergence": {"simulation": _divergence_summary(sim), "theory": _divergence_summary(theory)},
        "tolerances": {"max_rel_err": tol.max_rel_err, "max_abs_z": tol.max_abs_z,
                       "stderr": "tail_aware" if tol.tail_aware else "sample"},
    }
    if theory is not None:
        metrics["theory_info"] = theory.info
    both = sim is not None and theory is not None
    shared = [q for q in sim.quantities if q in theory.values] if both else []
    stats = {q: quantity_metrics(sim, theory, q, tol.tail_aware) for q in shared}
    metrics["quantities"] = {q: {k: v for k, v in s.items() if not k.startswith("_")} for q, s in stats.items()}
    if both and "inputs" in sim.info:  # kernel machine on real inputs: the theory assumes Gaussian eigenfeatures
        metrics["gaussian_equivalence_gap"] = {q: equivalence_gap(sim, theory, q) for q in stats}
    deviations = [] if problem is None else regime_diagnostics(problem, theory.info if theory else {}, stats,
                                                                metrics.get("gaussian_equivalence_gap"))
    if problem is not None:
        metrics["regime_diagnostics"] = [d.to_dict() for d in deviations]
    if both:
        verdict, reason = divergence_verdict(sim, theory) or curve_verdict(stats, tol, sim.replicas, deviations)
    else:
        verdict, reason = "n/a", "needs both simulation and theory"
    metrics["verdict"], metrics["verdict_reason"] = verdict, reason
    table = pd.concat([c.to_frame() for c in (sim, theory) if c is not None], ignore_index=True)
    return Evaluation(metrics, table, sim, theory)
