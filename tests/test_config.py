"""Config composition and validation: every bad value is one clear error naming the key."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import compose_config, make_problem, run_cli
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
