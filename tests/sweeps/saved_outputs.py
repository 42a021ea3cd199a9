"""Synthetic saved outputs: run directories written by the real writers (``twopoint.report.outputs.write_outputs``,
``twopoint.status``) from analytic curves, so figure code can be tested without running anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf

from twopoint.compare import Tolerances, evaluate
from twopoint.report.outputs import write_outputs
from conftest import compose_config
from twopoint.core.curves import SIMULATION, THEORY, Curves
from twopoint.data.build import build_problem
from twopoint.report.status import write_status


def power_law(steps, slope: float, floor: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """floor + scale·t^slope for t ≥ 1, floor + scale at t = 0."""
    t = np.maximum(np.asarray(steps, float), 1.0)
    return floor + scale * t**slope


def write_run(run_dir: Path, overrides: list[str], make, replicas: int = 32, noise: float = 0.1, seed: int = 0,
              num: int = 0) -> Path:
    """A run directory for the config ``overrides``; ``make(recorded steps) -> (theory, info)`` with
    ``theory`` a dict quantity → values.  The simulation is the theory times independent log-normal noise
    per replica and step (mean exactly the theory); ``replicas=0`` writes a theory-only run."""
    cfg = compose_config(*overrides)
    problem = build_problem(cfg)
    steps, time = problem.record_steps, problem.record_times
    values, info = make(steps)
    th = Curves(THEORY, "synthetic", steps, time, {q: np.asarray(v, float) for q, v in values.items()},
                np.array([-1]), info)
    sim = None
    if replicas:
        rng = np.random.default_rng(seed)

        def factor():
            return np.exp(noise * rng.standard_normal((replicas, steps.size)) - noise**2 / 2)

        sim = Curves(SIMULATION, "synthetic", steps, time, {q: v[None, :] * factor() for q, v in th.values.items()},
                     np.full(replicas, -1))
    write_outputs(run_dir, evaluate(sim, th, Tolerances(0.03, 4.0)), [])
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (run_dir / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    write_status(run_dir)
    return run_dir


def write_sweep(root: Path, base: list[str], key: str, values, make, replicas: int = 32) -> Path:
    """One run directory per value (``root/<num>``); ``make(value, steps) -> (theory, info)``."""
    for num, value in enumerate(values):
        write_run(root / str(num), [*base, f"{key}={value}"], lambda steps, v=value: make(v, steps), replicas,
                  seed=num, num=num)
    return root
