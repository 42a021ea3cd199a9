"""Structured config schemas (registered in Hydra's ConfigStore).

The schemas fix the key names and types; the YAML groups in ``configs/`` choose values.  A
``kind`` field selects an implementation through a registry (see :mod:`twopoint.registry`);
which kinds exist and which values are allowed is checked by :func:`twopoint.problem.build_problem`
before any compute, so every error names the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class SpectrumConfig:
    """Eigenvalues λ_k of a covariance, k = 1..dim.

    ``powerlaw``: λ_k = scale · k^(−alpha).  ``custom``: ``values`` (a list) or ``path`` (a .npy
    file), times ``scale``.  ``same`` (test spectrum only): the training spectrum, times ``scale``.
    """

    kind: str = "powerlaw"
    alpha: float = 1.5
    scale: float = 1.0
    values: Optional[List[float]] = None
    path: Optional[str] = None


@dataclass
class TeacherConfig:
    """Teacher weights w* in Σ's eigenbasis.

    ``powerlaw``: λ_k w*_k² = k^(−beta), i.e. w*_k = k^(−(beta−alpha)/2) for a power-law Σ.
    ``random``: w*_k iid N(0, 1/dim) drawn from ``seed`` (the run's seed when null).
    ``custom``: ``values`` or ``path`` (.npy).
    """

    kind: str = "powerlaw"
    beta: float = 1.2
    seed: Optional[int] = None
    values: Optional[List[float]] = None
    path: Optional[str] = None


@dataclass
class SphereConfig:
    """``data.kind=sphere``: x uniform on the unit sphere in R^dim; zonal target with power
    ``target_power[ℓ]`` in degree ℓ (see :mod:`twopoint.inputs`)."""

    dim: int = 3
    target_power: List[float] = field(default_factory=lambda: [0.0, 1.0, 0.5, 0.25])


@dataclass
class DigitsConfig:
    """``data.kind=digits``: scikit-learn's ``load_digits`` pool (1797 images, standardised pixels).

    ``target``: ``one_vs_rest`` (+1 for ``digit``, −1 otherwise) or ``value`` (the digit, standardised).
    ``replace``: draw the P training points iid from the pool (with replacement) instead of a subset
    (online SGD, ``n_train: null``, always draws iid from the pool).
    """

    target: str = "one_vs_rest"
    digit: int = 0
    replace: bool = False


@dataclass
class DataConfig:
    """Gaussian inputs x ~ N(0, Σ), labels y = w*·x + ε with ε ~ N(0, noise_std²).

    ``n_train``: null = online (a fresh batch every step); an integer P = a fixed training set.
    ``test_spectrum``: the test covariance Σ' (diagonal in Σ's basis) for covariate shift;
    ``kind: same`` (default) means Σ' = Σ.
    ``kind``: ``gaussian`` (the above) or, for ``model.kind=kernel``, ``circle``, ``sphere``, ``digits``
    (:mod:`twopoint.inputs`; ``dim``, ``spectrum`` and ``test_spectrum`` are then unused, ``teacher``
    gives the circle's target in the kernel's eigenbasis).
    """

    kind: str = "gaussian"
    dim: int = 500
    spectrum: SpectrumConfig = field(default_factory=SpectrumConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    noise_std: float = 0.1
    n_train: Optional[int] = None
    test_spectrum: SpectrumConfig = field(default_factory=lambda: SpectrumConfig(kind="same"))
    sphere: SphereConfig = field(default_factory=SphereConfig)
    digits: DigitsConfig = field(default_factory=DigitsConfig)


@dataclass
class KernelConfig:
    """The kernel of ``model.kind=kernel`` (null ``kind`` for other models); see :mod:`twopoint.kernels`.

    ``periodic`` (circle): per-frequency eigenvalues μ_0..μ_M from ``spectrum`` (powerlaw:
    μ_m = scale (m + 1)^−alpha), M = ``frequencies``.  ``rbf`` exp(−‖x − x'‖²/(2 bandwidth²)) and
    ``laplace`` exp(−‖x − x'‖/bandwidth) (sphere, digits); ``relu_ntk`` (sphere).  On the sphere the
    Mercer series is truncated after degree ``max_degree``.  Modes with λ_k ≤ ``cutoff`` × max λ are
    dropped (their target power counts as noise in the theory).
    """

    kind: Optional[str] = None
    bandwidth: float = 1.0
    frequencies: int = 500
    spectrum: SpectrumConfig = field(default_factory=lambda: SpectrumConfig(alpha=2.0))
    max_degree: int = 20
    cutoff: float = 1e-12


@dataclass
class ModelConfig:
    """``linear``: f = w·x with w_0 = 0.

    ``random_features``: f = v·(F x), v_0 = 0, F ∈ R^{N×D} with iid N(0, 1/N) entries
    (E FᵀF = I, so N → ∞ recovers ``linear``); N = ``n_features``.  Each replica draws its own F
    unless ``share_features`` (one F for all replicas: the "given F" view).

    ``kernel``: f = Σ_i a_i K(x_i, ·) over the P training inputs, a_0 = 0, SGD on a (docs/theory.md §8).
    """

    kind: str = "linear"
    n_features: Optional[int] = None
    share_features: bool = False
    kernel: KernelConfig = field(default_factory=KernelConfig)


@dataclass
class OptimConfig:
    """Minibatch SGD on the per-sample loss ½(f − y)², mean gradient over the batch.

    w ← w − lr·[(1/B) Σ_batch (f − y) ∇f + ridge·w].  ``algorithm``: ``sgd`` (online, or with
    replacement from the training set), ``sgd_epochs`` (shuffled epochs without replacement),
    ``gd`` (full batch) or ``gradient_flow`` (continuous time t = lr × step).
    """

    algorithm: str = "sgd"
    lr: float = 0.88
    batch_size: int = 16
    steps: int = 500
    ridge: float = 0.0


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


@dataclass
class TheoryConfig:
    """``method``: ``auto`` (the most accurate available) or a named method."""

    enabled: bool = True
    method: str = "auto"


@dataclass
class RecordConfig:
    """Log-spaced recording grid of ``points`` steps in [0, optim.steps], step 0 included."""

    points: int = 60


@dataclass
class CompareConfig:
    """Verdict tolerances; ``check`` makes the process exit 1 on a failing verdict."""

    check: bool = False
    max_rel_err: float = 0.03
    max_abs_z: float = 4.0
    figure_formats: List[str] = field(default_factory=lambda: ["png", "pdf"])


@dataclass
class TwopointConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    theory: TheoryConfig = field(default_factory=TheoryConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    experiment_name: Optional[str] = None


def register_configs() -> None:
    """Register the schemas so that ``configs/config.yaml`` can extend them."""
    cs = ConfigStore.instance()
    cs.store(name="twopoint_schema", node=TwopointConfig)
