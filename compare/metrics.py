"""Agreement statistics between a simulation (replica mean ± standard error) and a theory curve.

On the common recorded grid, step 0 excluded (both start from the same analytic value):
relative error |mean − theory|/|theory|, z = (mean − theory)/stderr, the fraction of points
with |z| ≤ 2, and the final values.  Never recomputes either curve.

The global bias: each replica's mean over the grid of its relative deviation from the theory,
b_r = mean_t (v_r(t) − th(t))/th(t), is one number per replica, and the replicas are independent, so
their mean b̄ has the ordinary standard error sd(b)/√R although the grid points of one replica are
correlated.  A theory that is off by a consistent factor shows up in b̄ long before any single point is
many standard errors off.
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
        **_global_bias(sim.values[quantity][:, mask][:, ok], pred[ok]),
        "final_simulation": _finite_or_none(sim.mean(quantity)[-1]),
        "final_theory": _finite_or_none(theory.values[quantity][-1]),
        "_rel": rel,
        "_z": z,
    }


def _global_bias(values: np.ndarray, pred: np.ndarray) -> dict:
    """b̄ = mean over replicas of b_r = mean over the grid of (v_r − th)/|th|, its standard error and z = b̄/se
    (replicas that diverged before the first point are left out; later NaN points are skipped per replica)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (values - pred) / np.abs(pred)
    seen = np.isfinite(rel).any(1)
    if not seen.any():
        return {"mean_rel_bias": None, "mean_rel_bias_stderr": None, "mean_rel_bias_z": None, "bias_replicas": 0}
    b = np.nanmean(rel[seen], axis=1)
    mean = float(b.mean())
    se = float(b.std(ddof=1) / np.sqrt(b.size)) if b.size > 1 else float("nan")
    z = mean / se if se > 0 else (0.0 if mean == 0 else float("inf"))
    return {"mean_rel_bias": _finite_or_none(mean), "mean_rel_bias_stderr": _finite_or_none(se),
            "mean_rel_bias_z": _finite_or_none(z) if np.isfinite(z) else None, "bias_replicas": int(b.size),
            "_bias": mean, "_bias_z": z}
