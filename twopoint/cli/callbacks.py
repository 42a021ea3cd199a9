"""Hydra callback: aggregate every multirun into one table and overview figures when it ends.

Configured in ``configs/config.yaml`` (``hydra.callbacks.aggregate``), so ``twopoint -m ...`` ends with
``<sweep dir>/aggregate/`` (see :mod:`compare.aggregate`); ``twopoint-aggregate <sweep dir>`` does the
same for an interrupted or cluster sweep.

The callback reads the saved outputs, so it also sees what happened in launcher worker processes.  It
records in :data:`FAILURES` (this process) every job that failed or left no result, every job whose
``compare.check`` verdict failed, and its own failure (Hydra only warns about an exception raised by a
callback, so the callback never raises): ``twopoint -m`` then exits 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from twopoint.report import status

log = logging.getLogger("twopoint")
FAILURES: list[str] = []  # one line per reason the sweep failed; read by twopoint.cli.app.main


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split()) or repr(exc)}"


class AggregateSweep(Callback):
    """``on_multirun_end``: collect ``hydra.sweep.dir`` into ``<sweep dir>/<subdir>``."""

    def __init__(self, subdir: str = "aggregate", formats=("png", "pdf")):
        self.subdir, self.formats = subdir, list(formats)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            self.aggregate(sweep_dir)
        except Exception as exc:  # noqa: BLE001  (Hydra would turn it into a warning and exit 0)
            FAILURES.append(f"aggregation of {sweep_dir} failed: {_one_line(exc)}")
            log.error("sweep aggregation failed (%s); the command exits 1", FAILURES[-1], exc_info=exc)

    def aggregate(self, sweep_dir: Path) -> None:
        from twopoint.report.aggregate import collect, summary, write_aggregate

        sweep = collect(sweep_dir)
        for _, job in sweep.failed.iterrows():
            where = job.path if isinstance(job.path, str) else job.job
            status.FAILED.add(str(where))
            FAILURES.append(f"job {job.job} {job.status}: {where}")
        for _, job in sweep.check_failed.iterrows():
            FAILURES.append(f"job {job.job} failed compare.check: {job.path}")
        out, written = (sweep_dir / self.subdir).resolve(), False
        try:
            write_aggregate(sweep, out, self.formats)
            written = True
        finally:  # the summary of the jobs is logged even when writing the aggregate failed
            level = logging.ERROR if len(sweep.failed) or len(sweep.check_failed) else logging.INFO
            log.log(level, "%s\n%s", f"sweep aggregated: {out}" if written else f"sweep not aggregated into {out}",
                    summary(sweep))
