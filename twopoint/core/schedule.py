"""Learning-rate schedules: the multipliers m(s) of η_s = ``optim.lr`` · m(s) (docs/theory.md §1.1).

Update index s = 0, 1, …, T − 1 makes step s + 1 from step s.  A warmup of W = ``warmup_steps`` steps comes
first for every kind: m(s) = (s + 1)/W for s < W.  After it, with u = (s − W)/(T − W) and f = ``final_lr_frac``:

* ``constant``: m = 1;
* ``cosine``: m = f + (1 − f)(1 + cos πu)/2;
* ``linear``: m = 1 − (1 − f)u;
* ``step``: m = ``gamma``^(number of ``milestones`` ≤ s);
* ``wsd`` (warmup–stable–decay): m = 1 until the last D = ⌈``decay_frac``·T⌉ steps, then linear to f at T,
  m = 1 − (1 − f)(s − (T − D))/D;
* ``power``: m = (1 + s/``t0``)^(−``power``);
* ``custom``: the T multipliers ``values`` (a list) or ``path`` (a .npy file); no warmup is applied on top.

A constant schedule without warmup is no schedule: :func:`multipliers` returns None and every consumer keeps
its constant-η path (bit for bit).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from twopoint.core.errors import ConfigError
from twopoint.core.registry import Registry

SCHEDULES: Registry[Callable] = Registry("schedule")


def _after_warmup(shape: Callable[[np.ndarray, np.ndarray, object], np.ndarray]) -> Callable:
    """A schedule kind defined after the warmup, from (s, u, cfg); the warmup ramp is put in front."""

    def full(cfg, steps: int) -> np.ndarray:
        s = np.arange(steps, dtype=np.float64)
        warm = int(cfg.warmup_steps)
        u = (s - warm) / max(steps - warm, 1)
        m = np.asarray(shape(s, u, cfg), dtype=np.float64) * np.ones(steps)
        m[:warm] = (s[:warm] + 1.0) / warm
        return m

    full.__doc__ = shape.__doc__
    return full


@SCHEDULES.register("constant")
@_after_warmup
def _constant(s, u, cfg):
    """m = 1."""
    return np.ones_like(s)


@SCHEDULES.register("cosine")
@_after_warmup
def _cosine(s, u, cfg):
    """m = f + (1 − f)(1 + cos πu)/2."""
    f = cfg.final_lr_frac
    return f + (1.0 - f) * 0.5 * (1.0 + np.cos(np.pi * u))


@SCHEDULES.register("linear")
@_after_warmup
def _linear(s, u, cfg):
    """m = 1 − (1 − f)u."""
    return 1.0 - (1.0 - cfg.final_lr_frac) * u


@SCHEDULES.register("step")
@_after_warmup
def _step(s, u, cfg):
    """m = γ^(number of milestones ≤ s)."""
    passed = np.searchsorted(np.sort(np.asarray(cfg.milestones, dtype=np.float64)), s, side="right")
    return float(cfg.gamma) ** passed


@SCHEDULES.register("wsd")
@_after_warmup
def _wsd(s, u, cfg):
    """m = 1, then linear to f over the last ⌈decay_frac·T⌉ steps."""
    steps = s.size
    decay = max(1, math.ceil(cfg.decay_frac * steps))
    start = steps - decay
    return np.where(s < start, 1.0, 1.0 - (1.0 - cfg.final_lr_frac) * (s - start) / decay)


@SCHEDULES.register("power")
@_after_warmup
def _power(s, u, cfg):
    """m = (1 + s/t0)^(−power)."""
    return (1.0 + s / cfg.t0) ** (-cfg.power)


@SCHEDULES.register("custom")
def _custom(cfg, steps: int) -> np.ndarray:
    """The multipliers given as ``values`` or in the .npy file ``path``."""
    values, path = cfg["values"], cfg["path"]  # item access: ``values`` is also a method of a mapping
    if (values is None) == (path is None):
        raise ConfigError("optim.schedule.values", values, "exactly one of optim.schedule.values and "
                          "optim.schedule.path for kind=custom")
    key, given = ("optim.schedule.values", values) if values is not None else ("optim.schedule.path", path)
    try:
        m = np.asarray(list(values) if values is not None else np.load(path), dtype=np.float64)
    except (OSError, ValueError) as err:
        raise ConfigError(key, given, f"a readable .npy file of {steps} numbers ({err})") from None
    if m.shape != (steps,):
        raise ConfigError(key, given if values is None else f"a list of {m.size}", f"exactly optim.steps={steps} multipliers")
    return m


def multipliers(cfg, steps: int) -> np.ndarray | None:
    """The T = ``steps`` multipliers m(s) of ``optim.schedule`` ``cfg``, or None for a constant rate (no warmup).

    Raises :class:`ConfigError` for a warmup of T steps or more and for multipliers that are not finite and ≥ 0.
    """
    if cfg.kind == "constant" and not cfg.warmup_steps:
        return None
    make = SCHEDULES.get(cfg.kind, "optim.schedule.kind")
    if cfg.kind != "custom" and cfg.warmup_steps >= steps:
        raise ConfigError("optim.schedule.warmup_steps", cfg.warmup_steps, f"fewer than optim.steps={steps}")
    m = make(cfg, steps)
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ConfigError(f"optim.schedule.{'values' if cfg.kind == 'custom' else 'kind'}", cfg.kind,
                          "a schedule whose multipliers are finite and >= 0")
    return m
