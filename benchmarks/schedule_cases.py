"""Acceptance cases for learning-rate schedules and momentum: simulation against theory at the sizes of
docs/theory.md §14 ("Measured agreement").

Run: ``python benchmarks/schedule_cases.py [NAME ...] [--replicas R] [--threads K] [--json FILE]`` (no NAME: every
case).  Each case is a set of config overrides; a case with ``lr_fraction`` sets ``optim.lr`` to that fraction of
the theory's ``critical_lr`` (``theory_info``: the largest stable constant step size at the case's batch size, ridge
and momentum, docs/theory.md §2, §14), found by one theory-only evaluation at ``optim.lr=1``.  Prints, per case,
the max and median relative error and max |z| of the test risk, the verdict, the theory method and the wall times.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import twopoint as tp


@dataclass(frozen=True)
class Case:
    """A named acceptance case: config overrides and, optionally, the learning rate as a fraction of the critical one."""

    description: str
    overrides: tuple[str, ...]
    lr_fraction: float | None = None


CASES: dict[str, Case] = {
    "a_linear_cosine": Case(
        "online linear, D = 1000, B = 8, cosine with 100 warmup steps, T = 2e4, peak lr 0.8 of the critical value",
        ("data.dim=1000", "optim.batch_size=8", "optim.steps=20000", "optim.schedule.kind=cosine",
         "optim.schedule.warmup_steps=100"), 0.8),
    "b_linear_momentum": Case(
        "online linear, D = 1000, B = 4, heavy ball β = 0.9, T = 1e4, η half the momentum-aware critical value",
        ("data.dim=1000", "optim.batch_size=4", "optim.steps=10000", "optim.momentum=0.9"), 0.5),
    "c_rf_wsd": Case(
        "online random features, D = 1000, N = 200, B = 4, WSD decay_frac 0.2, T = 5000, lr half the critical value",
        ("model=random_features", "model.n_features=200", "data.dim=1000", "sim.sampler=features", "optim.batch_size=4",
         "optim.steps=5000", "optim.schedule.kind=wsd", "optim.schedule.decay_frac=0.2"), 0.5),
    # finite data (docs/theory.md §15): critical_lr is the GD edge (momentum-aware) or the constant-rate SGD edge
    "d_gd_step_decay": Case(
        "GD, D = 600, P = 300, step decay x0.1 at T/2, T = 4000, lr half the GD critical value",
        ("data.dim=600", "data.n_train=300", "optim.algorithm=gd", "optim.steps=4000", "optim.schedule.kind=step",
         "optim.schedule.milestones=[2000]", "optim.schedule.gamma=0.1"), 0.5),
    "e_gd_momentum": Case(
        "GD with heavy ball beta = 0.5, D = 600, P = 300, T = 4000, lr half the momentum-aware GD critical value",
        ("data.dim=600", "data.n_train=300", "optim.algorithm=gd", "optim.steps=4000", "optim.momentum=0.5"), 0.5),
    "f_sgd_cosine": Case(
        "multi-pass SGD (with replacement), D = 500, P = 250, B = 4, cosine, T = 4000, peak lr half the SGD critical value",
        ("data.dim=500", "data.n_train=250", "optim.algorithm=sgd", "optim.batch_size=4", "optim.steps=4000",
         "optim.schedule.kind=cosine"), 0.5),
}


def case_overrides(case: Case) -> tuple[str, ...]:
    """The case's overrides with ``optim.lr`` set (from the theory's critical value when ``lr_fraction`` is given)."""
    if case.lr_fraction is None:
        return case.overrides
    probe = tp.predict(tp.build_problem(tp.compose(*case.overrides, "optim.lr=1.0", "sim.enabled=false")))
    return (*case.overrides, f"optim.lr={case.lr_fraction * probe.info['critical_lr']!r}")


def run_case(name: str, replicas: int) -> dict:
    """Simulate and predict one case; the measured numbers as a dict."""
    case = CASES[name]
    overrides = (*case_overrides(case), f"sim.replicas={replicas}")
    start = time.perf_counter()
    result = tp.run(*overrides)
    wall = time.perf_counter() - start
    q = result.metrics["quantities"]["test_risk"]
    return {"case": name, "description": case.description, "overrides": list(overrides),
            "max_rel_err": q["max_rel_err"], "median_rel_err": q["median_rel_err"], "max_abs_z": q["max_abs_z"],
            "verdict": result.verdict, "verdict_reason": result.metrics.get("verdict_reason"),
            "theory_method": result.metrics["theory_method"], "critical_lr": result.theory.info.get("critical_lr"),
            "timings": result.metrics.get("timings"), "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--replicas", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", help="append each case's numbers to this file (one JSON object a line)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    for name in args.names or CASES:
        out = run_case(name, args.replicas)
        print(f"{name}: max rel err {out['max_rel_err']:.2%}, median {out['median_rel_err']:.2%}, "
              f"max |z| {out['max_abs_z']:.2f}, verdict {out['verdict']} ({out['verdict_reason']}); "
              f"theory: {out['theory_method']}; critical lr {out['critical_lr']:.4g}; wall {out['wall_s']:.0f} s",
              flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
