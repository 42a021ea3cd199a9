"""Benchmark: online theory with a learning-rate schedule or momentum (docs/theory.md §14).

Run: ``python benchmarks/bench_schedule_theory.py``.  Prints the wall time (best of 2) of ``tp.predict`` with
100 recorded steps up to T = 1e5 (the whole predictor: spectrum compression or spectral measure, the recursion and
the critical learning rate of ``theory_info``) for
* online linear, D = 1e4 (compressed, docs/theory.md §9.4), B = 8: cosine with 1000 warmup steps; heavy ball β = 0.9
  at a constant rate; Nesterov β = 0.9 with ridge and a WSD schedule;
* online random features, D = 2000, N = 400, B = 4, WSD: the deterministic equivalent over F (recursion on the
  spectral measure of K).
Aims: < 5 s (linear) and < 10 s (random features).  Also prints the process CPU time of the same call, which
is the wall time an idle machine would show (the theory runs on one core).
"""

from __future__ import annotations

import time

import numpy as np

import twopoint as tp

T = 100_000
LINEAR = ("data.dim=10000", "optim.batch_size=8", f"optim.steps={T}", "record.points=112", "sim.enabled=false")
CASES = {
    "linear D=1e4, cosine (warmup 1000)": (*LINEAR, "optim.lr=0.5", "optim.schedule.kind=cosine",
                                           "optim.schedule.warmup_steps=1000"),
    "linear D=1e4, heavy ball β=0.9": (*LINEAR, "optim.lr=0.05", "optim.momentum=0.9"),
    "linear D=1e4, Nesterov β=0.9 + ridge, WSD": (*LINEAR, "optim.lr=0.05", "optim.momentum=0.9", "optim.nesterov=true",
                                                 "optim.ridge=0.001", "optim.schedule.kind=wsd"),
    "random features D=2000 N=400, WSD": ("model=random_features", "model.n_features=400", "data.dim=2000",
                                         "optim.batch_size=4", f"optim.steps={T}", "record.points=112", "optim.lr=0.5",
                                         "optim.schedule.kind=wsd", "sim.enabled=false"),
}


def timed(fn, repeats: int = 2) -> tuple[float, float, object]:
    """(best wall time, its CPU time, the result) of ``repeats`` calls."""
    best = (np.inf, np.inf, None)
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu, out), key=lambda b: b[0])
    return best


def main() -> None:
    for name, overrides in CASES.items():
        problem = tp.build_problem(tp.compose(*overrides))
        wall, cpu, theory = timed(lambda: tp.predict(problem))
        print(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU ({problem.record_steps.size} recorded steps, method: "
              f"{theory.method}, critical lr {theory.info['critical_lr']:.4g})", flush=True)


if __name__ == "__main__":
    main()
