"""Agreement statistics between a simulation (replica mean ± standard error) and a theory curve.

On the common recorded grid, step 0 excluded (both start from the same analytic value):
relative error |mean − theory|/|theory|, z = (mean − theory)/stderr, the fraction of points
with |z| ≤ 2, and the final values.  Never recomputes either curve.
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def quantity_metrics(sim: Curves, theory: Curves, quantity: str) -> dict:
    """Statistics for one quantity; NaN-safe (diverged replicas are excluded from the mean)."""
    if not np.array_equal(sim.steps, theory.steps):
        raise ValueError("simulation and theory must share the recorded steps")
    mask = sim.steps > 0
    mean, se, pred = sim.mean(quantity)[mask], sim.stderr(quantity)[mask], theory.values[quantity][mask]
    ok = np.isfinite(mean) & np.isfinite(pred)
    rel = np.abs(mean - pred)[ok] / np.abs(pred)[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ((mean - pred) / se)[ok]
    z = np.where(np.isfinite(z), z, np.where(mean[ok] == pred[ok], 0.0, np.inf))
    return {
        "points": int(ok.sum()),
        "max_rel_err": _finite_or_none(rel.max()) if rel.size else None,
        "median_rel_err": _finite_or_none(np.median(rel)) if rel.size else None,
        "argmax_rel_err_step": int(sim.steps[mask][ok][np.argmax(rel)]) if rel.size else None,
        "max_abs_z": _finite_or_none(np.abs(z).max()) if z.size else None,
        "frac_within_2se": float(np.mean(np.abs(z) <= 2.0)) if z.size else None,
        "max_rel_stderr": _finite_or_none(np.max(se[ok] / np.abs(pred[ok]))) if rel.size else None,
        "final_simulation": _finite_or_none(sim.mean(quantity)[-1]),
        "final_theory": _finite_or_none(theory.values[quantity][-1]),
        "_rel": rel,
        "_z": z,
    }
