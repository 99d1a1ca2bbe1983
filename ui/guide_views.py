"""Guided mode: the sidebar's teaching toggles and each step's note (why it matters, the classic mistake).

The words come from ``core/teaching/guide.toml`` through :func:`core.teaching.guide.step_guide`; this
module only decides whether and where they show.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.teaching.guide import step_guide
from ui import state

#: Marks the sidebar slot of this script run once the toggles are drawn (see :func:`sidebar_toggles`).
_DRAWN = "_teaching_toggles_drawn"


def sidebar_toggles(slot=None) -> None:
    """The sidebar's "Guided mode" and "Predict before you reveal" toggles, kept in ``ui.state``.

    The journey draws its sidebar twice per run into the same ``slot`` (before the page and after it);
    the toggles are drawn once, on the first call, below that slot in the sidebar, so the second
    drawing neither removes them nor draws a widget with the same key again. A new run brings a
    new slot, so they are drawn again on every run.
    """
    if slot is not None:  # the mark goes in the slot's own __dict__: a DeltaGenerator answers any getattr
        if vars(slot).get(_DRAWN):
            return
        vars(slot)[_DRAWN] = True
    st.sidebar.divider()
    _toggle(
        "Guided mode",
        "sidebar_guided",
        state.guided(),
        state.set_guided,
        "Two sentences on every step: why it matters and the classic mistake made there. "
        "Switch off for expert mode, which hides the notes.",
    )
    _toggle(
        "Predict before you reveal (for teachers)",
        "sidebar_reveal",
        state.reveal_on(),
        state.set_reveal,
        "Before the leaderboard and the final test score show, the class guesses which model will win "
        "and what the test score will be; Reveal shows the answer beside the guess.",
    )


def _toggle(label: str, key: str, on: bool, keep: Callable[[bool], None], help_text: str) -> None:
    """A sidebar toggle that starts from the kept choice and hands every change to ``keep``.

    The change is kept by the toggle's callback, which runs before the script: the page drawn
    with it already follows the new choice.
    """
    st.session_state[key] = on  # ui.state keeps the choice; the widget only shows it
    st.sidebar.toggle(label, key=key, help=help_text, on_change=lambda: keep(bool(st.session_state[key])))


def step_note(step_key: str) -> None:
    """The step's two sentences (why it matters, the classic mistake) while guided mode is on."""
    if not state.guided():
        return
    guide = step_guide(step_key)
    # A bordered box rather than an alert: the page's alerts stay the page's own findings and messages.
    # Our own text (core/teaching/guide.toml), never the person's: its glossary links stay Markdown.
    with st.container(border=True, key=f"guide_{step_key}"):
        st.markdown(
            f":material/school: **Why it matters.** {guide.why}\n\n"
            f":material/warning: **Classic mistake:** {guide.mistake}"
        )
