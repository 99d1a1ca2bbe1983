"""Admission: how many training runs the server trains at once, and a fair queue for the rest.

Every browser session of one Streamlit server lives in one process, so one
:class:`AdmissionQueue` per process (:func:`server_queue`) sees every run. It admits
:data:`core.server_settings.MAX_RUNS` runs at once (read when the queue is made) and
queues the others first come, first served. A run holds a :class:`Ticket`: while
queued, the ticket knows its :class:`Place` (runs ahead of it, running + queued, and
an estimate of the wait), and leaving the queue (:meth:`Ticket.cancel`) starts
nothing on the cluster. Once admitted, the run keeps its place until its cluster work
has ended (the chosen model's refit and checks included) and then releases it
(:meth:`Ticket.release`, idempotent; the jobs call it in ``finally``). A ticket whose
owner is garbage-collected without releasing it (a job that never ran its
``finally``) is released by a :func:`weakref.finalize`, so an abandoned run never
blocks the queue.

The wait is estimated by simulating the ``limit`` slots: each running run frees
its slot when its remaining estimated seconds have passed (never less than
:data:`MIN_REMAINING_S`, since a run that overran its estimate may end any moment),
then each queued run ahead takes the first slot to free up for its own estimate.
A run's estimate is its own (a training run: its time budget's plan,
:mod:`core.training.budget`); without one, the median duration of the
:data:`RECENT_RUNS` last runs this queue saw end, else :data:`DEFAULT_RUN_SECONDS`.

Standard library only (and :mod:`core.events`): the sidebar's Server box reads the
queue on every page.
"""

from __future__ import annotations

import heapq
import itertools
import statistics
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import events as ev
from core import server_settings
from core.numbers import seconds_words

#: A run's estimate when it brings none and no run has ended yet (the Models page's default budget is a minute).
DEFAULT_RUN_SECONDS = 60.0
#: Durations of this many last runs give the estimate of a run that brings none (their median).
RECENT_RUNS = 20
#: A running run's remaining seconds are never counted below this (it may have overrun its estimate).
MIN_REMAINING_S = 1.0
#: How often a waiting run looks at Stop (seconds); admission itself wakes it at once.
POLL_S = 0.25
#: Why a run that left the queue ended (recorded with the job: "stopped: cancelled while waiting in the queue").
CANCELLED = "cancelled while waiting in the queue"

QUEUED, RUNNING, RELEASED, LEFT = "queued", "running", "released", "left"


@dataclass(frozen=True)
class Place:
    """Where a ticket stands: admitted, or queued behind ``ahead`` runs with an estimated wait."""

    admitted: bool
    #: Runs ahead of it: the running ones and the queued ones before it (0 once admitted).
    ahead: int = 0
    #: Queued runs before it (0: it is next).
    queued_ahead: int = 0
    #: Estimated seconds until it starts (0 once admitted).
    wait_s: float = 0.0

    @property
    def position(self) -> int:
        """Its place among the waiting runs, 1 for the next (0 once admitted)."""
        return 0 if self.admitted else self.queued_ahead + 1


@dataclass(frozen=True)
class QueueStatus:
    """The queue at a glance, for whoever runs the server."""

    running: int
    queued: int
    limit: int


def wait_words(place: Place | None) -> str:
    """A place in words: "2 runs ahead of yours, about 40 s", "Yours is next, about 10 s", "Starting…"."""
    if place is None or place.admitted:
        return "Starting…"
    about = seconds_words(place.wait_s, soon="any moment now")
    if place.queued_ahead == 0:
        return f"Yours is next, {about}"
    return f"{place.ahead} run{'s' if place.ahead != 1 else ''} ahead of yours, {about}"


class Ticket:
    """One run's place in an :class:`AdmissionQueue`: queued, then running, then released (or left)."""

    def __init__(self, queue: AdmissionQueue, number: int, estimate_s: float | None) -> None:
        self._queue = queue
        self.number = number
        #: The run's own estimate of its seconds; None: the queue's typical run.
        self.estimate_s = estimate_s if estimate_s is not None and estimate_s > 0 else None
        self.state = QUEUED
        self.admitted_at: float | None = None

    @property
    def queued(self) -> bool:
        return self.state == QUEUED

    @property
    def admitted(self) -> bool:
        return self.state == RUNNING

    def place(self) -> Place:
        """Where it stands now."""
        return self._queue.place(self)

    def wait(self, should_stop: Callable[[], bool], on_change: Callable[[Place], Any] | None = None) -> bool:
        """Block until admitted (True) or until ``should_stop()`` says to leave the queue (False, it leaves).

        ``on_change(place)`` is called with the first place and whenever the runs ahead change.
        """
        return self._queue._wait(self, should_stop, on_change)

    def cancel(self) -> bool:
        """Leave the queue; True when it was queued (a running ticket is not touched: release it)."""
        return self._queue._leave(self)

    def release(self) -> None:
        """The run's cluster work ended (or it never started): free its slot or leave the queue. Idempotent."""
        self._queue._release(self)


