"""Figures of a whole sweep, drawn from the tidy table of :mod:`compare.aggregate` (saved outputs only).

Conventions (as :mod:`compare.figures`): simulation mean solid (train loss dotted) with a ±2 stderr
band in one colour per swept value (viridis, ordered by value), theory dashed black on top (in the
value's colour when there is no simulation), log-log axes against the step with step 0 omitted.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from twopoint.report import style
from twopoint.report.aggregate import DIVERGED, OK, status_counts
from twopoint.report.figures import LABELS, band

SYMBOLS = {
    "optim.batch_size": "B", "optim.lr": "η", "optim.ridge": "γ", "optim.steps": "T", "data.n_train": "P",
    "data.dim": "D", "data.noise_std": "σ", "data.spectrum.alpha": "α", "data.teacher.beta": "β",
    "data.test_spectrum.alpha": "α′", "data.test_spectrum.kind": "Σ′", "model.n_features": "N",
}
AXIS_LABELS = {"step": "step t", "time": "time η·t"}
FAILED_COLOR = "tab:red"
THEORY_MARK = {"ls": style.THEORY_LINESTYLE, "lw": style.THEORY_LW, "marker": "_", "ms": 12, "mew": 1.5}
STATIC_MARK = {"ls": ":", "lw": 1.2, "marker": "s", "ms": 3.5, "mfc": "none"}
VERDICT_FAIL_MARK = {"ls": "none", "marker": "o", "ms": 9, "mfc": "none", "mec": FAILED_COLOR, "mew": 1.2}


def is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)


def value_label(key: str, value) -> str:
    shown = f"{value:g}" if is_number(value) else ("null" if value is None or value != value else str(value))
    return f"{SYMBOLS.get(key, key)}={shown}"


def ordered(values) -> list:
    """Distinct values, numbers ascending first, then the rest by their text."""
    distinct = list(dict.fromkeys(None if (isinstance(v, float) and np.isnan(v)) else v for v in values))
    numbers_ = sorted(v for v in distinct if is_number(v))
    return numbers_ + sorted((v for v in distinct if not is_number(v)), key=str)


def select(frame: pd.DataFrame, key: str, value) -> pd.Series:
    """Rows of ``frame`` whose column ``key`` equals ``value`` (None matches missing values)."""
    return frame[key].isna() if value is None else frame[key].map(lambda v: v is not None and v == value)


def combined(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One label per row joining ``key=value`` of ``keys`` (empty string for no keys)."""
    return frame.apply(lambda r: ", ".join(value_label(k, r[k]) for k in keys), axis=1) if keys else pd.Series("", frame.index)


def plot_sweep_curves(ax, table: pd.DataFrame, key: str, quantity: str, x: str = "step", colors=None,
                      label=value_label, theory: bool = True) -> None:
    """One curve per value of ``key``: simulation mean ± 2 se (band) in the value's colour, theory dashed."""
    values = ordered(table[key])
    colors = colors or style.colors(len(values))
    ls = style.QUANTITY_LINESTYLE.get(quantity, "-")
    for value, color in zip(values, colors):
        rows = table[select(table, key, value) & (table.quantity == quantity) & (table[x] > 0)]
        sim, th = (rows[rows.source == s].sort_values(x) for s in ("simulation", "theory"))
        if len(sim):
            ax.plot(sim[x], sim.value, ls, color=color, label=label(key, value))
            band(ax, sim[x], sim.value, sim.stderr, color)
        if theory and len(th):  # black over a simulation, else the value's colour
            ax.plot(th[x], th.value, style.THEORY_LINESTYLE, color="k" if len(sim) else color, lw=style.THEORY_LW,
                    zorder=3, label=None if len(sim) else label(key, value))
    log_axes(ax)
    ax.set_xlabel(AXIS_LABELS.get(x, x))


