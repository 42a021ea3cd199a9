"""The ``twopoint`` command: a Hydra app over :func:`twopoint.api.run_config`.

It composes the config, calls the API, writes the run folder and maps errors to exit codes:
0 success; 1 a failing verdict with ``compare.check=true``, a failed job of a multirun (the other jobs
still run) or an unexpected error; 2 an invalid config (one line on stderr naming the key, the value and
what is allowed; Hydra's own override and composition errors too), or a run folder (``hydra.run.dir``) or
sweep folder (``hydra.sweep.dir``) that already holds files; 130 SIGINT and 143 SIGTERM (128 + the signal
number: the run stops, ``status.json`` says ``interrupted``, one line on stderr).  Every error is printed once,
as one line on stderr (``HYDRA_FULL_ERROR=1`` shows Hydra's full traceback instead); an unexpected error's
traceback is in ``status.json``.  Every job leaves ``status.json`` (:mod:`twopoint.report.status`) in its run
directory.  ``twopoint info`` prints the registry: regime → simulator → theory methods.
"""

from __future__ import annotations

import difflib
import logging
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from twopoint.api import CONFIG_DIR, Result, run_config
from twopoint.core.config import register_configs
from twopoint.core.errors import ConfigError
from twopoint.report import status
from twopoint.report.status import FolderInUse, claim_folder