class AdmissionQueue:
    """First come, first served admission of at most ``limit`` runs at once (thread-safe)."""

    def __init__(
        self,
        limit: int | None = None,
        default_seconds: float = DEFAULT_RUN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit is None:
            limit = int(server_settings.MAX_RUNS.value())
        self.limit = max(1, int(limit))
        self.default_seconds = default_seconds
        self._clock = clock
        self._cond = threading.Condition()
        self._running: list[Ticket] = []
        self._waiting: deque[Ticket] = deque()
        self._durations: deque[float] = deque(maxlen=RECENT_RUNS)
        self._numbers = itertools.count(1)

    def join(
        self, estimate_s: float | None = None, owner: object | None = None, instead_of: Ticket | None = None
    ) -> Ticket:
        """A new ticket at the end of the queue (admitted at once when a slot is free).

        ``owner`` (the job): when it is garbage-collected, its ticket is released if it was not.
        ``instead_of``: a ticket of the same person still waiting (a run they replaced before it
        started): the new one takes its place in the line and the old one leaves.
        """
        with self._cond:
            ticket = Ticket(self, next(self._numbers), estimate_s)
            if instead_of is not None and instead_of.state == QUEUED and instead_of in self._waiting:
                self._waiting[self._waiting.index(instead_of)] = ticket
                instead_of.state = LEFT
                self._cond.notify_all()
            else:
                self._waiting.append(ticket)
            self._admit()
        if owner is not None:
            weakref.finalize(owner, ticket.release)
        return ticket

    def status(self) -> QueueStatus:
        with self._cond:
            return QueueStatus(len(self._running), len(self._waiting), self.limit)

    def typical_seconds(self) -> float:
        """The estimate of a run that brings none: the median of the recent runs' durations, else the default."""
        with self._cond:
            return self._typical()

    def place(self, ticket: Ticket) -> Place:
        with self._cond:
            return self._place(ticket)

    # ------------------------------------------------------------------ under the lock

    def _typical(self) -> float:
        return statistics.median(self._durations) if self._durations else self.default_seconds

    def _estimate(self, ticket: Ticket) -> float:
        return ticket.estimate_s if ticket.estimate_s is not None else self._typical()

    def _admit(self) -> None:
        admitted = False
        while self._waiting and len(self._running) < self.limit:
            ticket = self._waiting.popleft()
            ticket.state, ticket.admitted_at = RUNNING, self._clock()
            self._running.append(ticket)
            admitted = True
        if admitted:
            self._cond.notify_all()

    def _place(self, ticket: Ticket) -> Place:
        if ticket.state != QUEUED:
            return Place(admitted=ticket.state == RUNNING)
        now = self._clock()
        slots = [max(MIN_REMAINING_S, self._estimate(t) - (now - (t.admitted_at or now))) for t in self._running]
        slots += [0.0] * max(0, self.limit - len(slots))
        heapq.heapify(slots)
        queued_ahead = 0
        for other in self._waiting:
            if other is ticket:
                break
            queued_ahead += 1
            heapq.heapreplace(slots, slots[0] + self._estimate(other))  # it takes the first slot to free up
        return Place(False, len(self._running) + queued_ahead, queued_ahead, slots[0])

    def _wait(self, ticket: Ticket, should_stop: Callable[[], bool], on_change) -> bool:
        told: int | None = None
        while True:
            with self._cond:
                if ticket.state != QUEUED:
                    return ticket.state == RUNNING
                if should_stop():
                    self._leave_locked(ticket)
                    return False
                place = self._place(ticket)
            if on_change is not None and place.ahead != told:
                told = place.ahead
                on_change(place)  # outside the lock: a listener may take its own
            with self._cond:
                if ticket.state == QUEUED:
                    self._cond.wait(POLL_S)

    def _leave(self, ticket: Ticket) -> bool:
        with self._cond:
            return self._leave_locked(ticket)

    def _leave_locked(self, ticket: Ticket) -> bool:
        if ticket.state != QUEUED:
            return False
        self._waiting.remove(ticket)
        ticket.state = LEFT
        self._cond.notify_all()  # the runs behind it moved up
        return True

    def _release(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket.state == QUEUED:
                self._leave_locked(ticket)
            elif ticket.state == RUNNING:
                self._running.remove(ticket)
                ticket.state = RELEASED
                self._durations.append(max(0.0, self._clock() - (ticket.admitted_at or self._clock())))
                self._admit()
                self._cond.notify_all()


_server: AdmissionQueue | None = None
_server_lock = threading.Lock()


def server_queue() -> AdmissionQueue:
    """The process-wide queue every session's runs join (made at first use, with the server's limit)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = AdmissionQueue()
        return _server


def wait_turn(ticket: Ticket, listen: ev.Listener, should_stop: Callable[[], bool]) -> bool:
    """Wait for ``ticket``'s turn, telling ``listen`` a :class:`core.events.RunQueued` whenever its place changes.

    Returns True once admitted; False when ``should_stop()`` made it leave the queue (nothing started).
    A ticket admitted at once says nothing.
    """

    def changed(place: Place) -> None:
        listen(ev.RunQueued(position=place.position, ahead=place.ahead, wait_s=place.wait_s))

    if ticket.admitted:
        return True
    return ticket.wait(should_stop, changed)


def cancelled_reason(reason: str) -> str:
    """The stop reason of a run that left the queue: :data:`CANCELLED`, with what made it leave unless the person did."""
    if not reason or reason in ("stopped by you", CANCELLED):
        return CANCELLED
    return f"{CANCELLED} ({reason})"
