"""Benchmark: batched online-SGD simulator vs a naive per-replica Python loop on the same work.

Run: ``python benchmarks/bench_simulator.py [--steps N] [--device auto|cpu|cuda]``.  Throughput is
reported as replicas × B × D × steps per second (D = 1000, B = 8, 256 replicas, float64; the device
as ``sim.device``: CUDA when available).  The naive
loop trains one replica at a time with a per-sample Python loop, as a research script would.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


from twopoint.simulate import simulate
from twopoint.api import build_problem, compose


def naive_loop(lam: np.ndarray, w_star: np.ndarray, lr: float, batch: int, steps: int, replicas: int, noise: float) -> float:
    """One replica after another, one sample after another (numpy)."""
    start = time.perf_counter()
    sqrt_lam = np.sqrt(lam)
    for r in range(replicas):
        rng = np.random.default_rng(r)
        w = np.zeros_like(lam)
        for _ in range(steps):
            grad = np.zeros_like(lam)
            for _ in range(batch):
                x = sqrt_lam * rng.standard_normal(lam.size)
                y = x @ w_star + noise * rng.standard_normal()
                grad += (x @ w - y) * x
            w -= lr * grad / batch
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--naive-replicas", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="sim.device of the batched run")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dim, batch, replicas = 1000, 8, 256
    overrides = [f"data.dim={dim}", f"optim.batch_size={batch}", f"optim.steps={args.steps}", f"sim.replicas={replicas}",
                 "optim.lr=0.7", f"sim.device={args.device}", "theory.enabled=false"]
    problem = build_problem(compose(*overrides))
    start = time.perf_counter()
    curves = simulate(problem)
    batched = time.perf_counter() - start
    work = replicas * batch * dim * args.steps
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {curves.info['device']}")
    print(f"batched simulator: {batched:.2f} s for {work:.2e} replica·sample·dim updates -> {work / batched:.3e} /s")
    naive = naive_loop(problem.data.eigenvalues, problem.data.teacher, 0.7, batch, args.steps, args.naive_replicas, 0.1)
    naive_rate = args.naive_replicas * batch * dim * args.steps / naive
    print(f"naive per-replica loop ({args.naive_replicas} replicas timed): {naive_rate:.3e} /s")
    print(f"speed-up: {work / batched / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
