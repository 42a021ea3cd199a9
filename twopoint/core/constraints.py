"""Declarative constraints on config values, one table per config schema.

Each schema in :mod:`twopoint.core.config` declares ``_constraints``, a mapping key → :class:`Constraint`
(in the spirit of scikit-learn's ``_parameter_constraints``); :func:`validate` checks a config node against its
schema's table and the tables of every nested schema, and raises :class:`~twopoint.core.errors.ConfigError`
naming the full key, the value and what is allowed (``data.spectrum.alpha=-1.0 is invalid: alpha > 0``).

Numbers: :class:`Interval` with ``int`` accepts integers only (never ``bool``), with ``float`` any finite real
(never NaN or ±inf).  :class:`Options` is a set of allowed values, :class:`Optional` also allows ``None``,
:class:`ListOf` a list whose items satisfy a constraint, :class:`Satisfies` a predicate and :class:`All` a
conjunction.  Every constraint takes an optional ``description``: the "what is allowed" of the message.

Constraints that depend on other keys (e.g. ``optim.algorithm`` given ``data.n_train``) stay with the code
that knows them, but use the same classes (``Options(...).check(key, value)``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twopoint.core.errors import ConfigError

__all__ = ["All", "Constraint", "Interval", "ListOf", "Optional", "Options", "Satisfies", "constraints_of", "validate"]

CLOSED = ("both", "left", "right", "neither")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_finite_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value):
    """The value as the error message shows it (a config list as a plain list)."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_shown(v) for v in value]
    return value


class Constraint:
    """A predicate on one config value with a description of what is allowed."""

    description: str = "a valid value"

    def is_satisfied_by(self, value) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, key: str, value) -> Any:
        """``value`` if it satisfies the constraint, else :class:`ConfigError` naming ``key``."""
        if not self.is_satisfied_by(value):
            raise ConfigError(key, _shown(value), self.description)
        return value

    def __str__(self) -> str:
        return self.description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class Interval(Constraint):
    """A number of ``type`` (``int`` or ``float``) in the interval from ``low`` to ``high`` (``None``: unbounded).

    ``closed``: which ends belong to the interval, ``both``, ``left``, ``right`` or ``neither``.  Floats
    must be finite whatever the bounds; integers are accepted where a float is asked for.
    """

    def __init__(self, type: type, low: float | None = None, high: float | None = None, *, closed: str = "both",
                 description: str | None = None):
        if type not in (int, float):
            raise TypeError(f"Interval type must be int or float, got {type!r}")
        if closed not in CLOSED:
            raise ValueError(f"closed must be one of {', '.join(CLOSED)}, got {closed!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"empty interval: low={low} > high={high}")
        self.type, self.low, self.high, self.closed = type, low, high, closed
        self.description = description or self._describe()

    def _describe(self) -> str:
        what = "an integer" if self.type is int else "a finite number"
        left_closed, right_closed = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if left_closed else '>'} {self.low}"
        if self.low is None:
            return f"{what} {'<=' if right_closed else '<'} {self.high}"
        return f"{what} in {'[' if left_closed else '('}{self.low}, {self.high}{']' if right_closed else ')'}"

    def is_satisfied_by(self, value) -> bool:
        if not (_is_int(value) if self.type is int else _is_finite_real(value)):
            return False
        if self.low is not None and (value < self.low or (value == self.low and self.closed in ("right", "neither"))):
            return False
        if self.high is not None and (value > self.high or (value == self.high and self.closed in ("left", "neither"))):
            return False
        return True


class Options(Constraint):
    """One of the given values (compared with their type: ``True`` is not ``1``)."""

    def __init__(self, *options, description: str | None = None):
        if not options:
            raise ValueError("Options needs at least one allowed value")
        self.options = tuple(options)
        self.description = description or f"one of {', '.join(map(str, self.options))}"

    def is_satisfied_by(self, value) -> bool:
        return any(type(value) is type(option) and value == option for option in self.options)


class Optional(Constraint):
    """``None`` or a value that satisfies ``inner``."""

    def __init__(self, inner: Constraint, *, description: str | None = None):
        self.inner = inner
        self.description = description or f"{inner.description}, or null"

    def is_satisfied_by(self, value) -> bool:
        return value is None or self.inner.is_satisfied_by(value)


class ListOf(Constraint):
    """A list (not a string) of at least ``min_length`` items, each satisfying ``item``."""

    def __init__(self, item: Constraint, *, min_length: int = 0, description: str | None = None):
        self.item, self.min_length = item, min_length
        self.description = description or (f"a list of at least {min_length} items, each {item.description}" if min_length
                                           else f"a list whose items are each {item.description}")

    def is_satisfied_by(self, value) -> bool:
        if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) < self.min_length:
            return False
        return all(self.item.is_satisfied_by(v) for v in value)


class Satisfies(Constraint):
    """Any value for which ``predicate(value)`` is true (a predicate that raises rejects the value)."""

    def __init__(self, predicate: Callable[[Any], bool], description: str):
        self.predicate, self.description = predicate, description

    def is_satisfied_by(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # noqa: BLE001 - a predicate that cannot judge the value rejects it
            return False


class All(Constraint):
    """Every one of ``constraints`` (checked in order, so a later one may assume the earlier ones)."""

    def __init__(self, *constraints: Constraint, description: str | None = None):
        if not constraints:
            raise ValueError("All needs at least one constraint")
        self.constraints = constraints
        self.description = description or " and ".join(c.description for c in constraints)

    def is_satisfied_by(self, value) -> bool:
        return all(c.is_satisfied_by(value) for c in self.constraints)


def constraints_of(schema: type) -> dict[str, Constraint]:
    """The constraint table of a schema: its ``_constraints`` merged over its base classes (subclass wins)."""
    table: dict[str, Constraint] = {}
    for cls in reversed(schema.__mro__):
        table.update(cls.__dict__.get("_constraints", {}))
    unknown = set(table) - {f.name for f in dataclasses.fields(schema)}
    if unknown:
        raise TypeError(f"constraints on keys that {schema.__name__} does not have: {', '.join(sorted(unknown))}")
    return table


def _nested_schema(annotation) -> type | None:
    """The dataclass of a field annotated ``X`` or ``Optional[X]``, else None."""
    if dataclasses.is_dataclass(annotation):
        return annotation
    if typing.get_origin(annotation) is typing.Union:
        found = [a for a in typing.get_args(annotation) if dataclasses.is_dataclass(a)]
        return found[0] if len(found) == 1 else None
    return None


def validate(node: Mapping, schema: type, prefix: str = "", nested: Mapping[str, type] | None = None) -> None:
    """Check ``node`` (a config mapping) against the table of ``schema`` and, recursively, of its nested schemas.

    Keys are checked in the schema's field order; a nested schema is checked where its field holds a value.
    ``nested`` replaces the declared schema of direct child fields (e.g. ``{"data": GaussianDataConfig}``
    where the field is declared with the base class).  Raises :class:`ConfigError` with the key ``prefix + key``.
    """
    table = constraints_of(schema)
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        key = f"{prefix}{f.name}"
        value = node[f.name]
        if f.name in table:
            table[f.name].check(key, value)
        child = (nested or {}).get(f.name) or _nested_schema(hints[f.name])
        if child is not None and value is not None:
            validate(value, child, key + ".")
