"""Figure recipes: paper figures drawn from saved outputs only (never from live runs).

Each recipe pairs with ``configs/experiment/<name>.yaml`` (the frozen configs behind the figure) and
draws from what that sweep saved: the tidy table of :mod:`compare.aggregate` and, for the scaling
fits, the per-replica ``replicas.parquet``.  ``draw(name, *paths)`` returns the figure and a short
text report (the numbers the figure shows).  Style: :mod:`compare.style`; simulation mean with a
±2 stderr band, theory dashed, one colour per swept value.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from twopoint.report import style
from twopoint.report.aggregate import DIVERGED, OK, Sweep, collect, format_value, with_config
from twopoint.report.figures import LABELS, band
from twopoint.compare.scaling import compute_frontier, fit_power_law, fit_replicas, theory_slopes
from twopoint.report.sweep_figures import (AXIS_LABELS, STATIC_MARK, SYMBOLS, THEORY_ENTRY, THEORY_MARK, is_number,
                                   legend, ordered, plot_sweep_curves, plot_sweep_residuals, select,
                                   value_label)
from twopoint.core.registry import Registry
from twopoint.core.schedule import multipliers


@dataclass(frozen=True)
class Recipe:
    draw: Callable  # (Sweep, options dict) -> (figure, report text)
    keys: tuple[str, ...]  # config keys the recipe reads (from overrides, else each job's resolved config)
    optional: tuple[str, ...] = ()  # keys it reads where set (e.g. data.n_train, null online)


RECIPES: Registry[Recipe] = Registry("figure recipe")


def recipe(name: str, *keys: str, optional: tuple[str, ...] = ()):
    def add(fn):
        RECIPES.register(name)(Recipe(fn, keys, optional))
        return fn

    return add


@style.styled
def draw(name: str, *paths, **options):
    """(figure, report) of recipe ``name`` from sweep or run directories."""
    rec = RECIPES.get(name, "recipe")
    sweep = with_config(collect(*paths), *rec.keys, *rec.optional)
    made_by = set(sweep.jobs.experiment_name.dropna())
    if made_by != {name}:
        warnings.warn(f"recipe {name!r} on outputs of experiment(s) {sorted(made_by) or 'none'}", stacklevel=2)
    done = sweep.jobs.status.isin([OK, DIVERGED])
    if not done.any():
        raise ValueError(f"no finished job under {', '.join(map(str, paths))}")
    finished = _finished(sweep)
    missing = [k for k in rec.keys if k not in finished.jobs or finished.jobs[k].isna().all()]
    if missing:
        raise ValueError(f"recipe {name!r} reads {', '.join(missing)}, which no job of these outputs sets "
                         f"(swept: {', '.join(sweep.swept) or 'nothing'}): use the recipe's experiment, configs/experiment/{name}.yaml")
    return rec.draw(finished, options)


def _finished(sweep: Sweep) -> Sweep:
    keep = sweep.jobs.status.isin([OK, DIVERGED])
    return Sweep(sweep.jobs[keep].reset_index(drop=True), sweep.table[sweep.table.job.isin(sweep.jobs.job[keep])],
                 sweep.swept)


def _colors(values) -> list:
    return style.colors(len(values))


def _final_line(label: str, j, quantity: str = "test_risk") -> str:
    sim, se, th = (j.get(f"{quantity}.{c}", np.nan) for c in ("final_simulation", "final_simulation_se", "final_theory"))
    return f"  {label}: {LABELS.get(quantity, quantity)} at T: simulation {sim:.4g} ± {se:.2g}, theory {th:.4g}"


def _final_lines(sweep: Sweep, key: str, quantity: str = "test_risk") -> str:
    return "\n".join(_final_line(value_label(key, j[key]), j, quantity) for _, j in sweep.jobs.sort_values(key).iterrows())


def _sort_key(value):
    return (0, float(value), "") if is_number(value) else (1, 0.0, str(value))


# --- 1. online SGD, batch sizes at a fixed learning rate ------------------------------------------------
@recipe("online_batch", "optim.batch_size", "optim.lr")
def online_batch(sweep: Sweep, options: dict):
    """Test risk against steps and against samples seen (B·t), one colour per job labelled by the swept
    key(s): the batch size in the experiment, the learning rate on an lr sweep; fixed B or η in the title."""
    keys = [k for k in sweep.swept if k in sweep.jobs] or ["optim.batch_size"]
    order = sorted(range(len(sweep.jobs)), key=lambda i: tuple(_sort_key(sweep.jobs[k].iloc[i]) for k in keys))
    jobs = sweep.jobs.iloc[order].reset_index(drop=True)
    names = [", ".join(value_label(k, j[k]) for k in keys) for _, j in jobs.iterrows()]
    curve = "_curve"  # one curve per job, numbered in the order of its swept values
    table = sweep.table.assign(samples=sweep.table.step * sweep.table["optim.batch_size"],
                               **{curve: sweep.table.job.map(dict(zip(jobs.job, range(len(jobs)))))})
    fig, axes = style.subplots(1, 2, figsize=style.panel_size(2, 1), sharey=True, layout="constrained")
    for ax, x in zip(axes, ("step", "samples")):
        plot_sweep_curves(ax, table, curve, "test_risk", x=x, label=lambda _, number: names[number])
    axes[0].set_ylabel(LABELS["test_risk"])
    axes[1].set_xlabel("samples seen B·t")
    legend(axes[1], list(zip(names, _colors(names))), [("simulation ±2 se", {"ls": "-"}), THEORY_ENTRY])
    fixed = [f"{SYMBOLS[k]} = {format_value(jobs[k].iloc[0])}" for k in ("optim.lr", "optim.batch_size")
             if k not in keys and k in jobs and jobs[k].nunique(dropna=False) == 1]
    fig.suptitle(", ".join(["online SGD", *fixed]))
    return fig, "\n".join(_final_line(name, j) for name, (_, j) in zip(names, jobs.iterrows()))


# --- 2. finite data: P ∈ {D/4, D/2, D, 2D} ------------------------------------------------------------------
def _fraction_of(value, whole, symbol: str) -> str:
    f = Fraction(int(value), int(whole)).limit_denominator(16)
    num = "" if f.numerator == 1 else str(f.numerator)
    return f"{num}{symbol}" + ("" if f.denominator == 1 else f"/{f.denominator}")


@recipe("finite_data", "data.n_train", "data.dim")
def finite_data(sweep: Sweep, options: dict):
    """Test (left) and train (right) loss against steps, one colour per P; theory's t → ∞ limit dotted."""
    key = "data.n_train"
    dim = sweep.jobs["data.dim"].iloc[0]
    values = ordered(sweep.jobs[key])
    colors = _colors(values)

    def label(k, v):
        return f"P = {v} = {_fraction_of(v, dim, 'D')}"

    fig, axes = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    for ax, q in zip(axes, ("test_risk", "train_loss")):
        plot_sweep_curves(ax, sweep.table, key, q, label=label)
        for v, c in zip(values, colors):
            limit = sweep.jobs.loc[select(sweep.jobs, key, v), f"{q}.static_limit"].iloc[0] \
                if f"{q}.static_limit" in sweep.jobs else np.nan
            if np.isfinite(limit) and limit > 0:
                ax.axhline(limit, color=c, ls=":", lw=style.THEORY_LW)
        ax.set_title(LABELS[q])
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, 1e-4 * top), top)  # interpolating runs (P < D) drive the train loss to ~0
    axes[0].set_ylabel("loss")
    legend(fig, [(label(key, v), c) for v, c in zip(values, colors)],
           [("simulation ±2 se", {"ls": "-"}), THEORY_ENTRY,
            ("theory, t → ∞", {"ls": ":", "lw": style.THEORY_LW})], loc="outside lower center", ncol=4)
    fig.suptitle(f"finite data, D = {dim}")
    report = _final_lines(sweep, key) + "\n" + _final_lines(sweep, key, "train_loss")
    return fig, report


