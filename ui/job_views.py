"""A job's live view on a page: looked at again while it runs, the whole page redrawn once when it ends.

Explanations, word effects, tuning searches and whole-file scoring all follow their job the same way
(:func:`follow`); the Train page and the demo have their own, since they also follow the queue and the
recording after the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.jobs import JobSnapshot


def follow(job: Any, every: float, draw: Callable[[JobSnapshot], None]) -> None:
    """``draw(snapshot)`` in a fragment run every ``every`` seconds while ``job`` runs; once it has ended,
    the whole page reruns once (its result shows) and the looking stops."""
    running = job.snapshot().status == "running"

    @st.fragment(run_every=every if running else None)
    def view() -> None:
        now = job.snapshot()
        if running and now.status != "running":
            st.rerun()
        draw(now)

    view()


def stop_button(job: Any, label: str, key: str, help: str, **kwargs: Any) -> None:
    """The button that stops ``job`` (disabled once asked)."""
    st.button(label, key=key, on_click=job.stop, disabled=job.stopping, help=help, **kwargs)
