"""Kernel configs: the recipes compose and resolve; every inconsistent choice is one ConfigError naming the key."""

import pytest

from conftest import make_problem
from twopoint.core.errors import ConfigError


@pytest.mark.parametrize("experiment", ["kernel_circle", "kernel_sphere", "kernel_digits"])
def test_kernel_experiments_resolve(experiment):
    p = make_problem(f"experiment={experiment}")
    assert p.regime == "kernel/finite" and p.model.kind == "kernel"
    assert p.data.inputs.kind == experiment.removeprefix("kernel_")
    assert p.data.eigenvalues.size == p.data.teacher.size == p.data.dim
    assert p.data.initial_risk == pytest.approx(p.data.inputs.target_power + p.data.inputs.label_noise_std**2)


def test_gaussian_default_is_unchanged():
    p = make_problem()
    assert p.data.inputs is None and p.regime == "linear/online"


@pytest.mark.parametrize("overrides,key", [
    (("data=circle",), "model.kind"),                                         # real inputs need a kernel machine
    (("model=kernel",), "data.kind"),                                          # a kernel machine needs real inputs
    (("model.kernel.kind=rbf",), "model.kernel.kind"),                         # a kernel on a linear model
    (("data=digits", "model=kernel"), "model.kernel.kind"),                    # periodic kernel on digits
    (("data=circle", "model=kernel", "model.kernel.kind=rbf"), "model.kernel.kind"),
    (("experiment=kernel_circle", "data.n_train=null", "optim.algorithm=gd"), "optim.algorithm"),  # online: sgd only
    (("experiment=kernel_circle", "optim.algorithm=sgd_epochs"), "optim.algorithm"),
    (("experiment=kernel_circle", "model.kernel.frequencies=0"), "model.kernel.frequencies"),
    (("experiment=kernel_circle", "data.test_spectrum.kind=powerlaw"), "data.test_spectrum.kind"),
    (("experiment=kernel_circle", "model.kernel.cutoff=1.5"), "model.kernel.cutoff"),
    (("experiment=kernel_digits", "model.kernel.bandwidth=0"), "model.kernel.bandwidth"),
    (("experiment=kernel_digits", "data.digits.target=color"), "data.digits.target"),
    (("experiment=kernel_digits", "data.digits.digit=12"), "data.digits.digit"),
    (("experiment=kernel_digits", "data.n_train=2000"), "data.n_train"),       # a subset of the 1797-image pool
    (("experiment=kernel_sphere", "data.sphere.dim=1"), "data.sphere.dim"),
    (("experiment=kernel_sphere", "data.sphere.target_power=[0.0]"), "data.sphere.target_power"),
    (("experiment=kernel_sphere", "model.kernel.kind=periodic"), "model.kernel.kind"),
    (("data.kind=torus",), "data.kind"),
])
def test_bad_kernel_configs_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        make_problem(*overrides)
    assert err.value.key == key, str(err.value)


def test_digits_with_replacement_may_exceed_the_pool():
    p = make_problem("experiment=kernel_digits", "data.n_train=2000", "data.digits.replace=true")
    assert p.data.n_train == 2000 and p.data.inputs.replace
