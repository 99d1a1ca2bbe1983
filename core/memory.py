"""Giving memory back to the operating system once a session's data is let go.

Dropping the last reference to a large table frees it to the allocators, not
always to the system, so the server's resident memory stays high after a
visitor leaves. Three things held it on the app's server (measured with
``bench/bench_sessions.py`` and a 300 MB CSV, see ARCHITECTURE.md "When a
session ends"):

* reference cycles (tracebacks, fitted pipelines, Streamlit's session objects)
  wait for a full collection, which Streamlit's own post-run collection would
  do but the app switches off (``runner.postScriptGC``, see ``ui/runtime.py``);
* glibc keeps freed heap pages in its arenas (one per thread that allocated);
  ``malloc_trim(0)`` hands them back;
* Arrow's default memory pool in the pyarrow wheels is mimalloc, which kept
  about 230 MB of a 300 MB file's tables after they were freed in the script
  thread that built them (its ``release_unused()`` only purges the calling
  thread's heap). :func:`arrow_on_system_allocator` moves Arrow to the system
  allocator (glibc), whose free pages ``malloc_trim`` returns; reading and
  profiling the 300 MB file took no longer with it.

:func:`release_memory` collects, trims and asks Arrow's pool to give back what
it caches. It holds the interpreter for a moment (a full collection), so it is
called once per ended session, not per rerun.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import sys
from contextlib import suppress

#: Arrow's own setting for its default memory pool ("system", "jemalloc", "mimalloc"); an operator's choice wins.
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
#: Set for every process that may run TensorFlow (an operator's own value wins): each takes GPU memory as it needs
#: it. By default TensorFlow reserves nearly all of a GPU's memory in the first process that uses it, and the next
#: worker (or the app, predicting) gets none (see core/hardware.py).
GPU_ENVIRONMENT = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def arrow_on_system_allocator() -> str:
    """Make Arrow allocate with the system allocator unless :data:`ARROW_POOL_ENV` says otherwise.

    Sets the variable before pyarrow picks its pool (it does on first use) and, if pyarrow
    is loaded already, switches its default pool. Returns the pool's name (idempotent).
    """
    chosen = os.environ.setdefault(ARROW_POOL_ENV, "system")
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and chosen == "system" and pyarrow.default_memory_pool().backend_name != "system":
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return chosen


def share_gpu_memory(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set :data:`GPU_ENVIRONMENT` where this process does not set it: here, or in ``environ`` (a worker's).

    Returns ``environ``, or this process's values of those variables.
    """
    if environ is None:
        return {name: os.environ.setdefault(name, value) for name, value in GPU_ENVIRONMENT.items()}
    for name, value in GPU_ENVIRONMENT.items():
        environ.setdefault(name, os.environ.get(name, value))
    return environ


def release_memory() -> dict[str, bool]:
    """Collect garbage cycles, then return free memory to the operating system.

    Returns which steps ran: ``{"arrow": …, "malloc_trim": …}`` (the collection
    always runs). Safe on any platform: the steps that do not apply are skipped.
    """
    gc.collect()
    return {"arrow": _release_arrow_pool(), "malloc_trim": _malloc_trim()}


def keras_used_here() -> bool:
    """Whether Keras is loaded and this thread has built something with it since its state was last cleared.

    Keras keeps its global state (layer name counters, scopes) per thread; a thread that only
    predicts with a network built elsewhere leaves it empty.
    """
    if "keras" not in sys.modules:  # never import it just to ask
        return False
    from keras.src.backend.common import global_state

    return bool(vars(global_state.GLOBAL_STATE_TRACKER))


def clear_keras(collect: bool = True) -> bool:
    """Free Keras' and TensorFlow's global state, if Keras is loaded; True if it was.

    Measured on this machine (a small dense network fitted 10 times in one process, the fitted
    network dropped each time): RSS grew 16 MB per network with nothing done, 5 MB with
    ``keras.utils.clear_session``, 0.5 MB with this. Three things held it:

    * Keras' own state (layer name counters, scopes): ``keras.utils.clear_session`` drops it, resets
      TensorFlow's default graph and its cached kernels;
    * TensorFlow's gradient registry: tracing a training step registers one gradient function per
      ``tf.custom_gradient`` call under a new name (the optimizer's ``all_reduce`` under the default
      distribution strategy does, and ``swish``), each holding the whole traced graph, and nothing ever
      removes them. They are only used while the step is being traced, so once no trace is under way
      they are forgotten (:func:`_forget_custom_gradients`);
    * a network is a web of cycles (layers, their model, its traced functions): with ``collect``, a
      full collection frees those no longer referenced and :func:`release_memory` hands the pages back
      (about a second with TensorFlow loaded).

    Fitted networks still referenced keep working: they own their variables and traced functions
    (``tests/test_sessions.py`` checks it). The state is shared by every thread of the process: call
    this where no other thread builds, traces or fits a network (a worker running one task at a
    time, at the end of its task).
    """
    keras = sys.modules.get("keras")
    if keras is None:
        return False
    keras.utils.clear_session(free_memory=False)
    _forget_custom_gradients()
    if collect:
        release_memory()
    return True


#: The names under which ``tf.custom_gradient`` registers a traced function's gradients (TensorFlow's own prefix).
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _forget_custom_gradients() -> int:
    """Drop the gradient functions ``tf.custom_gradient`` registered while tracing; how many went."""
    ops = sys.modules.get("tensorflow.python.framework.ops")
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):  # a TensorFlow that keeps them elsewhere: nothing to do here
        return 0
    names = [name for name in list(registry) if str(name).startswith(CUSTOM_GRADIENT_PREFIX)]
    for name in names:
        registry.pop(name, None)
    return len(names)


def _release_arrow_pool() -> bool:
    """Ask Arrow's default memory pool to give back cached blocks, if pyarrow is loaded."""
    pyarrow = sys.modules.get("pyarrow")  # never import it just for this
    if pyarrow is None:
        return False
    with suppress(Exception):  # an old pyarrow without the method, an exotic pool
        pyarrow.default_memory_pool().release_unused()
        return True
    return False


def _malloc_trim() -> bool:
    """glibc's ``malloc_trim(0)``: free heap pages back to the system (Linux with glibc only)."""
    trim = _glibc_malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _glibc_malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim
