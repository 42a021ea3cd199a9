"""False-alarm rate of the verdict on an exact theory: the sample standard error against the tail-aware one.

Online linear SGD is exact at finite D (docs/theory.md §2), so every failing verdict of the exact theory is a
false alarm.  For each batch size B and learning-rate fraction f the script predicts the theory once at
η = f·η_crit(B) (``theory_info.critical_lr``), simulates ``--seeds`` independent runs and judges each
simulation twice, with ``Tolerances(0.03, 4, tail_aware=False)`` (the sample stderr) and the default
tail-aware stderr, so both rates come from the same runs.  Config (a random draw of the accuracy audit):

    data.dim=150 data.spectrum.alpha=1.854 data.teacher.beta=1.394 data.noise_std=0.283 optim.steps=1191
    sim.replicas=512 record.points=40

Run: ``python benchmarks/false_alarm.py`` (B = 1, 4 at f = 0.55, 20 seeds: a few minutes on 2 cores) or the
full measurement of docs/theory.md §11:

    python benchmarks/false_alarm.py --batch-sizes 1 4 --fractions 0.4 0.55 0.7 --seeds 100

One line per (B, f): failing runs before → after, the largest |z| of each rule's worst run and the reasons of
the runs that still fail.
"""

from __future__ import annotations

import argparse
import time

import torch

import twopoint as tp
from twopoint.compare.verdict import Tolerances

BASE = ("data.dim=150", "data.spectrum.alpha=1.854", "data.teacher.beta=1.394", "data.noise_std=0.283",
        "optim.steps=1191", "record.points=40", "sim.device=cpu")
RULES = {"sample": Tolerances(0.03, 4.0, tail_aware=False), "tail_aware": Tolerances(0.03, 4.0)}


def critical_lr(batch: int) -> float:
    """η_crit of the exact online theory at batch size ``batch`` (independent of η)."""
    probe = tp.build_problem(tp.compose(*BASE, f"optim.batch_size={batch}", "optim.lr=0.01"))
    return tp.predict(probe).info["critical_lr"]


def judge(batch: int, fraction: float, seeds: int, replicas: int) -> dict:
    """Fail counts, the worst |z| and the remaining reasons of both rules over ``seeds`` simulations."""
    lr = fraction * critical_lr(batch)
    overrides = (*BASE, f"optim.batch_size={batch}", f"optim.lr={lr}", f"sim.replicas={replicas}")
    theory = tp.predict(tp.build_problem(tp.compose(*overrides)))
    out = {rule: {"fails": 0, "max_abs_z": 0.0, "reasons": []} for rule in RULES}
    for seed in range(seeds):
        problem = tp.build_problem(tp.compose(*overrides, f"seed={seed}"))
        sim = tp.simulate(problem)
        for rule, tol in RULES.items():
            m = tp.evaluate(sim, theory, tol, problem).metrics
            z = m["quantities"]["test_risk"]["max_abs_z"] or 0.0
            out[rule]["max_abs_z"] = max(out[rule]["max_abs_z"], z)
            if m["verdict"] == "fail":
                out[rule]["fails"] += 1
                out[rule]["reasons"].append(f"seed {seed}: {m['verdict_reason']}")
    return {"lr": lr, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.55], help="η / η_crit")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(1)
    total = {rule: 0 for rule in RULES}
    for batch in args.batch_sizes:
        for fraction in args.fractions:
            start = time.perf_counter()
            r = judge(batch, fraction, args.seeds, args.replicas)
            for rule in RULES:
                total[rule] += r[rule]["fails"]
            print(f"B = {batch}, η = {fraction:.2f} η_crit = {r['lr']:.4f}: false alarms {r['sample']['fails']}/{args.seeds}"
                  f" (sample stderr, worst |z| {r['sample']['max_abs_z']:.2f}) → {r['tail_aware']['fails']}/{args.seeds}"
                  f" (tail-aware, worst |z| {r['tail_aware']['max_abs_z']:.2f}) [{time.perf_counter() - start:.0f} s]",
                  flush=True)
            for reason in r["tail_aware"]["reasons"]:
                print(f"    still failing, {reason}")
    runs = args.seeds * len(args.batch_sizes) * len(args.fractions)
    print(f"all: {total['sample']}/{runs} → {total['tail_aware']}/{runs} runs with a false alarm")


if __name__ == "__main__":
    main()
