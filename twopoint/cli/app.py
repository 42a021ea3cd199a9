"""The ``twopoint`` command: a Hydra app over :func:`twopoint.api.run_config`.

It composes the config, calls the API, writes the run folder and maps errors to exit codes:
0 success; 1 a failing verdict with ``compare.check=true``, a failed job of a multirun (the other jobs
still run) or an unexpected error; 2 an invalid config (one line on stderr naming the key, the value and
what is allowed).  Every job leaves ``status.json`` (:mod:`twopoint.report.status`) in its run directory.
``twopoint info`` prints the registry: regime → simulator → theory methods.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from twopoint.api import CONFIG_DIR, Result, run_config
from twopoint.core.config import register_configs
from twopoint.core.errors import ConfigError
from twopoint.report import status

log = logging.getLogger("twopoint")
CONFIG_ERROR_EXIT, CHECK_FAILED_EXIT = 2, 1
_state = {"task_started": False, "failed_checks": []}


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Run one config into ``run_dir`` (the API plus the log summary); returns the metrics."""
    result = run_config(cfg, save_to=run_dir)
    _log_summary(result)
    return result.metrics


def _log_summary(result: Result) -> None:
    metrics = result.metrics
    for q, s in metrics["quantities"].items():
        log.info("%s: max rel err %.3g, median %.3g, max |z| %.3g, within 2 se %.0f%%", q, s["max_rel_err"] or float("nan"),
                 s["median_rel_err"] or float("nan"), s["max_abs_z"] or float("nan"), 100 * (s["frac_within_2se"] or 0))
    log.info("verdict: %s (%s)", metrics["verdict"], metrics["verdict_reason"])
    log.info("outputs: %s", result.run_dir.resolve())


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    _state["task_started"] = True
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        metrics = run(cfg, run_dir)
    except Exception as exc:  # leave status.json behind; a sweep goes on with its other jobs
        status.write_status(run_dir, exc)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            status.FAILED.add(str(run_dir))
            log.error("job failed (%s: %s); recorded in %s", *status.describe(exc), run_dir / status.STATUS_FILE)
            return
        if isinstance(exc, ConfigError):
            print(f"twopoint: config error: {exc}", file=sys.stderr)
            raise SystemExit(CONFIG_ERROR_EXIT) from exc
        raise
    status.write_status(run_dir)
    if cfg.compare.check and metrics["verdict"] == "fail":
        _state["failed_checks"].append(str(run_dir))
        log.error("compare.check: verdict fail in %s", run_dir)


def main() -> None:
    """Console entry point: maps config errors to exit 2 and failed checks to exit 1."""
    if sys.argv[1:2] == ["info"]:
        from twopoint.cli.info import main as info_main

        sys.exit(info_main(sys.argv[2:]))
    register_configs()
    try:
        _hydra_main()
    except SystemExit as exc:
        if exc.code == 1 and not _state["task_started"]:
            raise SystemExit(CONFIG_ERROR_EXIT) from None  # Hydra rejected the config/overrides
        raise
    from twopoint.cli.callbacks import FAILURES  # a failed sweep aggregation, or failures it found in the jobs

    if _state["failed_checks"] or status.FAILED or FAILURES:
        sys.exit(CHECK_FAILED_EXIT)


if __name__ == "__main__":
    main()
