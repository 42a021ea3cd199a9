"""Property-based checks over the config space: any override a user can type either runs or is a ConfigError.

Overrides are drawn per key from numbers of every sign and size (NaN and ±inf included), strings, lists,
booleans, null, unknown keys and every model/data kind, on top of a tiny base run; size-like keys (dims,
steps, replicas, …) draw small values of every sign, so that every example finishes in well under a second.
The API must either complete or raise :class:`twopoint.ConfigError` naming a key; no other exception may
escape.  The default suite draws ``EXAMPLES`` examples; ``-m slow`` draws ``SLOW_EXAMPLES`` (and adds the
sphere and digits inputs).
"""

from __future__ import annotations

import math
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twopoint as tp

EXAMPLES, SLOW_EXAMPLES = 150, 2000
BASE = ("optim.steps=6", "sim.replicas=2", "record.points=4", "sim.device=cpu", "compare.figure_formats=[]",
        "sim.progress=false")
FAST_KINDS = [("data.dim=8",), ("data.dim=8", "data.n_train=10"), ("data.dim=8", "model=random_features", "model.n_features=5"),
              ("data.dim=8", "data.n_train=10", "model=random_features", "model.n_features=5"),
              ("model=kernel", "data=circle", "model.kernel.frequencies=3", "data.n_train=8"),
              ("model=kernel", "data=circle", "model.kernel.frequencies=3")]
SLOW_KINDS = FAST_KINDS + [("model=kernel", "data=sphere", "data.n_train=8", "model.kernel.max_degree=4"),
                           ("model=kernel", "data=digits", "data.n_train=8")]
SIZE_KEYS = ["data.dim", "data.n_train", "optim.steps", "optim.batch_size", "sim.replicas", "record.points",
             "model.n_features", "model.kernel.frequencies", "model.kernel.max_degree", "data.sphere.dim", "sim.chunk_mib"]
NUMBER_KEYS = ["data.noise_std", "data.spectrum.alpha", "data.spectrum.scale", "data.teacher.beta", "optim.lr",
               "optim.ridge", "sim.data_gib", "compare.max_rel_err", "compare.max_abs_z", "data.test_spectrum.alpha",
               "data.test_spectrum.scale", "model.kernel.bandwidth", "model.kernel.cutoff", "seed", "data.teacher.seed",
               "model.kernel.spectrum.alpha", "data.digits.digit"]
CHOICE_KEYS = {"optim.algorithm": ["sgd", "sgd_epochs", "gd", "gradient_flow", "adam"],
               "data.spectrum.kind": ["powerlaw", "custom", "same", "zipf"], "data.teacher.kind": ["powerlaw", "random", "custom"],
               "data.test_spectrum.kind": ["same", "powerlaw", "custom"], "theory.method": ["auto", "recursion", "given_data",
               "given_features", "deterministic_equivalent", "continuous_time", "magic"], "sim.dtype": ["float32", "float64", "int8"],
               "model.kernel.kind": ["periodic", "rbf", "laplace", "relu_ntk", "null", "sigmoid"], "theory.enabled": ["true", "false"],
               "sim.enabled": ["true", "false"], "model.share_features": ["true", "false", "maybe"],
               "data.spectrum.values": ["[1,0.5,0.25]", "[]", "[1,-1]", "[nan]"], "data.digits.target": ["one_vs_rest", "value", "x"]}
UNKNOWN_KEYS = ["data.foo", "optim.learning_rate", "+extra.key", "model.kernel.foo", "sim"]

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
numbers = st.one_of(floats, st.integers(-(2**70), 2**70), st.sampled_from([0, -0.0, 1e-300, 1e300, 5e-324, 2**63, 2**63 - 1]))
junk = st.sampled_from(["abc", "null", "[1,2]", "[]", "true", "'1'", "{a: 1}", ""])


def render(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    return str(value)


def override(draw_key: str, value) -> str:
    return f"{draw_key}={render(value)}"


def overrides_strategy(kinds):
    size = st.tuples(st.sampled_from(SIZE_KEYS), st.one_of(st.integers(-3, 40), junk, floats)).map(lambda kv: override(*kv))
    number = st.tuples(st.sampled_from(NUMBER_KEYS), st.one_of(numbers, junk)).map(lambda kv: override(*kv))
    choice = st.sampled_from(sorted(CHOICE_KEYS)).flatmap(lambda k: st.sampled_from(CHOICE_KEYS[k]).map(lambda v: f"{k}={v}"))
    unknown = st.tuples(st.sampled_from(UNKNOWN_KEYS), st.one_of(numbers, junk)).map(lambda kv: override(*kv))
    user = st.lists(st.one_of(size, number, choice, unknown), max_size=4)
    return st.tuples(st.sampled_from(kinds), user).map(lambda ku: [*BASE, *ku[0], *ku[1]])


KEY = re.compile(r"^[+~]?[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


def check(overrides: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tp.run(*overrides)
        except tp.ConfigError as err:
            assert err.key and (KEY.match(str(err.key)) or err.key == "overrides"), err
            assert "\n" not in str(err)


COMMON = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=EXAMPLES, **COMMON)
@given(overrides_strategy(FAST_KINDS))
def test_any_override_runs_or_is_a_config_error(overrides):
    check(overrides)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **COMMON)
@given(overrides_strategy(SLOW_KINDS))
def test_any_override_runs_or_is_a_config_error_many(overrides):
    check(overrides)
