"""Long work in a worker thread owned by one browser session.

A Streamlit click reruns the page and abandons whatever the script was doing,
so training and tuning run in a :class:`BackgroundJob`: the thread only appends
events and results under a lock, the page reads :meth:`BackgroundJob.snapshot`
on a timer, and :meth:`BackgroundJob.stop` asks the work to end at its next safe
point. Threads never call Streamlit. One job belongs to one session (kept in its
session state), so two visitors never see each other's work.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import events as ev

#: work(listener, should_stop, keep) — keep(result) publishes one result.
Work = Callable[[ev.Listener, Callable[[], bool], Callable[[Any], None]], Any]


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state for drawing."""

    status: str  # "created", "running", "finished", "stopped", "failed"
    events: list[ev.Event]
    results: list[Any]
    started_at: float
    finished_at: float | None
    error: str | None


def explain_failure(exc: BaseException) -> str:
    """A one-line account of an unexpected exception, for the person."""
    if isinstance(exc, MemoryError):
        return "Ran out of memory. Try fewer rows, fewer features, or a lighter model."
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {text[:300]}{where}"


class BackgroundJob:
    """Run ``work`` in a daemon thread; collect its events and results."""

    name = "job"

    def __init__(self, work: Work | None = None) -> None:
        self._work_fn = work
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._events: list[ev.Event] = []
        self._results: list[Any] = []
        self._status = "created"
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self.value: Any = None
        self.stop_reason = ""
        self.started_at = 0.0
        self.finished_at: float | None = None

    def start(self):
        """Start the worker thread (once); returns the job."""
        if self._thread is not None:
            return self
        self.started_at = time.time()
        self._status = "running"
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _listen(self, event: ev.Event) -> None:
        with self._lock:
            self._events.append(event)

    def _keep(self, result: Any) -> None:
        with self._lock:
            self._results.append(result)

    def _execute(self) -> Any:
        """Do the work and return its value: here, in this thread (cluster jobs run it elsewhere, :mod:`core.engine`)."""
        if self._work_fn is None:
            raise NotImplementedError("a job made without work must define _execute")
        return self._work_fn(self._listen, self._stop.is_set, self._keep)

    def _run(self) -> None:
        try:
            value = self._execute()
            with self._lock:
                self.value = value
                self._status = "stopped" if self._stop.is_set() else "finished"
        except Exception as exc:  # the work itself broke: report it, never raise in a thread
            with self._lock:
                self._error = explain_failure(exc)
                self._status = "failed"
        finally:
            self.finished_at = time.time()

    def stop(self, reason: str = "stopped by you") -> None:
        """Ask the work to stop at its next safe point; what finished is kept.

        ``reason`` says why in words (the first reason given is kept) and goes
        with the run into the experiment log.
        """
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()

    def outcome(self) -> str:
        """How the work ended, in words: ``finished``, ``stopped: <why>``, ``failed: <error>`` or ``running``."""
        snap = self.snapshot()
        if snap.status == "stopped":
            return f"stopped: {self.stop_reason}"
        if snap.status == "failed":
            return f"failed: {snap.error}"
        return snap.status

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests, scripts); True if it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                self._status, list(self._events), list(self._results), self.started_at, self.finished_at, self._error
            )
