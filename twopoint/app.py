"""The ``twopoint`` command: Hydra app running simulate + theory + compare for one config.

Exit codes: 0 success; 1 a failing verdict with ``compare.check=true``, a failed job of a
multirun (the other jobs still run) or an unexpected error; 2 an invalid config (one line on
stderr naming the key, the value and what is allowed).  Every job leaves ``status.json``
(:mod:`twopoint.status`) in its run directory.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from twopoint import status
from twopoint.config import register_configs
from twopoint.registry import ConfigError

log = logging.getLogger("twopoint")
CONFIG_ERROR_EXIT, CHECK_FAILED_EXIT = 2, 1
_state = {"task_started": False, "failed_checks": []}

register_configs()


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Validate, simulate, predict, compare and write every artefact into ``run_dir``."""
    from compare import Tolerances, evaluate, write_outputs
    from simulate import select_simulator
    from theory.predict import select_predictor
    from twopoint.problem import build_problem

    try:
        problem = build_problem(cfg)
        tol = Tolerances.from_config(cfg.compare)
        simulator = select_simulator(problem) if problem.sim.enabled else None
        method, predictor = select_predictor(problem) if problem.theory_enabled else (None, None)
    except ConfigError as err:
        print(f"twopoint: config error: {err}", file=sys.stderr)
        log.error("config error: %s", err)
        raise SystemExit(CONFIG_ERROR_EXIT) from err

    timings = {}

    def timed(name, fn):
        start = time.perf_counter()
        out = fn(problem)
        timings[name] = round(time.perf_counter() - start, 4)
        return out

    theory = timed("theory_s", predictor) if predictor else None
    if theory is not None:
        log.info("theory (%s): %.2fs", theory.method, timings["theory_s"])
    sim = timed("simulation_s", simulator) if simulator else None
    if sim is not None:
        log.info("simulation (%s, %d replicas): %.2fs", sim.method, sim.replicas, timings["simulation_s"])
    start = time.perf_counter()
    ev = evaluate(sim, theory, tol)
    timings["compare_s"] = round(time.perf_counter() - start, 4)
    ev.metrics["theory_method_key"] = method
    ev.metrics["timings"] = timings
    o = problem.optim
    data = "online" if problem.data.online else f"P={problem.data.n_train}"
    batch = f", B={o.batch_size}" if o.algorithm.startswith("sgd") else ""
    model = problem.model.kind + (f" N={problem.model.n_features}" if problem.model.n_features else "")
    title = f"{model} {o.algorithm}, D={problem.data.dim}, {data}{batch}, lr={o.lr:g}"
    files = write_outputs(run_dir, ev, list(cfg.compare.figure_formats), title, problem=problem)
    _log_summary(ev.metrics, run_dir, files)
    return ev.metrics


def _log_summary(metrics: dict, run_dir: Path, files: list[str]) -> None:
    for q, s in metrics["quantities"].items():
        log.info("%s: max rel err %.3g, median %.3g, max |z| %.3g, within 2 se %.0f%%", q, s["max_rel_err"] or float("nan"),
                 s["median_rel_err"] or float("nan"), s["max_abs_z"] or float("nan"), 100 * (s["frac_within_2se"] or 0))
    log.info("verdict: %s (%s)", metrics["verdict"], metrics["verdict_reason"])
    log.info("outputs: %s  [%s]", run_dir.resolve(), ", ".join(files))


CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    _state["task_started"] = True
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        metrics = run(cfg, run_dir)
    except (Exception, SystemExit) as exc:  # leave status.json behind; a sweep goes on with its other jobs
        status.write_status(run_dir, exc)
        if hydra_cfg.mode != RunMode.MULTIRUN:
            raise
        status.FAILED.add(str(run_dir))
        log.error("job failed (%s: %s); recorded in %s", *status.describe(exc), run_dir / status.STATUS_FILE)
        return
    status.write_status(run_dir)
    if cfg.compare.check and metrics["verdict"] == "fail":
        _state["failed_checks"].append(str(run_dir))
        log.error("compare.check: verdict fail in %s", run_dir)


def main() -> None:
    """Console entry point: maps config errors to exit 2 and failed checks to exit 1."""
    try:
        _hydra_main()
    except SystemExit as exc:
        if exc.code == 1 and not _state["task_started"]:
            raise SystemExit(CONFIG_ERROR_EXIT) from None  # Hydra rejected the config/overrides
        raise
    if _state["failed_checks"] or status.FAILED:
        sys.exit(CHECK_FAILED_EXIT)


if __name__ == "__main__":
    main()

