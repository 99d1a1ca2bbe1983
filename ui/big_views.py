"""Files bigger than memory in the app: read lazily, trained on a sample drawn for the target, said on every page.

The reading is :mod:`core.loading.lazy` (polars, loaded when a big file is read); the listing of the
server's data folder, the session's scratch folder and the memory figures are :mod:`core.big_files`
(standard library: the Data page's first run draws them).
"""

from __future__ import annotations

import os

import streamlit as st

from core import server_settings
from core.big_files import size_words
from core.errors import DashboardError
from core.load_options import LoadOptions
from ui import state
from ui.text import md_escape, short

#: Workbooks are read whole (openpyxl), whatever their size (core.loading.excel.EXCEL_SUFFIXES, without pandas).
_EXCEL = (".xlsx", ".xlsm")


def is_big(size_bytes: int, file_name: str) -> bool:
    """Whether a file is read lazily: a text file above the server's big-file limit (Excel is read whole)."""
    if file_name.lower().endswith(_EXCEL):
        return False
    return size_bytes > server_settings.BIG_FILE_MB.value() * 1024 * 1024


def read_big(path: str, name: str, options: LoadOptions, src: state.Source) -> bool:
    """Scan the file at ``path`` lazily and make its sample the dataset (or hold it while work runs)."""
    from core.loading.lazy import open_big  # polars loads with the first big file, not with the first page

    size = os.path.getsize(path) if os.path.exists(path) else 0
    with st.spinner(
        f"Reading {md_escape(short(name, 60))} ({size_words(size)}) lazily: counting every row and its missing "
        "cells, then drawing a seeded sample…"
    ):
        try:
            ds = open_big(
                path,
                name,
                options,
                scratch=state.scratch(),
                memory_mb=server_settings.SESSION_MEMORY_MB.value(),
            )
        except DashboardError as err:
            state.set_load_error(src.file_id, err.user_message)
            return False
    return state.offer_dataset(ds, None, src, options)


def ensure_training_sample() -> None:
    """Once a classification target is chosen on a big file, train on a sample stratified by it.

    Runs at the top of every page (from the journey's sidebar): whichever way the target was set (the
    Target page, the demo, a project file, a restored run), the table becomes a sample drawn from the
    whole file with each class's share kept. Regression, clustering and anomaly detection keep the seeded
    uniform sample. Never while work runs on the current table.
    """
    ds, choice = state.dataset(), state.target()
    if ds is None or ds.big is None or choice is None:
        return
    by = choice.target if choice.target is not None and choice.task.is_classification else None
    if ds.big.sample.by == by or state.running_work() is not None:
        return
    from core.loading.lazy import training_sample

    what = f"stratified by '{short(by, 40)}'" if by else "uniform"
    with st.spinner(md_escape(f"Drawing the training sample ({what}) from all {ds.big.rows:,} rows of the file…")):
        try:
            new = training_sample(
                ds.big,
                choice.target,
                stratify=by is not None,
                memory_mb=server_settings.SESSION_MEMORY_MB.value(),
                like=ds.frame,
            )
        except DashboardError as err:
            st.error(md_escape(err.user_message), icon=":material/error:")
            return
    state.set_training_table(new)


def sample_caption() -> None:
    """The sample the session works on, in one line (at the top of every step page, :func:`ui.journey.require`)."""
    ds = state.dataset()
    if ds is None or ds.big is None:
        return
    held = ds.big.sample
    if not held.sampled:  # every row of the file fits in the session's table
        return
    verb = "Trained on" if state.job() is not None else "Working on"
    st.caption(md_escape(f"{verb} {held.note()} of a file too big to read whole."))
