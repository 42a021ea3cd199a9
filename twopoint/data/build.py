"""Build the :class:`~twopoint.core.problem.Problem` from a config: validate every key, resolve spectra and inputs.

Every check runs before any compute and raises :class:`~twopoint.core.errors.ConfigError` naming the key,
the value and what is allowed.
"""

from __future__ import annotations

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from twopoint.core.config import TwopointConfig
from twopoint.core.errors import ConfigError
from twopoint.core.problem import DataSpec, ModelSpec, OptimSpec, Problem, SimSpec, log_grid
from twopoint.data.inputs import build_inputs
from twopoint.data.spectra import build_spectrum, build_teacher

ONLINE_ALGORITHMS = ("sgd",)
FINITE_DATA_ALGORITHMS = ("sgd", "sgd_epochs", "gd", "gradient_flow")
KERNEL_ALGORITHMS = ("sgd", "gd", "gradient_flow")
MODELS = ("linear", "random_features", "kernel")
INPUT_KINDS = ("gaussian", "circle", "sphere", "digits")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float64", "float32")


def _positive(key: str, value, integer: bool = False):
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(key, value, "a positive integer")
    if value is None or not np.isfinite(value) or value <= 0:
        raise ConfigError(key, value, "a positive integer" if integer else "a positive number")
    return value


def _choice(key: str, value, allowed) -> str:
    if value not in allowed:
        raise ConfigError(key, value, f"one of {', '.join(allowed)}")
    return value


def _build_kernel_data(cfg, seed: int, kind: str) -> DataSpec:
    """Kernel machine on ``circle``/``sphere``/``digits`` inputs: the kernel's eigen-spectrum and target (docs/theory.md §8)."""
    d = cfg.data
    if cfg.model.kind != "kernel":
        raise ConfigError("model.kind", cfg.model.kind, f"kernel for data.kind={kind} (only kernel machines take non-Gaussian inputs)")
    if d.n_train is not None:
        _positive("data.n_train", d.n_train, integer=True)
    if d.test_spectrum.kind != "same" or d.test_spectrum.scale != 1.0:
        raise ConfigError("data.test_spectrum.kind", d.test_spectrum.kind, f"same with scale 1 for data.kind={kind} (no covariate shift)")
    inputs = build_inputs(cfg, seed, float(d.noise_std))
    lam = inputs.eigenvalues
    return DataSpec(lam, inputs.teacher, inputs.effective_noise_std, lam, d.n_train, inputs)


def _build_data(cfg, seed: int) -> DataSpec:
    d = cfg.data
    kind = _choice("data.kind", d.kind, INPUT_KINDS)
    if d.noise_std is None or not np.isfinite(d.noise_std) or d.noise_std < 0:
        raise ConfigError("data.noise_std", d.noise_std, "a number >= 0")
    if kind != "gaussian":
        return _build_kernel_data(cfg, seed, kind)
    if cfg.model.kind == "kernel":
        raise ConfigError("data.kind", kind, f"one of {', '.join(INPUT_KINDS[1:])} for model.kind=kernel")
    dim = _positive("data.dim", d.dim, integer=True)
    lam = build_spectrum(d.spectrum, "data.spectrum", dim)
    teacher = build_teacher(d.teacher, "data.teacher", lam, seed)
    if d.test_spectrum.kind == "same":
        _positive("data.test_spectrum.scale", d.test_spectrum.scale)
        test = d.test_spectrum.scale * lam
    else:
        test = build_spectrum(d.test_spectrum, "data.test_spectrum", dim)
    if d.n_train is not None:
        _positive("data.n_train", d.n_train, integer=True)
    return DataSpec(lam, teacher, float(d.noise_std), test, d.n_train)


def _build_model(cfg) -> ModelSpec:
    m = cfg.model
    kind = _choice("model.kind", m.kind, MODELS)
    if kind != "kernel" and m.kernel.kind is not None:
        raise ConfigError("model.kernel.kind", m.kernel.kind, f"null for model.kind={kind} (only kernel machines have a kernel)")
    if kind == "random_features":
        return ModelSpec(kind, _positive("model.n_features", m.n_features, integer=True), bool(m.share_features))
    if m.n_features is not None:
        raise ConfigError("model.n_features", m.n_features, f"null for model.kind={kind} (only random_features has features)")
    if m.share_features:
        raise ConfigError("model.share_features", m.share_features, f"false for model.kind={kind} (only random_features has features)")
    return ModelSpec(kind)


def _build_optim(cfg, data: DataSpec) -> OptimSpec:
    o = cfg.optim
    allowed = ONLINE_ALGORITHMS if data.online else KERNEL_ALGORITHMS if data.inputs is not None else FINITE_DATA_ALGORITHMS
    algorithm = _choice("optim.algorithm", o.algorithm, allowed)
    _positive("optim.lr", o.lr)
    _positive("optim.batch_size", o.batch_size, integer=True)
    _positive("optim.steps", o.steps, integer=True)
    if o.ridge is None or not np.isfinite(o.ridge) or o.ridge < 0:
        raise ConfigError("optim.ridge", o.ridge, "a number >= 0")
    if algorithm == "sgd_epochs" and o.batch_size > data.n_train:
        raise ConfigError("optim.batch_size", o.batch_size, f"at most data.n_train={data.n_train} without replacement")
    return OptimSpec(algorithm, float(o.lr), int(o.batch_size), int(o.steps), float(o.ridge))


def _build_sim(cfg) -> SimSpec:
    s = cfg.sim
    _positive("sim.replicas", s.replicas, integer=True)
    _positive("sim.chunk_mib", s.chunk_mib, integer=True)
    _positive("sim.data_gib", s.data_gib)
    device = _choice("sim.device", s.device, DEVICES)  # whether a GPU is visible: twopoint.simulate.device
    return SimSpec(bool(s.enabled), int(s.replicas), device, _choice("sim.dtype", s.dtype, DTYPES), s.progress,
                   int(s.chunk_mib), float(s.data_gib))


def check_schema(cfg) -> None:
    """Unknown keys (e.g. added with ``+key=value``) and wrong types, against the schema."""
    schema = OmegaConf.structured(TwopointConfig)

    def walk(node, ref, prefix: str) -> None:
        for key in node:
            full = f"{prefix}{key}"
            if key not in ref:
                raise ConfigError(full, "<unknown key>", f"known keys here: {', '.join(ref)}")
            child, ref_child = node[key], ref[key]
            if OmegaConf.is_dict(child) and OmegaConf.is_dict(ref_child):
                walk(child, ref_child, full + ".")

    walk(cfg, schema, "")
    try:
        OmegaConf.merge(schema, cfg)
    except ValidationError as err:
        raise ConfigError(err.full_key, "?", str(err).splitlines()[0]) from None


def build_problem(cfg) -> Problem:
    """Validate the whole config and resolve it into a :class:`Problem` (no heavy compute)."""
    check_schema(cfg)
    seed = cfg.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", seed, "an integer >= 0")
    data = _build_data(cfg, seed)
    model = _build_model(cfg)
    optim = _build_optim(cfg, data)
    points = cfg.record.points
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ConfigError("record.points", points, "an integer >= 2")
    return Problem(
        seed=seed,
        data=data,
        model=model,
        optim=optim,
        sim=_build_sim(cfg),
        theory_enabled=bool(cfg.theory.enabled),
        theory_method=str(cfg.theory.method),
        record_steps=log_grid(optim.steps, points),
    )
