"""Name → implementation registries: the one dispatch mechanism of twopoint.

A :class:`Registry` maps a key (a name, or a tuple of names) to an implementation, filled with the
:meth:`Registry.register` decorator; an unknown key raises :class:`~twopoint.core.errors.ConfigError`
naming the config key.  Spectra, teachers, input distributions and figure recipes each have one, keyed by
their ``kind``.

Simulators and theory predictors share one registry, :data:`IMPLEMENTATIONS`, keyed by
(role, model, regime, method): ``role`` is ``simulator`` or ``theory``, ``model`` the ``model.kind``,
``regime`` ``online`` or ``finite`` (``data.n_train`` null or not) and ``method`` the name a user selects
with ``theory.method`` (simulators have one method each).  Every entry has the same call signature,
``fn(problem) -> Curves``, and an optional ``check(problem)`` that raises ``ConfigError`` before any
compute when the method cannot handle the problem.  The modules of :mod:`twopoint.simulate` and
:mod:`twopoint.theory` register themselves when imported; ``twopoint info`` prints the table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from twopoint.core.errors import ConfigError

T = TypeVar("T")
SIMULATOR_ROLE, THEORY_ROLE = "simulator", "theory"


class Registry(Generic[T]):
    """A named collection of implementations, filled with the :meth:`register` decorator."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[Hashable, T] = {}

    def register(self, key: Hashable) -> Callable[[T], T]:
        def add(item: T) -> T:
            if key in self._items:
                raise KeyError(f"{self.what} {key!r} registered twice")
            self._items[key] = item
            return item

        return add

    def get(self, key: Hashable, config_key: str) -> T:
        """The implementation registered as ``key``; ``config_key`` names the config key for the error message."""
        try:
            return self._items[key]
        except KeyError:
            raise ConfigError(config_key, key, f"allowed {self.what} kinds: {', '.join(map(str, self.names()))}") from None

    def names(self) -> list:
        return sorted(self._items, key=str)

    def items(self) -> list[tuple[Hashable, T]]:
        """(key, implementation) in registration order."""
        return list(self._items.items())


OPTIMISER_EXTENSIONS = frozenset({"schedule", "momentum"})  # see twopoint.core.problem.OptimSpec.extensions


@dataclass(frozen=True)
class Implementation:
    """One simulator or theory method: ``fn(problem) -> Curves``, an optional ``check(problem)`` (raises
    ConfigError before any compute), an optional ``memory(problem) -> bytes`` (its estimated peak memory) and the
    optimiser extensions beyond constant-rate plain SGD it handles (``supports`` ⊆ {schedule, momentum})."""

    fn: Callable
    check: Callable | None = None
    memory: Callable | None = None
    supports: frozenset = frozenset()

    @property
    def module(self) -> str:
        return self.fn.__module__

    def accept(self, problem, name: str) -> None:
        """Raise ConfigError unless this implementation handles ``problem`` (its optimiser and its check)."""
        missing = sorted(problem.optim.extensions - self.supports)
        if missing:
            key, value = problem.optim.describe(missing[0])
            raise ConfigError(key, value, f"an optimiser that {name} handles (it supports "
                              f"{', '.join(sorted(self.supports)) or 'only constant-rate SGD without momentum'})")
        if self.check is not None:
            self.check(problem)


IMPLEMENTATIONS: Registry[Implementation] = Registry("implementation")


def register(role: str, model: str, regime: str, method: str, check: Callable | None = None,
             memory: Callable | None = None, supports: tuple[str, ...] = ()) -> Callable:
    """Decorator: register ``fn`` as the ``role`` (``simulator``/``theory``) ``method`` of (model, regime)."""
    if role not in (SIMULATOR_ROLE, THEORY_ROLE) or regime not in ("online", "finite") or not set(supports) <= OPTIMISER_EXTENSIONS:
        raise ValueError(f"bad registration {(role, model, regime, method, supports)}")

    def add(fn: Callable) -> Callable:
        IMPLEMENTATIONS.register((role, model, regime, method))(Implementation(fn, check, memory, frozenset(supports)))
        return fn

    return add


def methods(role: str, model: str, regime: str) -> dict[str, Implementation]:
    """The registered methods of ``role`` for (model, regime), in registration order (the first is the default)."""
    return {key[3]: impl for key, impl in IMPLEMENTATIONS.items() if key[:3] == (role, model, regime)}


def _who(role: str, model: str, regime: str, config_key: str, method: str) -> str:
    return f"{config_key}={method}" if role == THEORY_ROLE else f"the {model}/{regime} simulator"


def select(role: str, model: str, regime: str, method: str = "auto", config_key: str = "theory.method",
           problem=None) -> tuple[str, Implementation]:
    """(method name, implementation) for (model, regime).

    ``auto`` picks the first registered method whose check accepts ``problem``; a named method must exist and
    pass its check.  Raises :class:`ConfigError` otherwise.
    """
    found = methods(role, model, regime)
    if not found:
        what = "simulator" if role == SIMULATOR_ROLE else "theory"
        raise ConfigError("model.kind" if role == SIMULATOR_ROLE else "theory.enabled", model if role == SIMULATOR_ROLE else True,
                          f"no {what} for {model}/{regime}" + ("; set theory.enabled=false" if role == THEORY_ROLE else ""))
    if method == "auto":
        errors = []
        for name, impl in found.items():
            try:
                if problem is not None:
                    impl.accept(problem, _who(role, model, regime, config_key, name))
                return name, impl
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if method not in found:
        raise ConfigError(config_key, method, f"one of auto, {', '.join(found)} for {model}/{regime}")
    impl = found[method]
    if problem is not None:
        impl.accept(problem, _who(role, model, regime, config_key, method))
    return method, impl


def table() -> list[dict]:
    """One row per registered implementation: role, model, regime, method, supported optimiser extensions, module
    (for ``twopoint info``)."""
    return [{"role": k[0], "model": k[1], "regime": k[2], "method": k[3],
             "optimiser": "+".join(sorted(impl.supports)) or "plain", "module": impl.module}
            for k, impl in IMPLEMENTATIONS.items()]
