"""Gaussian equivalence of kernel machines on real input distributions (docs/theory.md §8, §11).

The theory of a kernel problem is the linear theory on the kernel's eigen-spectrum: it treats the eigenfeatures
ψ_k(x) = √λ_k e_k(x) as Gaussian.  Two measurements of that assumption:
* :func:`equivalence_gap` — the relative gap (mean − reference)/reference of a simulation from a reference curve
  on the common grid (step 0 excluded); ``twopoint`` records it against the theory as
  ``gaussian_equivalence_gap`` in ``metrics.json`` for every kernel run;
* the universality comparison — the kernel machine on the real inputs against the *same* spectrum, teacher and
  noise σ_e with Gaussian features (the linear simulator, :func:`gaussian_equivalent`), and the theory:

      python -m twopoint.cli.universality experiment=kernel_circle sim.replicas=64 --out outputs/universality

  writes ``universality.png``/``.pdf`` and ``universality.json`` (gaps of both simulations from the theory and
  of the real inputs from the Gaussian features) into ``--out``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from twopoint.core.curves import THEORY, Curves
from twopoint.core.problem import ModelSpec, Problem


def _finite_or_none(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def equivalence_gap(sim: Curves, reference: Curves, quantity: str) -> dict:
    """Relative gap of ``sim``'s replica mean from ``reference`` (theory, or the mean of another simulation).

    ``max_abs_rel``/``median_abs_rel`` of |mean − ref|/|ref|, ``final_rel`` the signed gap at the last step,
    ``max_abs_z`` in units of the combined standard error (both simulations' errors when the reference is one).
    """
    keep = sim.steps > 0
    mean, ref = sim.mean(quantity)[keep], reference.mean(quantity)[keep]
    se = sim.stderr(quantity)[keep]
    if reference.source != THEORY:
        se = np.hypot(se, reference.stderr(quantity)[keep])
    ok = np.isfinite(mean) & np.isfinite(ref) & (ref != 0)
    if not ok.any():
        return {"points": 0}
    diff = (mean - ref)[ok]
    rel = diff / np.abs(ref[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(diff == 0, 0.0, np.abs(diff / se[ok]))
    return {"points": int(ok.sum()), "max_abs_rel": float(np.max(np.abs(rel))), "median_abs_rel": float(np.median(np.abs(rel))),
            "final_rel": _finite_or_none(rel[-1]), "max_abs_z": _finite_or_none(np.max(z))}


def gaussian_equivalent(problem: Problem) -> Problem:
    """The same spectrum, teacher, noise σ_e, P and optimiser with Gaussian features (the linear model)."""
    if problem.data.inputs is None:
        raise ValueError("the problem has Gaussian inputs already (not a kernel problem)")
    return replace(problem, data=replace(problem.data, inputs=None), model=ModelSpec("linear"))