# --- 3. random features: model-size bottleneck and double descent ----------------------------------------
@recipe("rf_size", "model.n_features", "data.n_train")
def rf_size(sweep: Sweep, options: dict):
    """Left: test risk against steps per width N.  Right: against N, the theory's t → ∞ limit (double
    descent, peak at N = P; ▲ where it is infinite), the risk at the last step (simulation ± 2 se,
    theory) and the approximation error of N features."""
    key = "model.n_features"
    jobs = sweep.jobs.sort_values(key)
    P = jobs["data.n_train"].iloc[0]
    values = ordered(jobs[key])
    colors = _colors(values)
    fig, (ax_t, ax_n) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    plot_sweep_curves(ax_t, sweep.table, key, "test_risk")
    ax_t.set_ylabel(LABELS["test_risk"])
    simulated = "test_risk.final_simulation" in jobs and bool(jobs["test_risk.final_simulation"].notna().any())
    legend(ax_t, [(value_label(key, v), c) for v, c in zip(values, colors)],
           [("simulation ±2 se", {"ls": "-"})] * simulated + [THEORY_ENTRY], loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
    n = jobs[key].astype(float)
    for column, kw, text in (("test_risk.static_limit", STATIC_MARK, "theory, t → ∞"),
                             ("test_risk.final_theory", THEORY_MARK, "theory, last step"),
                             ("theory_info.approximation_error", {"ls": "-.", "lw": style.THEORY_LW}, "approximation error")):
        if column in jobs:
            ax_n.plot(n, jobs[column], color="k", label=text, **kw)
    if simulated:
        ax_n.errorbar(n, jobs["test_risk.final_simulation"], yerr=2 * jobs["test_risk.final_simulation_se"], fmt="o",
                      color="0.35", ms=4, capsize=2, label="simulation, last step")
    if "test_risk.static_limit" in jobs:  # no finite limit (ridgeless N = P): an arrow at the top
        for v in n[jobs["test_risk.static_limit"].isna().to_numpy()]:
            ax_n.plot(v, 0.97, "^", color="k", ms=6, transform=ax_n.get_xaxis_transform(), clip_on=False)
    ax_n.axvline(P, color="0.6", lw=0.8, ls=":")
    ax_n.annotate(" N = P", (P, 0.02), xycoords=("data", "axes fraction"), ha="left", va="bottom", fontsize=8)
    ax_n.set(xscale="log", yscale="log", xlabel="N (random features)", ylabel=LABELS["test_risk"])
    shown = []
    for v in values:  # no overlapping labels
        if not shown or np.log10(v / shown[-1]) > 0.2:
            shown.append(v)
    ax_n.set_xticks(shown, [f"{v:g}" for v in shown], minor=False)
    ax_n.minorticks_off()
    ax_n.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    fig.suptitle(f"random features, P = {P}")
    lines = [f"  N={int(r[key])}: t → ∞ {r.get('test_risk.static_limit', np.nan):.4g}, "
             f"approximation error {r.get('theory_info.approximation_error', np.nan):.4g}" for _, r in jobs.iterrows()]
    return fig, _final_lines(sweep, key) + "\n" + "\n".join(lines)


# --- 4. covariate shift ----------------------------------------------------------------------------------
@recipe("covariate_shift", "data.test_spectrum.alpha", "data.test_spectrum.kind", "data.spectrum.alpha")
def covariate_shift(sweep: Sweep, options: dict):
    """Left: test risk under Σ′ = diag(k^−α′) against steps.  Right: its ratio to the risk under Σ."""
    key = "data.test_spectrum.alpha"
    jobs = sweep.jobs
    train_alpha = jobs["data.spectrum.alpha"].iloc[0]
    same = jobs[(jobs["data.test_spectrum.kind"] == "same") | (jobs[key] == train_alpha)]
    values = ordered(jobs[key])
    colors = _colors(values)

    def label(k, v):
        return f"α′ = {v:g}" + (" (Σ′ = Σ)" if v == train_alpha else "")

    fig, (ax, ax_r) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    plot_sweep_curves(ax, sweep.table, key, "test_risk", label=label)
    ax.set_ylabel("test risk under Σ′")
    legend(ax, [(label(key, v), c) for v, c in zip(values, colors)], [("simulation ±2 se", {"ls": "-"}), THEORY_ENTRY])
    report = _final_lines(sweep, key)
    if len(same):
        ref = sweep.table[sweep.table.job == same.job.iloc[0]]
        for v, c in zip(values, colors):
            rows = sweep.table[select(sweep.table, key, v)]
            for source, kw in (("simulation", {"ls": "-", "color": c}),
                               ("theory", {"ls": "--", "lw": style.THEORY_LW, "color": "k"})):
                a = rows[(rows.source == source) & (rows.quantity == "test_risk") & (rows.step > 0)].set_index("step").value
                b = ref[(ref.source == source) & (ref.quantity == "test_risk") & (ref.step > 0)].set_index("step").value
                ratio = (a / b).dropna()
                ax_r.plot(ratio.index, ratio.values, **kw)
        ax_r.set(xscale="log", xlabel=AXIS_LABELS["step"], ylabel="risk under Σ′ / risk under Σ")
    fig.suptitle(f"covariate shift, trained on α = {train_alpha:g}")
    return fig, report


# --- scaling law in time -----------------------------------------------------------------------------------
def _asymptote(job) -> float:
    """R∞ = σ²/(1 − kernel mass) for online SGD (0 without label noise)."""
    noise = float(job["data.noise_std"]) ** 2
    return noise / (1 - job.get("theory_info.kernel_mass", 0.0)) if noise else 0.0


def _replica_matrix(path: str, quantity: str = "test_risk") -> tuple[np.ndarray, np.ndarray]:
    reps = pd.read_parquet(Path(path) / "replicas.parquet")
    wide = reps[reps.quantity == quantity].pivot(index="replica", columns="step", values="value")
    return wide.columns.to_numpy(), wide.to_numpy()


def _local_slope(x, y):
    lx, ly = np.log(x), np.log(y)
    return np.exp(0.5 * (lx[1:] + lx[:-1])), np.diff(ly) / np.diff(lx)


@recipe("scaling_time", "data.spectrum.alpha", "data.teacher.beta", "data.noise_std", "optim.steps")
def scaling_time(sweep: Sweep, options: dict):
    """Left: R(t) − R∞ with the power laws fitted over the window (shaded).  Right: the local slope
    d log(R − R∞)/d log t of simulation and theory against the asymptotic −(β−1)/α."""
    fig, (ax, ax_s) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    lines = ["slope of R(t) − R∞ over the window (simulation: replica bootstrap, ± 1 se and 95 % interval)"]
    jobs = sweep.jobs
    for (_, job), color in zip(jobs.iterrows(), _colors(jobs)):
        window = options.get("window") or (30.0, float(job["optim.steps"]))
        offset = _asymptote(job)
        steps, values = _replica_matrix(job["path"])
        sim = fit_replicas(steps, values, window, offset, seed=0)
        t = sweep.table
        th_rows = t[(t.job == job.job) & (t.source == "theory") & (t.quantity == "test_risk")]
        th = fit_power_law(th_rows.step, th_rows.value, window, offset)
        predicted = theory_slopes(job["data.spectrum.alpha"], job["data.teacher.beta"])["risk_vs_time"]
        keep = steps > 0
        mean = np.nanmean(values, axis=0)[keep] - offset
        ax.plot(steps[keep], mean, color=color, label=f"simulation ({values.shape[0]} replicas)")
        se = np.nanstd(values, axis=0, ddof=1)[keep] / np.sqrt(values.shape[0])
        band(ax, steps[keep], mean, se, color)
        tk = th_rows.step > 0
        ax.plot(th_rows.step[tk], th_rows.value[tk] - offset, color="k", ls="--", lw=style.THEORY_LW, label="theory")
        grid = np.geomspace(*sim.window, 20)
        ax.plot(grid, 1.6 * sim.prefactor * grid**sim.slope, color=color, lw=0.8, ls=(0, (4, 2)),
                label=f"fit: slope {sim.slope:.3f} ± {sim.stderr:.3f} (shifted ×1.6)")
        ax.axvspan(*sim.window, color="0.9", zorder=0)
        ax_s.plot(*_local_slope(steps[keep], np.where(mean > 0, mean, np.nan)), color=color, label="simulation")
        ax_s.plot(*_local_slope(th_rows.step[tk].to_numpy(), (th_rows.value[tk] - offset).to_numpy()), color="k",
                  ls="--", lw=style.THEORY_LW, label="theory")
        ax_s.axhline(predicted, color="tab:red", lw=0.8, label=f"asymptotic −(β−1)/α = {predicted:.3f}")
        ax_s.axvspan(*sim.window, color="0.9", zorder=0)
        lines += [f"  job {job.job} (α={job['data.spectrum.alpha']:g}, β={job['data.teacher.beta']:g}, window t ∈ "
                  f"[{sim.window[0]:g}, {sim.window[1]:g}], {sim.points} points, R∞ = {offset:.3g}):",
                  f"    simulation {sim.describe()}", f"    theory     {th.describe()}",
                  f"    asymptotic {predicted:.4f}",
                  f"    simulation − theory = {sim.slope - th.slope:+.4f} ({(sim.slope - th.slope) / sim.stderr:+.1f} se)"]
    ax.set(xscale="log", yscale="log", xlabel=AXIS_LABELS["step"], ylabel="R(t) − R∞")
    ax_s.set(xscale="log", xlabel=AXIS_LABELS["step"], ylabel="local slope")
    ax.legend(loc="lower left")
    ax_s.legend(loc="best")
    fig.suptitle("scaling in time, online SGD")
    return fig, "\n".join(lines)


# --- compute-optimal frontier ------------------------------------------------------------------------------
@recipe("compute_frontier", "model.n_features", "optim.batch_size", "data.spectrum.alpha", "data.teacher.beta")
def frontier(sweep: Sweep, options: dict):
    """Left: loss against compute C = B·t·N per width N and the frontier (lower envelope).  Right: the
    optimal N per budget with fitted and asymptotic slopes.  Fits use the budgets whose optimum is
    inside the grid of widths (or ``window``)."""
    key = "model.n_features"
    rows = sweep.table[(sweep.table.source == "theory") & (sweep.table.quantity == "test_risk")]
    curves = pd.DataFrame({"size": rows[key].astype(float), "step": rows.step, "batch_size": rows["optim.batch_size"],
                           "value": rows.value})
    front = compute_frontier(curves)
    sizes = np.sort(curves["size"].unique())
    interior = front[(front["size"] > sizes[0]) & (front["size"] < sizes[-1])]
    window = options.get("window") or (interior.compute.min(), interior.compute.max())
    fits = {"loss_vs_compute": fit_power_law(front.compute, front.loss, window),
            "optimal_size_vs_compute": fit_power_law(front.compute, front["size"], window)}
    job = sweep.jobs.iloc[0]
    predicted = theory_slopes(job["data.spectrum.alpha"], job["data.teacher.beta"])
    norm = LogNorm(sizes[0], sizes[-1])
    fig, (ax, ax_n) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    for n in sizes:
        c = curves[(curves["size"] == n) & (curves.step > 0)]
        ax.plot(c.step * c.batch_size * n, c.value, color=style.PALETTE(0.1 + 0.8 * norm(n)), lw=1.0)
    ax.plot(front.compute, front.loss, color="k", lw=2, label="frontier")
    for a, col in ((ax, "loss"), (ax_n, "size")):
        fit = fits["loss_vs_compute" if col == "loss" else "optimal_size_vs_compute"]
        grid = np.geomspace(*window, 20)
        a.plot(grid, 1.3 * fit.prefactor * grid**fit.slope, color="tab:red", ls="--", lw=style.THEORY_LW,
               label=f"fit: slope {fit.slope:.3f} (shifted ×1.3)")
        a.axvspan(*window, color="0.93", zorder=0)
    ax_n.step(front.compute, front["size"], where="mid", color="k", label="optimal N")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=style.PALETTE)
    fig.colorbar(sm, ax=ax, label="N")
    ax.set(xscale="log", yscale="log", xlabel="compute C = B·t·N", ylabel=f"{LABELS['test_risk']} (theory)")
    ax_n.set(xscale="log", yscale="log", xlabel="compute C = B·t·N", ylabel="compute-optimal N*")
    ax.legend(loc="lower left")
    ax_n.legend(loc="upper left")
    fig.suptitle(f"compute-optimal frontier, α = {job['data.spectrum.alpha']:g}, β = {job['data.teacher.beta']:g}")
    report = [f"frontier fits over C ∈ [{window[0]:.3g}, {window[1]:.3g}] ({fits['loss_vs_compute'].points} budgets)"]
    report += [f"  {name}: fitted {fit.slope:.4f}, asymptotic {predicted[name]:.4f}" for name, fit in fits.items()]
    error = sweep.jobs.get("theory_info.approximation_error")
    if error is not None and (error > 0).sum() >= 2:  # widths N that leave an error (N < D)
        fit = fit_power_law(sweep.jobs[key][error > 0].astype(float), error[error > 0])
        report.append(f"  approximation_vs_size: fitted {fit.slope:.4f}, asymptotic {predicted['approximation_vs_size']:.4f}"
                      f" (N ∈ [{fit.window[0]:g}, {fit.window[1]:g}])")
    return fig, "\n".join(report)


