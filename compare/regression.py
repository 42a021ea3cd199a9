"""Compare a new run's curves with stored reference curves (both in the tidy ``curves.csv`` format).

- Simulation: the new and the stored replica means are two Monte-Carlo estimates, each with its
  standard error, so at every recorded step z = (new − ref)/√(se_new² + se_ref²) and a point regresses
  when |z| > ``z_max``.  Under no regression z is ≈ N(0, 1) for independent draws (exactly 0 for the
  same seed, device and library versions); ``z_max = 5`` keeps the chance of a false alarm over ~100
  points below 1e-4 while a shift of more than 5 standard errors is caught.  Points with no spread on
  either side (step 0) must agree to ``rtol``.
- Theory: deterministic float64 numerics, so new and stored values must agree to ``rtol``.

Before any comparison the stored table is checked against the case's contract
(:func:`validate_reference`): the ``curves.csv`` columns and their types, finite values, a positive
finite standard error at every simulation step > 0 and none for the theory, both sources, and exactly
the step grid of the new run for every (source, quantity) it records.  An empty, truncated, padded or
damaged reference is a failure with a one-line reason, never a comparison over fewer points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_MAX = 5.0
RTOL = 1e-6
KEYS = ["source", "quantity", "step"]
SOURCES = ("simulation", "theory")
# column -> kind: the tidy ``curves.csv`` format of :mod:`twopoint.report.outputs`
COLUMNS = {"source": "text", "method": "text", "quantity": "text", "step": "integer", "time": "number",
           "value": "number", "stderr": "number"}


def _first(rows: pd.DataFrame) -> str:
    r = rows.iloc[0]
    return f"{r.source} {r.quantity} step {r.step}"


def _dtype_ok(series: pd.Series, kind: str) -> bool:
    if kind == "integer":
        return pd.api.types.is_integer_dtype(series)
    if kind == "number":
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)


def validate_reference(ref: pd.DataFrame, new: pd.DataFrame | None = None) -> list[str]:
    """Problems (one line each) of a stored ``curves.csv`` table as the reference of a case whose fresh
    run recorded ``new``; an empty list when it is usable.  Without ``new`` only the table's own contract
    is checked (columns, types, finite values, standard errors, both sources, no duplicate point)."""
    missing = [c for c in COLUMNS if c not in ref.columns]
    if missing:
        shown = ", ".join(map(str, list(ref.columns)[:8])) or "none"
        return [f"not a curves.csv table: missing column(s) {', '.join(missing)} (columns: {shown})"]
    if ref.empty:
        return ["no data rows (header only)"]
    bad_types = [f"{c} ({ref[c].dtype}, expected {kind})" for c, kind in COLUMNS.items() if not _dtype_ok(ref[c], kind)]
    if bad_types:
        return [f"wrong column type(s): {', '.join(bad_types)}"]
    problems = []
    ref = ref.assign(source=ref.source.astype(object), quantity=ref.quantity.astype(object))
    sources = set(ref.source.dropna())
    absent = [s for s in SOURCES if s not in sources]
    if absent:
        problems.append(f"no {' and no '.join(absent)} rows")
    unknown = ref[~ref.source.isin(SOURCES)]
    if len(unknown):
        problems.append(f"{len(unknown)} rows of unknown source {sorted(map(str, set(unknown.source)))[0]!r}")
    ref = ref[ref.source.isin(SOURCES)]
    for column in ("time", "value"):
        bad = ref[~np.isfinite(ref[column].to_numpy(float))]
        if len(bad):
            problems.append(f"{column} not finite at {len(bad)} of {len(ref)} points (first: {_first(bad)})")
    sim = ref[ref.source == "simulation"]
    se = sim.stderr.to_numpy(float)
    bad = sim[~(np.isfinite(se) & ((se > 0) | (sim.step.to_numpy() <= 0)) & (se >= 0))]
    if len(bad):
        problems.append(f"simulation stderr missing, not finite or not > 0 at {len(bad)} points (first: {_first(bad)})")
    theory = ref[ref.source == "theory"]
    bad = theory[theory.stderr.notna()]
    if len(bad):
        problems.append(f"theory stderr set at {len(bad)} points, expected empty (first: {_first(bad)})")
    dup = ref[ref.duplicated(KEYS, keep="first")]
    if len(dup):
        problems.append(f"{len(dup)} duplicated point{'s' * (len(dup) > 1)} (first: {_first(dup)})")
    if new is not None:
        problems += _grid_problems(ref, new)
    return problems


def _grid_problems(ref: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """Missing or extra (source, quantity) curves and steps against the fresh run's grid."""
    problems = []
    expected = new[KEYS].drop_duplicates().assign(source=lambda f: f.source.astype(object),
                                                  quantity=lambda f: f.quantity.astype(object))
    have = ref[KEYS].drop_duplicates()
    curves_new = set(map(tuple, expected[["source", "quantity"]].drop_duplicates().to_numpy()))
    curves_ref = set(map(tuple, have[["source", "quantity"]].drop_duplicates().to_numpy()))
    sources_ref = set(have.source)
    lost = sorted(c for c in curves_new - curves_ref if c[0] in sources_ref)  # a whole source is reported above
    if lost:
        problems.append(f"no rows for {len(lost)} recorded curve(s): {', '.join(f'{s} {q}' for s, q in lost)}")
    extra_curves = sorted(curves_ref - curves_new)
    if extra_curves:
        problems.append(f"{len(extra_curves)} curve(s) the case does not record: "
                        f"{', '.join(f'{s} {q}' for s, q in extra_curves)}")
    both = curves_new & curves_ref
    merged = expected.merge(have, on=KEYS, how="outer", indicator=True)
    merged = merged[[(s, q) in both for s, q in zip(merged.source, merged.quantity)]].sort_values(KEYS)
    for side, what in (("left_only", "missing from"), ("right_only", "not on")):
        rows = merged[merged._merge == side]
        if len(rows):
            problems.append(f"{len(rows)} point{'s' * (len(rows) > 1)} {what} the case's step grid "
                            f"(first: {_first(rows)})")
    return problems


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
    """Point-by-point comparison of a new run's ``curves.csv`` table with a stored one.  The stored table
    must pass :func:`validate_reference` against the new run first (else its problems are returned and
    nothing is compared: ``points`` = 0)."""
    problems = validate_reference(ref, new)
    if problems:
        return ReferenceCheck([f"invalid reference: {p}" for p in problems], float("nan"), float("nan"), 0)
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
