"""The eigen-data of a kernel problem (docs/theory.md §8): its spectrum and the task–model alignment.

Modes are ordered by decreasing eigenvalue λ_k.  Alignment: the cumulative target power
C(k) = Σ_{j≤k} c*_j² / E y*², the fraction of the target a learner that fits the top k modes captures;
it ends at 1 − (residual power)/E y*² (the target outside the kept modes, noise to the theory).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twopoint.report import style
from twopoint.data.inputs import InputSpec


@style.styled
def spectrum_figure(inputs: InputSpec, title: str = ""):
    """Two panels: λ_k against k (log-log) and C(k) against k (log x)."""
    order = np.argsort(inputs.eigenvalues)[::-1]
    lam, power = inputs.eigenvalues[order], inputs.coefficients[order] ** 2
    k = np.arange(1, lam.size + 1)
    fig, (left, right) = style.subplots(1, 2, figsize=style.panel_size(2, 1), layout="constrained")
    c0, c1 = style.colors(2)
    left.loglog(k, lam, color=c0, label="kernel eigenvalue λ_k")
    shown = power > 0
    left.loglog(k[shown], power[shown], ".", ms=2, color=c1, label="target power c*_k²")
    left.set_xlabel("mode k (by decreasing λ)")
    left.legend(loc="best")
    right.semilogx(k, np.cumsum(power) / inputs.target_power, color=c0)
    right.set_ylim(0, 1.02)
    right.set_xlabel("mode k (by decreasing λ)")
    right.set_ylabel("cumulative target power C(k)")
    if inputs.residual_power > 0:
        right.axhline(1 - inputs.residual_power / inputs.target_power, color="k", lw=0.8, ls=":",
                      label="kept modes (rest: effective noise)")
        right.legend(loc="lower right")
    fig.suptitle(title or f"{inputs.kernel} kernel on {inputs.kind} inputs: spectrum and task–model alignment")
    return fig


def write_kernel_figures(run_dir: Path, inputs: InputSpec, formats) -> list[str]:
    """Write ``kernel_spectrum.<fmt>`` into ``run_dir``; returns the file names."""
    return [Path(p).name for p in style.save(spectrum_figure(inputs), Path(run_dir) / "kernel_spectrum", formats)]
