"""The public Python API: compose a config, build the problem, simulate, predict, evaluate, or all at once.

    >>> import twopoint as tp
    >>> res = tp.run("model=random_features", "model.n_features=200", "sim.replicas=32")
    >>> res.table          # tidy curves (pandas): source, method, quantity, step, time, value, stderr
    >>> res.metrics        # errors, verdict, theory info, timings
    >>> fig = res.plot()   # a matplotlib Figure (nothing is written unless ``save_to`` is given)

The lower level is public too: :func:`compose` → :func:`build_problem` → :func:`simulate` / :func:`predict`
→ :func:`evaluate`.  Invalid input raises :class:`~twopoint.core.errors.ConfigError` (never ``SystemExit``);
nothing here selects a matplotlib backend or changes global state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.data.build import build_problem

if TYPE_CHECKING:  # pandas and the comparison are loaded when first used, so that the CLI starts fast
    import pandas as pd

    from twopoint.compare.evaluate import Evaluation
    from twopoint.compare.verdict import Tolerances

log = logging.getLogger("twopoint")
CONFIG_DIR = str(resources.files("twopoint.configs"))
MEMORY_FRACTION = 0.8  # of the memory available now that a simulation may plan to use
FIGURE_FORMATS = ("png", "pdf", "svg", "eps", "jpg", "tif")

__all__ = ["CONFIG_DIR", "Result", "build_problem", "compose", "evaluate", "predict", "run", "run_config", "simulate"]


def compose(*overrides: str) -> DictConfig:
    """The twopoint config with Hydra ``overrides`` (``"optim.lr=0.5"``, ``"model=random_features"``, …).

    Works inside a running Hydra app too (its global state is restored afterwards).  Raises
    :class:`ConfigError` for an unknown key, group or value of the wrong type.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from twopoint.core.config import register_configs

    register_configs()
    global_hydra = GlobalHydra.instance()
    outer = global_hydra.hydra if global_hydra.is_initialized() else None
    global_hydra.clear()
    try:
        with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
            return hydra_compose("config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError, TypeError, KeyError) as err:  # all input errors here
        raise _compose_error(err, overrides) from None
    finally:
        if outer is not None:
            GlobalHydra.instance().initialize(outer)


def _compose_error(err: Exception, overrides: tuple[str, ...]) -> ConfigError:
    """A ConfigError naming the key of a failed composition: the one the (wrapped) OmegaConf error names, else
    the first override whose key the message mentions."""
    from omegaconf.errors import OmegaConfBaseException

    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else None
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    key = getattr(err, "full_key", None) or getattr(cause, "full_key", None)
    pairs = [(o.split("=", 1)[0].lstrip("+~"), o.split("=", 1)[1]) for o in overrides if "=" in o]
    if not key:
        key = next((k for k, _ in reversed(pairs) if k and k in str(err)), "overrides")
    named = [v for k, v in pairs if k == key]
    detail = f" ({str(cause).strip().splitlines()[0]})" if cause is not None else ""
    return ConfigError(key, named[-1] if named else " ".join(overrides), message + detail)


def simulate(problem: Problem) -> Curves:
    """Train the problem's model with real minibatch SGD, ``sim.replicas`` replicas at once."""
    from twopoint.simulate import simulate as simulate_problem

    return simulate_problem(problem)


def predict(problem: Problem) -> Curves:
    """The theory curves of the problem (float64) by the method ``theory.method`` selects."""
    from twopoint.theory.predict import predict as predict_problem

    return predict_problem(problem)


def evaluate(sim: Curves | None, theory: Curves | None, tolerances: Tolerances | None = None,
             problem: Problem | None = None) -> Evaluation:
    """Metrics, tidy table and verdict of a simulation against a theory (either may be None); with the
    ``problem``, also the regime diagnostics (the known deviations that apply)."""
    from twopoint.compare.evaluate import evaluate as evaluate_curves
    from twopoint.compare.verdict import Tolerances

    return evaluate_curves(sim, theory, tolerances or Tolerances(0.03, 4.0), problem)


@dataclass
class Result:
    """Everything one run produced: the problem, both curves, the metrics and the tidy table."""

    config: DictConfig
    problem: Problem
    simulation: Curves | None
    theory: Curves | None
    metrics: dict
    table: pd.DataFrame
    run_dir: Path | None = None

    @property
    def verdict(self) -> str:
        return self.metrics["verdict"]

    def plot(self):
        """The loss-curve figure (a :class:`matplotlib.figure.Figure`, not registered with pyplot)."""
        from twopoint.report.figures import loss_curves_figure, run_title

        return loss_curves_figure(self.simulation, self.theory, run_title(self.problem),
                                  tolerance=self.metrics["tolerances"]["max_rel_err"])

    def save(self, run_dir: str | Path, formats=("png", "pdf")) -> list[str]:
        """Write the run folder (resolved config, curves, replicas, metrics, figures); returns the file names."""
        from twopoint.compare.evaluate import Evaluation
        from twopoint.report.figures import run_title
        from twopoint.report.outputs import write_outputs

        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(self.config, resolve=True))
        ev = Evaluation(self.metrics, self.table, self.simulation, self.theory)
        return ["config.yaml", *write_outputs(run_dir, ev, list(formats), run_title(self.problem), problem=self.problem)]


