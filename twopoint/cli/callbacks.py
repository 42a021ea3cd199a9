"""Hydra callback: aggregate every multirun into one table and overview figures when it ends.

Configured in ``configs/config.yaml`` (``hydra.callbacks.aggregate``), so ``twopoint -m ...`` ends with
``<sweep dir>/aggregate/`` (see :mod:`compare.aggregate`); ``twopoint-aggregate <sweep dir>`` does the
same for an interrupted or cluster sweep.  Jobs that failed or left no result make the command exit 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from twopoint.report import status

log = logging.getLogger("twopoint")


class AggregateSweep(Callback):
    """``on_multirun_end``: collect ``hydra.sweep.dir`` into ``<sweep dir>/<subdir>``."""

    def __init__(self, subdir: str = "aggregate", formats=("png", "pdf")):
        self.subdir, self.formats = subdir, list(formats)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from twopoint.report.aggregate import collect, summary, write_aggregate

        sweep_dir = Path(config.hydra.sweep.dir)
        sweep = collect(sweep_dir)
        status.FAILED.update(str(p) for p in sweep.failed.path.fillna(sweep.failed.job))
        write_aggregate(sweep, sweep_dir / self.subdir, self.formats)
        log.info("sweep aggregated: %s\n%s", (sweep_dir / self.subdir).resolve(), summary(sweep))
