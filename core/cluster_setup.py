"""Starting the embedded Dask cluster, and checking and setting up a cluster named by address.

One Dask configuration (:data:`CLUSTER_CONFIG`) serves the embedded cluster and a classroom server's
scheduler and workers. A cluster at an address must import this project's code: :func:`check_cluster`
says so in words when it does not, and registers :class:`WorkerSetup` on its workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from core.errors import DashboardError
from core.memory import arrow_on_system_allocator, share_gpu_memory
from core.server_settings import WORKER_NICENESS

#: Memory each embedded worker should have at least; fewer workers on a small machine.
MIN_WORKER_MEMORY = 2 * 1024**3
#: The cluster's Dask settings (the embedded one's, and a classroom server's through ``DASK_CONFIG``).
CLUSTER_CONFIG = Path(__file__).resolve().parent / "cluster.yaml"
#: Set in every worker's environment (an operator's own value wins): TensorFlow's C++ log stays quiet.
WORKER_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: The name the app's :class:`WorkerSetup` is registered under on its workers.
SETUP_PLUGIN = "nocode-worker-setup"


class EngineUnavailable(DashboardError):
    """The cluster named by address could not be reached, or the embedded one could not start."""


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


def worker_environment(threads: int) -> dict[str, str]:
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


def start_embedded() -> tuple[Client, LocalCluster]:
    cores = os.cpu_count() or 1
    workers = embedded_size(cores)
    # The settings a classroom server's scheduler and workers read too (explained in core/cluster.yaml).
    settings = {
        **cluster_settings(),
        "distributed.nanny.pre-spawn-environ": worker_environment(max(1, cores // workers)),
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port (8787 may be another cluster's)
            silence_logs=logging.ERROR,
        )
        embedded = Client(cluster, set_as_default=False)
        embedded.register_plugin(WorkerSetup(), name=SETUP_PLUGIN)  # a worker restarted by its nanny gets it too
        return embedded, cluster


class WorkerSetup(WorkerPlugin):
    """What each worker gets from the app on joining its cluster (and again when its nanny restarts it).

    Its CPU priority below the app's process (:func:`lower_priority`), so pages stay quick while runs
    train. The embedded cluster's workers inherit the rest from the app's own process; a ``dask worker``
    started by hand has none of it: Arrow on the system allocator
    (:func:`core.memory.arrow_on_system_allocator`), TensorFlow taking GPU memory as it needs it
    (:func:`core.memory.share_gpu_memory`), :data:`WORKER_ENVIRONMENT`. Registered when the embedded
    cluster starts and when the app connects to one at an address (:func:`check_cluster`); workers that
    join later get it too. An operator's own values win.
    """

    def setup(self, worker: Any) -> None:
        lower_priority()
        for name, value in WORKER_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        share_gpu_memory()
        arrow_on_system_allocator()


def lower_priority(niceness: int | None = None) -> None:
    """Give this process's threads, and so the threads they start, a niceness of at least ``niceness``
    (default: :data:`core.server_settings.WORKER_NICENESS`, read where the worker runs).

    Linux keeps a niceness per thread, so each thread of the process is set (``/proc/self/task``); a
    thread started later (a task's thread, OpenMP's) inherits its starter's. Elsewhere the process as a
    whole. A higher niceness an operator gave the worker is kept; where priorities cannot be set
    (Windows), nothing changes.
    """
    if not hasattr(os, "setpriority"):
        return
    if niceness is None:
        niceness = int(WORKER_NICENESS.value())
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.setpriority(os.PRIO_PROCESS, tid, max(niceness, os.getpriority(os.PRIO_PROCESS, tid)))


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
