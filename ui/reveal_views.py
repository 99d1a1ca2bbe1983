"""Predict before you reveal: the class guesses before a result shows, then sees it beside its guess.

While the teacher's toggle (``ui.state.reveal_on``) is on, :func:`gate` asks a question in place of
something the page would show (the leaderboard, the final test score) and returns ``False`` until
Reveal is pressed; the guess is kept in ``ui.state`` under the gate's key, so the answer stays
revealed for the session. Keys carry the training job's id, so a new run asks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import streamlit as st

from ui import state
from ui.text import md_escape, md_label


def _widget_key(key: str) -> str:
    return "reveal_" + "".join(c if c.isalnum() else "_" for c in key)


def _ask(guess_key: str, question: str, kind: Literal["choice", "number"], options: Sequence[str] | None) -> None:
    """The question's input, its value kept under ``guess_key`` (``None`` until the class answers)."""
    if kind == "choice":
        st.selectbox(
            md_label(question), list(options or []), index=None, placeholder="The class's guess", key=guess_key
        )
    else:
        st.number_input(md_label(question), value=None, format="%.4f", key=guess_key)


def _said(value: object) -> str:
    """The class's answer as text ("" for none); a number as it was typed, without trailing zeros."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def winner_gate(job) -> bool:
    """The leaderboard's gate, one for every page that would name the winner (Train, Results, Present).

    Revealed on one of them, it is revealed on all: the class guesses once per run.
    """
    names = [run.name for run in job.request.models]
    return gate(f"winner_{id(job)}", "Which model will win?", kind="choice", options=names)


def gate(key: str, question: str, *, kind: Literal["choice", "number"], options: Sequence[str] | None = None) -> bool:
    """Whether the caller may draw what ``key`` hides; while not, ask ``question`` and offer Reveal.

    Args:
        key: what is hidden, unique per thing and per run (include the job's id: a new run asks again).
        question: asked of the class ("Which model will win?").
        kind: ``"choice"`` (a selectbox of ``options``) or ``"number"`` (a number input).
        options: the choices for ``kind="choice"``.

    Returns:
        ``True`` when the toggle is off or the answer was revealed (the guess is then shown first),
        ``False`` while the class is still guessing: the caller does not draw the hidden thing.
    """
    if not state.reveal_on():
        return True
    guessed = state.guess(key)
    if guessed is None:
        widget = _widget_key(key)
        with st.container(border=True):
            st.markdown(":material/quiz: **Predict before you reveal**")
            _ask(f"{widget}_guess", question, kind, options)
            st.button(  # kept by the callback, before the rerun draws: the question is gone when the answer shows
                "Reveal",
                key=f"{widget}_reveal",
                icon=":material/visibility:",
                type="primary",
                on_click=lambda: state.set_guess(key, _said(st.session_state.get(f"{widget}_guess"))),
            )
        return False
    said = f"Your class guessed {guessed}." if guessed else "Your class made no guess."
    st.info(md_escape(f"{question} {said}"), icon=":material/quiz:")
    return True
