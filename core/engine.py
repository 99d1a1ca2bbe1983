"""Where long work runs: a Dask distributed cluster, never the Streamlit process.

Training runs, tuning searches and explanations are tasks on a
``dask.distributed`` cluster, so a page rerun, a visit to another page or another
person's session never slows a fit, and a run can use more than one machine:

* **By default** an embedded :class:`~distributed.LocalCluster` of worker
  processes on this machine, started at the first run (or when the Models page
  asks the workers for a GPU, :mod:`core.hardware`), never at start-up, and
  sized to it (:func:`embedded_size`). A worker runs one task at a time, with
  cores ÷ workers OpenMP/BLAS threads (see :func:`_worker_environment`), or
  the idle cores of its machine when its task fits alone there (:func:`cores_for_task`).
* **With a scheduler address** set the way Dask users already set it —
  ``DASK_SCHEDULER_ADDRESS``, or ``scheduler-address`` in Dask's configuration
  files — the same tasks run on that cluster. Its scheduler (it unpickles task
  graphs) and its workers need this project's code and requirements
  (``PYTHONPATH`` pointing at the checkout) and, to behave as the embedded
  cluster does, its Dask settings (``DASK_CONFIG`` naming :data:`CLUSTER_CONFIG`).
  On connecting, the app checks that the code is there (:func:`check_cluster`)
  and gives every worker its environment (:class:`WorkerSetup`). The README's
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
import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import CancelledError, Client, Event, Future, KilledWorker, LocalCluster, Queue, fire_and_forget
from distributed.diagnostics.plugin import WorkerPlugin

from core import memory
from core.errors import DashboardError
from core.jobs import BackgroundJob
from core.memory import arrow_on_system_allocator, share_gpu_memory

#: How often a job's handle looks for news from its tasks (seconds).
POLL_S = 0.1
#: A task asks the scheduler whether Stop was pressed at most this often (seconds).
STOP_CHECK_S = 0.25
#: Memory each embedded worker should have at least; fewer workers on a small machine.
MIN_WORKER_MEMORY = 2 * 1024**3
#: Seconds to wait for a cluster named by address before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10
#: Ends the key of a task too light to share cores with (a run's baseline, the guard checks).
LIGHT = "-light"
#: How long a fit that may take every core first looks at how busy its machine is (seconds).
IDLE_SAMPLE_S = 0.05
#: The cluster's Dask settings (the embedded one's, and a classroom server's through ``DASK_CONFIG``).
CLUSTER_CONFIG = Path(__file__).resolve().parent / "cluster.yaml"
#: Set in every worker's environment (an operator's own value wins): TensorFlow's C++ log stays quiet.
WORKER_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: The name the app's :class:`WorkerSetup` is registered under on a cluster at an address.
SETUP_PLUGIN = "nocode-worker-setup"

_lock = threading.Lock()
_client: Client | None = None
_cluster: LocalCluster | None = None


class WorkerLost(DashboardError):
    """The worker process running a task died (out of memory, killed) before the task ended."""


class EngineUnavailable(DashboardError):
    """The cluster named by address could not be reached, or the embedded one could not start."""


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


def embedded_size(cores: int | None = None, memory: int | None = None) -> int:
    """Worker processes of the embedded cluster: one per core, fewer when memory is short (at least one)."""
    import psutil

    cores = cores or os.cpu_count() or 1
    memory = memory if memory is not None else psutil.virtual_memory().total
    return max(1, min(cores, memory // MIN_WORKER_MEMORY))


def cluster_settings(path: Path = CLUSTER_CONFIG) -> dict[str, Any]:
    """The Dask settings in :data:`CLUSTER_CONFIG`, as dotted keys for ``dask.config.set``.

    A nested mapping given to ``dask.config.set`` would replace Dask's whole ``distributed``
    section; dotted keys change only the settings named.
    """

    def flat(tree: dict, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    settings: dict[str, Any] = {}
    for tree in dask.config.collect_yaml([str(path)]):
        settings.update(flat(tree))
    return settings


def _worker_environment(threads: int) -> dict[str, str]:
    """Environment of embedded workers: Dask's defaults, with ``threads`` OpenMP/BLAS threads per task.

    The workers share this machine's cores: one thread per core in all. More threads than
    cores made OpenMP models (histogram gradient boosting, LightGBM) spin-wait on each other:
    a boosting fit beside another model's took 8-12 times its time alone on 2 cores, while one
    thread is as fast as two on tables of a few thousand rows (``bench/bench_budget.py``).
    """
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        environ[name] = str(threads)
    environ.update(WORKER_ENVIRONMENT)
    # GPUs stay visible (nothing sets CUDA_VISIBLE_DEVICES); workers share one by taking memory as needed.
    return share_gpu_memory(environ)


def _host(address: str) -> str:
    """The machine of a worker address (``tcp://10.0.0.5:40123`` → ``10.0.0.5``)."""
    return address.split("://")[-1].rsplit(":", 1)[0]


def task_threads(
    cores: int, own: str, address: str, processing: dict, alone: bool, idle: float | None = None
) -> int | None:
    """OpenMP/BLAS threads for the task ``own`` running on the worker at ``address``; None: the worker's default.

    A task that is the only fit of its run (``alone``) and finds no other fit running on its
    machine (``processing``: the scheduler's worker address → task keys; :data:`LIGHT` tasks do not
    count) gets the cores that are idle there (``idle``, all ``cores`` when unknown), as a plain
    script would use them. Otherwise it keeps the worker's share (cores ÷ workers): two OpenMP fits
    that each take every core spin-wait on each other, and so does one beside other people's work.
    """
    if not alone:
        return None
    host = _host(address)
    beside = [
        key
        for worker, keys in processing.items()
        if _host(worker) == host
        for key in keys
        if str(key) != own and not str(key).endswith(LIGHT)
    ]
    if beside:
        return None
    granted = cores if idle is None else min(cores, int(idle + 0.5))
    return granted if granted > 1 else None


def idle_cores(cores: int) -> float:
    """How many of this machine's cores other people's work leaves free, over :data:`IDLE_SAMPLE_S`.

    The worker's parent (the app's own process, for the embedded cluster) does not count: the page
    that has just sent the run is still drawing when its fit starts.
    """
    import psutil

    parent = psutil.Process(os.getppid())
    parent.cpu_percent(None)
    psutil.cpu_percent(None)
    time.sleep(IDLE_SAMPLE_S)
    busy = psutil.cpu_percent(None) / 100.0 * cores - parent.cpu_percent(None) / 100.0
    return max(0.0, cores - busy)


def _worker_view() -> tuple[str, str, dict]:
    """On a worker: the running task's key, the worker's address and what every worker is processing."""
    from distributed import get_client, get_worker

    worker = get_worker()
    return str(worker.get_current_task()), worker.address, get_client().processing()


@contextlib.contextmanager
def cores_for_task(alone: bool):
    """On a worker, around a fit: the idle cores of its machine when it fits alone there (:func:`task_threads`).

    Decided once, when the fit starts; a fit started later beside it keeps its share. At its end, a
    fit that built a Keras network frees Keras' global state (:func:`_after_task`): every task that
    fits (training, refit, tuning, explanations) runs inside this, so that is the one place. Outside a
    worker (scripts, tests calling the work directly) nothing changes.
    """
    from threadpoolctl import threadpool_limits

    threads = None
    if alone:
        try:
            own, address, processing = _worker_view()
            cores = os.cpu_count() or 1
            if task_threads(cores, own, address, processing, alone) is not None:  # worth looking at the load
                threads = task_threads(cores, own, address, processing, alone, idle_cores(cores))
        except Exception:  # not on a worker, or the scheduler did not answer: the worker's default
            threads = None
    try:
        if threads is None:
            yield
        else:
            with threadpool_limits(limits=threads):
                yield
    finally:
        _after_task()


def _after_task() -> None:
    """On a worker, at the end of a task that built a Keras network: free Keras' and TensorFlow's global state.

    Without it a worker grew by tens of MB per network it trained (``core.memory.clear_keras`` says what
    held it). Only when no other task runs on the worker (the embedded workers run one at a time): the
    state is shared by the process's threads, and clearing it while another network is traced would
    break that fit. Scripts and tests calling the work outside a worker keep their process as it is.
    """
    if not memory.keras_used_here():
        return
    try:
        from distributed import get_worker

        alone = get_worker().state.executing_count <= 1
    except ValueError:  # not on a worker
        return
    if alone:
        memory.clear_keras()


def _start_embedded() -> tuple[Client, LocalCluster]:
    cores = os.cpu_count() or 1
    workers = embedded_size(cores)
    # The settings a classroom server's scheduler and workers read too (explained in core/cluster.yaml).
    settings = {
        **cluster_settings(),
        "distributed.nanny.pre-spawn-environ": _worker_environment(max(1, cores // workers)),
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port (8787 may be another cluster's)
            silence_logs=logging.ERROR,
        )
        return Client(cluster, set_as_default=False), cluster


class WorkerSetup(WorkerPlugin):
    """What each worker of a cluster at an address gets from the app on joining it.

    The embedded cluster's workers inherit it from the app's own process: Arrow on the system
    allocator (:func:`core.memory.arrow_on_system_allocator`), TensorFlow taking GPU memory as it
    needs it (:func:`core.memory.share_gpu_memory`), :data:`WORKER_ENVIRONMENT`. A ``dask worker``
    started by hand has none of it. Registered when the app connects (:func:`check_cluster`);
    workers that join later get it too. An operator's own values win.
    """

    def setup(self, worker: Any) -> None:
        for name, value in WORKER_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        share_gpu_memory()
        arrow_on_system_allocator()


def _code_version() -> str:
    """On the scheduler or a worker: the version of this app's code it imports."""
    import core

    return core.__version__


def check_cluster(current: Client, address: str) -> None:
    """Check that the cluster at ``address`` can run the app's tasks; set its workers up (:class:`WorkerSetup`).

    The scheduler unpickles every task graph and the workers every task, so both must import
    this project's code: without it the scheduler refuses each task ("Error during deserialization
    of the task graph") and a worker dies at its first task. Said once, in words, at connection.

    Raises:
        EngineUnavailable: The scheduler or a worker lacks the code, or runs another version of it.
    """
    import core

    hint = (
        "Start the Dask scheduler and workers from the app's folder with PYTHONPATH set to it and the same "
        "requirements installed (the README's 'Classroom server' section has the commands)."
    )
    try:
        versions = {"scheduler": current.run_on_scheduler(_code_version)}
        current.register_plugin(WorkerSetup(), name=SETUP_PLUGIN)
        versions.update(current.run(_code_version))
    except Exception as exc:  # ModuleNotFoundError from the far side, wrapped or not
        raise EngineUnavailable(
            f"The Dask cluster at {address} cannot run this app's work: {_first_line(exc)}.", hint=hint
        ) from exc
    other = sorted(where for where, version in versions.items() if version != core.__version__)
    if other:
        raise EngineUnavailable(
            f"The Dask cluster at {address} runs another version of this app's code than the app "
            f"({', '.join(other)}: {versions[other[0]]}; the app: {core.__version__}).",
            hint=hint,
        )


def _first_line(exc: BaseException) -> str:
    """An error in one line; a worker's error comes as a plain Exception whose text names the real one."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    if type(exc) is Exception and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def client() -> Client:
    """The process-wide client: started on first use, reused by every session's jobs.

    Raises:
        EngineUnavailable: The configured scheduler cannot be reached (the address is named), or
            cannot run the app's tasks (:func:`check_cluster`).
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
                    check_cluster(connected, address)
                except EngineUnavailable:
                    connected.close()  # the next run connects and checks again, once the cluster is fixed
                    raise
                _client, _cluster = connected, None
            else:
                _client, _cluster = _start_embedded()
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
