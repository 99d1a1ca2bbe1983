"""What a person sees after their idle session's data was freed (``ui/sessions.py``)."""

from __future__ import annotations

import streamlit as st

from ui import state


def idle_message(minutes: float) -> str:
    """What happened and what to do, in words (``minutes``: the server's idle limit)."""
    if minutes >= 1:
        took = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    else:
        seconds = max(1, round(minutes * 60))
        took = f"{seconds} second" + ("" if seconds == 1 else "s")
    return (
        f"This session was idle for {took}, so its table and models were freed for others on this server. "
        "Your recorded runs are on the Experiments page: restore one, or load the data again."
    )


def show_idle_note() -> None:
    """Say once, at the top of the page, that this session's data was freed (nothing when it was not)."""
    minutes = state.take_idle_note()
    if minutes is None:
        return
    st.warning(idle_message(minutes), icon=":material/bedtime:")
    st.page_link("pages/experiments.py", label="Open the Experiments page", icon=":material/science:")
