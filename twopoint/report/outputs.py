"""Write one run's artefacts into its run folder: tables, metrics and figures.

``curves.csv`` (tidy: source, method, quantity, step, time, value, stderr), ``replicas.parquet`` (per-replica
simulation values), ``metrics.json`` and the ``loss_curves`` figure; for kernel machines also ``kernel_spectrum``.
``metrics.json`` is written last (a folder holding it holds every artefact) and is strict JSON: a non-finite
number is ``null`` there and its dotted path is listed in ``nonfinite`` with ``"inf"``, ``"-inf"`` or ``"nan"``.
:func:`twopoint.report.status.claim_folder` gives the command line a run folder no other run has written into.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from twopoint.compare.evaluate import Evaluation
from twopoint.core.curves import Curves
from twopoint.report import style
from twopoint.report.figures import loss_curves_figure
from twopoint.report.kernel_figures import write_kernel_figures

METRICS_FILE = "metrics.json"
NONFINITE_KEY = "nonfinite"


def strict_json(value, path: str = "", nonfinite: dict | None = None):
    """``value`` with numpy scalars and arrays as Python numbers and lists and every non-finite float as ``None``;
    the dotted path of each such float is added to ``nonfinite`` (``"inf"``, ``"-inf"`` or ``"nan"``)."""
    nonfinite = {} if nonfinite is None else nonfinite
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: strict_json(v, f"{path}.{k}" if path else str(k), nonfinite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v, f"{path}.{i}" if path else str(i), nonfinite) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        nonfinite[path] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return None
    return value


def metrics_json(metrics: dict) -> str:
    """``metrics`` as strict JSON (no ``Infinity``/``NaN``): see :func:`strict_json`; ``nonfinite`` lists what
    became null (absent when nothing did)."""
    nonfinite: dict[str, str] = {}
    clean = strict_json(metrics, nonfinite=nonfinite)
    if nonfinite:
        clean[NONFINITE_KEY] = nonfinite
    return json.dumps(clean, indent=2, allow_nan=False, default=float)


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
    if ev.sim is not None or ev.theory is not None:
        fig = loss_curves_figure(ev.sim, ev.theory, title, tolerance=ev.metrics["tolerances"]["max_rel_err"])
        written += [Path(p).name for p in style.save(fig, run_dir / "loss_curves", formats)]
    if problem is not None and problem.data.inputs is not None:
        written += write_kernel_figures(run_dir, problem.data.inputs, formats)
    partial = run_dir / f".{METRICS_FILE}.{os.getpid()}.tmp"
    partial.write_text(metrics_json(ev.metrics))
    os.replace(partial, run_dir / METRICS_FILE)
    written.append(METRICS_FILE)
    return written
