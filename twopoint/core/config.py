"""Structured config schemas (registered in Hydra's ConfigStore by :func:`register_configs`).

The schemas fix the key names, types and allowed values; the YAML groups in ``configs/`` choose values.
Each data kind (``gaussian``, ``circle``, ``sphere``, ``digits``) and each model kind (``linear``,
``random_features``, ``kernel``) has its own schema, stored as an option of the ``data`` / ``model`` group
(``<kind>_schema``) that the group's YAML files extend, so a key of another kind does not exist: Hydra
rejects ``data.sphere.dim=3`` on Gaussian data or ``model.n_features=10`` on the linear model as an unknown
key.  Every schema declares ``_constraints``, its table of allowed values (:mod:`twopoint.core.constraints`),
checked with the rest of the config by :func:`twopoint.data.build.build_problem` before any compute, so every
error names the key, the value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from twopoint.core import constraints as c

POSITIVE_INT = c.Interval(int, 1, None, description="a positive integer")
POSITIVE = c.Interval(float, 0, None, closed="neither", description="a positive number")
NON_NEGATIVE = c.Interval(float, 0, None, description="a number >= 0")
FINITE_LIST = c.Optional(c.ListOf(c.Interval(float)), description="a list of finite numbers, or null")
MAX_SEED = 2**63 - 1  # seeds are stored and aggregated as int64


@dataclass
class SpectrumConfig:
    """Eigenvalues λ_k of a covariance, k = 1..dim.

    ``powerlaw``: λ_k = scale · k^(−alpha).  ``custom``: ``values`` (a list) or ``path`` (a .npy
    file), times ``scale``.  ``same`` (test spectrum only): the training spectrum, times ``scale``.
    ``kind`` is checked by the spectrum registry (:mod:`twopoint.data.spectra`).
    """

    kind: str = "powerlaw"
    alpha: float = 1.5
    scale: float = 1.0
    values: Optional[List[float]] = None
    path: Optional[str] = None

    _constraints: ClassVar[dict] = {
        "alpha": c.Interval(float, 0, None, closed="neither", description="alpha > 0"),
        "scale": c.Interval(float, 0, None, closed="neither", description="scale > 0"),
        "values": FINITE_LIST,
    }


@dataclass
class TeacherConfig:
    """Teacher weights w* in Σ's eigenbasis.

    ``powerlaw``: λ_k w*_k² = k^(−beta), i.e. w*_k = k^(−(beta−alpha)/2) for a power-law Σ.
    ``random``: w*_k iid N(0, 1/dim) drawn from ``seed`` (the run's seed when null).
    ``custom``: ``values`` or ``path`` (.npy).  ``kind`` is checked by the teacher registry.
    """

    kind: str = "powerlaw"
    beta: float = 1.2
    seed: Optional[int] = None
    values: Optional[List[float]] = None
    path: Optional[str] = None

    _constraints: ClassVar[dict] = {
        "beta": c.Interval(float),
        "seed": c.Optional(c.Interval(int, 0, MAX_SEED)),
        "values": FINITE_LIST,
    }


@dataclass
class SphereConfig:
    """x uniform on the unit sphere in R^dim; zonal target with power ``target_power[ℓ]`` in degree ℓ
    (see :mod:`twopoint.data.inputs`)."""

    dim: int = 3
    target_power: List[float] = field(default_factory=lambda: [0.0, 1.0, 0.5, 0.25])

    _constraints: ClassVar[dict] = {
        "dim": c.Interval(int, 2, None, description="an integer d >= 2 (x on the unit sphere in R^d)"),
        "target_power": c.All(c.ListOf(c.Interval(float, 0, None), min_length=1),
                              c.Satisfies(lambda p: math.fsum(p) > 0, "not all 0"),
                              description="a non-empty list of powers >= 0, not all 0"),
    }


@dataclass
class DigitsConfig:
    """scikit-learn's ``load_digits`` pool (1797 images, standardised pixels).

    ``target``: ``one_vs_rest`` (+1 for ``digit``, −1 otherwise) or ``value`` (the digit, standardised).
    ``replace``: draw the P training points iid from the pool (with replacement) instead of a subset
    (online SGD, ``n_train: null``, always draws iid from the pool).
    """

    target: str = "one_vs_rest"
    digit: int = 0
    replace: bool = False

    _constraints: ClassVar[dict] = {
        "target": c.Options("one_vs_rest", "value"),
        "digit": c.Interval(int, 0, 9, description="an integer 0..9"),
    }


@dataclass
class DataConfig:
    """The keys every data kind has (the base of the ``data`` group's schemas).

    ``kind``: which inputs (fixed by the schema: choose them with ``data=powerlaw|circle|sphere|digits``).
    ``n_train``: null = online (a fresh batch every step); an integer P = a fixed training set.
    ``noise_std``: σ of the label noise ε ~ N(0, σ²).
    """

    kind: str = MISSING
    noise_std: float = 0.1
    n_train: Optional[int] = None

    default_kernel: ClassVar[Optional[str]] = None  # model.kernel.kind when null (kernel machines)
    _constraints: ClassVar[dict] = {
        "noise_std": NON_NEGATIVE,
        "n_train": c.Optional(POSITIVE_INT, description="a positive integer (or null: online)"),
    }


@dataclass
class GaussianDataConfig(DataConfig):
    """``data=powerlaw``: Gaussian inputs x ~ N(0, Σ) in R^dim, labels y = w*·x + ε.

    ``test_spectrum``: the test covariance Σ' (diagonal in Σ's basis) for covariate shift;
    ``kind: same`` (default) means Σ' = Σ (times its ``scale``).
    """

    kind: str = "gaussian"
    dim: int = 500
    spectrum: SpectrumConfig = field(default_factory=SpectrumConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    test_spectrum: SpectrumConfig = field(default_factory=lambda: SpectrumConfig(kind="same"))

    _constraints: ClassVar[dict] = {"dim": POSITIVE_INT}


@dataclass
class CircleDataConfig(DataConfig):
    """``data=circle`` (kernel machines): x uniform on [0, 1); the target is given by ``teacher`` in the
    periodic kernel's Fourier eigenbasis (powerlaw: c*_k² = k^−beta)."""

    kind: str = "circle"
    n_train: Optional[int] = 400
    teacher: TeacherConfig = field(default_factory=lambda: TeacherConfig(beta=1.5))

    default_kernel: ClassVar[Optional[str]] = "periodic"


@dataclass
class SphereDataConfig(DataConfig):
    """``data=sphere`` (kernel machines): x uniform on the unit sphere, zonal target (``sphere``)."""

    kind: str = "sphere"
    n_train: Optional[int] = 200
    sphere: SphereConfig = field(default_factory=SphereConfig)

    default_kernel: ClassVar[Optional[str]] = "laplace"


@dataclass
class DigitsDataConfig(DataConfig):
    """``data=digits`` (kernel machines): the images of scikit-learn's digits (``digits``)."""

    kind: str = "digits"
    n_train: Optional[int] = 400
    noise_std: float = 0.0
    digits: DigitsConfig = field(default_factory=DigitsConfig)

    default_kernel: ClassVar[Optional[str]] = "rbf"


@dataclass
class KernelConfig:
    """The kernel of ``model=kernel``; see :mod:`twopoint.data.kernels`.

    ``kind``: null = the default of the inputs (``periodic`` on the circle, ``laplace`` on the sphere,
    ``rbf`` on digits).  ``periodic`` (circle): per-frequency eigenvalues μ_0..μ_M from ``spectrum``
    (powerlaw: μ_m = scale (m + 1)^−alpha), M = ``frequencies``.  ``rbf`` exp(−‖x − x'‖²/(2 bandwidth²)) and
    ``laplace`` exp(−‖x − x'‖/bandwidth) (sphere, digits); ``relu_ntk`` (sphere).  On the sphere the
    Mercer series is truncated after degree ``max_degree``.  Modes with λ_k ≤ ``cutoff`` × max λ are
    dropped (their target power counts as noise in the theory).  Which kernels suit which inputs is
    checked with the inputs (:mod:`twopoint.data.inputs`).
    """

    kind: Optional[str] = None
    bandwidth: float = 1.0
    frequencies: int = 500
    spectrum: SpectrumConfig = field(default_factory=lambda: SpectrumConfig(alpha=2.0))
    max_degree: int = 20
    cutoff: float = 1e-12

    _constraints: ClassVar[dict] = {
        "bandwidth": c.Interval(float, 0, None, closed="neither", description="a positive length scale"),
        "frequencies": c.Interval(int, 1, None, description="a positive integer M (modes 0..M)"),
        "max_degree": c.Interval(int, 0, None),
        "cutoff": c.Interval(float, 0, 1, closed="left", description="a relative eigenvalue cutoff in [0, 1)"),
    }


@dataclass
class ModelConfig:
    """The keys every model kind has (the base of the ``model`` group's schemas): ``kind``, fixed by the
    schema (choose it with ``model=linear|random_features|kernel``)."""

    kind: str = MISSING


@dataclass
class LinearModelConfig(ModelConfig):
    """``model=linear``: f = w·x with w_0 = 0."""

    kind: str = "linear"


@dataclass
class RandomFeaturesModelConfig(ModelConfig):
    """``model=random_features``: f = v·(F x), v_0 = 0, F ∈ R^{N×D} with iid N(0, 1/N) entries
    (E FᵀF = I, so N → ∞ recovers ``linear``); N = ``n_features``.  Each replica draws its own F
    unless ``share_features`` (one F for all replicas: the "given F" view)."""

    kind: str = "random_features"
    n_features: int = 200
    share_features: bool = False

    _constraints: ClassVar[dict] = {"n_features": POSITIVE_INT}


@dataclass
class KernelModelConfig(ModelConfig):
    """``model=kernel``: f = Σ_i a_i K(x_i, ·) over the P training inputs, a_0 = 0, SGD on a
    (docs/theory.md §8); needs ``data=circle``, ``sphere`` or ``digits``."""

    kind: str = "kernel"
    kernel: KernelConfig = field(default_factory=KernelConfig)


DATA_SCHEMAS = {cls.kind: cls for cls in (GaussianDataConfig, CircleDataConfig, SphereDataConfig, DigitsDataConfig)}
MODEL_SCHEMAS = {cls.kind: cls for cls in (LinearModelConfig, RandomFeaturesModelConfig, KernelModelConfig)}


@dataclass
class ScheduleConfig:
    """Learning-rate multipliers m(s), η_s = lr · m(s) for the update s → s + 1 (formulas:
    :mod:`twopoint.core.schedule`).  ``kind``: constant | cosine | linear | step | wsd | power | custom;
    ``warmup_steps`` W: m(s) = (s + 1)/W for s < W; ``final_lr_frac`` f: where cosine, linear and wsd end;
    ``milestones``/``gamma``: step; ``decay_frac``: the decaying fraction of wsd; ``t0``/``power``: power;
    ``values`` (list) or ``path`` (.npy): the T multipliers of custom."""

    kind: str = "constant"
    warmup_steps: int = 0
    final_lr_frac: float = 0.0
    milestones: List[int] = field(default_factory=list)
    gamma: float = 0.1
    decay_frac: float = 0.2
    t0: float = 100.0
    power: float = 0.5
    values: Optional[List[float]] = None
    path: Optional[str] = None

    _constraints: ClassVar[dict] = {
        "kind": c.Options("constant", "cosine", "linear", "step", "wsd", "power", "custom"),
        "warmup_steps": c.Interval(int, 0, None, description="an integer >= 0"),
        "final_lr_frac": c.Interval(float, 0, 1, description="a fraction in [0, 1]"),
        "milestones": c.ListOf(c.Interval(int, 1, None), description="a list of positive integer steps"),
        "gamma": POSITIVE,
        "decay_frac": c.Interval(float, 0, 1, closed="right", description="a fraction in (0, 1]"),
        "t0": POSITIVE,
        "power": NON_NEGATIVE,
        "values": FINITE_LIST,
    }


@dataclass
class OptimConfig:
    """Minibatch SGD on the per-sample loss ½(f − y)², mean gradient over the batch (docs/theory.md §1).

    g_s = (1/B) Σ_batch (f − y) ∇f + ridge·w;  b_s = momentum·b_{s−1} + g_s (b_{−1} = 0);
    w ← w − η_s b_s, or w ← w − η_s (g_s + momentum·b_s) with ``nesterov`` (PyTorch's SGD, dampening 0);
    η_s = lr · m(s) with the multipliers m of ``schedule``.  ``algorithm``: ``sgd`` (online, or with
    replacement from the training set), ``sgd_epochs`` (shuffled epochs without replacement),
    ``gd`` (full batch) or ``gradient_flow`` (continuous time t = lr × step).
    """

    algorithm: str = "sgd"
    lr: float = 0.88
    batch_size: int = 16
    steps: int = 500
    ridge: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    _constraints: ClassVar[dict] = {
        "algorithm": c.Options("sgd", "sgd_epochs", "gd", "gradient_flow"),  # which ones the data allow: build
        "lr": POSITIVE,
        "batch_size": POSITIVE_INT,
        "steps": POSITIVE_INT,
        "ridge": NON_NEGATIVE,
        "momentum": c.Interval(float, 0, 1, closed="left", description="a momentum β in [0, 1)"),
    }


@dataclass
class SimConfig:
    """Monte-Carlo simulation: ``replicas`` independent runs batched along a leading axis."""

    enabled: bool = True
    replicas: int = 256
    device: str = "auto"
    dtype: str = "float64"
    progress: Optional[bool] = None
    chunk_mib: int = 64
    data_gib: float = 4.0
    sampler: str = "auto"  # random features: draw inputs x, or (h, y) directly in feature space
    threads: Optional[int] = None  # torch CPU threads while simulating (null: torch's setting), restored after

    _constraints: ClassVar[dict] = {
        "replicas": POSITIVE_INT,
        "device": c.Options("auto", "cpu", "cuda"),  # whether a GPU is visible: twopoint.simulate.device
        "dtype": c.Options("float64", "float32"),
        "chunk_mib": c.Interval(int, 1, 2**40, description="a positive integer (MiB) up to 2^40"),
        "threads": c.Optional(POSITIVE_INT),
        "data_gib": c.Interval(float, 0, 2**30, closed="right", description="a positive number (GiB) up to 2^30"),
        "sampler": c.Options("auto", "inputs", "features"),  # which one auto picks: twopoint.simulate.random_features
    }


@dataclass
class TheoryConfig:
    """``method``: ``auto`` (the most accurate available) or a named method."""

    enabled: bool = True
    method: str = "auto"  # which methods exist for the problem: twopoint.theory.predict


@dataclass
class RecordConfig:
    """Log-spaced recording grid of ``points`` steps in [0, optim.steps], step 0 included."""

    points: int = 60

    _constraints: ClassVar[dict] = {"points": c.Interval(int, 2, None)}


@dataclass
class CompareConfig:
    """Verdict tolerances; ``check`` makes the process exit 1 on a failing verdict."""

    check: bool = False
    max_rel_err: float = 0.03
    max_abs_z: float = 4.0
    figure_formats: List[str] = field(default_factory=lambda: ["png", "pdf"])

    _constraints: ClassVar[dict] = {"max_rel_err": POSITIVE, "max_abs_z": POSITIVE}


@dataclass
class TwopointConfig:
    """The whole config; ``data`` and ``model`` are filled by their groups (one schema per kind)."""

    seed: int = 0
    data: DataConfig = MISSING
    model: ModelConfig = MISSING
    optim: OptimConfig = field(default_factory=OptimConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    theory: TheoryConfig = field(default_factory=TheoryConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    experiment_name: Optional[str] = None

    _constraints: ClassVar[dict] = {"seed": c.Interval(int, 0, MAX_SEED)}


RUN_ID_RESOLVER = "twopoint.run_id"


def lr_at_effective_rate(effective: float, momentum: float) -> float:
    """The learning rate η whose heavy-ball effective rate η/(1 − β) is ``effective``: η = effective · (1 − β)."""
    return float(effective) * (1.0 - float(momentum))


RESOLVERS = {RUN_ID_RESOLVER: None, "twopoint.lr_at_effective_rate": lr_at_effective_rate}


def register_resolvers() -> None:
    """``${twopoint.run_id:}``: six random hex digits, drawn once per composed config and cached (Hydra copies the
    cache into every job of a sweep), so ``hydra.run.dir``/``hydra.sweep.dir`` differ between runs started in the
    same second.  ``${twopoint.lr_at_effective_rate:E,${optim.momentum}}``: η = E(1 − β), for sweeps over β at equal
    effective learning rate.  Registering again is a no-op."""
    import secrets

    from omegaconf import OmegaConf

    for name, fn in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn or (lambda: secrets.token_hex(3)), use_cache=fn is None)


def register_configs() -> None:
    """Register the schemas: ``twopoint_schema`` (extended by ``configs/config.yaml``) and one option per kind
    in the ``data`` and ``model`` groups (``<kind>_schema``, extended by the group's YAML files); and the
    config resolvers (:func:`register_resolvers`)."""
    register_resolvers()
    cs = ConfigStore.instance()
    cs.store(name="twopoint_schema", node=TwopointConfig)
    for kind, schema in DATA_SCHEMAS.items():
        cs.store(group="data", name=f"{kind}_schema", node=schema)
    for kind, schema in MODEL_SCHEMAS.items():
        cs.store(group="model", name=f"{kind}_schema", node=schema)
