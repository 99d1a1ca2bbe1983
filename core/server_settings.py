"""The settings of a shared server (a classroom's), defined once: name, environment variable, default, meaning.

Whoever runs the app for a class sets these as environment variables before
``streamlit run app.py`` (the README's classroom section lists the commands); a
person using the app never sees them but is told, in words, when one applies
("3 runs ahead of yours", "this run would need about 3.1 GB; each session may
use 2 GB on this server"). Where the work runs and where runs are kept have
their own, standard settings, read where they are used: ``DASK_SCHEDULER_ADDRESS``
(:mod:`core.engine`) and ``MLFLOW_TRACKING_URI`` (:mod:`core.experiment_store`).
The upload limit is Streamlit's own ``server.maxUploadSize``.

Standard library only: the first page reads these before any table is loaded.
A value that is not a positive number falls back to the default, and
:func:`problems` says so for the administrator (the sidebar's Server box shows it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


def _memory_mb() -> float:
    """This machine's memory in megabytes (0 when unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**2
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return 0.0


@dataclass(frozen=True)
class Setting:
    """One server setting: its environment variable, default and meaning."""

    env: str
    default: float
    unit: str
    meaning: str
    #: The values accepted: positive numbers, unless a range is given (both ends included).
    lowest: float | None = None
    highest: float | None = None

    def _accepts(self, number: float) -> bool:
        if self.lowest is None:
            return 0 < number < float("inf")
        return self.lowest <= number <= (self.highest if self.highest is not None else float("inf"))

    def value(self, environ: Mapping[str, str] | None = None) -> float:
        """The setting's value: the environment's if it is accepted (a positive number by default), else the default."""
        raw = (os.environ if environ is None else environ).get(self.env, "").strip()
        try:
            number = float(raw)
        except ValueError:
            return self.default
        return number if self._accepts(number) else self.default

    def problem(self, environ: Mapping[str, str] | None = None) -> str:
        """Why the environment's value is not used, or ''."""
        raw = (os.environ if environ is None else environ).get(self.env, "").strip()
        if not raw:
            return ""
        try:
            number = float(raw)
        except ValueError:
            number = float("nan")
        if self._accepts(number):
            return ""
        wanted = "a positive number" if self.lowest is None else f"a number from {self.lowest:g} to {self.highest:g}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.env}={raw!r} is not {wanted}; using the default, {self.default:g}{unit}."


#: Training runs (and tuning searches) that may run at once on this server; the rest wait in a queue.
MAX_RUNS = Setting(
    "NOCODE_MAX_RUNS",
    2,
    "runs",
    "Training runs that may run at once on this server; later ones wait in a queue with their position.",
)
#: Memory one session's run may need; a run estimated above it is refused with the estimate and a fix.
SESSION_MEMORY_MB = Setting(
    "NOCODE_SESSION_MEMORY_MB",
    4096,
    "MB",
    "Memory one session's training run may need; a run estimated to need more is refused before it starts.",
)
#: Minutes without a click after which a session's data and finished jobs are let go (its runs stay recorded).
IDLE_MINUTES = Setting(
    "NOCODE_IDLE_MINUTES",
    60,
    "minutes",
    "Minutes without a click after which a session's table and finished models are freed (recorded runs stay).",
)
#: Files above this size are not read whole: profiled by a lazy scan, trained on a sample.
BIG_FILE_MB = Setting(
    "NOCODE_BIG_FILE_MB",
    200,
    "MB",
    "Files larger than this are not read whole: profiled by a lazy scan and trained on a sample.",
)

#: How far below the app's own CPU priority the training workers run (Unix niceness): when both want a core,
#: a page rerun gets it first. 0 gives them the app's priority (a server that only trains, say).
WORKER_NICENESS = Setting(
    "NOCODE_WORKER_NICENESS",
    10,
    "",
    "How far below the app's CPU priority the training workers run (niceness 0-19; 0: the same priority).",
    lowest=0,
    highest=19,
)

SETTINGS: tuple[Setting, ...] = (MAX_RUNS, SESSION_MEMORY_MB, IDLE_MINUTES, BIG_FILE_MB, WORKER_NICENESS)


@dataclass(frozen=True)
class FolderSetting:
    """A server setting naming a folder on the server ('' when unset)."""

    env: str
    meaning: str
    #: What happens when the value is not a folder, said after the problem.
    otherwise: str = "it is not used"

    def value(self, environ: Mapping[str, str] | None = None) -> str:
        """The folder, or '' when unset or not an existing folder."""
        raw = (os.environ if environ is None else environ).get(self.env, "").strip()
        return raw if raw and os.path.isdir(raw) else ""

    def problem(self, environ: Mapping[str, str] | None = None) -> str:
        """Why the environment's value is not used, or ''."""
        raw = (os.environ if environ is None else environ).get(self.env, "").strip()
        if not raw or os.path.isdir(raw):
            return ""
        return f"{self.env}={raw!r} is not a folder on this server; {self.otherwise}."


#: A folder on the server whose CSV files people may open by name (big exports need no upload); unset: none.
DATA_DIR = FolderSetting(
    "NOCODE_DATA_DIR",
    "A folder on the server whose CSV files people may open from the Data page (files beyond it are refused).",
    "no server files are offered",
)


#: Where whole files scored on the Predict page are written, a folder per session (:mod:`core.scoring`);
#: unset: the system's temporary folder. With a cluster on other machines it must be a folder they share.
OUTPUT_DIR = FolderSetting(
    "NOCODE_OUTPUT_DIR",
    "A folder where whole files scored on the Predict page are written (one folder per session, kept a day).",
    "scored files go to the system's temporary folder",
)


def machine_memory_mb() -> float:
    """This machine's memory in megabytes (0 when unknown), for the administrator's view."""
    return _memory_mb()


def problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Each setting whose environment value is ignored, in words."""
    texts = [setting.problem(environ) for setting in SETTINGS]
    texts += [folder.problem(environ) for folder in (DATA_DIR, OUTPUT_DIR)]
    return [text for text in texts if text]
