"""On a worker, around a fit: how many cores it may use, and Keras' state freed after it.

A fit that is the only one of its run and finds no other fit on its machine gets the cores idle there,
as a plain script would use them (:func:`cores_for_task`); otherwise the worker's share. Every task that
fits runs inside :func:`cores_for_task`, so it is also where a worker frees Keras' global state.
"""

from __future__ import annotations

import contextlib
import os
import time

from core import memory

#: Ends the key of a task too light to share cores with (a run's baseline, the guard checks).
LIGHT = "-light"
#: How long a fit that may take every core first looks at how busy its machine is (seconds).
IDLE_SAMPLE_S = 0.05


def host_of(address: str) -> str:
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
    host = host_of(address)
    beside = [
        key
        for worker, keys in processing.items()
        if host_of(worker) == host
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
    fit that built a Keras network frees Keras' global state (:func:`after_task`): every task that
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
        after_task()


def after_task() -> None:
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
