"""A run directory's ``status.json``: whether the job finished, and why not.

``twopoint`` writes it at the end of every job: ``{"status": "ok"}``; ``"failed"`` with the error type, its
one-line message and the traceback; or ``"interrupted"`` with the signal (``SIGINT``, ``SIGTERM``) and where it
arrived.  A directory without it never finished (killed, still running).  The file is replaced atomically, so a
reader never sees half of it.  In a multirun a failing job does not stop the sweep: its path is added to
:data:`FAILED` (this process only) and the command exits 1 at the end.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

from twopoint.core.errors import TwopointError

STATUS_FILE = "status.json"
OK, FAILED_STATUS, INTERRUPTED = "ok", "failed", "interrupted"
FAILED: set[str] = set()


def describe(exc: BaseException) -> tuple[str, str]:
    """(type name, message) of the error; a ``SystemExit`` raised from an error reports that error."""
    if isinstance(exc, SystemExit) and exc.__cause__ is not None:
        exc = exc.__cause__
    return type(exc).__name__, str(exc) or repr(exc)


def signal_name(exc: BaseException) -> str:
    """The signal behind an interrupt: the exception's ``signal_name``, else SIGINT (Python's KeyboardInterrupt)."""
    return getattr(exc, "signal_name", None) or "SIGINT"


def write_status(run_dir: Path, exc: BaseException | None = None) -> dict:
    """Write ``status.json`` into ``run_dir``: ok, interrupted (``exc`` a ``KeyboardInterrupt``) or failed."""
    if exc is None:
        record = {"status": OK}
    elif isinstance(exc, KeyboardInterrupt):
        record = {"status": INTERRUPTED, "signal": signal_name(exc),
                  "traceback": "".join(traceback.format_exception(exc))}
    else:
        kind, message = describe(exc)
        record = {"status": FAILED_STATUS, "error_type": kind, "error": message,
                  "traceback": "".join(traceback.format_exception(exc))}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    partial = run_dir / f".{STATUS_FILE}.{os.getpid()}.tmp"
    partial.write_text(json.dumps(record, indent=2))
    os.replace(partial, run_dir / STATUS_FILE)
    return record


def read_status(run_dir: Path) -> dict | None:
    """The recorded status, or None when the job never wrote one."""
    path = Path(run_dir) / STATUS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


class FolderInUse(TwopointError, FileExistsError):
    """The folder meant for a new run already holds files (another run's outputs)."""

    def __init__(self, path: Path, held: list[str]):
        self.path, self.held = Path(path), held
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        super().__init__(f"{path} already holds {shown}")


def claim_folder(path: Path, marker: str | None = None, marker_is_dir: bool = True) -> Path:
    """Create ``path`` for a new run, or accept it when it exists and is empty; raise :class:`FolderInUse` otherwise.

    With ``marker`` (a name the run writes there anyway, e.g. Hydra's ``.hydra``), that entry is created
    exclusively afterwards, so of two processes claiming the same folder at once exactly one succeeds.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file, not a folder
        raise FolderInUse(path, [path.name]) from None
    held = sorted(p.name for p in path.iterdir())
    if held:
        raise FolderInUse(path, held)
    if marker is not None:
        try:
            if marker_is_dir:
                (path / marker).mkdir()
            else:
                (path / marker).open("x").close()
        except FileExistsError:
            raise FolderInUse(path, [marker]) from None
    return path