def plot_sweep_residuals(ax, table: pd.DataFrame, key: str, quantity: str, colors=None, tolerance: float = 0.03) -> None:
    """One line per value of ``key``: (simulation − theory)/theory with its ±2 stderr band, and the relative
    tolerance of the verdict as a grey band (where a job has both sources)."""
    values = ordered(table[key])
    colors = colors or style.colors(len(values))
    for value, color in zip(values, colors):
        rows = table[select(table, key, value) & (table.quantity == quantity) & (table.step > 0)]
        sim, th = (rows[rows.source == s].set_index("step").value for s in ("simulation", "theory"))
        both = sim.index.intersection(th.index)
        if not len(both) or th[both].eq(0).any():
            continue
        se = rows[rows.source == "simulation"].set_index("step").stderr[both]
        rel, width = (sim[both] - th[both]) / th[both].abs(), 2 * se / th[both].abs()
        ax.plot(both, rel, style.QUANTITY_LINESTYLE.get(quantity, "-"), color=color, lw=1.0)
        ax.fill_between(both, rel - width, rel + width, color=color, alpha=style.BAND_ALPHA, lw=0)
    ax.axhspan(-tolerance, tolerance, color="0.88", lw=0, zorder=0)
    ax.axhline(0.0, color="k", lw=0.6)
    if ax.has_data():
        ax.set_xscale("log")
    ax.set_xlabel(AXIS_LABELS.get("step", "step"))
    ax.set_ylabel("(sim − theory)/theory")


def log_axes(ax, x: bool = True, y: bool = True) -> None:
    """Log scales where the axes hold positive data (an empty panel, e.g. every job failed, stays linear)."""
    ax.relim()
    if x and ax.has_data() and ax.dataLim.intervalx[1] > 0:
        ax.set_xscale("log")
    if y and ax.has_data() and ax.dataLim.intervaly[1] > 0:
        ax.set_yscale("log")


GREY = "0.35"
THEORY_ENTRY = ("theory", {"ls": style.THEORY_LINESTYLE, "lw": style.THEORY_LW, "color": "k"})


def legend(ax, colored: list[tuple[str, object]], styles: list[tuple[str, dict]], **kwargs) -> None:
    """On ``ax`` (an axes or a figure): one entry per (label, colour) of the swept values, then one grey
    entry per (label, line style)."""
    handles = [Line2D([], [], color=c, lw=2) for _, c in colored] + [Line2D([], [], **{"color": GREY, **kw}) for _, kw in styles]
    ax.legend(handles, [t for t, _ in colored] + [t for t, _ in styles], **kwargs)


def _layout(sweep):
    """(colour key, facet keys): the first swept key colours, the others make one panel row each."""
    if not sweep.swept:
        return "job", []
    return sweep.swept[0], sweep.swept[1:]


@style.styled
def sweep_curves_figure(sweep):
    """Curves coloured by the first swept value; one row per combination of the other swept values,
    one column per quantity."""
    key, facet_keys = _layout(sweep)
    table = sweep.table[sweep.table.source.notna()]
    quantities = [q for q in LABELS if q in set(table.quantity)] or ["test_risk"]
    facets = combined(table, facet_keys)
    rows = ordered(facets) or [""]
    residuals = {"simulation", "theory"} <= set(table.source)  # a residual row under each row of curves
    height = [3, 1.4] * len(rows) if residuals else [1] * len(rows)
    fig, axes = style.subplots(len(height), len(quantities), figsize=style.panel_size(len(quantities), 1.45 * len(rows) if residuals else len(rows)),
                               squeeze=False, sharex=True, layout="constrained", gridspec_kw={"height_ratios": height})
    values = ordered(sweep.jobs[key])
    color_of = dict(zip(map(str, values), style.colors(len(values))))
    for i, facet in enumerate(rows):
        sub = table[facets == facet]
        colors = [color_of[str(v)] for v in ordered(sub[key])]
        row = 2 * i if residuals else i
        for j, q in enumerate(quantities):
            plot_sweep_curves(axes[row, j], sub, key, q, colors=colors)
            axes[row, j].set_ylabel(LABELS.get(q, q))
            axes[row, j].set_title(", ".join(filter(None, [facet, LABELS.get(q, q)])))
            if residuals:
                plot_sweep_residuals(axes[row + 1, j], sub, key, q, colors=colors)
    styles = [(f"{LABELS.get(q, q)}: simulation ±2 se", {"ls": style.QUANTITY_LINESTYLE.get(q, "-")}) for q in quantities]
    legend(axes[0, -1], [(value_label(key, v), color_of[str(v)]) for v in values], [*styles, THEORY_ENTRY])
    fig.suptitle(status_counts(sweep))
    return fig