def _figure_formats(cfg: DictConfig) -> list[str]:
    formats = list(cfg.compare.figure_formats)
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad:
        raise ConfigError("compare.figure_formats", formats, f"a list of {', '.join(FIGURE_FORMATS)}")
    return formats


def check_memory(problem: Problem) -> None:
    """Raise ConfigError (in well under a second, before any allocation) when the simulation's estimated peak
    memory exceeds ``MEMORY_FRACTION`` of the memory available now (psutil)."""
    import psutil

    from twopoint.simulate import simulation_bytes

    need, available = simulation_bytes(problem), psutil.virtual_memory().available
    if need <= MEMORY_FRACTION * available:
        return
    gib = 2**30
    if problem.sim.data_gib * gib > MEMORY_FRACTION * available:  # the replica groups themselves are too large
        key, value = "sim.data_gib", problem.sim.data_gib
    else:  # one replica alone does not fit: name its largest size
        sizes = {"data.dim": problem.data.dim, "data.n_train": problem.data.n_train or 0,
                 "model.n_features": problem.model.n_features or 0, "optim.batch_size": problem.optim.batch_size}
        key = max(sizes, key=sizes.get)
        value = sizes[key]
    raise ConfigError(key, value, f"the simulation needs about {need / gib:.3g} GiB with {available / gib:.3g} GiB "
                      "available; lower sim.data_gib (replicas per group), data.dim, data.n_train, model.n_features "
                      "or optim.batch_size")


def run_config(cfg: DictConfig, save_to: str | Path | None = None) -> Result:
    """Validate ``cfg``, predict, simulate and evaluate; write the run folder ``save_to`` when given.

    Every check (config values, simulator and theory availability, figure formats) runs before any compute.
    """
    from twopoint.compare.evaluate import evaluate as evaluate_curves
    from twopoint.compare.verdict import Tolerances
    from twopoint.theory.predict import select_predictor

    problem = build_problem(cfg)
    if not (problem.sim.enabled or problem.theory_enabled):
        raise ConfigError("sim.enabled", False, "true, or theory.enabled=true: with both off there is nothing to run")
    tolerances = Tolerances.from_config(cfg.compare)
    formats = _figure_formats(cfg)
    simulator = None
    if problem.sim.enabled:  # torch is imported only when something is simulated
        from twopoint.simulate import select_simulator

        simulator = select_simulator(problem)
        check_memory(problem)
    method, predictor = select_predictor(problem) if problem.theory_enabled else (None, None)
    timings: dict[str, float] = {}

    def timed(name: str, fn):
        if fn is None:
            return None
        start = time.perf_counter()
        out = fn(problem)
        timings[name] = round(time.perf_counter() - start, 4)
        return out

    theory = timed("theory_s", predictor)
    if theory is not None:
        log.info("theory (%s): %.2fs", theory.method, timings["theory_s"])
    sim = timed("simulation_s", simulator)
    if sim is not None:
        log.info("simulation (%s, %d replicas): %.2fs", sim.method, sim.replicas, timings["simulation_s"])
    start = time.perf_counter()
    ev = evaluate_curves(sim, theory, tolerances, problem)
    timings["compare_s"] = round(time.perf_counter() - start, 4)
    for deviation in ev.metrics["regime_diagnostics"]:
        log.info("known deviation %s: %s", deviation["name"], deviation["detail"])
    ev.metrics["theory_method_key"] = method
    ev.metrics["timings"] = timings
    result = Result(cfg, problem, sim, theory, ev.metrics, ev.table)
    if save_to is not None:
        result.run_dir = Path(save_to)
        result.save(result.run_dir, formats)
    return result


def run(*overrides: str, save_to: str | Path | None = None) -> Result:
    """Compose the config with ``overrides``, then :func:`run_config`; files are written only with ``save_to``."""
    return run_config(compose(*overrides), save_to=save_to)