log = logging.getLogger("twopoint")
CONFIG_ERROR_EXIT, CHECK_FAILED_EXIT = 2, 1
ERROR_EXIT = 1
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


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM while the command runs; it exits with 128 + the signal number (130, 143)."""

    def __init__(self, signum: int):
        self.signum, self.signal_name = signum, signal.Signals(signum).name
        super().__init__(self.signal_name)


def _exit_code(interrupt: KeyboardInterrupt) -> int:
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code`` (``SystemExit`` passes Hydra's job and callback guards)."""
    print(f"twopoint: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def _log_to_file(level: int, message: str) -> None:
    """Record ``message`` in the run's log file only (the console already has it on stderr)."""
    record = log.makeRecord(log.name, level, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


_tracebacks = {"on": False}  # the user set HYDRA_FULL_ERROR=1: tracebacks instead of one-line errors


class RunFolderGuard(Callback):
    """Hydra callback (``hydra.callbacks.run_folder``): a run writes only into a new or empty folder.

    ``on_run_start`` claims ``hydra.run.dir`` and ``on_multirun_start`` claims ``hydra.sweep.dir`` before Hydra
    writes anything there; a folder that already holds files (another run's outputs) ends the command with one
    line naming the key, exit 2.  The claim creates ``.hydra`` (run) or ``multirun.yaml`` (sweep) exclusively, so
    of two commands started at once on the same folder one is refused.
    """

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        subdir = config.hydra.output_subdir
        self._claim(config.hydra.run.dir, "hydra.run.dir", subdir, marker_is_dir=True)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self._claim(config.hydra.sweep.dir, "hydra.sweep.dir", "multirun.yaml", marker_is_dir=False)

    @staticmethod
    def _claim(folder, key: str, marker, marker_is_dir: bool) -> None:
        try:
            claim_folder(Path(str(folder)), None if marker is None else str(marker), marker_is_dir)
        except FolderInUse as err:
            if err.path.exists() and not err.path.is_dir():
                _fail(f"config error: {key}={err.path} is a file, not a folder", CONFIG_ERROR_EXIT)
            _fail(f"config error: {key}={err.path} already holds files ({', '.join(err.held[:4])}"
                  f"{', ...' if len(err.held) > 4 else ''}); a run never writes into another run's folder: "
                  f"choose a new {key} or remove that folder", CONFIG_ERROR_EXIT)


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    _state["task_started"] = True
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        metrics = run(cfg, run_dir)
    except KeyboardInterrupt as exc:  # SIGINT/SIGTERM: record it and stop (a sweep stops too)
        status.write_status(run_dir, exc)
        name = status.signal_name(exc)
        _log_to_file(logging.WARNING, f"interrupted by {name}")
        _fail(f"interrupted by {name}; {run_dir / status.STATUS_FILE} records the run as interrupted",
              _exit_code(exc))
    except Exception as exc:  # leave status.json behind; a sweep goes on with its other jobs
        status.write_status(run_dir, exc)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            status.FAILED.add(str(run_dir))
            log.error("job failed (%s: %s); recorded in %s", *status.describe(exc), run_dir / status.STATUS_FILE)
            return
        if isinstance(exc, ConfigError):
            _log_to_file(logging.ERROR, f"config error: {exc}")
            _fail(f"config error: {exc}", CONFIG_ERROR_EXIT)
        kind, message = status.describe(exc)
        _log_to_file(logging.ERROR, f"{kind}: {message}")
        if _tracebacks["on"]:
            raise
        _fail(f"error: {kind}: {_first_line(message) or kind} (traceback in {run_dir / status.STATUS_FILE})",
              ERROR_EXIT)
    status.write_status(run_dir)
    if cfg.compare.check and metrics["verdict"] == "fail":
        _state["failed_checks"].append(str(run_dir))
        log.error("compare.check: verdict fail in %s", run_dir)


def hydra_error_line(err: BaseException) -> str:
    """One line for an override or composition error of Hydra/OmegaConf: what failed, on which key, and why."""
    if isinstance(err, OverrideParseException):
        return f"cannot parse override {err.override!r}: {_first_line(err.message)}"
    if isinstance(err, MissingConfigException):
        options = [o for o in (err.options or []) if not o.endswith("_schema")]
        group = (err.missing_cfg_file or "").rpartition("/")[0]
        where = f"; options in {group!r}: {', '.join(options)}" if options and group else ""
        return _first_line(str(err)).removeprefix("In 'config': ") + where
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else None
    line = _first_line(str(err)).rstrip(".")
    if cause is not None:
        line += f": {_first_line(str(cause))}"
    omega = cause if cause is not None else err if isinstance(err, OmegaConfBaseException) else None
    parent, key = getattr(omega, "parent_node", None), getattr(omega, "key", None)
    if isinstance(parent, DictConfig) and isinstance(key, str) and key not in parent:
        close = difflib.get_close_matches(key, [str(k) for k in parent.keys()], n=2, cutoff=0.5)
        if close:
            prefix = (getattr(omega, "full_key", "") or "").rpartition(".")[0]
            line += " (did you mean " + " or ".join(f"{prefix}.{k}" if prefix else k for k in close) + "?)"
    return line


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _on_signal(signum, frame) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal while the run records the first is ignored
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextmanager
def _command_errors():
    """While the command runs: SIGINT/SIGTERM raise :class:`Interrupted`; Hydra raises its errors (instead of
    printing them) and each becomes one line on stderr; the signal handlers and environment are restored after."""
    handlers = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, _on_signal)
    except ValueError:  # not the main thread: leave signals alone
        pass
    previous = os.environ.get("HYDRA_FULL_ERROR")
    _tracebacks["on"] = previous == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing a traceback
    try:
        yield
    except KeyboardInterrupt as exc:
        _fail(f"interrupted by {status.signal_name(exc)}", _exit_code(exc))
    except (HydraException, OmegaConfBaseException) as exc:
        if _tracebacks["on"]:
            raise
        _fail(f"config error: {hydra_error_line(exc)}", CONFIG_ERROR_EXIT)
    except Exception as exc:
        if _tracebacks["on"]:
            raise
        kind, message = status.describe(exc)
        _fail(f"error: {kind}: {_first_line(message) or kind}", ERROR_EXIT)
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def main() -> None:
    """Console entry point: maps config errors to exit 2 and failed checks to exit 1."""
    if sys.argv[1:2] == ["info"]:
        from twopoint.cli.info import main as info_main

        sys.exit(info_main(sys.argv[2:]))
    register_configs()
    try:
        with _command_errors():
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
