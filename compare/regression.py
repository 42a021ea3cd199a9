"""Compare a new run's curves with stored reference curves (both in the tidy ``curves.csv`` format).

- Simulation: the new and the stored replica means are two Monte-Carlo estimates, each with its
  standard error, so at every recorded step z = (new − ref)/√(se_new² + se_ref²) and a point regresses
  when |z| > ``z_max``.  Under no regression z is ≈ N(0, 1) for independent draws (exactly 0 for the
  same seed, device and library versions); ``z_max = 5`` keeps the chance of a false alarm over ~100
  points below 1e-4 while a shift of more than 5 standard errors is caught.  Points with no spread on
  either side (step 0) must agree to ``rtol``.
- Theory: deterministic float64 numerics, so new and stored values must agree to ``rtol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_MAX = 5.0
RTOL = 1e-6
KEYS = ["source", "quantity", "step"]


@dataclass(frozen=True)
class ReferenceCheck:
    problems: list[str]
    max_abs_z: float  # simulation, over the points with a spread
    max_theory_rel: float  # theory, max relative difference
    points: int

    @property
    def ok(self) -> bool:
        return not self.problems


def compare_to_reference(new: pd.DataFrame, ref: pd.DataFrame, z_max: float = Z_MAX, rtol: float = RTOL) -> ReferenceCheck:
    """Point-by-point comparison of two ``curves.csv`` tables on their common (source, quantity, step)."""
    problems = []
    merged = ref[KEYS + ["value", "stderr"]].merge(new[KEYS + ["value", "stderr"]], on=KEYS, how="left",
                                                   suffixes=("_ref", "_new"))
    missing = merged.value_new.isna() & merged.value_ref.notna()
    if missing.any():
        first = merged[missing].iloc[0]
        problems.append(f"{missing.sum()} reference points missing or NaN in the new run "
                        f"(first: {first.source} {first.quantity} step {first.step})")
    m = merged[~missing & merged.value_ref.notna()]
    diff = m.value_new - m.value_ref
    rel = (diff.abs() / m.value_ref.abs().clip(lower=1e-300)).to_numpy()
    sim = (m.source == "simulation").to_numpy()
    spread = np.sqrt(m.stderr_new.fillna(0) ** 2 + m.stderr_ref.fillna(0) ** 2).to_numpy()
    noisy = sim & (spread > 1e-9 * m.value_ref.abs().to_numpy())  # step 0 has no spread (rounding only)
    z = np.where(noisy, diff.to_numpy() / np.where(noisy, spread, 1.0), 0.0)
    exact = ~noisy
    checks = ((noisy, np.abs(z) > z_max, f"|z| > {z_max:g}"), (exact, rel > rtol, f"relative difference > {rtol:g}"))
    for mask, bad, what in checks:
        hits = np.flatnonzero(mask & bad)
        if hits.size:
            worst = hits[np.argmax(np.abs(z[hits]) if what.startswith("|z|") else rel[hits])]
            r = m.iloc[worst]
            detail = f"z = {z[worst]:+.1f}" if what.startswith("|z|") else f"rel. diff {rel[worst]:.2e}"
            se_new, se_ref = (0.0 if np.isnan(v) else v for v in (r.stderr_new, r.stderr_ref))
            problems.append(f"{hits.size} {r.source} point{'s' * (hits.size > 1)} with {what}; worst {r.quantity} at "
                            f"step {r.step}: new {r.value_new:.6g} ± {se_new:.2g}, reference {r.value_ref:.6g} ± "
                            f"{se_ref:.2g} ({detail})")
    theory = (m.source == "theory").to_numpy()
    return ReferenceCheck(problems, float(np.abs(z[noisy]).max()) if noisy.any() else 0.0,
                          float(rel[theory].max()) if theory.any() else 0.0, len(m))
