"""Write one run's artefacts into its run folder: tables, metrics and figures.

``curves.csv`` (tidy: source, method, quantity, step, time, value, stderr), ``replicas.parquet`` (per-replica
simulation values), ``metrics.json`` and the ``loss_curves`` figure; for kernel machines also ``kernel_spectrum``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from twopoint.compare.evaluate import Evaluation
from twopoint.core.curves import Curves
from twopoint.report import style
from twopoint.report.figures import loss_curves_figure
from twopoint.report.kernel_figures import write_kernel_figures


def replicas_frame(sim: Curves) -> pd.DataFrame:
    """Long table of every replica's values: replica, quantity, step, time, value."""
    frames = []
    for q, v in sim.values.items():
        r, t = np.meshgrid(np.arange(v.shape[0]), np.arange(v.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({"replica": r.ravel(), "quantity": q, "step": sim.steps[t.ravel()],
                                    "time": sim.time[t.ravel()], "value": v.ravel()}))
    return pd.concat(frames, ignore_index=True)


def write_outputs(run_dir: Path, ev: Evaluation, formats, title: str = "", problem=None) -> list[str]:
    """Write curves, metrics and figures into ``run_dir``; returns the file names written.

    With the run's ``problem`` of a kernel machine, also its spectrum/alignment figure.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ev.table.to_csv(run_dir / "curves.csv", index=False)
    written.append("curves.csv")
    if ev.sim is not None:
        replicas_frame(ev.sim).to_parquet(run_dir / "replicas.parquet", index=False)
        written.append("replicas.parquet")
    (run_dir / "metrics.json").write_text(json.dumps(ev.metrics, indent=2, default=float))
    written.append("metrics.json")
    if ev.sim is not None or ev.theory is not None:
        fig = loss_curves_figure(ev.sim, ev.theory, title)
        written += [Path(p).name for p in style.save(fig, run_dir / "loss_curves", formats)]
    if problem is not None and problem.data.inputs is not None:
        written += write_kernel_figures(run_dir, problem.data.inputs, formats)
    return written
