"""Progress bars that appear only for long interactive runs (never in CI or when piped)."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress_bar(total: int, enabled: bool | None, desc: str) -> tqdm:
    """A tqdm bar over ``total`` steps, shown after 2 s; ``enabled=None`` = interactive and not CI."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    return tqdm(total=total, disable=not enabled, delay=2.0, desc=desc, unit="step", leave=False)
