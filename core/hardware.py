"""Which hardware Keras networks train on: the GPUs TensorFlow finds on the workers, or the CPU.

Networks train on the Dask workers (:mod:`core.engine`), so that is where TensorFlow is asked,
and where it is loaded anyway to train them; the app's own process never imports it to draw a
page (seconds and about 700 MB). :func:`on_workers` asks once per process and cluster: one light
task (keyed ``-light``, so it never counts as a fit beside another) runs :func:`detect` on a
worker, from a background thread, and the page shows "checking…" until the answer is there.

:func:`detect` takes TensorFlow's calls as arguments, so tests give it any device list without
TensorFlow. Nothing in the app hides a GPU: it never sets ``CUDA_VISIBLE_DEVICES``, workers
inherit the app's environment, and :class:`core.keras_net.KerasNetwork` leaves placement to
TensorFlow, which runs a network on the first GPU it finds; the workers and the app share a GPU's
memory (:func:`core.memory.share_gpu_memory`). The Linux x86_64 requirements install
``tensorflow-cpu``, which finds none: :meth:`Hardware.sentence` says how to install the GPU build.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Seconds before a check that failed (no cluster, a worker lost) is tried again.
RETRY_S = 60.0
#: Seconds a check waits for its task (a worker busy with a long fit delays it).
CHECK_TIMEOUT_S = 600.0
#: How to get GPU support, by the platform the workers run on.
GPU_HINTS = {
    "linux": "For an NVIDIA GPU, install tensorflow[and-cuda] (the same version) instead of tensorflow-cpu and "
    "restart the app.",
    "darwin": "For the Mac's GPU, install tensorflow-metal beside tensorflow and restart the app.",
    "win32": "On Windows, TensorFlow uses an NVIDIA GPU only inside WSL2, with tensorflow[and-cuda] installed there.",
}
#: The pip names TensorFlow is installed under, the CPU-only one first.
TENSORFLOW_PACKAGES = ("tensorflow-cpu", "tensorflow", "tensorflow-macos", "tensorflow-intel")


@dataclass(frozen=True)
class Gpu:
    """One GPU TensorFlow sees."""

    device: str  # TensorFlow's name for it, "/physical_device:GPU:0"
    model: str = ""  # what its driver calls it, "NVIDIA A100-SXM4-40GB" ("" when TensorFlow does not say)
    compute_capability: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return self.model or self.device


@dataclass(frozen=True)
class Hardware:
    """What TensorFlow found where networks train, and where they will train, in a sentence."""

    gpus: tuple[Gpu, ...]
    cuda_build: bool  # TensorFlow built with CUDA (tensorflow-cpu is not)
    cores: int  # CPU cores of the machine asked
    platform: str = "linux"  # sys.platform there
    package: str = ""  # the TensorFlow package and version, "tensorflow-cpu 2.21.0" ("" when unknown)
    error: str | None = None  # why TensorFlow could not be asked

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)

    @property
    def cpu_only_build(self) -> bool:
        """TensorFlow can use no GPU as installed (tensorflow-cpu, or a build without CUDA and no GPU plugin)."""
        return self.error is None and not self.cuda_build and not self.gpus

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(gpu.label for gpu in self.gpus)

    def sentence(self) -> str:
        """Where Keras networks train, for the person."""
        if self.error is not None:
            return (
                f"Could not check for a GPU ({self.error}). Keras networks train on the GPU if TensorFlow finds "
                "one there, else on the CPU."
            )
        if len(self.gpus) == 1:
            return f"Keras networks train on the GPU: {self.names[0]}."
        if self.gpus:
            return (
                f"Keras networks train on the GPU: {self.names[0]} (TensorFlow found {len(self.gpus)} GPUs: "
                f"{', '.join(self.names)}; a network uses the first)."
            )
        cpu = f"Keras networks train on the CPU ({self.cores} core{'s' if self.cores != 1 else ''})."
        if self.cpu_only_build:
            build = f" ({self.package})" if self.package else ""
            hint = GPU_HINTS.get(self.platform, "For a GPU, install TensorFlow's GPU build.")
            return f"This TensorFlow is the CPU-only build{build}: {cpu} {hint}"
        return f"No GPU found by TensorFlow: {cpu}"


def detect(
    list_gpus: Callable[[], Sequence[Any]] | None = None,
    details: Callable[[Any], Mapping[str, Any]] | None = None,
    built_with_cuda: Callable[[], bool] | None = None,
    cores: int | None = None,
) -> Hardware:
    """Ask TensorFlow, in this process, which GPUs it sees and whether it was built for them.

    By default it imports TensorFlow and calls ``tf.config.list_physical_devices("GPU")``,
    ``tf.config.experimental.get_device_details`` and ``tf.test.is_built_with_cuda``; pass
    stand-ins to ask without it. The app runs this on a worker (:func:`on_workers`).
    """
    package = ""
    if list_gpus is None or details is None or built_with_cuda is None:
        try:
            import tensorflow as tf
        except Exception as exc:  # no TensorFlow, or one that cannot load here: networks cannot train
            return Hardware((), False, cores or os.cpu_count() or 1, sys.platform, error=f"{type(exc).__name__}: {exc}")
        list_gpus = list_gpus or (lambda: tf.config.list_physical_devices("GPU"))
        details = details or tf.config.experimental.get_device_details
        built_with_cuda = built_with_cuda or tf.test.is_built_with_cuda
        package = _package()
    gpus = []
    for device in list_gpus():
        try:
            info = dict(details(device) or {})
        except Exception:  # details are optional: the device is still there
            info = {}
        capability = info.get("compute_capability")
        gpus.append(
            Gpu(
                str(getattr(device, "name", device)),
                str(info.get("device_name") or ""),
                (int(capability[0]), int(capability[1])) if capability else None,
            )
        )
    return Hardware(tuple(gpus), bool(built_with_cuda()), cores or os.cpu_count() or 1, sys.platform, package)


def _package() -> str:
    from importlib import metadata

    for name in TENSORFLOW_PACKAGES:
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return ""


# --------------------------------------------------------------------------- asked on the workers, once


def ask_a_worker() -> Hardware:
    """:func:`detect` run on one of the cluster's workers (the cluster starts if need be)."""
    from core import engine, worker_cores

    future = engine.client().submit(detect, key=f"hardware-{uuid.uuid4().hex}{worker_cores.LIGHT}", pure=False)
    return future.result(timeout=CHECK_TIMEOUT_S)


