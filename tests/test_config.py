"""Config composition and validation: every bad value is one clear error naming the key."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
from omegaconf import OmegaConf

from conftest import REPO, compose_config, make_problem, run_cli
from twopoint.core.config import DATA_SCHEMAS, MODEL_SCHEMAS, TwopointConfig
from twopoint.core.problem import log_grid
from twopoint.core.errors import ConfigError


def test_default_config_composes_and_resolves():
    cfg = compose_config()
    for key in ["seed", "data.dim", "data.spectrum.kind", "data.spectrum.alpha", "data.teacher.kind", "data.teacher.beta",
                "data.noise_std", "data.n_train", "model.kind", "optim.lr", "optim.batch_size", "optim.steps",
                "sim.replicas", "sim.device", "sim.dtype", "sim.enabled", "theory.enabled", "record.points", "compare.check"]:
        node = cfg
        for part in key.split("."):
            assert part in node, key
            node = node[part]
    p = make_problem()
    assert p.data.dim >= 500 and p.sim.replicas >= 256 and p.data.online
    lam = p.data.eigenvalues
    np.testing.assert_allclose(lam, np.arange(1, lam.size + 1) ** -1.5)
    k = np.arange(1, lam.size + 1)
    np.testing.assert_allclose(lam * p.data.teacher**2, k**-1.2)
    assert p.record_steps[0] == 0 and p.record_steps[-1] == p.optim.steps
    assert np.all(np.diff(p.record_steps) > 0)


def test_log_grid_has_endpoints_and_is_increasing():
    g = log_grid(10_000, 50)
    assert g[0] == 0 and g[-1] == 10_000 and np.all(np.diff(g) > 0) and 40 <= g.size <= 51


def test_custom_spectrum_from_list_and_file(tmp_path):
    p = make_problem("data.dim=3", "data.spectrum.kind=custom", "data.spectrum.values=[3.0,2.0,1.0]")
    np.testing.assert_allclose(p.data.eigenvalues, [3, 2, 1])
    path = tmp_path / "lam.npy"
    np.save(path, np.array([1.0, 0.5, 0.25]))
    p = make_problem("data.dim=3", "data.spectrum.kind=custom", f"data.spectrum.path={path}", "data.teacher.kind=random")
    np.testing.assert_allclose(p.data.eigenvalues, [1, 0.5, 0.25])
    assert p.data.teacher.shape == (3,)


def test_random_teacher_is_fixed_by_seed():
    a = make_problem("data.teacher.kind=random", "seed=1").data.teacher
    b = make_problem("data.teacher.kind=random", "seed=1").data.teacher
    c = make_problem("data.teacher.kind=random", "seed=2").data.teacher
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_covariate_shift_spectrum():
    p = make_problem("data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=1.2")
    assert p.data.covariate_shift
    np.testing.assert_allclose(p.data.test_eigenvalues, np.arange(1, p.data.dim + 1) ** -1.2)
    assert not make_problem().data.covariate_shift


@pytest.mark.parametrize(
    "override, key",
    [
        ("data.dim=0", "data.dim"),
        ("data.dim=-5", "data.dim"),
        ("optim.steps=0", "optim.steps"),
        ("sim.replicas=0", "sim.replicas"),
        ("optim.batch_size=0", "optim.batch_size"),
        ("optim.lr=0", "optim.lr"),
        ("optim.lr=-0.1", "optim.lr"),
        ("data.spectrum.alpha=0", "data.spectrum.alpha"),
        ("data.spectrum.alpha=-1", "data.spectrum.alpha"),
        ("data.noise_std=-0.1", "data.noise_std"),
        ("data.spectrum.kind=banana", "data.spectrum.kind"),
        ("data.teacher.kind=banana", "data.teacher.kind"),
        ("model.kind=mlp", "model.kind"),
        ("sim.device=tpu", "sim.device"),
        ("sim.dtype=float16", "sim.dtype"),
        ("optim.ridge=-1", "optim.ridge"),
        ("record.points=1", "record.points"),
        ("data.n_train=0", "data.n_train"),
        ("optim.algorithm=adam", "optim.algorithm"),
        ("data.spectrum.kind=custom", "data.spectrum.values"),
        ("data.spectrum.scale=0", "data.spectrum.scale"),
        ("seed=-1", "seed"),
        ("data.teacher.seed=-1", "data.teacher.seed"),
        ("data.test_spectrum.scale=0", "data.test_spectrum.scale"),
        ("data.test_spectrum.alpha=-1", "data.test_spectrum.alpha"),
        ("data.spectrum.values=[1.0,nan]", "data.spectrum.values"),
        ("sim.chunk_mib=0", "sim.chunk_mib"),
        ("sim.data_gib=0", "sim.data_gib"),
        ("compare.max_rel_err=0", "compare.max_rel_err"),
        ("compare.max_abs_z=-1", "compare.max_abs_z"),
        ("data.kind=circle", "data.kind"),                  # the kind is fixed by the data option (data=circle)
        ("model.kind=random_features", "model.kind"),       # ... and by the model option
    ],
)
def test_invalid_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as info:
        make_problem(override)
    assert info.value.key == key
    assert key in str(info.value)


def test_unreadable_custom_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="data.spectrum.path"):
        make_problem("data.dim=3", "data.spectrum.kind=custom", f"data.spectrum.path={tmp_path}/missing.npy")


def test_custom_values_of_wrong_length():
    with pytest.raises(ConfigError, match="exactly data.dim=4"):
        make_problem("data.dim=4", "data.spectrum.kind=custom", "data.spectrum.values=[1.0,2.0]")


def test_unavailable_theory_method_is_rejected_before_compute():
    from twopoint.theory.predict import select_predictor

    with pytest.raises(ConfigError, match="theory.method"):
        select_predictor(make_problem("theory.method=magic"))
    with pytest.raises(ConfigError, match="ridge"):
        select_predictor(make_problem("theory.method=continuous_time", "optim.ridge=0.1"))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["data.dim=0"], "data.dim"),                 # semantic check in build_problem
        (["data.spectrum.alpha=-1"], "alpha"),
        (["data.dim=abc"], "data.dim"),               # type error caught by the schema
        (["+data.bogus=1"], "bogus"),                 # unknown key
        (["data.bogus=1"], "bogus"),                  # unknown key without +
    ],
)
def test_cli_config_errors_exit_2_without_traceback(tmp_path, args, needle):
    res = run_cli(tmp_path, *args)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_error_message_format():
    with pytest.raises(ConfigError) as info:
        make_problem("data.spectrum.alpha=-1")
    assert str(info.value) == "data.spectrum.alpha=-1.0 is invalid: alpha > 0"
    with pytest.raises(ConfigError) as info:
        make_problem("data.dim=0")
    assert str(info.value) == "data.dim=0 is invalid: a positive integer"


def _float_keys(schema: type, prefix: str = "") -> list[str]:
    """The float keys of a schema, nested schemas included."""
    keys = []
    for f in dataclasses.fields(schema):
        hint = typing.get_type_hints(schema)[f.name]
        if hint is float:
            keys.append(prefix + f.name)
        elif dataclasses.is_dataclass(hint):
            keys += _float_keys(hint, f"{prefix}{f.name}.")
    return keys


BASES = {"gaussian": ("model=random_features",), "circle": ("experiment=kernel_circle",),
         "sphere": ("experiment=kernel_sphere",), "digits": ("experiment=kernel_digits",)}
FLOAT_KEYS = sorted({("gaussian", key) for key in _float_keys(TwopointConfig)}  # optim, sim, compare: once
                    | {(kind, key) for kind in BASES for key in _float_keys(DATA_SCHEMAS[kind], "data.")
                       + _float_keys(MODEL_SCHEMAS["random_features" if kind == "gaussian" else "kernel"], "model.")})


def test_float_keys_cover_every_kind():
    keys = {key for _, key in FLOAT_KEYS}
    assert {"data.teacher.beta", "data.spectrum.alpha", "data.test_spectrum.scale", "optim.lr", "optim.ridge",
            "model.kernel.bandwidth", "model.kernel.cutoff", "model.kernel.spectrum.alpha", "compare.max_abs_z"} <= keys


@pytest.mark.parametrize("kind, key", FLOAT_KEYS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_float_key_rejects_non_finite_values(kind, key, value):
    with pytest.raises(ConfigError) as info:
        make_problem(*BASES[kind], f"{key}={value}")
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}=")


@pytest.mark.parametrize("overrides, key", [
    (("data.sphere.dim=3",), "data.sphere"),                                    # sphere keys on Gaussian data
    (("data.digits.digit=3",), "data.digits"),
    (("model.n_features=10",), "model.n_features"),                             # random-feature keys on linear
    (("model.share_features=true",), "model.share_features"),
    (("model.kernel.bandwidth=2.0",), "model.kernel"),                          # a kernel on a linear model
    (("model=random_features", "model.kernel.kind=rbf"), "model.kernel"),
    (("data=circle", "model=kernel", "data.dim=3"), "data.dim"),                # Gaussian keys on the circle
    (("data=digits", "model=kernel", "data.spectrum.alpha=2.0"), "data.spectrum"),
    (("data=sphere", "model=kernel", "data.digits.replace=true"), "data.digits"),
    (("data=circle", "model=kernel", "model.n_features=10"), "model.n_features"),
])
def test_a_key_of_another_kind_does_not_exist(overrides, key):
    """Rejected by Hydra/OmegaConf while composing (the schema of the kind has no such key), named in the message."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from twopoint.api import CONFIG_DIR
    from twopoint.core.config import register_configs

    override_key = overrides[-1].split("=")[0]
    with pytest.raises(ConfigError, match=f"'{override_key}'"):
        compose_config(*overrides)
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"), pytest.raises(Exception) as info:
        compose("config", overrides=list(overrides))
    GlobalHydra.instance().clear()
    assert getattr(info.value.__cause__, "full_key", None) == key, repr(info.value.__cause__)


