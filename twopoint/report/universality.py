"""The universality figure: a kernel machine on real inputs next to Gaussian features with the same spectrum (§8, §11)."""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves
from twopoint.report import style
from twopoint.report.figures import LABELS, band


@style.styled
def universality_figure(real: Curves, gaussian: Curves, theory: Curves | None, title: str = ""):
    """Left: replica means ±2 stderr (test solid, train dotted) for the real inputs and for Gaussian features with
    the same spectrum, theory dashed.  Right: the relative gap of the real inputs from the Gaussian features."""
    fig, (ax, gap_ax) = style.subplots(1, 2, figsize=style.panel_size(2, 1.2), layout="constrained")
    colors = dict(zip(("real", "gaussian"), style.colors(2)))
    labels = {"real": f"{real.info.get('inputs', 'real')} inputs", "gaussian": "Gaussian features"}
    for name, curves in (("real", real), ("gaussian", gaussian)):
        keep = curves.steps > 0
        for q in curves.quantities:
            mean = curves.mean(q)[keep]
            ax.plot(curves.steps[keep], mean, style.QUANTITY_LINESTYLE.get(q, "-"), color=colors[name],
                    label=f"{LABELS.get(q, q)}: {labels[name]}")
            band(ax, curves.steps[keep], mean, curves.stderr(q)[keep], colors[name])
    if theory is not None:
        keep = theory.steps > 0
        for q in theory.quantities:
            ax.plot(theory.steps[keep], theory.values[q][keep], style.THEORY_LINESTYLE, color="k", lw=style.THEORY_LW,
                    label="theory" if q == "test_risk" else None)
    keep = real.steps > 0
    for q, color in zip(real.quantities, style.colors(len(real.quantities) + 1)):
        ref, se = gaussian.mean(q)[keep], np.hypot(real.stderr(q)[keep], gaussian.stderr(q)[keep])
        rel = (real.mean(q)[keep] - ref) / ref
        gap_ax.plot(real.steps[keep], rel, style.QUANTITY_LINESTYLE.get(q, "-"), color=color, label=LABELS.get(q, q))
        gap_ax.fill_between(real.steps[keep], rel - 2 * se / ref, rel + 2 * se / ref, color=color, alpha=style.BAND_ALPHA, lw=0)
    gap_ax.axhline(0.0, color="k", lw=0.6)
    gap_ax.set_xscale("log")
    gap_ax.set_xlabel("step t")
    gap_ax.set_ylabel("relative gap to Gaussian features")
    gap_ax.legend(loc="best")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("loss")
    ax.legend(loc="lower left", fontsize="small")
    fig.suptitle(f"{title or 'Gaussian equivalence'} ({real.replicas} replicas each, bands ±2 stderr)")
    return fig