# --- learning-rate schedules and momentum ------------------------------------------------------------------
OPTIONAL_KEYS = ("data.n_train", "optim.schedule.milestones")
SCHEDULE_KEYS = ("optim.schedule.kind", "optim.steps", "optim.lr", "optim.schedule.warmup_steps",
                 "optim.schedule.final_lr_frac", "optim.schedule.decay_frac", "optim.schedule.gamma", "optim.schedule.t0", "optim.schedule.power")


def _step_sizes(job) -> np.ndarray:
    """η_s of a job, from its schedule keys (:mod:`twopoint.core.schedule`; custom values are not in the tables)."""
    cfg = {k.removeprefix("optim.schedule."): job[k] for k in SCHEDULE_KEYS if k.startswith("optim.schedule.")}
    milestones = job.get("optim.schedule.milestones")
    cfg["milestones"] = [] if milestones is None or isinstance(milestones, (str, float)) else list(milestones)
    m = multipliers(SimpleNamespace(**cfg, values=None, path=None), int(job["optim.steps"]))
    return float(job["optim.lr"]) * (np.ones(int(job["optim.steps"])) if m is None else m)


def _curves_with_residuals(sweep: Sweep, key: str, label, extra_panel: bool, xscale: str = "log"):
    """A figure with one column per recorded quantity (curves above, (sim − theory)/theory below, against steps
    on ``xscale``) and, with ``extra_panel``, one more column on the right; returns (figure, axes grid, quantities)."""
    quantities = [q for q in ("test_risk", "train_loss") if (sweep.table.quantity == q).any()]
    cols = len(quantities) + extra_panel
    fig, axes = style.subplots(2, cols, figsize=style.panel_size(cols, 1.5), squeeze=False, layout="constrained",
                               gridspec_kw={"height_ratios": [3, 1.3]})
    colors = _colors(ordered(sweep.jobs[key]))
    for i, q in enumerate(quantities):
        plot_sweep_curves(axes[0, i], sweep.table, key, q, colors=colors, label=label)
        axes[0, i].set_title(LABELS[q])
        plot_sweep_residuals(axes[1, i], sweep.table, key, q, colors=colors)
        axes[0, i].set_xscale(xscale)
        axes[1, i].set_xscale(xscale)
        axes[1, i].set(xlabel=AXIS_LABELS["step"], ylabel="(sim − theory)/theory" if i == 0 else None)
        axes[0, i].set_xlabel(None)
    axes[0, 0].set_ylabel("loss")
    return fig, axes, quantities


