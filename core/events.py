"""Progress of long work as small, frozen events sent to a plain callable.

Core code never draws anything: it calls ``emit(event)`` with one of these
dataclasses, and whoever started the work decides what to do with them (the
training page queues them and redraws; a script may print them; tests collect
them). The default listener does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of all progress events; ``at`` is a ``time.time()`` stamp."""

    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class TrainingStarted(Event):
    """A run of one or more models began."""

    models: tuple[str, ...]


@dataclass(frozen=True)
class RunQueued(Event):
    """The run waits for a free place on the server (:mod:`core.admission`); sent whenever its place changes.

    ``position`` is its place among the waiting runs (1: next), ``ahead`` the runs ahead of it
    (running + queued) and ``wait_s`` the estimated seconds until it starts.
    """

    position: int
    ahead: int
    wait_s: float


@dataclass(frozen=True)
class ModelStarted(Event):
    """One model began fitting."""

    model: str
    index: int
    total: int


@dataclass(frozen=True)
class EpochEnded(Event):
    """A Keras epoch (or a stage of a staged learner) ended."""

    model: str
    epoch: int  # 1-based
    epochs: int  # planned total
    metrics: dict[str, float]


@dataclass(frozen=True)
class StepEnded(Event):
    """A unit of work inside one model ended (a tree batch, a tuning trial)."""

    model: str
    step: int
    steps: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RowsExplained(StepEnded):
    """A chunk of an explanation ended (``step`` 0: the method is set up, no row done yet).

    ``seconds_left`` is the expected time to the last row, from the pace of the rows
    done so far (before any row: from the estimate); None when nothing is known yet.
    """

    rows: int = 0
    rows_total: int = 0
    seconds_left: float | None = None


@dataclass(frozen=True)
class FoldEnded(Event):
    """One fold of a model's cross-validation ended (the model's own fit came first)."""

    model: str
    fold: int  # 1-based
    folds: int


@dataclass(frozen=True)
class ModelFinished(Event):
    """One model finished; ``scores`` are on the validation split."""

    model: str
    scores: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class ModelFailed(Event):
    """One model failed; the run goes on with the others."""

    model: str
    message: str


@dataclass(frozen=True)
class TrainingStopped(Event):
    """The person pressed Stop; finished models are kept."""

    finished: tuple[str, ...]


@dataclass(frozen=True)
class TrainingFinished(Event):
    """The whole run ended normally."""

    seconds: float


Listener = Callable[[Event], Any]


def ignore(_event: Event) -> None:
    """The default listener: do nothing."""
