"""The constraint module: each constraint type accepts what it allows, rejects out-of-range, NaN and inf values,
and a rejection is a ConfigError naming the key, the value and what is allowed; every schema's table is complete."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import ClassVar, List

import numpy as np
import pytest
from omegaconf import OmegaConf

from twopoint.core import config
from twopoint.core.constraints import All, Interval, ListOf, Optional, Options, Satisfies, constraints_of, validate
from twopoint.core.errors import ConfigError

NON_FINITE = [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")]


def rejects(constraint, value, key="a.b") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        constraint.check(key, value)
    assert info.value.key == key and str(info.value).startswith(f"{key}=")
    assert str(info.value).endswith(f"is invalid: {constraint.description}")
    return info.value


# --- Interval -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("closed, low_ok, high_ok", [("both", True, True), ("left", True, False),
                                                     ("right", False, True), ("neither", False, False)])
def test_interval_ends(closed, low_ok, high_ok):
    c = Interval(float, 0, 1, closed=closed)
    assert c.is_satisfied_by(0.5) and c.is_satisfied_by(0.25)
    assert c.is_satisfied_by(0.0) is low_ok and c.is_satisfied_by(1.0) is high_ok
    for value in (-1e-12, 1 + 1e-12, -5.0, 7):
        rejects(c, value)


@pytest.mark.parametrize("value", NON_FINITE)
def test_float_interval_rejects_non_finite_values_even_unbounded(value):
    for c in (Interval(float), Interval(float, 0, None), Interval(float, None, 10), Interval(float, -math.inf, math.inf)):
        err = rejects(c, value, "data.teacher.beta")
        assert "data.teacher.beta" in str(err)


def test_float_interval_accepts_integers_and_numpy_numbers():
    c = Interval(float, 0, None, closed="neither")
    assert c.is_satisfied_by(3) and c.is_satisfied_by(np.float32(0.5)) and c.is_satisfied_by(np.int64(2))
    assert not c.is_satisfied_by(0) and not c.is_satisfied_by(-np.float64(1.0))


@pytest.mark.parametrize("value", [1.5, 2.0, "3", None, True, False, math.nan, math.inf, [1]])
def test_int_interval_rejects_non_integers_and_bools(value):
    rejects(Interval(int, 0, None), value)


def test_int_interval_bounds():
    c = Interval(int, 2, 9)
    assert c.is_satisfied_by(2) and c.is_satisfied_by(9) and c.is_satisfied_by(np.int32(5))
    for value in (1, 10, -3):
        rejects(c, value)
    assert Interval(int, 1, None).is_satisfied_by(10**30)


def test_interval_descriptions():
    assert Interval(int, 0, None).description == "an integer >= 0"
    assert Interval(int, 2, None).description == "an integer >= 2"
    assert Interval(float, 0, None, closed="neither").description == "a finite number > 0"
    assert Interval(float, 0, 1, closed="left").description == "a finite number in [0, 1)"
    assert Interval(float, None, 1, closed="neither").description == "a finite number < 1"
    assert Interval(float).description == "a finite number"
    assert Interval(float, 0, None, description="alpha > 0").description == "alpha > 0"


def test_interval_rejects_bad_definitions():
    with pytest.raises(TypeError):
        Interval(str, 0, 1)
    with pytest.raises(ValueError):
        Interval(float, 0, 1, closed="open")
    with pytest.raises(ValueError):
        Interval(float, 2, 1)


# --- Options, Optional, ListOf, Satisfies, All ----------------------------------------------------------------

def test_options():
    c = Options("auto", "cpu", "cuda")
    assert c.description == "one of auto, cpu, cuda"
    assert c.is_satisfied_by("cpu")
    for value in ("tpu", "CPU", None, 1, ["cpu"]):
        rejects(c, value, "sim.device")
    assert not Options(1, 2).is_satisfied_by(True)  # True == 1, but not an allowed option
    assert not Options(True).is_satisfied_by(1)
    assert not Options(1.0).is_satisfied_by(math.nan)
    with pytest.raises(ValueError):
        Options()


def test_optional():
    c = Optional(Interval(int, 1, None, description="a positive integer"))
    assert c.is_satisfied_by(None) and c.is_satisfied_by(3)
    assert c.description == "a positive integer, or null"
    for value in (0, -1, 1.5, math.nan):
        rejects(c, value, "data.n_train")
    assert Optional(Interval(float), description="x").description == "x"
    for value in NON_FINITE:
        rejects(Optional(Interval(float)), value)


def test_list_of():
    c = ListOf(Interval(float, 0, None), min_length=1)
    assert c.is_satisfied_by([0.0, 1.0]) and c.is_satisfied_by((2,)) and c.is_satisfied_by(OmegaConf.create([0.5]))
    for value in ([], [1.0, -1.0], [1.0, math.nan], [math.inf], "1.0", 1.0, None, [[1.0]]):
        rejects(c, value, "data.sphere.target_power")
    assert ListOf(Interval(float)).is_satisfied_by([])


def test_list_value_is_shown_as_a_plain_list():
    err = rejects(ListOf(Interval(float, 0, None)), OmegaConf.create([1.0, -2.0]), "data.sphere.target_power")
    assert err.value == [1.0, -2.0] and "[1.0, -2.0]" in str(err)


def test_satisfies_and_all():
    nonzero = Satisfies(lambda p: sum(p) > 0, "not all 0")
    assert nonzero.is_satisfied_by([0.0, 1.0]) and not nonzero.is_satisfied_by([0.0, 0.0])
    assert not nonzero.is_satisfied_by(None)  # the predicate raises: rejected, not an exception
    c = All(ListOf(Interval(float, 0, None), min_length=1), nonzero, description="powers >= 0, not all 0")
    assert c.is_satisfied_by([0.0, 0.5])
    for value in ([0.0, 0.0], [], [-1.0, 2.0], [math.nan, 1.0], None):
        rejects(c, value)
    assert All(Interval(int, 0, None), Interval(int, None, 9)).description == "an integer >= 0 and an integer <= 9"


# --- tables and validate --------------------------------------------------------------------------------------

@dataclass
class Inner:
    rate: float = 0.5
    _constraints: ClassVar[dict] = {"rate": Interval(float, 0, 1, closed="neither", description="a rate in (0, 1)")}


@dataclass
class Base:
    kind: str = "base"
    count: int = 1
    _constraints: ClassVar[dict] = {"count": Interval(int, 1, None, description="a positive integer")}


@dataclass
class Outer(Base):
    kind: str = "outer"
    inner: Inner = field(default_factory=Inner)
    powers: List[float] = field(default_factory=lambda: [1.0])
    _constraints: ClassVar[dict] = {"kind": Options("outer"), "powers": ListOf(Interval(float, 0, None))}


def test_constraints_of_merges_base_tables():
    assert set(constraints_of(Outer)) == {"count", "kind", "powers"}
    assert set(constraints_of(Base)) == {"count"}


def test_constraints_on_keys_the_schema_lacks_are_a_programming_error():
    @dataclass
    class Typo:
        rate: float = 0.5
        _constraints: ClassVar[dict] = {"rat": Interval(float)}

    with pytest.raises(TypeError, match="rat"):
        constraints_of(Typo)


@pytest.mark.parametrize("change, key", [({"count": 0}, "x.count"), ({"kind": "other"}, "x.kind"),
                                         ({"inner": {"rate": 1.0}}, "x.inner.rate"),
                                         ({"inner": {"rate": math.nan}}, "x.inner.rate"),
                                         ({"inner": {"rate": math.inf}}, "x.inner.rate"),
                                         ({"powers": [1.0, -1.0]}, "x.powers")])
def test_validate_names_the_full_key_of_nested_values(change, key):
    node = OmegaConf.merge(OmegaConf.structured(Outer), change)
    validate(OmegaConf.structured(Outer), Outer, "x.")  # the defaults are valid
    with pytest.raises(ConfigError) as info:
        validate(node, Outer, "x.")
    assert info.value.key == key


def test_validate_uses_the_given_schema_of_a_child():
    @dataclass
    class Holder:
        child: Base = field(default_factory=Base)

    node = OmegaConf.create({"child": {"kind": "outer", "count": 1, "inner": {"rate": 2.0}, "powers": []}})
    validate(node, Holder)  # the declared Base has no rate
    with pytest.raises(ConfigError, match="child.inner.rate"):
        validate(node, Holder, nested={"child": Outer})


# --- the config schemas ---------------------------------------------------------------------------------------

SCHEMAS = sorted({cls for cls in vars(config).values() if dataclasses.is_dataclass(cls) and isinstance(cls, type)
                  and cls.__module__ == config.__name__}, key=lambda cls: cls.__name__)
NUMERIC = {int, float, typing.Optional[int], typing.Optional[float], List[float], typing.Optional[List[float]]}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda cls: cls.__name__)
def test_every_numeric_key_of_every_schema_has_a_constraint(schema):
    hints = typing.get_type_hints(schema)
    numeric = {f.name for f in dataclasses.fields(schema) if hints[f.name] in NUMERIC}
    missing = numeric - set(constraints_of(schema))
    assert not missing, f"{schema.__name__}: {sorted(missing)} have no constraint"


@pytest.mark.parametrize("schema", [s for s in SCHEMAS if s not in (config.DataConfig, config.ModelConfig)],
                         ids=lambda cls: cls.__name__)
def test_the_schema_defaults_satisfy_their_constraints(schema):
    if schema is config.TwopointConfig:  # data and model come from their groups
        for data in config.DATA_SCHEMAS.values():
            for model in config.MODEL_SCHEMAS.values():
                node = OmegaConf.structured(config.TwopointConfig(data=data(), model=model()))
                validate(node, schema, nested={"data": data, "model": model})
    else:
        validate(OmegaConf.structured(schema), schema)


def test_schemas_are_registered_per_kind():
    assert set(config.DATA_SCHEMAS) == {"gaussian", "circle", "sphere", "digits"}
    assert set(config.MODEL_SCHEMAS) == {"linear", "random_features", "kernel"}
    for kind, schema in {**config.DATA_SCHEMAS, **config.MODEL_SCHEMAS}.items():
        assert schema.kind == kind
    assert {cls.default_kernel for cls in config.DATA_SCHEMAS.values()} == {None, "periodic", "laplace", "rbf"}
