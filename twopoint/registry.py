"""Name → implementation registries, so that a config's ``kind`` selects code without ``_target_``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value is invalid; the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is invalid: {allowed}")


class Registry(Generic[T]):
    """A named collection of implementations, filled with the :meth:`register` decorator."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.what} {name!r} registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str, key: str) -> T:
        """The implementation called ``name``; ``key`` is the config key, for the error message."""
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(key, name, f"allowed {self.what} kinds: {', '.join(sorted(self._items))}") from None

    def names(self) -> list[str]:
        return sorted(self._items)
