"""Pickers whose options come from the table: bounded, with a search box on wide tables.

Streamlit sends every option of a selectbox or multiselect to the browser. A list
that grows with the table (columns, pairs of columns, values) is cut to
``core.limits.MAX_OPTIONS`` here: above that, a search box comes first and the
picker lists the person's current choice plus the first matches, with a caption
saying how many more there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import streamlit as st

from core.limits import MAX_OPTIONS, shortlist
from ui import state
from ui.text import md_escape


def bounded(options: Sequence, *, key: str, keep: Iterable = (), what: str = "columns") -> list:
    """The options the picker keyed ``key`` may show: all of them when few, else a searched shortlist.

    What the picker holds now (its value in the session) and ``keep`` always stay in the list.
    """
    if len(options) <= MAX_OPTIONS:
        return list(options)
    query = st.text_input(
        f"Find {what}",
        key=f"{key}_search",
        placeholder="part of a name",
        help=f"There are {len(options):,} {what}; the list below shows at most {MAX_OPTIONS:,} at a time.",
    )
    held = st.session_state.get(key)
    current = held if isinstance(held, list) else [held]
    listed = shortlist(options, query, keep=[*current, *keep])
    if listed.note():
        st.caption(md_escape(listed.note(what)))
    return listed.options


def trained_model(trained: list, job, *, key: str):
    """The model a page shows, picked from the run's ``trained`` models: the chosen one (the leaderboard's
    best) first, and the person's pick kept across page visits for this run (Results, Present)."""
    from core.training import best_model  # scikit-learn: loaded once a run exists, not with the first page

    request = job.request
    best = best_model(trained, request.task, request.metric) or trained[0]
    names = [m.name for m in trained]
    chosen = state.kept(key, best.name, token=id(job), allowed=names)
    name = st.selectbox(
        "Model",
        names,
        index=names.index(chosen),
        key=key,
        help="The chosen model (the leaderboard's best) is selected first.",
    )
    state.keep(key, name, token=id(job))
    return next(m for m in trained if m.name == name)
