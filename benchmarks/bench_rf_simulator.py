"""Benchmark: the random-feature simulators (CPU, float64 unless ``--dtype float32``).

Run: ``python benchmarks/bench_rf_simulator.py [--steps 300] [--threads 2] [--device cpu] [--sampler both]``.

* online SGD at D = 1000, N = 200, B = 4, 100 replicas: replica-steps per second and
  multiply-adds per second (each step costs B·N·D for the features h = F x plus O(B·(N + D))), with the
  input-space sampler and the feature-space sampler (``sim.sampler``: B·(N + 1)² per step plus the factor
  of C once per replica), and their ratio when both run;
* finite data, GD in closed form at D = 1000, N = 256, P = 128, 200 replicas, 60 recorded steps:
  wall time (features H = X Fᵀ, eigen-decomposition, weights, exact risk and train loss).
"""

from __future__ import annotations

import argparse
import time

import torch

from twopoint.simulate import simulate
from twopoint.api import build_problem, compose


def problem(*overrides: str):
    return build_problem(compose("model=random_features", "theory.enabled=false", *overrides))


def timed(p) -> float:
    start = time.perf_counter()
    curves = simulate(p)
    elapsed = time.perf_counter() - start
    assert not curves.diverged, "benchmark run diverged"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--sampler", default="both", choices=["both", "inputs", "features", "auto"],
                        help="sim.sampler of the online case (both: inputs and features, and their ratio)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    common = (f"sim.device={args.device}", f"sim.dtype={args.dtype}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}, {args.dtype}")

    D, N, B, R = 1000, 200, 4, 100
    samplers = ("inputs", "features") if args.sampler == "both" else (args.sampler,)
    seconds = {}
    for sampler in samplers:
        online = problem(*common, f"data.dim={D}", f"model.n_features={N}", f"optim.batch_size={B}", f"sim.replicas={R}",
                         f"optim.steps={args.steps}", "optim.lr=0.5", f"sim.sampler={sampler}")
        timed(problem(*common, f"data.dim={D}", f"model.n_features={N}", "optim.steps=5", "sim.replicas=2",
                      f"sim.sampler={sampler}"))  # warm-up
        s = seconds[sampler] = timed(online)
        print(f"online SGD  D={D} N={N} B={B} R={R}, {args.steps} steps, sampler {sampler}: {s:.2f} s -> "
              f"{R * args.steps / s:.3e} replica-steps/s, {R * args.steps * B * N * D / s:.3e} input-space multiply-adds/s "
              f"(B·N·D per replica-step)")
    if len(seconds) == 2:
        print(f"feature-space / input-space sampler throughput: {seconds['inputs'] / seconds['features']:.2f}x")

    D, N, P, R = 1000, 256, 128, 200
    gd = problem(*common, f"data.dim={D}", f"model.n_features={N}", f"data.n_train={P}", f"sim.replicas={R}",
                 "optim.algorithm=gd", "optim.lr=1.0", "optim.steps=10000")
    s = timed(gd)
    print(f"finite GD closed form  D={D} N={N} P={P} R={R}, {gd.record_steps.size} recorded steps up to {gd.optim.steps}: "
          f"{s:.2f} s ({1e3 * s / R:.1f} ms per replica)")


if __name__ == "__main__":
    main()
