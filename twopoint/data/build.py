"""Build the :class:`~twopoint.core.problem.Problem` from a config: validate every key, resolve spectra and inputs.

Every check runs before any compute and raises :class:`~twopoint.core.errors.ConfigError` naming the key,
the value and what is allowed: the schema of each kind (unknown keys, types), the constraint tables of the
schemas (:mod:`twopoint.core.constraints`), then the checks that involve several keys.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ValidationError

from twopoint.core.config import DATA_SCHEMAS, MODEL_SCHEMAS, KernelModelConfig, TwopointConfig
from twopoint.core.constraints import Options, validate
from twopoint.core.errors import ConfigError
from twopoint.core.problem import DataSpec, ModelSpec, OptimSpec, Problem, SimSpec, log_grid
from twopoint.core.schedule import multipliers
from twopoint.data.inputs import build_inputs
from twopoint.data.spectra import build_spectrum, build_teacher

ONLINE_ALGORITHMS = ("sgd",)
FINITE_DATA_ALGORITHMS = ("sgd", "sgd_epochs", "gd", "gradient_flow")
KERNEL_ALGORITHMS = ("sgd", "gd", "gradient_flow")
GROUP_OPTION = {"gaussian": "powerlaw"}  # the data/model group option of a kind, where its name differs


def _schema_of(cfg, group: str, schemas: dict) -> type:
    """The schema of ``cfg.<group>`` by its ``kind``, which must agree with the schema the node was composed with."""
    node = cfg[group]
    if not OmegaConf.is_dict(node):
        raise ConfigError(group, node, f"a mapping with a kind ({', '.join(schemas)})")
    kind = Options(*schemas).check(f"{group}.kind", node.get("kind"))
    composed = OmegaConf.get_type(node)
    if composed in schemas.values() and composed is not schemas[kind]:
        options = ", ".join(f"{group}={GROUP_OPTION.get(k, k)}" for k in schemas)
        raise ConfigError(f"{group}.kind", kind, f"{composed.kind}, the kind of the selected {group} option "
                                                  f"(select another kind with {options})")
    return schemas[kind]


def check_schema(cfg) -> DictConfig:
    """The config typed by the schemas of its data and model kinds; unknown keys (e.g. added with
    ``+key=value``) and values of the wrong type are a :class:`ConfigError`."""
    data_schema, model_schema = _schema_of(cfg, "data", DATA_SCHEMAS), _schema_of(cfg, "model", MODEL_SCHEMAS)
    schema = OmegaConf.structured(TwopointConfig(data=data_schema(), model=model_schema()))

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
        typed = OmegaConf.merge(schema, cfg)
    except ValidationError as err:
        raise ConfigError(err.full_key, "?", str(err).splitlines()[0]) from None
    validate(typed, TwopointConfig, nested={"data": data_schema, "model": model_schema})
    if model_schema is KernelModelConfig and typed.model.kernel.kind is None:
        typed.model.kernel.kind = data_schema.default_kernel  # the inputs' default kernel
    return typed


def _build_kernel_data(cfg, seed: int) -> DataSpec:
    """Kernel machine on ``circle``/``sphere``/``digits`` inputs: the kernel's eigen-spectrum and target (docs/theory.md §8)."""
    d = cfg.data
    if cfg.model.kind != "kernel":
        raise ConfigError("model.kind", cfg.model.kind, f"kernel for data.kind={d.kind} (only kernel machines take non-Gaussian inputs)")
    inputs = build_inputs(cfg, seed, float(d.noise_std))
    lam = inputs.eigenvalues
    return DataSpec(lam, inputs.teacher, inputs.effective_noise_std, lam, d.n_train, inputs)


def _build_data(cfg, seed: int) -> DataSpec:
    d = cfg.data
    if d.kind != "gaussian":
        return _build_kernel_data(cfg, seed)
    if cfg.model.kind == "kernel":
        raise ConfigError("data.kind", d.kind, f"one of {', '.join(k for k in DATA_SCHEMAS if k != 'gaussian')} for model.kind=kernel")
    lam = build_spectrum(d.spectrum, "data.spectrum", d.dim)
    teacher = build_teacher(d.teacher, "data.teacher", lam, seed)
    if d.test_spectrum.kind == "same":
        test = d.test_spectrum.scale * lam
    else:
        test = build_spectrum(d.test_spectrum, "data.test_spectrum", d.dim)
    return DataSpec(lam, teacher, float(d.noise_std), test, d.n_train)


