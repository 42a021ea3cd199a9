"""Scaling laws: power-law fits of loss curves, their uncertainty, and compute-optimal frontiers.

Convention: a fit reports the log-log **slope** s of y ≈ c·x^s over a window x ∈ [x_min, x_max]
(ordinary least squares of log y on log x), so decays have s < 0.  An optional ``offset`` y∞ is
subtracted first (fit y − y∞, e.g. R(t) − R∞).  Uncertainty of a simulated curve comes from its
replicas: the slope of the replica mean is refitted on bootstrap resamples of the replicas
(percentile interval, standard deviation as the standard error).  A theory curve is deterministic:
its fit has no standard error.

Asymptotic slopes of power-law problems (docs/theory.md §11; λ_k = k^−α, λ_k w*_k² = k^−β):
online R(t) − R∞ ~ t^−(β−1)/α; approximation error of N features ~ N^−(β−1); on the compute-optimal
frontier (C = B·t·N) the loss ~ C^−(β−1)/(α+1) at the optimal size N* ~ C^{1/(α+1)}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PowerLawFit:
    slope: float
    prefactor: float
    stderr: float  # NaN for a deterministic curve
    interval: tuple[float, float]  # ``level`` percentile interval of the bootstrap (= slope, slope for theory)
    window: tuple[float, float]
    points: int
    level: float = 0.95

    def covers(self, value: float) -> bool:
        return self.interval[0] <= value <= self.interval[1]

    def describe(self) -> str:
        if not np.isfinite(self.stderr):
            return f"{self.slope:.4f}"
        return f"{self.slope:.4f} ± {self.stderr:.4f} ({self.level:.0%}: [{self.interval[0]:.4f}, {self.interval[1]:.4f}])"


def theory_slopes(alpha: float, beta: float) -> dict[str, float]:
    """Asymptotic log-log slopes for λ_k = k^−α, λ_k w*_k² = k^−β (docs/theory.md §11)."""
    return {
        "risk_vs_time": -(beta - 1) / alpha,
        "approximation_vs_size": -(beta - 1),
        "loss_vs_compute": -(beta - 1) / (alpha + 1),
        "optimal_size_vs_compute": 1 / (alpha + 1),
    }


def _window_mask(x: np.ndarray, window) -> np.ndarray:
    lo, hi = window if window is not None else (0.0, np.inf)
    return (x >= lo) & (x <= hi) & (x > 0)


def _slopes(logx: np.ndarray, logy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS slope and intercept of each row of ``logy`` (…, n) on ``logx`` (n,); NaN if a row has a NaN."""
    xc = logx - logx.mean()
    slope = (logy - logy.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, logy.mean(axis=-1) - slope * logx.mean()


def _prepare(x, y, window, offset):
    x = np.asarray(x, float)
    mask = _window_mask(x, window)
    if mask.sum() < 2:
        raise ValueError(f"fewer than 2 points with x > 0 in the window {window}")
    with np.errstate(divide="ignore", invalid="ignore"):
        logy = np.log(np.asarray(y, float)[..., mask] - offset)
    bounds = (float(x[mask].min()), float(x[mask].max()))
    return np.log(x[mask]), logy, bounds


def fit_power_law(x, y, window=None, offset: float = 0.0) -> PowerLawFit:
    """Fit a deterministic curve y(x) (e.g. a theory prediction)."""
    logx, logy, bounds = _prepare(x, y, window, offset)
    if not np.all(np.isfinite(logy)):
        raise ValueError("y − offset must be positive and finite inside the window")
    slope, intercept = _slopes(logx, logy)
    return PowerLawFit(float(slope), float(np.exp(intercept)), np.nan, (float(slope), float(slope)), bounds, logx.size)


def fit_replicas(x, values, window=None, offset: float = 0.0, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> PowerLawFit:
    """Fit the replica mean of ``values`` (replicas, points); bootstrap over replicas for the error.

    Replicas with a non-finite value inside the window (diverged) are left out.  Bootstrap resamples
    whose mean is not above ``offset`` somewhere in the window are dropped (a ``ValueError`` when more
    than 1 % are).
    """
    values = np.atleast_2d(np.asarray(values, float))
    mask = _window_mask(np.asarray(x, float), window)
    values = values[np.all(np.isfinite(values[:, mask]), axis=1)]
    if values.shape[0] < 2:
        raise ValueError("need at least 2 finite replicas to fit with an uncertainty")
    point = fit_power_law(x, values.mean(axis=0), window, offset)
    reps = values.shape[0]
    counts = np.random.default_rng(seed).multinomial(reps, np.full(reps, 1 / reps), size=n_boot)
    logx, logy, _ = _prepare(x, counts @ values / reps, window, offset)
    ok = np.all(np.isfinite(logy), axis=1)
    if ok.mean() < 0.99:
        raise ValueError(f"{1 - ok.mean():.1%} of bootstrap means are not above the offset in the window")
    boot, _ = _slopes(logx, logy[ok])
    tail = (1 - level) / 2
    interval = (float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail)))
    return PowerLawFit(point.slope, point.prefactor, float(boot.std(ddof=1)), interval, point.window, point.points, level)


def compute_frontier(curves: pd.DataFrame, budgets=None, points: int = 40) -> pd.DataFrame:
    """Compute-optimal frontier from loss curves of several model sizes.

    ``curves``: columns ``size`` (N), ``step`` (t), ``batch_size`` (B) and ``value`` (the loss).  Each
    size's curve is interpolated log-log in t at t = C/(B·N) for every budget C (inside its recorded
    steps only); the frontier is the smallest loss over sizes.  Returns ``compute``, ``loss``,
    ``size`` (the minimising N: resolved only to the grid of sizes given) and ``step``.
    """
    c = curves[(curves.step > 0) & np.isfinite(curves.value) & (curves.value > 0)]
    c = c.assign(compute=c.step * c.batch_size * c["size"])
    if budgets is None:
        lo = c.groupby("size").compute.min().max()  # every size has started
        budgets = np.geomspace(lo, c.compute.max(), points)
    budgets = np.asarray(budgets, float)
    sizes = np.sort(c["size"].unique())
    losses = np.full((sizes.size, budgets.size), np.nan)
    for i, n in enumerate(sizes):
        g = c[c["size"] == n].sort_values("compute")
        logc = np.log(g.compute.to_numpy())
        inside = (np.log(budgets) >= logc[0]) & (np.log(budgets) <= logc[-1])
        losses[i, inside] = np.exp(np.interp(np.log(budgets[inside]), logc, np.log(g.value.to_numpy())))
    has = np.isfinite(losses).any(axis=0)
    best = np.nanargmin(np.where(np.isfinite(losses[:, has]), losses[:, has], np.inf), axis=0)
    frontier = pd.DataFrame({"compute": budgets[has], "loss": losses[best, np.flatnonzero(has)],
                             "size": sizes[best]})
    batch = c.groupby("size").batch_size.first()
    return frontier.assign(step=frontier.compute / (batch.loc[frontier["size"]].to_numpy() * frontier["size"]))


def fit_frontier(frontier: pd.DataFrame, window=None) -> dict[str, PowerLawFit]:
    """Slopes of the frontier loss and of the optimal size against compute (deterministic fits)."""
    return {"loss_vs_compute": fit_power_law(frontier.compute, frontier.loss, window),
            "optimal_size_vs_compute": fit_power_law(frontier.compute, frontier["size"], window)}
