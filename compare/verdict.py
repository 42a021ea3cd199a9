"""Pass/fail verdict from the agreement statistics, for CI use.

A grid point agrees when its relative error is within ``max_rel_err`` *or* it is within
``max_abs_z`` standard errors (so noisy points are judged by Monte-Carlo error, precise points
by relative error).  Divergence must agree too: theory predicting divergence and at least half
of the replicas diverging is a pass ("both diverged"); divergence on one side only is a fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError


@dataclass(frozen=True)
class Tolerances:
    max_rel_err: float
    max_abs_z: float

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


def curve_verdict(stats: dict[str, dict], tol: Tolerances) -> tuple[str, str]:
    """Pointwise agreement of every quantity (statistics from :func:`quantity_metrics`)."""
    reasons = []
    for q, s in stats.items():
        bad = (s["_rel"] > tol.max_rel_err) & (np.abs(s["_z"]) > tol.max_abs_z)
        if s["points"] == 0:
            reasons.append(f"{q}: no comparable points")
        elif bad.any():
            reasons.append(f"{q}: {int(bad.sum())}/{bad.size} points off by > {tol.max_rel_err:.1%} and > {tol.max_abs_z:g} stderr")
    return ("fail", "; ".join(reasons)) if reasons else ("pass", "all points agree")
