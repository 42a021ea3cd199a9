"""Sweep aggregation: every job of a Hydra multirun in one tidy table, plus overview figures.

Reads saved run directories only (``.hydra/``, ``status.json``, ``metrics.json``, ``curves.csv``);
never reruns anything.  A job directory is one holding ``.hydra/overrides.yaml``.  Each job gets a
``status``:

- ``ok``: finished, nothing diverged;  ``diverged``: finished, the theory predicts divergence or
  some replicas diverged (still a result: see ``sim_diverged_fraction``);
- ``failed``: ``status.json`` records an error (``error`` holds its type and message);
- ``incomplete``: started but left no result (killed, timed out, still running);
- ``not_started``: listed by the sweep's ``multirun.yaml`` (basic sweeper) but no directory exists.

``check_failed`` (a column of its own) marks a finished job run with ``compare.check=true`` whose
verdict is ``fail``: still a result (its status stays ok/diverged and figures draw it), but the
summary counts it apart from ok/diverged and the sweep is a failure (the command exits 1).

No job is dropped: jobs without curves appear in the tidy table as one row with empty curve columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from omegaconf import OmegaConf

from twopoint.core.config import register_resolvers
from twopoint.report.status import FAILED_STATUS, read_status

OK, DIVERGED, INCOMPLETE, NOT_STARTED = "ok", "diverged", "incomplete", "not_started"
CHECK_FAILED = "check_failed"  # a summary category, not a status: see the module docstring
OUTCOME_ORDER = (OK, DIVERGED, CHECK_FAILED, FAILED_STATUS, INCOMPLETE, NOT_STARTED)
UNSET = "unset"
CURVE_COLUMNS = ["source", "method", "quantity", "step", "time", "value", "stderr"]
METRIC_KEYS = ("max_rel_err", "median_rel_err", "max_abs_z", "frac_within_2se")
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass(frozen=True)
class Sweep:
    """``jobs``: one row per job; ``table``: the tidy curves with every job column repeated on each
    row; ``swept``: override keys whose value differs between jobs, in command-line order."""

    jobs: pd.DataFrame
    table: pd.DataFrame
    swept: list[str]

    @property
    def failed(self) -> pd.DataFrame:
        return self.jobs[self.jobs.status.isin([FAILED_STATUS, INCOMPLETE, NOT_STARTED])]

    @property
    def check_failed(self) -> pd.DataFrame:
        """Finished jobs run with ``compare.check=true`` whose verdict is ``fail``."""
        return self.jobs[_check_failed(self.jobs)]


def _check_failed(jobs: pd.DataFrame) -> pd.Series:
    if CHECK_FAILED not in jobs:
        return pd.Series(False, index=jobs.index)
    return jobs[CHECK_FAILED].map(lambda v: v is True or v == 1) & jobs.status.isin([OK, DIVERGED])


def outcomes(jobs: pd.DataFrame) -> pd.Series:
    """Each job's summary category: its status, or ``check_failed`` for a finished job that failed its check."""
    return jobs.status.where(~_check_failed(jobs), CHECK_FAILED)


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` (also ``+key=…``, ``++key=…``) → (key, YAML-typed value); ``~key`` → (key, None)."""
    key, _, value = text.partition("=")
    key = key.lstrip("+~")
    try:
        parsed = yaml.safe_load(value) if value else None
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str):  # YAML 1.1 reads 1e-3 as text; Hydra's grammar reads it as a float
        try:
            parsed = float(parsed)
        except ValueError:
            pass
    return key, parsed if parsed is None or np.isscalar(parsed) else value


def find_job_dirs(path: Path) -> list[Path]:
    """``path`` itself when it is a run directory, else every run directory below it."""
    path = Path(path)
    if (path / ".hydra" / "overrides.yaml").is_file():
        return [path]
    return sorted(p.parent.parent for p in path.rglob(".hydra/overrides.yaml"))


def expected_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """Every job's overrides, expanded from ``multirun.yaml`` exactly as the basic sweeper does (else None)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    if OmegaConf.select(cfg, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return None
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    return BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(args), None)[0]


def _job_num(job_dir: Path) -> int | None:
    hydra_yaml = job_dir / ".hydra" / "hydra.yaml"
    if not hydra_yaml.is_file():
        return None
    num = (yaml.safe_load(hydra_yaml.read_text()) or {}).get("hydra", {}).get("job", {}).get("num")
    return num if isinstance(num, int) else None


def _final(curves: pd.DataFrame, source: str, quantity: str, column: str) -> float:
    rows = curves[(curves.source == source) & (curves.quantity == quantity)]
    return float(rows.sort_values("step")[column].iloc[-1]) if len(rows) else np.nan


def _metric_columns(metrics: dict, curves: pd.DataFrame | None) -> dict:
    div = metrics.get("divergence", {})
    sim_div, th_div = div.get("simulation") or {}, div.get("theory") or {}
    row = {"verdict": metrics.get("verdict"), "verdict_reason": metrics.get("verdict_reason"),
           "theory_method": metrics.get("theory_method"), "simulation_method": metrics.get("simulation_method"),
           "sim_diverged_fraction": sim_div.get("fraction", np.nan), "theory_diverged": th_div.get("diverged")}
    for name, seconds in metrics.get("timings", {}).items():
        row[name] = seconds
    for q, stats in metrics.get("quantities", {}).items():
        row.update({f"{q}.{k}": stats.get(k) for k in METRIC_KEYS})
    info = metrics.get("theory_info", {})
    row.update({f"theory_info.{k}": v for k, v in info.items() if isinstance(v, (int, float, bool))})
    static = info.get("static_limit", {})
    quantities = sorted(set(curves.quantity)) if curves is not None else []
    for q in quantities:
        row[f"{q}.final_simulation"] = _final(curves, "simulation", q, "value")
        row[f"{q}.final_simulation_se"] = _final(curves, "simulation", q, "stderr")
        row[f"{q}.final_theory"] = _final(curves, "theory", q, "value")
        if isinstance(static.get(q), (int, float)):
            row[f"{q}.static_limit"] = static[q]
    return row


def read_job(job_dir: Path, job_id: str) -> tuple[dict, pd.DataFrame | None]:
    """(job row, curves.csv or None) of one run directory."""
    overrides = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
    row = {"job": job_id, "job_num": _job_num(job_dir), "path": str(job_dir.resolve()), "status": INCOMPLETE,
           "error": None, "overrides": " ".join(overrides), CHECK_FAILED: False}
    cfg_path = job_dir / ".hydra" / "config.yaml"
    cfg = (yaml.safe_load(cfg_path.read_text()) or {}) if cfg_path.is_file() else {}
    if cfg_path.is_file():
        row["experiment_name"] = cfg.get("experiment_name")
    checked = (cfg.get("compare") or {}).get("check") is True
    row.update(dict(parse_override(o) for o in overrides))
    status = read_status(job_dir)
    curves = pd.read_csv(job_dir / "curves.csv") if (job_dir / "curves.csv").is_file() else None
    metrics_path = job_dir / "metrics.json"
    if status is not None and status["status"] == FAILED_STATUS:
        row.update(status=FAILED_STATUS, error=f"{status['error_type']}: {status['error']}")
    elif metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        row.update(_metric_columns(metrics, curves))
        diverged = row["sim_diverged_fraction"] > 0 or bool(row["theory_diverged"])
        row["status"] = DIVERGED if diverged else OK
        row[CHECK_FAILED] = checked and metrics.get("verdict") == "fail"
    else:
        curves = None  # a half-written job: its curves are not a result
    return row, curves


def _swept_keys(jobs: pd.DataFrame, order: list[str]) -> list[str]:
    def varies(key: str) -> bool:
        values = jobs[key].map(lambda v: json.dumps(v, default=str))
        return values.nunique(dropna=False) > 1

    return [k for k in order if k in jobs and varies(k)]


def _roots(paths) -> list[tuple[Path, Path]]:
    """(job dir, root it was found under) pairs."""
    return [(job, Path(p)) for p in paths for job in find_job_dirs(Path(p))]


def collect(*paths) -> Sweep:
    """Aggregate sweep directories and/or run directories (saved outputs only)."""
    rows, frames, order = [], [], []
    seen_nums = {}
    several = len(paths) > 1  # job ids must stay unique across the folders ("0", "1", … repeat in each sweep)
    for job_dir, root in _roots(paths):
        job_id = str(job_dir.relative_to(root)) if job_dir != root else str(job_dir)
        if several and job_dir != root:
            job_id = f"{root.name}/{job_id}"
        row, curves = read_job(job_dir, job_id)
        rows.append(row)
        frames.append(curves)
        order += [parse_override(o)[0] for o in row["overrides"].split()]
        seen_nums.setdefault(root, set()).add(row["job_num"])
    for root in {Path(p) for p in paths}:
        for num, job in enumerate(expected_jobs(root) or []):
            if num not in seen_nums.get(root, set()):
                rows.append({"job": f"{root.name + '/' if several else ''}{num} (not started)", "job_num": num, "path": None, "status": NOT_STARTED,
                             "error": "no run directory", "overrides": " ".join(job), CHECK_FAILED: False,
                             **dict(map(parse_override, job))})
                frames.append(None)
                order += [parse_override(o)[0] for o in job]
    if not rows:
        raise FileNotFoundError(f"no run directories (with .hydra/overrides.yaml) under {', '.join(map(str, paths))}")
    jobs = pd.DataFrame(rows)
    order = list(dict.fromkeys(order))
    swept = _swept_keys(jobs, order)
    jobs = jobs.sort_values(["job_num", "job"], na_position="last", kind="stable").reset_index(drop=True)
    lead = ["job", "status", "error", *swept]
    jobs = jobs[lead + [c for c in jobs.columns if c not in lead]]
    table = _tidy(jobs, rows, frames)
    return Sweep(jobs, table, swept)


def _tidy(jobs: pd.DataFrame, rows: list[dict], frames: list) -> pd.DataFrame:
    by_job = dict(zip((r["job"] for r in rows), frames))
    parts = []
    for _, job in jobs.iterrows():
        curves = by_job[job["job"]]
        if curves is None:
            curves = pd.DataFrame({c: [np.nan] for c in CURVE_COLUMNS})
        parts.append(curves.assign(job=job["job"]))
    return jobs.merge(pd.concat(parts, ignore_index=True), on="job", how="right")


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing types (e.g. ``null`` and numbers from overrides) become strings for Parquet."""
    out = frame.copy()
    for col in [c for c in out.columns if pd.api.types.is_object_dtype(out[c])]:
        kinds = {type(v) for v in out[col] if v is not None and not (isinstance(v, float) and np.isnan(v))}
        if len(kinds) > 1:
            out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def write_aggregate(sweep: Sweep, out_dir: Path, formats=("png", "pdf")) -> list[str]:
    """``jobs`` and ``sweep`` tables (CSV and Parquet) and the overview figures; returns the paths."""
    from twopoint.report import style
    from twopoint.report.sweep_figures import sweep_curves_figure, sweep_metrics_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("jobs", sweep.jobs), ("sweep", sweep.table)):
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        _parquet_safe(frame).to_parquet(out_dir / f"{name}.parquet", index=False)
        written += [str(out_dir / f"{name}.csv"), str(out_dir / f"{name}.parquet")]
    if formats:
        written += style.save(sweep_curves_figure(sweep), out_dir / "sweep_curves", formats)
        written += style.save(sweep_metrics_figure(sweep), out_dir / "sweep_metrics", formats)
    return written


def status_counts(sweep: Sweep) -> str:
    """``6 jobs: 3 ok, 1 diverged, 1 check_failed, 1 failed``: one category per job (:func:`outcomes`)."""
    counts = outcomes(sweep.jobs).value_counts()
    order = [s for s in OUTCOME_ORDER if s in counts] + sorted(str(s) for s in counts.index if s not in OUTCOME_ORDER)
    return f"{len(sweep.jobs)} jobs: " + ", ".join(f"{counts[s]} {s}" for s in order)


def format_value(value) -> str:
    """A setting as the command line writes it: integers without ``.0``, floats in their shortest exact
    form, booleans and null as YAML does; a missing value (NaN: the job does not set the key) is ``unset``."""
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return UNSET
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    return str(value)


def _override_texts(overrides) -> dict[str, str | None]:
    """key → the value text of each ``key=value`` in a job's overrides (None for ``~key``)."""
    texts = {}
    for text in str(overrides or "").split():
        key, sep, value = text.partition("=")
        texts[key.lstrip("+~")] = None if key.startswith("~") or not sep else value
    return texts


def settings(job: pd.Series, keys: list[str]) -> str:
    """``key=value`` for each of ``keys`` as the job's overrides wrote it (``key unset`` where it sets
    none), e.g. ``optim.batch_size=16 optim.ridge unset``."""
    texts = _override_texts(job.get("overrides"))
    parts = []
    for key in keys:
        if key in texts:
            shown = texts[key]
        else:
            value = job.get(key, np.nan)
            shown = None if isinstance(value, float) and np.isnan(value) else format_value(value)
        parts.append(f"{key}={shown}" if shown is not None else f"{key} {UNSET}")
    return " ".join(parts)


def summary(sweep: Sweep) -> str:
    """The counts, then one line per job that did not finish cleanly or failed its check."""
    lines = [status_counts(sweep)]
    kinds = outcomes(sweep.jobs)
    for index, job in sweep.jobs.iterrows():
        kind = kinds[index]
        if kind in (OK, DIVERGED):
            continue
        where = settings(job, sweep.swept) or job["overrides"]
        if kind == CHECK_FAILED:
            reason = f"compare.check: verdict fail ({job.get('verdict_reason') or 'no reason recorded'})"
        else:
            reason = job["error"] if isinstance(job["error"], str) else "no result"
        lines.append(f"  job {job['job']} [{kind}] {where}: {reason}")
    return "\n".join(lines)


def with_config(sweep: Sweep, *keys: str) -> Sweep:
    """The sweep with a column per key (dotted path) in both tables, read from each job's resolved
    ``.hydra/config.yaml`` where the job's overrides did not set it."""
    jobs = sweep.jobs.copy()

    register_resolvers()  # saved configs keep their interpolations, e.g. ${twopoint.lr_at_effective_rate:…}

    def from_config(path):
        return OmegaConf.load(Path(path) / ".hydra" / "config.yaml") if isinstance(path, str) else None

    configs = jobs.path.map(from_config)
    for key in keys:
        found = configs.map(lambda c, k=key: None if c is None else OmegaConf.select(c, k))
        jobs[key] = jobs[key].where(jobs[key].notna(), found) if key in jobs else found
    table = sweep.table.drop(columns=[k for k in keys if k in sweep.table]).merge(jobs[["job", *keys]], on="job")
    return Sweep(jobs, table, sweep.swept)
