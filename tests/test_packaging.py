"""The top-level packages are this repository's, not same-named packages from PyPI."""

import importlib
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.parametrize("name", ["twopoint", "theory", "simulate", "compare"])
def test_package_imports_from_this_repo(name):
    module = importlib.import_module(name)
    assert REPO in Path(module.__file__).resolve().parents