_lock = threading.Lock()
_known: dict[str | None, tuple[Hardware, float]] = {}  # cluster address (None: embedded) -> answer, when
_asking: set[str | None] = set()


def on_workers(ask: Callable[[], Hardware] = ask_a_worker) -> Hardware | None:
    """What TensorFlow finds where networks train; None while it is being asked (this never waits).

    The first call for the configured cluster (:func:`core.engine.configured_address`) starts
    ``ask`` in the engine's background thread (:func:`core.engine.in_background`); later calls get its answer, kept for the process (hardware
    is the same for every visitor). A check that failed answers with its error and is asked
    again after :data:`RETRY_S`.
    """
    from core import engine

    where = engine.configured_address()
    with _lock:
        known = _known.get(where)
        if known is not None and (known[0].error is None or time.monotonic() - known[1] < RETRY_S):
            return known[0]
        if where not in _asking:
            _asking.add(where)
            engine.in_background(lambda: _ask(where, ask) if ask is not ask_a_worker else _ask_soon(where))
    return None


def _ask_soon(where: str | None) -> None:
    """:func:`ask_a_worker` without waiting for the answer: the engine's background thread is shared."""
    from core import engine, worker_cores

    try:
        future = engine.client().submit(detect, key=f"hardware-{uuid.uuid4().hex}{worker_cores.LIGHT}", pure=False)
    except Exception as exc:
        _ask(where, _raise(exc))
        return
    future.add_done_callback(lambda done: _ask(where, done.result))


def _raise(exc: Exception) -> Callable[[], Hardware]:
    def ask() -> Hardware:
        raise exc

    return ask


def _ask(where: str | None, ask: Callable[[], Hardware]) -> None:
    try:
        found = ask()
    except Exception as exc:  # no cluster, a worker lost: said on the page, asked again later
        text = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        found = Hardware((), False, os.cpu_count() or 1, sys.platform, error=text.rstrip("."))
    with _lock:
        _known[where] = (found, time.monotonic())
        _asking.discard(where)


def forget() -> None:
    """Forget what was found (tests; a check still running keeps its answer)."""
    with _lock:
        _known.clear()
