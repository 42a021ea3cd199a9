"""The layer contracts (``[tool.importlinter]`` in pyproject.toml) hold, and a back-import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([*LINT, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_layer_contracts_are_kept():
    res = _lint(REPO)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "0 broken" in res.stdout


def test_a_back_import_breaks_the_layers(tmp_path):
    """A copy of the package where core imports the command line: lint-imports must fail on it."""
    shutil.copytree(REPO / "twopoint", tmp_path / "twopoint", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "regression", "configs"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    curves = tmp_path / "twopoint" / "core" / "curves.py"
    curves.write_text(curves.read_text() + "\nimport twopoint.cli.app  # deliberate back-import\n")
    res = _lint(tmp_path, pythonpath=tmp_path)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and "twopoint.core.curves -> twopoint.cli.app" in res.stdout