def _check_built(cfg, data: DataSpec) -> None:
    """The built arrays are finite and in range, else a ConfigError naming the key that caused it (checked after
    construction: a valid-looking exponent can still underflow or overflow float64)."""
    d = cfg.data
    spectrum = "data.spectrum" if d.kind == "gaussian" else "model.kernel"
    if not np.all(np.isfinite(data.eigenvalues)) or np.any(data.eigenvalues <= 0):
        value = d.spectrum.alpha if d.kind == "gaussian" and d.spectrum.kind == "powerlaw" else "…"
        key = f"{spectrum}.alpha" if d.kind == "gaussian" and d.spectrum.kind == "powerlaw" else spectrum
        raise ConfigError(key, value, "the eigenvalues must be finite and > 0 in float64; the smallest underflow to 0 "
                          "or the largest overflow (use a smaller exponent or dim)")
    if data.test_eigenvalues is not data.eigenvalues and (not np.all(np.isfinite(data.test_eigenvalues)) or np.any(data.test_eigenvalues < 0)):
        raise ConfigError("data.test_spectrum", d.test_spectrum.kind if d.kind == "gaussian" else "same",
                          "the test eigenvalues must be finite and >= 0 in float64")
    power = data.eigenvalues * data.teacher**2
    if not np.all(np.isfinite(data.teacher)) or not np.isfinite(power.sum()):
        key = "data.teacher.beta" if d.kind == "gaussian" and d.teacher.kind == "powerlaw" else "data.teacher"
        raise ConfigError(key, d.teacher.beta if key.endswith("beta") else d.teacher.kind,
                          "the teacher's power Σ λ_k w*_k² must be finite in float64")
    with np.errstate(over="ignore"):
        noise_var = np.float64(data.noise_std) ** 2
    if not np.isfinite(noise_var) or not np.isfinite(power.sum() + noise_var):
        raise ConfigError("data.noise_std", d.noise_std, "σ² and the initial risk must be finite in float64")


def _check_learning_rate(optim: OptimSpec, data: DataSpec) -> None:
    """(η (tr Σ + γ))² must be a float64 number: beyond that the dynamics diverge at once and no arithmetic
    is meaningful."""
    with np.errstate(over="ignore"):
        peak = np.float64(optim.lr) * (1.0 if optim.multipliers is None else max(1.0, float(optim.multipliers.max())))
        scale = (peak * (np.float64(data.eigenvalues.sum()) + optim.ridge)) ** 2 * max(1.0, data.initial_risk)
    if not np.isfinite(scale):
        key, value = ("optim.ridge", optim.ridge) if optim.ridge > data.eigenvalues.sum() else ("optim.lr", optim.lr)
        raise ConfigError(key, value, "a learning rate and ridge whose (η (tr Σ + γ))² fits float64 (these overflow: "
                          "SGD diverges in the first step)")


def _build_model(cfg) -> ModelSpec:
    m = cfg.model
    if m.kind == "random_features":
        return ModelSpec(m.kind, int(m.n_features), bool(m.share_features))
    return ModelSpec(m.kind)


def _build_optim(cfg, data: DataSpec) -> OptimSpec:
    o = cfg.optim
    allowed = ONLINE_ALGORITHMS if data.online else KERNEL_ALGORITHMS if data.inputs is not None else FINITE_DATA_ALGORITHMS
    algorithm = Options(*allowed).check("optim.algorithm", o.algorithm)
    if algorithm == "sgd_epochs" and o.batch_size > data.n_train:
        raise ConfigError("optim.batch_size", o.batch_size, f"at most data.n_train={data.n_train} without replacement")
    if algorithm == "gradient_flow" and o.momentum:
        raise ConfigError("optim.momentum", o.momentum, "0 for optim.algorithm=gradient_flow (momentum is a discrete-step "
                          "method; use gd)")
    m = multipliers(o.schedule, int(o.steps))
    return OptimSpec(algorithm, float(o.lr), int(o.batch_size), int(o.steps), float(o.ridge), float(o.momentum),
                     bool(o.nesterov), m, str(o.schedule.kind))


def _build_sim(cfg) -> SimSpec:
    s = cfg.sim  # whether a GPU is visible for sim.device: twopoint.simulate.device
    if s.sampler == "features" and cfg.model.kind != "random_features":
        raise ConfigError("sim.sampler", s.sampler, f"inputs or auto for model.kind={cfg.model.kind} (the feature-space "
                          "sampler is for random features)")
    return SimSpec(bool(s.enabled), int(s.replicas), s.device, s.dtype, s.progress, int(s.chunk_mib), float(s.data_gib),
                   str(s.sampler), None if s.threads is None else int(s.threads))


def build_problem(cfg) -> Problem:
    """Validate the whole config and resolve it into a :class:`Problem` (no heavy compute)."""
    if not OmegaConf.is_config(cfg):
        cfg = OmegaConf.create(cfg)
    cfg = check_schema(cfg)
    data = _build_data(cfg, cfg.seed)
    _check_built(cfg, data)
    model = _build_model(cfg)
    optim = _build_optim(cfg, data)
    _check_learning_rate(optim, data)
    return Problem(
        seed=cfg.seed,
        data=data,
        model=model,
        optim=optim,
        sim=_build_sim(cfg),
        theory_enabled=bool(cfg.theory.enabled),
        theory_method=str(cfg.theory.method),
        record_steps=log_grid(optim.steps, cfg.record.points),
    )