def _regime(job) -> str:
    P = job.get("data.n_train")
    where = "online" if P is None or P != P else f"P = {int(P)}"
    return f"{job.get('model.kind', 'linear')}, D = {int(job['data.dim'])}, {where}, B = {int(job['optim.batch_size'])}"


@recipe("schedules", *SCHEDULE_KEYS, "optim.batch_size", "data.dim", "model.kind", optional=OPTIONAL_KEYS)
def schedules(sweep: Sweep, options: dict):
    """Constant, cosine and warmup–stable–decay schedules at the same peak learning rate: loss curves (simulation
    ± 2 se, theory dashed; steps on a linear axis, where the decays show) with their residuals, and the step sizes
    η_s on the right."""
    key = "optim.schedule.kind"
    fig, axes, _ = _curves_with_residuals(sweep, key, lambda k, v: str(v), extra_panel=True, xscale="linear")
    values, ax_lr = ordered(sweep.jobs[key]), axes[0, -1]
    for v, c in zip(values, _colors(values)):
        eta = _step_sizes(sweep.jobs[select(sweep.jobs, key, v)].iloc[0])
        ax_lr.plot(np.arange(eta.size), eta, color=c, label=str(v))
    ax_lr.set(title="learning rate η_s", xlabel=AXIS_LABELS["step"])
    ax_lr.legend(loc="lower left")
    axes[1, -1].set_axis_off()
    legend(axes[0, 0], [], [("simulation ±2 se", {"ls": "-"}), THEORY_ENTRY])
    fig.suptitle(f"learning-rate schedules at equal peak η = {format_value(sweep.jobs['optim.lr'].iloc[0])} ({_regime(sweep.jobs.iloc[0])})")
    report = "\n".join(_final_lines(sweep, key, q) for q in ("test_risk", "train_loss")
                       if f"{q}.final_simulation" in sweep.jobs or f"{q}.final_theory" in sweep.jobs)
    return fig, report


