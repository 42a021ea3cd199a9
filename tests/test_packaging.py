"""Packaging: one import root, configs and references as package data, the wheel works from any folder.

The wheel test builds a wheel, installs it into a fresh virtual environment (its dependencies are taken from
this interpreter's site-packages, so nothing is downloaded) and runs the console scripts from a temporary
folder, where the repository's sources cannot be found by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

SUBPACKAGES = ["twopoint.theory", "twopoint.simulate", "twopoint.compare", "twopoint.configs", "twopoint.regression"]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackages_import_from_this_repo(name):
    module = __import__(name, fromlist=["_"])
    assert REPO in Path(module.__file__).resolve().parents


def _site_packages() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, text=True, timeout=300)
    return next(out.glob("twopoint-*.whl"))


def test_wheel_installs_only_twopoint(wheel):
    with zipfile.ZipFile(wheel) as zf:
        top = {name.split("/")[0] for name in zf.namelist()}
        names = set(zf.namelist())
    assert top == {"twopoint", next(t for t in top if t.endswith(".dist-info"))}
    assert "twopoint/configs/config.yaml" in names and "twopoint/configs/experiment/kernel_digits.yaml" in names
    assert "twopoint/regression/cases.yaml" in names and "twopoint/theory/online_linear.py" in names


def test_wheel_runs_from_another_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    # its dependencies from this interpreter, appended after the environment's own site-packages (paths listed in
    # a .pth file are not scanned for .pth files, so this checkout's editable install stays out)
    Path(site, "deps.pth").write_text(_site_packages() + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"CI": "true"}

    def run(*args, script=None):
        cmd = [str(bin_dir / script)] if script else [str(python)]
        return subprocess.run([*cmd, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    where = run("-c", "import twopoint, twopoint.theory; print(twopoint.__file__); print(twopoint.theory.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(Path(line).is_relative_to(site) for line in where.stdout.split()), where.stdout
    assert run("-c", "import theory").returncode != 0  # nothing but twopoint at top level
    res = run("sim.replicas=4", "optim.steps=20", "data.dim=20", "hydra.run.dir=run", script="twopoint")
    assert res.returncode == 0, res.stderr
    assert (work / "run" / "metrics.json").is_file() and (work / "run" / "curves.csv").is_file()
    assert run("--help", script="twopoint-regress").returncode == 0