@pytest.mark.parametrize("override, key", [("data.sphere.dim=3", "data.sphere"), ("model.n_features=10", "model.n_features")])
def test_api_names_the_unknown_key_of_another_kind(override, key):
    with pytest.raises(ConfigError) as info:
        compose_config(override)
    assert info.value.key == key


@pytest.mark.parametrize("override, key", [("+data.sphere.dim=3", "data.sphere"), ("+model.n_features=10", "model.n_features"),
                                           ("+data.spectrum.bogus=1", "data.spectrum.bogus")])
def test_keys_added_with_plus_are_checked_against_the_schema_of_the_kind(override, key):
    with pytest.raises(ConfigError) as info:
        make_problem(override)
    assert info.value.key == key and "<unknown key>" in str(info.value)


@pytest.mark.parametrize("group, schemas", [("data", DATA_SCHEMAS), ("model", MODEL_SCHEMAS)])
def test_every_group_option_extends_the_schema_of_its_kind(group, schemas):
    options = sorted(p.stem for p in (REPO / "configs" / group).glob("*.yaml"))
    assert options
    for option in options:
        cfg = compose_config(f"{group}={option}", *(["model=kernel"] if group == "data" and option != "powerlaw" else []))
        node = cfg[group]
        assert OmegaConf.get_type(node) is schemas[node.kind], option
        assert set(node) == {f.name for f in dataclasses.fields(schemas[node.kind])}, option