@recipe("momentum", "optim.momentum", "optim.lr", "optim.batch_size", "data.dim", "model.kind", optional=OPTIONAL_KEYS)
def momentum(sweep: Sweep, options: dict):
    """Heavy-ball momentum β at equal effective learning rate η/(1 − β): loss curves (simulation ± 2 se, theory
    dashed) with their residuals."""
    key = "optim.momentum"
    jobs = sweep.jobs
    lr = dict(zip(jobs[key], jobs["optim.lr"]))

    def label(_, beta):
        return f"β = {beta:g}, η = {float(lr[beta]):.3g}"

    fig, axes, _ = _curves_with_residuals(sweep, key, label, extra_panel=False)
    values = ordered(jobs[key])
    legend(axes[0, 0], [(label(key, v), c) for v, c in zip(values, _colors(values))],
           [("simulation ±2 se", {"ls": "-"}), THEORY_ENTRY], loc="lower left")
    effective = sorted({float(f"{float(r['optim.lr']) / (1 - float(r[key])):.6g}") for _, r in jobs.iterrows()})
    fig.suptitle(f"momentum at equal η/(1 − β) = {', '.join(f'{e:g}' for e in effective)}\n({_regime(jobs.iloc[0])})")
    return fig, _final_lines(sweep, key)
