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
* Arrow's memory pool (mimalloc in the pyarrow wheels) keeps freed blocks
  cached; ``release_unused()`` hands them back.

:func:`release_memory` does all three. It holds the interpreter for a moment
(a full collection), so it is called once per ended session, not per rerun.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from contextlib import suppress


def release_memory() -> dict[str, bool]:
    """Collect garbage cycles, then return free memory to the operating system.

    Returns which steps ran: ``{"arrow": …, "malloc_trim": …}`` (the collection
    always runs). Safe on any platform: the steps that do not apply are skipped.
    """
    gc.collect()
    return {"arrow": _release_arrow_pool(), "malloc_trim": _malloc_trim()}


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
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return False
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