@pytest.mark.parametrize("override, key", [
    ("data.spectrum.alpha=400", "data.spectrum.alpha"),  # the smallest eigenvalues underflow to 0
    ("data.teacher.beta=-300", "data.teacher.beta"),  # the teacher's power overflows
    ("data.noise_std=1e200", "data.noise_std"),  # σ² overflows
    ("optim.lr=1e200", "optim.lr"),  # η² overflows
    ("seed=9223372036854775808", "seed"),  # beyond int64
    ("data.teacher.seed=9223372036854775808", "data.teacher.seed"),
])
def test_values_that_break_float64_or_int64_are_rejected_after_construction(override, key):
    with pytest.raises(ConfigError) as err:
        make_problem(override)
    assert err.value.key == key and "\n" not in str(err.value)


def test_record_points_are_capped_at_the_number_of_steps():
    p = make_problem("optim.steps=50", "record.points=1000000000")
    assert p.record_steps.size <= 51 and p.record_steps[-1] == 50  # no 1e9-point grid is ever formed


def test_custom_spectrum_files_that_are_empty_or_complex_are_rejected(tmp_path):
    np.save(tmp_path / "complex.npy", np.array([1 + 1j, 0.5]))
    (tmp_path / "empty.npy").write_bytes(b"")
    for name, why in (("complex.npy", "real numbers"), ("empty.npy", "readable .npy")):
        with pytest.raises(ConfigError, match=why) as err:
            make_problem("data.dim=2", "data.spectrum.kind=custom", f"data.spectrum.path={tmp_path / name}")
        assert err.value.key == "data.spectrum.path"


def test_the_feature_space_sampler_is_for_random_features_only():
    with pytest.raises(ConfigError) as err:
        make_problem("sim.sampler=features")
    assert err.value.key == "sim.sampler"
    assert make_problem("model=random_features", "sim.sampler=features").sim.sampler == "features"
