"""Where scored files go: one folder per session, a few files kept, old folders swept; what is offered as a download."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time

from core.scoring.report import StreamReport

#: A scored file is offered as a download up to this size; beyond it the page says where it is on the server.
DOWNLOAD_LIMIT_MB = 200
#: Output folders of sessions untouched for this long are removed when another scoring starts.
KEEP_HOURS = 24
#: Scored files kept per session: starting another removes the oldest beyond this.
KEEP_PER_SESSION = 3
_PARTIAL = "-partial"


def partial_path(out_path: str) -> str:
    """Where the output is written until the last row is in: ``scored.csv`` → ``scored-partial.csv``."""
    stem, suffix = os.path.splitext(out_path)
    return f"{stem}{_PARTIAL}{suffix or '.csv'}"


def output_root() -> str:
    """The folder that holds each session's scored files (``NOCODE_OUTPUT_DIR``, else the system's temp)."""
    from core.server_settings import OUTPUT_DIR

    return OUTPUT_DIR.value() or os.path.join(tempfile.gettempdir(), "nocode-scored")


def session_folder(session: str, root: str | None = None) -> str:
    """The session's output folder (made if need be); sweeps folders of sessions gone for :data:`KEEP_HOURS`."""
    root = root or output_root()
    os.makedirs(root, exist_ok=True)
    sweep(root)
    folder = os.path.join(root, re.sub(r"[^A-Za-z0-9_-]", "_", session))
    os.makedirs(folder, exist_ok=True)
    return folder


def sweep(root: str, hours: float = KEEP_HOURS, now: float | None = None) -> list[str]:
    """Remove the session folders under ``root`` untouched for ``hours``; the ones removed."""
    now = time.time() if now is None else now
    removed = []
    for entry in os.scandir(root):
        with contextlib.suppress(OSError):
            if entry.is_dir() and now - _newest(entry.path) > hours * 3600:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _newest(folder: str) -> float:
    times = [os.path.getmtime(folder)]
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):
            times.append(entry.stat().st_mtime)
    return max(times)


def keep_latest(folder: str, keep: int = KEEP_PER_SESSION, spare: tuple[str, ...] = ()) -> None:
    """Remove all but the ``keep`` newest files in ``folder`` (``spare``: never removed, e.g. one being written)."""
    entries = sorted(
        (
            e
            for e in os.scandir(folder)
            if e.is_file() and os.path.abspath(e.path) not in {os.path.abspath(s) for s in spare}
        ),
        key=lambda e: e.stat().st_mtime,
        reverse=True,
    )
    for entry in entries[keep:]:
        with contextlib.suppress(OSError):
            os.remove(entry.path)


def output_name(source: str) -> str:
    """``sales.csv`` → ``sales-scored.csv`` (a safe file name)."""
    stem = os.path.splitext(os.path.basename(source))[0] or "predictions"
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "predictions"
    return f"{stem}-scored.csv"


def downloadable(report: StreamReport) -> bool:
    """Whether the scored file is small enough to offer as a download (:data:`DOWNLOAD_LIMIT_MB`)."""
    return report.bytes_written <= DOWNLOAD_LIMIT_MB * 1024 * 1024
