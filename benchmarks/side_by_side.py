"""Run simulator benchmarks for an older revision and for this working tree, alternately, in one run.

    python benchmarks/side_by_side.py OLD_REV [--repeats 3] [--bench bench_simulator.py --bench bench_rf_simulator.py]

Each benchmark script is run ``--repeats`` times per side (old, new, old, new, … so that both see the same
machine load), each from its own source tree (``git worktree`` of OLD_REV in a temporary folder, on
``PYTHONPATH``).  Every line a script prints with a time in seconds (``… : 12.3 s …``) is collected; the table
gives the median per line and side and the ratio new/old (< 1: the new tree is faster).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECONDS = re.compile(r"^(?P<label>[^:]+):\s*(?P<value>[0-9.]+) s\b")
DEFAULT_ARGS = {"bench_simulator.py": ["--steps", "200", "--naive-replicas", "1"], "bench_rf_simulator.py": ["--steps", "300"]}


def run_once(tree: Path, script: str, args: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "CI": "true"}
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / script), *args], cwd=tree, env=env,
                         capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        m = SECONDS.match(line.strip())
        if m:
            times[f"{script}: {m['label'].strip()}"] = float(m["value"])
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="the older revision (a commit, tag or branch)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bench", action="append", help="benchmark script(s) in benchmarks/ (default: the simulators)")
    args = parser.parse_args()
    scripts = args.bench or list(DEFAULT_ARGS)
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old_tree), args.old], check=True)
        try:
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.repeats):
                for script in scripts:
                    for side, tree in (("old", old_tree), ("new", REPO)):
                        for label, value in run_once(tree, script, DEFAULT_ARGS.get(script, [])).items():
                            samples.setdefault((label, side), []).append(value)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)], check=False)
    labels = sorted({label for label, _ in samples})
    print(f"median of {args.repeats} runs each, old = {args.old}, new = working tree")
    print(f"{'benchmark line':<70} {'old s':>8} {'new s':>8} {'new/old':>8}")
    for label in labels:
        old, new = (statistics.median(samples.get((label, side), [float("nan")])) for side in ("old", "new"))
        print(f"{label[:70]:<70} {old:8.2f} {new:8.2f} {new / old:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
