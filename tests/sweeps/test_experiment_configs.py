"""Every ``configs/experiment`` file composes and every cell of its sweep is a valid Problem with a
theory and (unless disabled) a simulator; every figure recipe has its experiment file and documented
commands."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from twopoint.report.recipes import RECIPES
from conftest import REPO, compose_config
from twopoint.simulate import select_simulator
from twopoint.theory.predict import select_predictor
from twopoint.api import CONFIG_DIR
from twopoint.core.config import register_configs
from twopoint.data.build import build_problem

EXPERIMENTS = sorted(p.stem for p in (REPO / "configs" / "experiment").glob("*.yaml"))


def sweep_cells(name: str) -> list[list[str]]:
    register_configs()
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params or {}
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return BasicSweeper.split_arguments(parsed, None)[0] if parsed else [[]]


def test_every_figure_recipe_has_its_experiment():
    paper = {"online_batch", "finite_data", "rf_size", "covariate_shift", "scaling_time", "compute_frontier"}
    assert paper <= set(RECIPES.names())
    assert set(RECIPES.names()) <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes(name):
    assert (REPO / "configs" / "experiment" / f"{name}.yaml").read_text().startswith("# @package _global_")
    cells = sweep_cells(name)
    assert compose_config(f"experiment={name}", *cells[0]).experiment_name == name
    if name in RECIPES.names() and name != "scaling_time":
        assert len(cells) >= 3  # a sweep, aggregated by the figure


# experiments without a figure recipe here (e.g. real-data kernels) load data to build a Problem: slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in RECIPES.names() else [pytest.mark.slow])
                                  for n in EXPERIMENTS])
def test_every_sweep_corner_is_a_valid_problem(name):
    cells = sweep_cells(name)
    for cell in {tuple(cells[0]), tuple(cells[-1])}:  # the corners: every axis at its first and last value
        problem = build_problem(compose_config(f"experiment={name}", *cell))
        select_predictor(problem)
        if problem.sim.enabled:
            select_simulator(problem)


def test_docs_name_every_recipe_and_its_commands():
    docs = (REPO / "docs" / "sweeps.md").read_text()
    for name in RECIPES.names():
        assert f"experiment={name}" in docs and f"twopoint-figure {name}" in docs, name
    for name in ("ci", "workstation", "slurm", "slurm_local"):
        assert f"hydra/launcher={name}" in docs
        assert (Path(CONFIG_DIR) / "hydra" / "launcher" / f"{name}.yaml").is_file()
