"""``twopoint info``: the registry as a table, regime → simulator → theory methods, with the optimiser extensions each
handles (``plain``: constant learning rate without momentum; ``momentum+schedule``) and their modules."""

from __future__ import annotations

import argparse

from twopoint.core.registry import SIMULATOR_ROLE, THEORY_ROLE, table


def load_implementations() -> None:
    """Import the simulators and predictors, which register themselves."""
    import twopoint.simulate  # noqa: F401
    import twopoint.theory.predict  # noqa: F401


def info_text() -> str:
    """One block per (model, regime): its simulator and its theory methods (the first is ``auto``'s default)."""
    load_implementations()
    rows = table()
    order = {"linear": 0, "random_features": 1, "kernel": 2, "online": 0, "finite": 1}
    regimes = sorted(dict.fromkeys((r["model"], r["regime"]) for r in rows), key=lambda k: (order.get(k[0], 9), order.get(k[1], 9)))
    lines = []
    for model, regime in regimes:
        here = [r for r in rows if (r["model"], r["regime"]) == (model, regime)]
        lines.append(f"{model}/{regime}")
        for r in (r for r in here if r["role"] == SIMULATOR_ROLE):
            lines.append(f"  simulator  {'':<38}{r['optimiser']:<19}{r['module']}")
        theories = [r for r in here if r["role"] == THEORY_ROLE]
        for i, r in enumerate(theories):
            lines.append(f"  theory     {r['method']:<26}{' (default)' if i == 0 else '          '}  {r['optimiser']:<19}{r['module']}")
        if not theories:
            lines.append("  theory     (none)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="twopoint info", description=__doc__).parse_args(argv)
    print(info_text())
    return 0
