"""Pass/fail verdict from the agreement statistics, for CI use.

Two tests, both must pass:
* pointwise: a grid point agrees when its relative error is within ``max_rel_err`` *or* it is within
  ``max_abs_z`` standard errors (noisy points are judged by Monte-Carlo error, precise points by
  relative error).  The standard error is the tail-aware one of :mod:`twopoint.compare.metrics` (the sample
  one with ``Tolerances(tail_aware=False)``), which stays calibrated when single replicas dominate a point;
* global: the mean relative bias b̄ over replicas of each replica's grid-averaged relative deviation
  (:mod:`twopoint.compare.metrics`) is within ``max_rel_err`` *or* within the two-sided
  ``GLOBAL_FALSE_ALARM`` quantile of its standard error (one test per quantity, so no grid-size
  multiplicity: 4.07 stderr at 16 replicas, 3.34 at 256).  The replicas are independent, so this is valid although the grid points are correlated; it
  rejects a theory that is off by a consistent amount everywhere while each point alone is still within
  its (large, few-replica) error bar.
``max_abs_z`` is read as a Gaussian tail probability: a mean over R replicas divided by its sample
standard error is Student-t with R − 1 degrees of freedom, so the threshold actually applied is the t
quantile of the same tail probability (:func:`z_threshold`: 4 → 5.5 at 16 replicas, 4.07 at 256), which
keeps the false-alarm rate of a correct theory from growing as the replica count shrinks.  With fewer than
``MIN_REPLICAS_FOR_STDERR`` replicas the standard errors are not trusted at all: both tests use the
relative tolerance alone, and the reason says so.  Divergence must agree too: theory predicting
divergence and at least half of the replicas diverging is a pass ("both diverged"); divergence on one
side only is a fail.

A failing reason names the known deviations (:mod:`twopoint.compare.diagnostics`) that apply at the failing
points, and says when those points are heavy-tailed (their error bar rests on a few replicas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twopoint.compare.diagnostics import Deviation
from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError

MIN_REPLICAS_FOR_STDERR = 8  # below this a sample standard error is too unreliable to judge by
GLOBAL_FALSE_ALARM = 1e-3  # two-sided tail probability of the one global bias test per quantity


@dataclass(frozen=True)
class Tolerances:
    max_rel_err: float
    max_abs_z: float
    tail_aware: bool = True  # judge by the tail-aware standard error (False: the plain sample one)

    @classmethod
    def from_config(cls, cfg) -> "Tolerances":
        for key in ("max_rel_err", "max_abs_z"):
            value = getattr(cfg, key)
            if value is None or not value > 0:
                raise ConfigError(f"compare.{key}", value, "a positive number")
        return cls(float(cfg.max_rel_err), float(cfg.max_abs_z))


def divergence_verdict(sim: Curves, theory: Curves) -> tuple[str, str] | None:
    """(verdict, reason) when either side diverged, else None."""
    sim_div, th_div = sim.diverged_fraction >= 0.5, theory.diverged
    if th_div and sim_div:
        return "pass", "both diverged"
    if th_div:
        return "fail", f"theory predicts divergence but only {sim.diverged_fraction:.0%} of replicas diverged"
    if sim.diverged:
        return "fail", f"{sim.diverged_fraction:.0%} of replicas diverged where theory predicts stability"
    return None


def z_threshold(max_abs_z: float, replicas: int) -> float:
    """The Student-t (R − 1 degrees of freedom) quantile with the two-sided Gaussian tail probability of ``max_abs_z``."""
    from scipy import special  # imported where used: runs without a simulation never judge

    return float(-special.stdtrit(replicas - 1, special.ndtr(-max_abs_z)))


def bias_threshold(replicas: int) -> float:
    """The Student-t (R − 1 degrees of freedom) quantile of two-sided tail probability ``GLOBAL_FALSE_ALARM``."""
    from scipy import special

    return float(-special.stdtrit(replicas - 1, GLOBAL_FALSE_ALARM / 2))


def _where(steps: np.ndarray, heavy: np.ndarray, deviations: Sequence[Deviation]) -> str:
    """What is known about the failing ``steps``: heavy-tailed points and the deviations that apply there."""
    notes = [f"heavy-tailed replicas at {int(heavy.sum())} of them (error bar unreliable)"] if heavy.any() else []
    said = {"heavy_tailed_replicas"} if heavy.any() else set()
    names = [d.name for d in deviations if d.name not in said and d.covers(steps).any()]
    notes += [f"known deviations there: {', '.join(names)}"] if names else []
    return f" [{'; '.join(notes)}]" if notes else ""


def curve_verdict(stats: dict[str, dict], tol: Tolerances, replicas: int,
                  deviations: Sequence[Deviation] = ()) -> tuple[str, str]:
    """Pointwise and global agreement of every quantity (statistics from :func:`quantity_metrics`); the reason
    of a failing point names the ``deviations`` that apply there."""
    use_se = replicas >= MIN_REPLICAS_FOR_STDERR
    z_max = z_threshold(tol.max_abs_z, replicas) if use_se else 0.0
    z_bias = bias_threshold(replicas) if use_se else 0.0

    def beyond(z, limit) -> np.ndarray:
        return np.abs(z) > limit if use_se else np.ones_like(z, dtype=bool)

    reasons = []
    for q, s in stats.items():
        if s["points"] == 0:
            reasons.append(f"{q}: no comparable points")
            continue
        bad = (s["_rel"] > tol.max_rel_err) & beyond(s["_z"], z_max)
        if bad.any():
            reasons.append(f"{q}: {int(bad.sum())}/{bad.size} points off by > {tol.max_rel_err:.1%}"
                           + (f" and > {z_max:.3g} stderr" if use_se else "")
                           + _where(s["_steps"][bad], s["_heavy"][bad], deviations))
        bias, bias_z = s.get("_bias", 0.0), s.get("_bias_z", 0.0)
        if abs(bias) > tol.max_rel_err and beyond(np.array(bias_z), z_bias):
            reasons.append(f"{q}: consistent bias {bias:+.1%} over the grid"
                           + (f" ({abs(bias_z):.1f} stderr across {s['bias_replicas']} replicas)" if use_se else "")
                           + _where(s["_steps"], np.zeros(0, bool), deviations))
    note = "" if use_se else f" (only {replicas} replicas: judged by relative error alone, stderr not used below {MIN_REPLICAS_FOR_STDERR})"
    if reasons:
        return "fail", "; ".join(reasons) + note
    return "pass", "all points and the grid-mean bias agree" + note
