"""The server's queue on the pages: a run's place while it waits, leaving the queue, the sidebar's Server box.

The queue and its words are :mod:`core.admission`; the limits are :mod:`core.server_settings`.
Light to import (standard library only below): the sidebar draws the Server box on every page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import admission, server_settings
from ui.text import md_escape

#: How often a page showing a run that waits in the queue looks again (seconds): its place changes when a
#: run ends, seconds apart; thirty waiting pages each redrawn every second kept the server busy.
QUEUE_EVERY_S = 3.0


def queue_view(job: Any, leave_key: str | None = "train_leave_queue") -> bool:
    """While ``job`` waits for a free place: where it stands and (with ``leave_key``) a Leave the queue button.

    After it left the queue: that nothing was trained. Returns True when it drew either (the run's
    progress has nothing to show yet), False once the run was admitted.
    """
    if getattr(job, "left_queue", False):
        st.info(
            md_escape(f"This run was {job.stop_reason}: nothing was trained and nothing was recorded."),
            icon=":material/logout:",
        )
        return True
    place = job.waiting()
    if place is None:
        return False
    if job.stopping:
        st.info("Leaving the queue…", icon=":material/logout:")
        return True
    st.info(md_escape(f"Waiting for a free place: {admission.wait_words(place)}."), icon=":material/hourglass_top:")
    limit = admission.server_queue().limit
    st.caption(
        f"This server trains {limit} run{'s' if limit != 1 else ''} at once for everyone using it; yours starts "
        "by itself when a place frees up. You can leave this page and come back."
    )
    if leave_key is not None:
        st.button(
            "Leave the queue",
            key=leave_key,
            icon=":material/logout:",
            on_click=job.stop,
            args=(admission.CANCELLED,),
            help="Take this run out of the queue; nothing has started, so nothing is lost or recorded.",
        )
    return True


def waiting_caption(job: Any) -> None:
    """One line while ``job`` (a tuning search) waits for a free place; nothing once it runs."""
    place = job.waiting() if job.snapshot().status == "running" else None
    if place is not None:
        st.caption(md_escape(f"Waiting for a free place on the server: {admission.wait_words(place)}."))


def server_state() -> tuple:
    """What the Server box shows: runs running and waiting, and the settings that are ignored."""
    status = admission.server_queue().status()
    return status.running, status.queued, tuple(server_settings.problems())


def server_box() -> None:
    """The sidebar's Server box for whoever runs the server: runs running and waiting, the limits, setting problems.

    Drawn only when there is something to say: runs on the server, or a setting that is ignored.
    """
    status = admission.server_queue().status()
    problems = server_settings.problems()
    if not problems and not status.running and not status.queued:
        return
    label = f"Server: {status.running} running, {status.queued} waiting"
    with st.expander(label, icon=":material/dns:", expanded=bool(problems)):
        memory = server_settings.SESSION_MEMORY_MB.value()
        st.caption(
            f"At most {status.limit} training run{'s' if status.limit != 1 else ''} at once "
            f"({server_settings.MAX_RUNS.env}); each session's run may need {memory:,.0f} MB "
            f"({server_settings.SESSION_MEMORY_MB.env})."
        )
        for problem in problems:
            st.warning(md_escape(problem), icon=":material/warning:")
