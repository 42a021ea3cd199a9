"""Kernel configs: the recipes compose and resolve; every inconsistent choice is one ConfigError naming the key."""

import numpy as np
import pytest

from conftest import make_problem
from twopoint.core.errors import ConfigError

# A key of another kind does not exist, so Hydra rejects it while composing; twopoint.api.compose names the
# key only once it takes the key from the OmegaConf error behind Hydra's (its ``__cause__.full_key``).


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
    (("model.kernel.kind=rbf",), "model.kernel"),  # a linear model has no kernel
    (("data=digits", "model=kernel", "model.kernel.kind=periodic"), "model.kernel.kind"),  # periodic kernel on digits
    (("data=circle", "model=kernel", "model.kernel.kind=rbf"), "model.kernel.kind"),
    (("experiment=kernel_circle", "data.n_train=null", "optim.algorithm=gd"), "optim.algorithm"),  # online: sgd only
    (("experiment=kernel_circle", "optim.algorithm=sgd_epochs"), "optim.algorithm"),
    (("experiment=kernel_circle", "model.kernel.frequencies=0"), "model.kernel.frequencies"),
    (("experiment=kernel_circle", "data.test_spectrum.kind=powerlaw"), "data.test_spectrum"),  # no covariate shift for kernels
    (("experiment=kernel_circle", "+data.test_spectrum.kind=powerlaw"), "data.test_spectrum"),  # added with +
    (("experiment=kernel_circle", "model.kernel.bandwidth=nan"), "model.kernel.bandwidth"),
    (("experiment=kernel_circle", "model.kernel.cutoff=inf"), "model.kernel.cutoff"),
    (("experiment=kernel_circle", "model.kernel.spectrum.alpha=0"), "model.kernel.spectrum.alpha"),
    (("experiment=kernel_circle", "data.teacher.beta=nan"), "data.teacher.beta"),
    (("experiment=kernel_sphere", "model.kernel.max_degree=-1"), "model.kernel.max_degree"),
    (("experiment=kernel_sphere", "data.sphere.target_power=[1.0,nan]"), "data.sphere.target_power"),
    (("experiment=kernel_sphere", "data.sphere.target_power=[1.0,-0.5]"), "data.sphere.target_power"),
    (("experiment=kernel_sphere", "data.sphere.target_power=[]"), "data.sphere.target_power"),
    (("experiment=kernel_digits", "data.digits.digit=-1"), "data.digits.digit"),
    (("experiment=kernel_digits", "data.noise_std=inf"), "data.noise_std"),
    (("data=sphere", "model=kernel", "data.kind=digits"), "data.kind"),        # kind is fixed by the data option
    (("data=circle", "model=kernel", "model.kind=linear"), "model.kind"),      # kind is fixed by the model option
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


@pytest.mark.parametrize("data, kernel", [("circle", "periodic"), ("sphere", "laplace"), ("digits", "rbf")])
def test_each_input_kind_has_a_default_kernel(data, kernel):
    """``model=kernel data=<inputs>`` needs no model.kernel.kind: the inputs pick theirs, as if it were given."""
    p = make_problem(f"data={data}", "model=kernel")
    assert p.data.inputs.kind == data and p.data.inputs.kernel == kernel
    q = make_problem(f"data={data}", "model=kernel", f"model.kernel.kind={kernel}")
    np.testing.assert_array_equal(p.data.eigenvalues, q.data.eigenvalues)
    np.testing.assert_array_equal(p.data.teacher, q.data.teacher)
    assert p.data.noise_std == q.data.noise_std and p.data.n_train == q.data.n_train


def test_digits_default_kernel_is_rbf_and_laplace_still_selectable():
    assert make_problem("data=digits", "model=kernel").data.inputs.kernel == "rbf"
    assert make_problem("data=digits", "model=kernel", "model.kernel.kind=laplace",
                        "model.kernel.bandwidth=10").data.inputs.kernel == "laplace"
