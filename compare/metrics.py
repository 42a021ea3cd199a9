"""Agreement statistics between a simulation (replica mean ± standard error) and a theory curve.

On the common recorded grid, step 0 excluded (both start from the same analytic value):
relative error |mean − theory|/|theory|, z = (mean − theory)/stderr, the fraction of points
with |z| ≤ 2, and the final values.  Never recomputes either curve.

Heavy tails.  Where single replicas carry a large part of the sum (minibatch SGD with B = 1 at a large
learning rate: one step with a large ‖x‖² kicks the weights far out), the sample standard error s(t)/√R
at one point is itself heavy-tailed and, more often than not, too small: a sample that happens to hold no
far-out replica has both a low mean and a low spread, so z = (mean − theory)/stderr has a long *lower*
tail and the |z| rule over-rejects an exact theory.  Two statistics per point measure the tails:
``replica_share`` = max_r v_r / Σ_r v_r (the largest replica's share of the mean) and
``variance_share`` = max_r (v_r − v̄)² / Σ_r (v_r − v̄)² (its share of the sample variance; about
2 log R / R for Gaussian replicas, 0.03 at R = 512, 0.1–0.2 for an exponential, ≳ 0.3 typical of a power
tail with infinite fourth moment).  The population relative spread c(t) = sd(v(t))/E v(t) is smooth in
log t, while its sample value at one point is not, so the tail-aware standard error pools it over the
neighbouring recorded steps:

    c̄²(t) = mean of ĉ²(t') over t' ∈ [t / POOL_FACTOR, t · POOL_FACTOR],   ĉ(t') = stderr(t')·√R / |mean(t')|,
    stderr_tail(t) = max(stderr(t), |mean(t)| · c̄(t) / √R).

It never shrinks an error bar; on light-tailed replicas the two agree (the window mean of ĉ² estimates the
same c²).  Measured on the exact online theory with 512 replicas (``benchmarks/false_alarm.py``, docs/theory.md
§11) it brings the verdict's false alarms from 4–5 % of runs to 0 % at B = 1 and 4, 0.4–0.55 η_crit, and from
41 % (B = 1) and 21 % (B = 4) to 2 % and 1 % at 0.7 η_crit.  A point whose
window holds a replica with ``variance_share`` ≥ ``HEAVY_TAIL_SHARE`` is flagged heavy-tailed: its error
bar rests on a few replicas (with at least ``TAIL_MIN_REPLICAS`` replicas; below, any sample has large shares).

The global bias: each replica's mean over the grid of its relative deviation from the theory,
b_r = mean_t (v_r(t) − th(t))/th(t), is one number per replica, and the replicas are independent, so
their mean b̄ has the ordinary standard error sd(b)/√R although the grid points of one replica are
correlated.  A theory that is off by a consistent factor shows up in b̄ long before any single point is
many standard errors off.
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves

POOL_FACTOR = 3.0  # the tail-aware stderr pools the relative spread over steps within this factor of t
HEAVY_TAIL_SHARE = 0.3  # a replica holding this share of the sample variance makes the error bar unreliable
TAIL_MIN_REPLICAS = 64  # below this one replica's variance share is large for any distribution (Gaussian, R = 32: 0.2)


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def replica_tails(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``values`` (replicas × points, NaN after divergence): the largest replica's share of
    Σ_r |v_r| and of Σ_r (v_r − v̄)² (NaN with fewer than 2 finite replicas or no spread)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    v = np.where(finite, values, 0.0)
    mean = v.sum(axis=0) / np.maximum(count, 1)
    dev2 = np.where(finite, (v - mean) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.abs(v).max(axis=0) / np.abs(v).sum(axis=0)
        var_share = dev2.max(axis=0) / dev2.sum(axis=0)
    few = count < 2
    return np.where(few, np.nan, share), np.where(few, np.nan, var_share)


def neighbourhoods(steps: np.ndarray, factor: float = POOL_FACTOR) -> np.ndarray:
    """Boolean matrix W[i, j]: recorded step j lies in [steps_i / factor, steps_i · factor] (steps > 0)."""
    ratio = steps[None, :] / steps[:, None]
    return (ratio >= 1.0 / factor) & (ratio <= factor)


def tail_aware_stderr(mean: np.ndarray, stderr: np.ndarray, window: np.ndarray) -> np.ndarray:
    """max(stderr, |mean|·c̄/√R) with c̄² the window mean of the relative variance (stderr/|mean|)² (module doc);
    points without a finite relative spread keep their own stderr."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rel2 = (stderr / np.abs(mean)) ** 2
    ok = np.isfinite(rel2)
    w = window & ok[None, :]
    pooled = (w @ np.where(ok, rel2, 0.0)) / np.maximum(w.sum(axis=1), 1)
    return np.where(ok, np.fmax(stderr, np.abs(mean) * np.sqrt(pooled)), stderr)