def _positions(values: list):
    """x positions for the values: the numbers themselves, or 0..n−1 for anything else."""
    if all(is_number(v) for v in values):
        return {v: float(v) for v in values}, False
    return {v: float(i) for i, v in enumerate(values)}, True


@style.styled
def sweep_metrics_figure(sweep):
    """Test risk at the last step (simulation ± 2 se, theory, theory's t → ∞ limit) and the max relative
    error against the first swept value; one colour per combination of the others; × marks jobs
    without a result."""
    key, other = _layout(sweep)
    jobs = sweep.jobs.assign(_group=combined(sweep.jobs, other))
    values = ordered(jobs[key])
    pos, categorical = _positions(values)
    x_of = lambda v: pos[None if v != v else v]  # noqa: E731, PLR0124  (NaN → None)
    groups = ordered(jobs._group)
    colors = style.colors(len(groups))
    fig, (ax_final, ax_err) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    for group, color in zip(groups, colors):
        g = jobs[jobs._group == group].assign(_x=lambda f: f[key].map(x_of)).sort_values("_x")
        if "test_risk.final_simulation" in g:
            ax_final.errorbar(g._x, g["test_risk.final_simulation"], yerr=2 * g["test_risk.final_simulation_se"],
                              fmt="o", color=color, ms=4, capsize=2)
        if "test_risk.final_theory" in g:
            ax_final.plot(g._x, g["test_risk.final_theory"], color=color, **THEORY_MARK)
        if "test_risk.static_limit" in g:
            ax_final.plot(g._x, g["test_risk.static_limit"], color=color, **STATIC_MARK)
        for q, ls in style.QUANTITY_LINESTYLE.items():
            if f"{q}.max_rel_err" in g:
                ax_err.plot(g._x, g[f"{q}.max_rel_err"], ls=ls, marker="o", color=color, ms=4)
                failing = g[g.verdict == "fail"] if "verdict" in g else g.iloc[:0]
                ax_err.plot(failing._x, failing[f"{q}.max_rel_err"], **VERDICT_FAIL_MARK)
    bad = jobs[~jobs.status.isin([OK, DIVERGED])]
    for ax in (ax_final, ax_err):
        for v in bad[key]:
            ax.plot(x_of(v), 0.03, "x", color=FAILED_COLOR, ms=7, mew=2, transform=ax.get_xaxis_transform(), clip_on=False)
        if categorical:
            ax.set_xticks(list(pos.values()), [value_label(key, v).split("=", 1)[1] for v in pos])
        log_axes(ax, x=not categorical and min(values) > 0 and max(values) >= 10 * min(values))
        ax.set_xlabel(SYMBOLS.get(key, key))
    ax_final.set_ylabel("test risk at the last step")
    ax_err.set_ylabel("max rel. error vs theory")
    colored = list(zip(groups, colors)) if len(groups) > 1 else []
    marks = [("simulation ±2 se", {"ls": "none", "marker": "o", "ms": 4}), ("theory", THEORY_MARK)]
    legend(ax_final, colored, marks + ([("theory, t → ∞", STATIC_MARK)] if "test_risk.static_limit" in jobs else []))
    quantities = [q for q in style.QUANTITY_LINESTYLE if f"{q}.max_rel_err" in jobs]
    legend(ax_err, [], [(LABELS[q], {"ls": style.QUANTITY_LINESTYLE[q], "marker": "o", "ms": 4}) for q in quantities]
           + ([("verdict fail", VERDICT_FAIL_MARK)] if "verdict" in jobs and (jobs.verdict == "fail").any() else []))
    fig.suptitle(status_counts(sweep) + ("  (× = no result)" if len(bad) else ""))
    return fig
