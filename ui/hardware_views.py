"""Where Keras networks train, on the Models page: the GPU TensorFlow finds on the workers, or the CPU.

TensorFlow is asked on a worker (:func:`core.hardware.on_workers`), never in this process; until it
answers, a small fragment says "checking…" and then the answer, redrawing only itself: a whole-page rerun
at a moment the person did not choose would redraw the forms they are filling in.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core import hardware, registry
from ui.text import md_escape

#: How often the "checking…" line looks for the answer (seconds).
CHECK_EVERY_S = 1.0


def keras_note(picked: Iterable[str]) -> None:
    """When a picked model is a Keras network, where it will train; "checking…" until the workers have said."""
    if not any(registry.get_spec(key).needs_tensorflow for key in picked):
        return
    found = hardware.on_workers()
    if found is not None:
        _say(found)
        return

    @st.fragment(run_every=CHECK_EVERY_S)
    def checking() -> None:
        answer = hardware.on_workers()  # cached once known: later timer runs cost nothing
        if answer is not None:
            _say(answer)
            return
        st.caption(":material/memory: Checking whether TensorFlow finds a GPU where networks train…")

    checking()


def _say(found: hardware.Hardware) -> None:
    icon = ":material/warning:" if found.error else ":material/memory:"
    st.caption(f"{icon} {md_escape(found.sentence())}")
