"""Does float32 arithmetic change the replica means of a long online-SGD run beyond Monte-Carlo error?

Run: ``python benchmarks/float32_accumulation.py [--steps 100000] [--dim 100] [--batch 4] [--replicas 64]``.

Both runs use the same seed, hence the same float32 normals (the simulator draws in float32 and casts), so the
per-replica difference R₃₂ − R₆₄ isolates the arithmetic: rounding in the batch gradient and in the accumulated
weights.  Printed per recorded step range: the mean paired difference relative to the risk, its z-score (mean
difference / its standard error), and the Monte-Carlo standard error of the float64 replica mean for scale.  A
dtype is good enough when the paired difference is far below the Monte-Carlo error at every step.  Also printed:
the wall time of each run, measured in this run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import twopoint as tp
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.predict_common import population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=64)
    parser.add_argument("--lr-fraction", type=float, default=0.5, help="learning rate as a fraction of the critical one")
    args = parser.parse_args()
    base = [f"data.dim={args.dim}", f"optim.batch_size={args.batch}", f"optim.steps={args.steps}",
            f"sim.replicas={args.replicas}", "record.points=40", "sim.device=cpu", "sim.progress=false"]
    probe = tp.build_problem(tp.compose(*base))
    lr = args.lr_fraction * OnlineSGD(population(probe), probe.optim.lr, args.batch).critical_lr()
    runs, seconds = {}, {}
    for dtype in ("float64", "float32"):
        problem = tp.build_problem(tp.compose(*base, f"optim.lr={lr}", f"sim.dtype={dtype}"))
        start = time.perf_counter()
        runs[dtype] = tp.simulate(problem)
        seconds[dtype] = time.perf_counter() - start
    r64, r32 = (runs[d].values["test_risk"] for d in ("float64", "float32"))
    diff = r32 - r64
    mean64 = r64.mean(0)
    mc_se = r64.std(0, ddof=1) / np.sqrt(args.replicas)
    diff_se = diff.std(0, ddof=1) / np.sqrt(args.replicas)
    print(f"online linear SGD, D = {args.dim}, B = {args.batch}, η = {lr:.4g} ({args.lr_fraction:g} of critical), "
          f"T = {args.steps}, {args.replicas} replicas")
    print(f"wall time: float64 {seconds['float64']:.1f} s, float32 {seconds['float32']:.1f} s "
          f"(ratio {seconds['float64'] / seconds['float32']:.2f})")
    print(f"{'step':>8} {'risk (f64)':>11} {'MC se/risk':>11} {'(f32−f64)/risk':>15} {'z of diff':>10} {'diff / MC se':>13}")
    steps = runs["float64"].steps
    for i in np.unique(np.linspace(1, steps.size - 1, 12).astype(int)):
        d = diff[:, i].mean()
        print(f"{steps[i]:>8} {mean64[i]:>11.5g} {mc_se[i] / mean64[i]:>11.2e} {d / mean64[i]:>15.2e} "
              f"{d / diff_se[i] if diff_se[i] > 0 else 0.0:>10.2f} {abs(d) / mc_se[i]:>13.2e}")
    worst = np.nanmax(np.abs(diff.mean(0)[1:]) / mc_se[1:])
    print(f"largest |mean difference| / Monte-Carlo se over all steps: {worst:.2e}")


if __name__ == "__main__":
    main()
