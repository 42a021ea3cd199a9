"""Benchmark: batched online-SGD simulator against its hardware ceilings and a naive per-replica loop.

Run: ``python benchmarks/bench_simulator.py [--steps N] [--dtype float64|float32] [--device auto|cpu|cuda]``.
Throughput is replicas × B × D × steps per second (D = 1000, B = 8, 256 replicas; the device as
``sim.device``: CUDA when available).  Two ceilings bound it on the same device, measured in the same run
with the same threads:

* RNG ceiling: drawing the same count of float32 standard normals per step (R·B·(D + 1)) with one torch
  generator into a preallocated buffer of one chunk (``sim.chunk_mib``), for all steps;
* memory-bandwidth ceiling: copying the same bytes (one chunk buffer into another, as many times as there
  are chunks' worth of draws).

The report gives the simulator's fraction of each (ceiling time / simulator time).  The naive loop trains
one replica at a time with a per-sample Python loop, as a research script would.
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


def ceilings(replicas: int, batch: int, dim: int, steps: int, chunk_mib: int, device: torch.device) -> tuple[float, float]:
    """(RNG-ceiling seconds, copy-ceiling seconds) for the draws of ``steps`` steps (see the module docstring)."""
    per_step = replicas * batch * (dim + 1)
    per_chunk = max(1, min(steps, chunk_mib * 2**20 // (4 * per_step)))
    buf = torch.empty(per_chunk * per_step, dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    start = time.perf_counter()
    for done in range(0, steps, per_chunk):
        n = min(per_chunk, steps - done) * per_step
        torch.randn(n, generator=gen, out=buf[:n])
    sync()
    rng = time.perf_counter() - start
    other = torch.empty_like(buf)
    start = time.perf_counter()
    for done in range(0, steps, per_chunk):
        n = min(per_chunk, steps - done) * per_step
        other[:n].copy_(buf[:n])
    sync()
    return rng, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--naive-replicas", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="sim.device of the batched run")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"), help="sim.dtype of the batched run")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dim, batch, replicas = 1000, 8, 256
    overrides = [f"data.dim={dim}", f"optim.batch_size={batch}", f"optim.steps={args.steps}", f"sim.replicas={replicas}",
                 "optim.lr=0.7", f"sim.device={args.device}", f"sim.dtype={args.dtype}", "theory.enabled=false", "sim.progress=false"]
    problem = build_problem(compose(*overrides))
    start = time.perf_counter()
    curves = simulate(problem)
    batched = time.perf_counter() - start
    work = replicas * batch * dim * args.steps
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {curves.info['device']}")
    print(f"batched simulator: {batched:.2f} s for {work:.2e} replica·sample·dim updates -> {work / batched:.3e} /s ({args.dtype})")
    rng, copy = ceilings(replicas, batch, dim, args.steps, problem.sim.chunk_mib, torch.device(curves.info["device"]))
    print(f"RNG ceiling: {rng:.2f} s (same float32 normals, one generator) -> simulator at {rng / batched:.0%} of it")
    print(f"memory-bandwidth ceiling: {copy:.2f} s (copy of the same bytes) -> simulator at {copy / batched:.0%} of it")
    naive = naive_loop(problem.data.eigenvalues, problem.data.teacher, 0.7, batch, args.steps, args.naive_replicas, 0.1)
    naive_rate = args.naive_replicas * batch * dim * args.steps / naive
    print(f"naive per-replica loop ({args.naive_replicas} replicas timed): {naive_rate:.3e} /s")
    print(f"speed-up: {work / batched / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
