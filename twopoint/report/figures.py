"""Loss-curve figure: simulation mean ± 2 stderr band (test solid, train dotted), theory dashed,
the static t → ∞ limit (when the theory provides one) as a thin horizontal line; with both sources, a
residual panel below: (simulation − theory)/theory with its ±2 stderr band and the verdict's relative
tolerance, so the verdict can be read at a glance."""

from __future__ import annotations

import numpy as np

from twopoint.report import style
from twopoint.core.curves import Curves

LABELS = {"test_risk": "test risk", "train_loss": "train loss"}


def run_title(problem) -> str:
    """One line naming the model, algorithm and sizes of a run, e.g. ``linear sgd, D=500, online, B=16, lr=0.88``."""
    o = problem.optim
    data = "online" if problem.data.online else f"P={problem.data.n_train}"
    batch = f", B={o.batch_size}" if o.algorithm.startswith("sgd") else ""
    model = problem.model.kind + (f" N={problem.model.n_features}" if problem.model.n_features else "")
    return f"{model} {o.algorithm}, D={problem.data.dim}, {data}{batch}, lr={o.lr:g}"


def band(ax, x, mean, se, color) -> None:
    """Shade mean ± 2 se, clipped above 0 for log axes."""
    mean, se = np.asarray(mean, float), np.asarray(se, float)
    if not np.isfinite(mean).any():
        return
    lo = np.clip(mean - 2 * se, np.nanmin(mean) * 1e-3, None)
    ax.fill_between(x, lo, mean + 2 * se, color=color, alpha=style.BAND_ALPHA, lw=0)


@style.styled
def loss_curves_figure(sim: Curves | None, theory: Curves | None, title: str = "", tolerance: float = 0.03):
    """Log-log curves against the step (step 0 omitted); either source may be missing.  With both, a residual
    panel shows (mean − theory)/theory, ±2 stderr/theory and the relative tolerance ``tolerance``."""
    both = sim is not None and theory is not None
    if both:
        fig, (ax, res_ax) = style.subplots(2, 1, figsize=(4.2, 4.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]},
                                           layout="constrained")
    else:
        fig, ax = style.subplots(figsize=(4.2, 3.0), layout="constrained")
    ref = sim if sim is not None else theory
    quantities = ref.quantities
    cols = dict(zip(quantities, style.colors(len(quantities) + 1)))
    for q in quantities:
        ls = style.QUANTITY_LINESTYLE.get(q, "-")
        if sim is not None:
            keep = sim.steps > 0
            mean, se = sim.mean(q)[keep], sim.stderr(q)[keep]
            ax.plot(sim.steps[keep], mean, ls, color=cols[q], label=f"{LABELS.get(q, q)}: simulation ({sim.replicas} replicas)")
            band(ax, sim.steps[keep], mean, se, cols[q])
        if theory is not None and q in theory.values:
            keep = theory.steps > 0
            ax.plot(theory.steps[keep], theory.values[q][keep], style.THEORY_LINESTYLE, color="k", lw=1.0,
                    label=f"{LABELS.get(q, q)}: theory")
            static = theory.info.get("static_limit", {}).get(q)
            if static is not None and static > 0:
                ax.axhline(static, color=cols[q], lw=0.8, ls=(0, (1, 3)), label=f"{LABELS.get(q, q)}: t → ∞ limit")
        if both and q in theory.values:
            residual_panel(res_ax, sim, theory, q, cols[q])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("loss")
    if both:
        res_ax.axhspan(-tolerance, tolerance, color="0.85", lw=0, zorder=0, label=f"±{tolerance:.0%} tolerance")
        res_ax.axhline(0.0, color="k", lw=0.6)
        res_ax.set_xlabel("step t")
        res_ax.set_ylabel("(sim − theory)/theory")
        res_ax.legend(loc="best", fontsize="x-small")
    else:
        ax.set_xlabel("step t")
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    return fig


def residual_panel(ax, sim: Curves, theory: Curves, quantity: str, color) -> None:
    """(mean − theory)/theory with the ±2 stderr/theory band, on the common grid without step 0."""
    keep = (sim.steps > 0) & np.isfinite(theory.values[quantity]) & (theory.values[quantity] != 0)
    pred = theory.values[quantity][keep]
    rel = (sim.mean(quantity)[keep] - pred) / np.abs(pred)
    se = sim.stderr(quantity)[keep] / np.abs(pred)
    ls = style.QUANTITY_LINESTYLE.get(quantity, "-")
    ax.plot(sim.steps[keep], rel, ls, color=color, lw=1.0)
    ax.fill_between(sim.steps[keep], rel - 2 * se, rel + 2 * se, color=color, alpha=style.BAND_ALPHA, lw=0)