def quantity_metrics(sim: Curves, theory: Curves, quantity: str, tail_aware: bool = True) -> dict:
    """Statistics for one quantity; NaN-safe (diverged replicas are excluded from the mean).

    ``max_abs_z`` and ``frac_within_2se`` use the standard error the verdict uses: the tail-aware one
    (module doc) unless ``tail_aware`` is False; ``max_abs_z_sample`` always uses the plain sample stderr.
    """
    if not np.array_equal(sim.steps, theory.steps):
        raise ValueError("simulation and theory must share the recorded steps")
    mask = sim.steps > 0
    steps, values = sim.steps[mask], sim.values[quantity][:, mask]
    mean, se, pred = sim.mean(quantity)[mask], sim.stderr(quantity)[mask], theory.values[quantity][mask]
    window = neighbourhoods(steps)
    se_tail = tail_aware_stderr(mean, se, window)
    share, var_share = replica_tails(values)
    heavy = (window & (var_share >= HEAVY_TAIL_SHARE)[None, :]).any(axis=1) & (values.shape[0] >= TAIL_MIN_REPLICAS)
    ok = np.isfinite(mean) & np.isfinite(pred)
    rel = np.abs(mean - pred)[ok] / np.abs(pred)[ok]
    z_sample, z_tail = _z(mean[ok], pred[ok], se[ok]), _z(mean[ok], pred[ok], se_tail[ok])
    z = z_tail if tail_aware else z_sample
    with np.errstate(divide="ignore", invalid="ignore"):
        inflation = se_tail[ok] / se[ok]
    return {
        "points": int(ok.sum()),
        "max_rel_err": _finite_or_none(rel.max()) if rel.size else None,
        "median_rel_err": _finite_or_none(np.median(rel)) if rel.size else None,
        "argmax_rel_err_step": int(steps[ok][np.argmax(rel)]) if rel.size else None,
        "max_abs_z": _finite_or_none(np.abs(z).max()) if z.size else None,
        "max_abs_z_sample": _finite_or_none(np.abs(z_sample).max()) if z.size else None,
        "frac_within_2se": float(np.mean(np.abs(z) <= 2.0)) if z.size else None,
        "max_rel_stderr": _finite_or_none(np.max(se[ok] / np.abs(pred[ok]))) if rel.size else None,
        **_tail_summary(share[ok], var_share[ok], inflation, heavy[ok], steps[ok]),
        **_global_bias(values[:, ok], pred[ok]),
        "final_simulation": _finite_or_none(sim.mean(quantity)[-1]),
        "final_theory": _finite_or_none(theory.values[quantity][-1]),
        "_rel": rel,
        "_z": z,
        "_steps": steps[ok],
        "_heavy": heavy[ok],
    }


def _z(mean: np.ndarray, pred: np.ndarray, se: np.ndarray) -> np.ndarray:
    """(mean − pred)/se; 0 where they agree exactly and ±inf where se is 0 or undefined but they differ."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - pred) / se
    return np.where(np.isfinite(z), z, np.where(mean == pred, 0.0, np.copysign(np.inf, mean - pred)))


def _tail_summary(share, var_share, inflation, heavy, steps) -> dict:
    """Worst tail statistics over the grid and the recorded steps flagged heavy-tailed."""
    def worst(x):
        return _finite_or_none(np.nanmax(x)) if np.isfinite(x).any() else None

    return {"max_replica_share": worst(share), "max_variance_share": worst(var_share),
            "max_stderr_inflation": worst(inflation), "heavy_tail_steps": [int(s) for s in steps[heavy]]}


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
