"""Covariance spectra and teachers, selected by ``kind`` (docs/theory.md §1 conventions).

All arrays are float64 and live in Σ's eigenbasis (Σ = diag(λ), WLOG diagonal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twopoint.core.errors import ConfigError
from twopoint.core.registry import Registry

SPECTRA: Registry = Registry("spectrum")
TEACHERS: Registry = Registry("teacher")


def _custom_array(cfg, key: str, dim: int) -> np.ndarray:
    """A length-``dim`` array from ``cfg.values`` or the .npy file ``cfg.path``."""
    values = cfg["values"]  # item access: DictConfig has a ``values`` method
    if (values is None) == (cfg.path is None):
        raise ConfigError(f"{key}.values", values, "custom needs exactly one of values (a list) or path (.npy)")
    if values is not None:
        arr = np.asarray(list(values), dtype=np.float64)
        where = f"{key}.values"
    else:
        where = f"{key}.path"
        try:
            raw = np.load(Path(cfg.path).expanduser(), allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ConfigError(where, cfg.path, f"a readable .npy file of {dim} numbers ({err or type(err).__name__})") from None
        if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
            raise ConfigError(where, cfg.path, f"a .npy file of {dim} real numbers (this one holds {raw.dtype})")
        arr = raw.astype(np.float64)
    if arr.shape != (dim,):
        raise ConfigError(where, f"<array of shape {arr.shape}>", f"exactly data.dim={dim} numbers")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(where, "<array with non-finite entries>", "finite numbers")
    return arr


@SPECTRA.register("powerlaw")
def powerlaw_spectrum(cfg, key: str, dim: int) -> np.ndarray:
    """λ_k = scale · k^(−alpha), k = 1..dim (not normalised: λ_1 = scale; alpha > 0 by the config's constraints)."""
    return cfg.scale * np.arange(1, dim + 1, dtype=np.float64) ** (-float(cfg.alpha))


@SPECTRA.register("custom")
def custom_spectrum(cfg, key: str, dim: int) -> np.ndarray:
    """λ given explicitly (``values`` or ``path``), times ``scale``; must be positive."""
    lam = cfg.scale * _custom_array(cfg, key, dim)
    if np.any(lam <= 0):
        raise ConfigError(key, "<custom spectrum>", "strictly positive eigenvalues")
    return lam


def build_spectrum(cfg, key: str, dim: int) -> np.ndarray:
    """The spectrum of ``cfg.kind`` (a :class:`~twopoint.core.config.SpectrumConfig` already validated against its
    constraints: alpha > 0, scale > 0)."""
    return SPECTRA.get(cfg.kind, f"{key}.kind")(cfg, key, dim)


@TEACHERS.register("powerlaw")
def powerlaw_teacher(cfg, key: str, eigenvalues: np.ndarray, seed: int) -> np.ndarray:
    """w*_k with λ_k w*_k² = k^(−beta) (positive signs); inf where that overflows float64 (build_problem rejects it)."""
    k = np.arange(1, eigenvalues.size + 1, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore"):
        return np.sqrt(k ** (-float(cfg.beta)) / eigenvalues)


@TEACHERS.register("random")
def random_teacher(cfg, key: str, eigenvalues: np.ndarray, seed: int) -> np.ndarray:
    """w*_k iid N(0, 1/D), drawn from ``teacher.seed`` (the run seed when null)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed if cfg.seed is None else cfg.seed, 0x7EAC]))
    return rng.standard_normal(eigenvalues.size) / np.sqrt(eigenvalues.size)


@TEACHERS.register("custom")
def custom_teacher(cfg, key: str, eigenvalues: np.ndarray, seed: int) -> np.ndarray:
    """w* given explicitly in Σ's eigenbasis."""
    return _custom_array(cfg, key, eigenvalues.size)


def build_teacher(cfg, key: str, eigenvalues: np.ndarray, seed: int) -> np.ndarray:
    return TEACHERS.get(cfg.kind, f"{key}.kind")(cfg, key, eigenvalues, seed)
