"""When a browser session ends, its work stops and its data is let go.

What Streamlit 1.67 does on its own: a session whose browser went away (tab
closed, network lost; a reload starts a *new* session) leaves
``Runtime.is_active_session`` and waits in the session storage for
``server.disconnectedSessionTTL`` seconds (120 by default) so a reconnect can
resume it. After that it is only *forgotten*: expired entries stay in the
storage until the next session disconnects, and only then, when the session
object is garbage-collected, does it shut down (its uploaded files and session
state go). Nothing stops the session's worker threads: a training run goes on
for nobody, holding its copy of the data.

So the app watches. :func:`watch` registers the current session (its id) and
each job it starts (a weak reference: the watch never keeps a job or its data
alive, and holds nothing another visitor could reach). A daemon thread asks
``Runtime.is_active_session`` every :data:`CHECK_EVERY_S` seconds; a session not
active for :func:`grace_seconds` has *ended*:

1. each of its jobs still running is stopped with :data:`REASON`, so a training
   run ends at its next safe point and is recorded as
   "stopped: the browser session ended" (its MLflow run ends KILLED);
2. its session state is cleared (Streamlit's ``AppSession``, followed weakly since its
   first run: the object can outlive its end, see :func:`_close_streamlit_session`),
   and Streamlit is asked to close the session now (``Runtime.clear_user_info_for_session``:
   public and thread-safe; for a session that is not connected it marks it as not
   resumable and shuts it down on the event loop: uploaded files, media); its uploaded
   files are also removed directly, in case Streamlit had already forgotten the session;
3. once the stopped jobs' threads have finished (recording included),
   :func:`core.memory.release_memory` collects cycles and returns free memory to
   the operating system.

A session still connected but left alone is *idle* once nobody has started a script run in it
(a click, a page change; a job's polling fragment does not run the script) for
:func:`idle_seconds` (``NOCODE_IDLE_MINUTES``, :data:`core.server_settings.IDLE_MINUTES`) while it
had no running job (a running job keeps its session alive; the idle time counts from its end).
Its data and finished jobs are then freed: the app's keys of its session state are dropped but
for a note (:func:`ui.state.free_idle_session`; widget values stay, the tab is still open), its
uploaded files are removed, and memory is released. The
next time the person clicks, the page says what happened and what to do (``ui/idle_views.py``);
their recorded runs stay in the experiment log.

Jobs never call Streamlit; only this module talks to the runtime.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Why the work of an ended session was stopped (recorded with the run).
REASON = "the browser session ended"
#: The one grace-period setting: how long a session may be disconnected before it ends (seconds).
DEFAULT_GRACE_S = 60.0
#: The environment variable that overrides :data:`DEFAULT_GRACE_S` (tests set a few seconds).
GRACE_ENV = "NOCODE_SESSION_GRACE_S"
#: How often the watch looks at the sessions (seconds; shorter when the grace period is).
CHECK_EVERY_S = 2.0
#: Memory is released at most this often (seconds): a full garbage collection holds every page of every
#: session still for a moment, so sessions that end one after another at the end of a class share one.
RELEASE_EVERY_S = 60.0


class Job(Protocol):
    """What the watch needs from a :class:`core.jobs.BackgroundJob`."""

    def stop(self, reason: str = ...) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def snapshot(self) -> Any: ...


def grace_seconds(ttl: float | None = None) -> float:
    """The grace period: :data:`GRACE_ENV` if set to a number, else :data:`DEFAULT_GRACE_S`.

    It is kept below Streamlit's ``server.disconnectedSessionTTL`` (``ttl``) by two
    checks: Streamlit can only shut down a session it still stores, so the app ends
    a session before Streamlit forgets it.
    """
    try:
        grace = float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S))
    except ValueError:
        grace = DEFAULT_GRACE_S
    if ttl is None:
        from streamlit import config

        ttl = float(config.get_option("server.disconnectedSessionTTL"))
    return max(0.5, min(grace, ttl - 2 * CHECK_EVERY_S))


def idle_seconds(environ: dict[str, str] | None = None) -> float:
    """How long a connected session may go without a script run before its data is freed (seconds)."""
    from core.server_settings import IDLE_MINUTES

    return IDLE_MINUTES.value(environ) * 60.0


@dataclass
class _Watched:
    jobs: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    session: weakref.ref | None = None  # Streamlit's AppSession, whose state is cleared when it ends
    inactive_since: float | None = None
    active_at: float | None = None  # the last script run, or the last look that found a job running
    freed: bool = False  # freed for being idle, and no script run since
    running: bool = False  # a run of the app's script is going: never idle (a slow page is not an idle one)


def _running(job: Job) -> bool:
    return job.snapshot().status in ("created", "running")


class SessionWatch:
    """Ends the sessions that have been inactive for ``grace`` seconds (see the module's docstring).

    ``is_active(session_id)`` says whether a browser is connected; ``on_end(session_id, session)``
    lets the session go (``session``: the object given to :meth:`watch`, if it still exists);
    ``release()`` runs at a later check, once the ended sessions' jobs have finished.
    Holds session ids and weak references only.
    """

    def __init__(
        self,
        is_active: Callable[[str], bool],
        grace: float,
        *,
        every: float | None = None,
        on_end: Callable[[str, Any], None] = lambda session_id, session: None,
        release: Callable[[], Any] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        idle: float | None = None,
        on_idle: Callable[[str, Any], None] = lambda session_id, session: None,
        release_every: float = 0.0,
    ) -> None:
        self._is_active = is_active
        self.grace = grace
        self.idle = idle  # seconds without a script run (nor a running job) before on_idle; None: never
        self._on_idle = on_idle
        self.every = every if every is not None else min(CHECK_EVERY_S, max(grace / 2, 0.05))
        self._on_end = on_end
        self._release = release
        self.release_every = release_every  # seconds between two releases at least
        self._release_due = False
        self._released_at: float | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Watched] = {}
        self._draining: list[weakref.WeakSet] = []
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()

    def watch(self, session_id: str, job: Job | None = None, session: Any = None, running: bool = False) -> None:
        """Follow ``session_id``; with ``job``, stop that job if the session ends.

        ``session`` (kept weakly) is handed to ``on_end`` and ``on_idle``. Every call is a script run
        of the session, so it is not idle; ``running``: a run starts, and the session stays busy until
        :meth:`ran` says it ended.
        """
        with self._lock:
            entry = self._sessions.setdefault(session_id, _Watched())
            entry.active_at, entry.freed = self._clock(), False
            entry.running = entry.running or running
            if job is not None:
                entry.jobs.add(job)
            if session is not None and (entry.session is None or entry.session() is None):
                entry.session = weakref.ref(session)

    def ran(self, session_id: str) -> None:
        """A script run of ``session_id`` ended: its idle time counts from now."""
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is not None:
                entry.active_at, entry.running = self._clock(), False

    def watching(self, session_id: str) -> bool:
        """Whether ``session_id`` is followed (and has its session object, if one was given)."""
        with self._lock:
            entry = self._sessions.get(session_id)
            return entry is not None and (entry.session is None or entry.session() is not None)

    def sessions(self) -> list[str]:
        """The ids of the sessions followed now."""
        with self._lock:
            return list(self._sessions)

    def jobs(self, session_id: str) -> list[Job]:
        """The jobs of ``session_id`` that still exist."""
        with self._lock:
            entry = self._sessions.get(session_id)
            return list(entry.jobs) if entry is not None else []

    def check(self) -> list[str]:
        """One look at every session; returns the ids of those that ended now.

        Memory is released at a later look than the end, so what ``on_end`` set going
        (Streamlit closes the session on its event loop) has happened by then.
        """
        self._release_when_drained()
        now = self._clock()
        ended: list[tuple[str, list[Job], Any]] = []
        idle: list[tuple[str, Any]] = []
        with self._lock:
            for session_id, entry in list(self._sessions.items()):
                if self._is_active(session_id):
                    entry.inactive_since = None
                    if self._idle_now(entry, now):
                        entry.freed = True
                        idle.append((session_id, entry.session() if entry.session is not None else None))
                elif entry.inactive_since is None:
                    entry.inactive_since = now
                elif now - entry.inactive_since >= self.grace:
                    session = entry.session() if entry.session is not None else None
                    ended.append((session_id, list(entry.jobs), session))
                    del self._sessions[session_id]
        for session_id, jobs, session in ended:
            for job in jobs:
                if _running(job):
                    job.stop(REASON)
            self._on_end(session_id, session)
            with self._lock:
                self._draining.append(weakref.WeakSet(jobs))
        for session_id, session in idle:
            self._on_idle(session_id, session)
        if idle:
            self._release()
        return [session_id for session_id, _, _ in ended]

    def _idle_now(self, entry: _Watched, now: float) -> bool:
        """Whether a connected session has just become idle (see the module's docstring)."""
        if self.idle is None or entry.freed:
            return False
        if entry.active_at is None or entry.running or any(_running(job) for job in list(entry.jobs)):
            entry.active_at = now  # a page being drawn or a running job keeps its session alive
            return False
        return now - entry.active_at >= self.idle

    def freed(self, session_id: str) -> bool:
        """Whether ``session_id`` was freed for being idle and has had no script run since."""
        with self._lock:
            entry = self._sessions.get(session_id)
            return entry is not None and entry.freed

    def _release_when_drained(self) -> None:
        """Release memory once every job of the ended sessions has finished (or is gone), at most every
        :attr:`release_every` seconds (sessions drained meanwhile wait for the next release)."""
        now = self._clock()
        with self._lock:
            if self._draining:
                still = [jobs for jobs in self._draining if any(not job.wait(0) for job in list(jobs))]
                self._release_due = self._release_due or len(still) < len(self._draining)
                self._draining = still
            due = self._release_due and (self._released_at is None or now - self._released_at >= self.release_every)
            if due:
                self._release_due, self._released_at = False, now
        if due:
            self._release()

    def start(self) -> SessionWatch:
        """Check every :attr:`every` seconds in a daemon thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="session-watch", daemon=True)
                self._thread.start()
        return self

    def halt(self) -> None:
        """Stop the checking thread (tests)."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._halt.wait(self.every):
            with contextlib.suppress(Exception):  # one bad look must never end the watch
                self.check()


# --------------------------------------------------------------------------- the app's watch


def _streamlit_is_active(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # no server (a script, a test between runs): nothing ends
        return True
    return bool(Runtime.instance().is_active_session(session_id))


def _app_session(session_id: str) -> Any:
    """Streamlit's ``AppSession`` of a connected session (``Runtime.get_app_session``: public, thread-safe)."""
    from streamlit.runtime import Runtime

    return Runtime.instance().get_app_session(session_id) if Runtime.exists() else None


def _close_streamlit_session(session_id: str, session: Any) -> None:
    """Drop the session's data now, and let Streamlit shut it down rather than merely forget it later.

    The session state is cleared first (``SessionState.clear``, what Streamlit's own "clear
    cache" does): the session object itself can outlive its end, e.g. Streamlit's runtime
    loop keeps the last session it served in a local variable until another session connects.
    """
    from streamlit.runtime import Runtime

    if not Runtime.exists() or _streamlit_is_active(session_id):  # reconnected at this very moment
        return
    if session is not None:
        session.session_state.clear()
    runtime = Runtime.instance()
    runtime.clear_user_info_for_session(session_id)  # not connected: closed on the event loop
    runtime.uploaded_file_mgr.remove_session_files(session_id)


def _free_idle_streamlit_session(session_id: str, session: Any) -> None:
    """An idle session's data goes: its data keys are dropped but for a note (``ui.state``), its uploads removed."""
    from streamlit.runtime import Runtime

    from ui import state  # ui.state imports this module: the callback reaches it at call time

    if session is not None:
        state.free_idle_session(session.session_state, idle_seconds() / 60.0)
    if Runtime.exists():
        Runtime.instance().uploaded_file_mgr.remove_session_files(session_id)


def _release_memory() -> None:
    from core.memory import release_memory

    release_memory()


#: The app's one watch (session ids and weak references only; see :class:`SessionWatch`).
WATCH = SessionWatch(
    _streamlit_is_active,
    grace_seconds(),
    on_end=_close_streamlit_session,
    release=_release_memory,
    release_every=RELEASE_EVERY_S,
    idle=idle_seconds(),
    on_idle=_free_idle_streamlit_session,
)


def watch(job: Job | None = None, running: bool = False) -> None:
    """Follow the current browser session (and ``job``, weakly); starts the watch on first use.

    Called at the start of every script run (``app.py``, ``running=True``, and :func:`ran` at its end)
    and by the state setters that keep a job. Does nothing outside a script run.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return
    session = None if WATCH.watching(ctx.session_id) else _app_session(ctx.session_id)
    WATCH.watch(ctx.session_id, job, session, running)
    WATCH.start()


def ran() -> None:
    """The current script run has ended (``app.py``, in ``finally``): the idle time counts from now."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        WATCH.ran(ctx.session_id)
