"""Command-line tools that work on saved outputs: ``twopoint-aggregate`` and ``twopoint-figure``.

``twopoint-aggregate SWEEP_DIR``: the aggregation the multirun callback does, for an interrupted or
cluster sweep (exit 1 when some job failed or left no result, so scripts notice).
``twopoint-figure RECIPE DIR…``: a paper figure from saved sweep or run directories.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def aggregate_main(argv: list[str] | None = None) -> int:
    from twopoint.report.aggregate import collect, summary, write_aggregate

    parser = argparse.ArgumentParser(prog="twopoint-aggregate", description=(
        "Collect every job of a sweep (overrides, status, metrics, curves) into jobs/sweep tables "
        "(CSV and Parquet) and overview figures. Reads saved outputs only."))
    parser.add_argument("paths", nargs="+", type=Path, help="sweep directory (or run directories)")
    parser.add_argument("-o", "--out", type=Path, help="output folder (default: <first path>/aggregate)")
    parser.add_argument("--formats", nargs="*", default=["png", "pdf"], help="figure formats; none = tables only")
    args = parser.parse_args(argv)
    try:
        sweep = collect(*args.paths)
    except FileNotFoundError as err:
        print(f"twopoint-aggregate: {err}", file=sys.stderr)
        return 2
    out = args.out or args.paths[0] / "aggregate"
    write_aggregate(sweep, out, args.formats)
    print(summary(sweep))
    print(f"written to {out}")
    return 1 if len(sweep.failed) or len(sweep.check_failed) else 0


def figure_main(argv: list[str] | None = None) -> int:
    from twopoint.report import style
    from twopoint.report.recipes import RECIPES, draw
    from twopoint.core.errors import ConfigError

    parser = argparse.ArgumentParser(prog="twopoint-figure", description=(
        "Draw a figure recipe (configs/experiment/<recipe>.yaml) from saved outputs; prints the numbers it shows."))
    parser.add_argument("recipe", help=f"one of: {', '.join(RECIPES.names())}")
    parser.add_argument("paths", nargs="+", type=Path, help="sweep directory or run directories")
    parser.add_argument("-o", "--out", type=Path, help="output path without suffix (default: <first path>/<recipe>)")
    parser.add_argument("--formats", nargs="+", default=["png", "pdf"])
    parser.add_argument("--window", nargs=2, type=float, metavar=("LO", "HI"), help="fit window (scaling recipes)")
    parser.add_argument("--venue", help="size for a venue via tueplots, e.g. neurips2024 (optional dependency)")
    args = parser.parse_args(argv)
    try:
        style.use_venue(args.venue)
        fig, report = draw(args.recipe, *args.paths, window=tuple(args.window) if args.window else None)
    except (ConfigError, ValueError, FileNotFoundError, ImportError) as err:
        print(f"twopoint-figure: {err}", file=sys.stderr)
        return 2
    out = args.out or args.paths[0] / args.recipe
    out.parent.mkdir(parents=True, exist_ok=True)
    files = style.save(fig, out, args.formats)
    print(report)
    print("written: " + ", ".join(files))
    return 0


if __name__ == "__main__":
    commands = {"aggregate": aggregate_main, "figure": figure_main}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python -m twopoint.cli.tools {{{','.join(commands)}}} ...")
    sys.exit(commands[sys.argv[1]](sys.argv[2:]))
