"""Where long work runs: a Dask distributed cluster, never the Streamlit process.

Training runs, tuning searches and explanations are tasks on a
``dask.distributed`` cluster, so a page rerun, a visit to another page or another
person's session never slows a fit, and a run can use more than one machine:

* **By default** an embedded :class:`~distributed.LocalCluster` of worker
  processes on this machine, started at the first run (or when the Models page
  asks the workers for a GPU, :mod:`core.hardware`), never at start-up, and
  sized to it (:func:`core.cluster_setup.embedded_size`). A worker runs one task at a time, with
  cores ÷ workers OpenMP/BLAS threads (see :func:`core.cluster_setup.worker_environment`), or
  the idle cores of its machine when its task fits alone there (:func:`core.worker_cores.cores_for_task`).
* **With a scheduler address** set the way Dask users already set it —
  ``DASK_SCHEDULER_ADDRESS``, or ``scheduler-address`` in Dask's configuration
  files — the same tasks run on that cluster. Its scheduler (it unpickles task
  graphs) and its workers need this project's code and requirements
  (``PYTHONPATH`` pointing at the checkout) and, to behave as the embedded
  cluster does, its Dask settings (``DASK_CONFIG`` naming :data:`core.cluster_setup.CLUSTER_CONFIG`).
  On connecting, the app checks that the code is there (:func:`core.cluster_setup.check_cluster`)
  and gives every worker its environment (:class:`core.cluster_setup.WorkerSetup`). The README's
  "Classroom server" section has the commands.

A job's handle in the session talks with its tasks through Dask's own
primitives only (:class:`Channel`): a :class:`distributed.Queue` carries events
and results from the workers, a :class:`distributed.Event` carries Stop to them.
Fitted pipelines come back as task results from the project's own workers;
nothing a person uploads is ever unpickled.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dask
from distributed import CancelledError, Client, Event, Future, KilledWorker, LocalCluster, Queue, fire_and_forget

from core import cluster_setup
from core.cluster_setup import EngineUnavailable
from core.errors import DashboardError
from core.jobs import BackgroundJob
from core.worker_cores import LIGHT, cores_for_task, host_of

#: How often a job's handle looks for news from its tasks (seconds).
POLL_S = 0.1
#: A task asks the scheduler whether Stop was pressed at most this often (seconds).
STOP_CHECK_S = 0.25
#: Seconds to wait for a cluster named by address before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10

_lock = threading.Lock()
_client: Client | None = None
_cluster: LocalCluster | None = None
_background: queue.SimpleQueue[Callable[[], Any]] = queue.SimpleQueue()
_background_thread: threading.Thread | None = None


class WorkerLost(DashboardError):
    """The worker process running a task died (out of memory, killed) before the task ended."""


@dataclass(frozen=True)
class EngineInfo:
    """Where work runs, for the page: embedded or at an address, and how many workers."""

    embedded: bool
    address: str | None
    workers: int
    started: bool

    def describe(self, show_address: bool = True) -> str:
        """One sentence for the person: where their models train (the scheduler's address unless told not to)."""
        where = f"the Dask cluster at {self.address}" if show_address else "the server's Dask cluster"
        if not self.started:
            if self.embedded:
                return "Models train on an embedded Dask cluster on this machine (it starts with the first run)."
            return f"Models train on {where} (connected at the first run)."
        plural = "s" if self.workers != 1 else ""
        if self.embedded:
            return f"Models train on an embedded Dask cluster: {self.workers} worker process{'es' if plural else ''} on this machine."
        if self.workers == 0:
            return (
                f"Models train on {where}, which has no worker connected right now: runs wait until one joins "
                "(the server's administrator starts the workers)."
            )
        return f"Models train on {where}: {self.workers} worker{plural}."


def configured_address() -> str | None:
    """The scheduler address from Dask's configuration (``DASK_SCHEDULER_ADDRESS``); None: embedded."""
    address = dask.config.get("scheduler-address", None) or dask.config.get("scheduler_address", None)
    return str(address) if address else None


def client() -> Client:
    """The process-wide client: started on first use, reused by every session's jobs.

    Raises:
        EngineUnavailable: The configured scheduler cannot be reached (the address is named), or
            cannot run the app's tasks (:func:`core.cluster_setup.check_cluster`).
    """
    global _client, _cluster
    with _lock:
        if _client is not None and _client.status == "running":
            return _client
        address = configured_address()
        try:
            if address:
                connected = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
                try:
                    cluster_setup.check_cluster(connected, address)
                except EngineUnavailable:
                    connected.close()  # the next run connects and checks again, once the cluster is fixed
                    raise
                _client, _cluster = connected, None
            else:
                _client, _cluster = cluster_setup.start_embedded()
        except (OSError, TimeoutError) as exc:
            where = f"the Dask scheduler at {address}" if address else "the embedded Dask cluster"
            raise EngineUnavailable(
                f"Could not start training on {where} ({exc}).",
                hint="Check the address in DASK_SCHEDULER_ADDRESS, or unset it to train on this machine."
                if address
                else "Restart the app; if it keeps happening, see the server's log.",
            ) from exc
        return _client


def info() -> EngineInfo:
    """Where work runs, without starting anything."""
    address = configured_address()
    current = _client
    if current is None or current.status != "running":
        return EngineInfo(address is None, address, 0, False)
    workers = len(current.scheduler_info(n_workers=-1).get("workers", {}))
    return EngineInfo(_cluster is not None, address or current.scheduler.address, workers, True)


def workers_on_this_machine() -> bool:
    """Whether every worker of the running cluster is on this machine, so it reaches what this process
    reaches (its files, a server at a loopback address). The embedded cluster's always are; a cluster by
    address is asked for its workers' addresses. False before the cluster is started, or with no worker.
    """
    current = _client
    if current is None or current.status != "running":
        return False
    if configured_address() is None:
        return True
    workers = current.scheduler_info(n_workers=-1).get("workers", {})
    return bool(workers) and all(host_of(address) in _own_hosts() for address in workers)


@functools.cache
def _own_hosts() -> frozenset[str]:
    """The names and addresses this machine answers to (loopback included); no name lookup (it may hang)."""
    import psutil

    hosts = {"127.0.0.1", "localhost", "::1", socket.gethostname()}
    for addresses in psutil.net_if_addrs().values():
        hosts.update(a.address.split("%")[0] for a in addresses if a.family in (socket.AF_INET, socket.AF_INET6))
    return frozenset(hosts)


def shutdown() -> None:
    """Close the client and, when embedded, the cluster (at exit; tests)."""
    global _client, _cluster
    with _lock:
        client_, cluster = _client, _cluster
        _client = _cluster = None
    with contextlib.suppress(Exception):
        if client_ is not None:
            client_.close()
    with contextlib.suppress(Exception):
        if cluster is not None:
            cluster.close()


atexit.register(shutdown)


def in_background(work: Callable[[], Any]) -> None:
    """Run ``work()`` soon in the engine's one background thread, never waiting for it.

    For what may start the cluster without a page waiting on it (the demo warming the workers up, the
    Models page asking a worker for a GPU): the calls run one after another in a single daemon
    thread, started when needed, which ends once nothing is left. ``work`` reports its own outcome
    (an exception is swallowed: the run that needs the cluster starts it again and says what is wrong).
    """
    global _background_thread
    _background.put(work)
    with _lock:
        if _background_thread is None or not _background_thread.is_alive():
            _background_thread = threading.Thread(target=_run_background, name="engine-background", daemon=True)
            _background_thread.start()


def _run_background() -> None:
    global _background_thread
    while True:
        try:
            work = _background.get(timeout=1.0)
        except queue.Empty:
            with _lock:
                if _background.empty():
                    _background_thread = None
                    return
            continue
        with contextlib.suppress(Exception):
            work()


# --------------------------------------------------------------------------- a job's line to its tasks


class Channel:
    """A job's line to its tasks, by name: a Queue of messages up, an Event for Stop down.

    Pickled into every task of the job (only the name travels). On a worker,
    :meth:`listen` and :meth:`keep` put an event or a result on the queue and
    :meth:`should_stop` reads the Stop event (asking the scheduler at most every
    :data:`STOP_CHECK_S`). In the session, :meth:`drain` takes what arrived and
    :meth:`request_stop` sets Stop.
    """

    def __init__(self, name: str, client: Client | None = None) -> None:
        self.name = name
        self._client = client  # the session's client; on a worker, the worker's own
        self._queue: Queue | None = None
        self._event: Event | None = None
        self._stopped = False
        self._checked = 0.0

    @classmethod
    def new(cls, kind: str, client: Client) -> Channel:
        """A fresh channel for one job, used in the session through ``client``."""
        return cls(f"nocode-{kind}-{uuid.uuid4().hex}", client)

    def __getstate__(self) -> dict:
        return {"name": self.name}

    def __setstate__(self, state: dict) -> None:
        Channel.__init__(self, state["name"])

    def _q(self) -> Queue:
        if self._queue is None:
            self._queue = Queue(f"{self.name}-messages", client=self._client)
        return self._queue

    def _e(self) -> Event:
        if self._event is None:
            self._event = Event(f"{self.name}-stop", client=self._client)
        return self._event

    # on a worker
    def listen(self, event: Any) -> None:
        self._q().put(("event", event))

    def keep(self, result: Any) -> None:
        self._q().put(("result", result))

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._stopped and now - self._checked >= STOP_CHECK_S:
            self._checked = now
            self._stopped = self._e().is_set()
        return self._stopped

    # in the session
    def drain(self) -> list[tuple[str, Any]]:
        """Every message that arrived, in order (none waits)."""
        return list(self._q().get(batch=True))

    def request_stop(self) -> None:
        self._e().set()

    def close(self) -> None:
        """Forget the queue and the Stop event on the scheduler (the job is over)."""
        with contextlib.suppress(Exception):
            if self._queue is not None:
                self._queue.close()
        with contextlib.suppress(Exception):
            self._e().clear()


def run_remote(work: Callable, channel: Channel, *inputs: Any) -> Any:
    """On a worker: run ``work(listen, should_stop, keep, *inputs)`` with the channel's ends (the machine's cores when alone)."""
    try:
        with cores_for_task(alone=True):
            return work(channel.listen, channel.should_stop, channel.keep, *inputs)
    finally:
        with contextlib.suppress(Exception):
            if channel._queue is not None:
                channel._queue.close()


_job_seconds: dict[int, float] = {}


def _nothing(listen: Callable, should_stop: Callable, keep: Callable) -> None:
    keep(None)


def job_seconds() -> float:
    """Seconds a :class:`ClusterJob` costs besides its work: submitting it, its channel, following it
    to its end and bringing its result back, timed once per cluster on empty jobs (about 0.2 s on
    the embedded cluster, more on a distant one). Starts the cluster if need be.

    The shorter of two: the first may wait for a worker still busy or pay a worker's first
    channel. Call it before giving the workers other work (:func:`warm`).
    """
    current = client()
    if id(current) not in _job_seconds:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            ClusterJob(_nothing).start().wait()
            times.append(time.perf_counter() - started)
        _job_seconds[id(current)] = min(times)
    return _job_seconds[id(current)]


def place(value: Any) -> Future:
    """``value`` sent to one worker of the cluster now (started if need be), as a future tasks can take.

    For a task the person is about to start: the upload (a fitted forest can pickle to 100 MB)
    is paid while the page prepares, and the task finds its input already there.
    """
    [future] = client().scatter([value], hash=False)
    return future


def _import(modules: tuple[str, ...]) -> list[str]:
    """On a worker: import ``modules`` (those it cannot import are skipped); the names imported."""
    done = []
    for name in modules:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # a module this worker lacks: the task that needs it will say so
            pass
    return done


def warm(modules: Iterable[str]) -> int:
    """Import ``modules`` on every worker ahead of the task that needs them, without waiting.

    One light task per worker, fire-and-forget, so an explanation started a moment later does
    not pay shap's (about a second) or TensorFlow's (several seconds) import on a worker that
    never needed them. Nothing happens when no cluster is running yet (a run starts it).
    Returns the number of workers asked.
    """
    current = _client
    if current is None or current.status != "running":
        return 0
    names = tuple(modules)
    workers = list(current.scheduler_info(n_workers=-1).get("workers", {}))
    for address in workers:
        future = current.submit(
            _import,
            names,
            workers=[address],
            allow_other_workers=False,
            pure=False,
            key=f"warm-{uuid.uuid4().hex}{LIGHT}",
        )
        fire_and_forget(future)
    return len(workers)


def lost_worker_message(what: str) -> str:
    return (
        f"The worker process running {what} stopped before it finished — most likely it ran out of memory. "
        "Try fewer rows or features, or a lighter model; what finished before is kept."
    )


def follow(
    futures: Iterable[Future],
    channel: Channel,
    on_message: Callable[[str, Any], None],
    stopping: Callable[[], bool],
    started: Callable[[Future], bool] = lambda future: True,
    on_done: Callable[[Future], None] = lambda future: None,
) -> None:
    """Until every future has ended: pass each message on, pass Stop on, report each ended future.

    When ``stopping()`` turns true the channel's Stop is set (running tasks end at their
    next safe point) and futures for which ``started(future)`` is false are cancelled.
    ``on_done`` is called once per future that ended — with a result, an error, or lost
    with a worker — never for one cancelled here, after the messages that came before it.
    """
    pending = list(futures)
    stop_sent = False
    try:
        while pending:
            finished = [f for f in pending if f.done()]
            for kind, item in channel.drain():
                on_message(kind, item)
            for future in finished:
                pending.remove(future)
                on_done(future)
            if stopping() and not stop_sent:
                stop_sent = True
                channel.request_stop()
                for future in [f for f in pending if not started(f)]:
                    future.cancel()
                    pending.remove(future)
            if pending:
                time.sleep(POLL_S)
    finally:
        for future in pending:
            future.cancel()
        channel.close()


def result_of(future: Future, what: str) -> Any:
    """A future's result; a dead worker (or its input lost with one) becomes :class:`WorkerLost`, in words."""
    try:
        return future.result()
    except (KilledWorker, CancelledError) as exc:
        raise WorkerLost(lost_worker_message(what)) from exc


class ClusterJob(BackgroundJob):
    """A :class:`~core.jobs.BackgroundJob` whose work is one task on the cluster.

    The work function (and what it refers to) is pickled to a worker; its events
    and results come back through a :class:`Channel`, and Stop goes to it the same
    way. The handle's thread in the session only follows the task.

    ``inputs`` are passed to the work after the channel's ends,
    ``work(listen, should_stop, keep, *inputs)``; one that is a :class:`~distributed.Future`
    (a model still on the worker that fitted it) reaches the work as its value without
    travelling through this process.
    """

    def __init__(self, work: Callable | None = None, *inputs: Any) -> None:
        super().__init__(work)
        self._inputs = inputs

    def _execute(self) -> Any:
        cluster = client()
        channel = Channel.new(self.name, cluster)
        future = cluster.submit(
            run_remote, self._work_fn, channel, *self._inputs, key=f"{channel.name}-work", pure=False
        )

        def message(kind: str, item: Any) -> None:
            (self._listen if kind == "event" else self._keep)(item)

        try:
            follow([future], channel, message, self._stop.is_set)
            return result_of(future, "this job")
        finally:
            # The handle stays in the session while its result is shown; its inputs (rows, a model, a
            # model's future keeping it on a worker) are let go now.
            self._inputs = ()
