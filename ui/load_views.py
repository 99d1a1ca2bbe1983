"""Views of the Data page that bring a table in: the upload box, the samples, and asking first while work runs.

They are drawn on the first page of every session, so this module loads neither pandas nor
the reader: those load when a file is read (:func:`read_and_store`) or a sample is loaded.
"""

from __future__ import annotations

import streamlit as st

from core.errors import DashboardError
from core.load_options import MAX_UPLOAD_MB, LoadOptions
from core.samples import list_samples, load_sample
from ui import state
from ui.text import md_escape, md_label, short

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]


def read_and_store(data: bytes, name: str, options: LoadOptions, src: state.Source) -> bool:
    """Read ``data``; on success make it the dataset (or hold it while work runs), on failure keep the old one."""
    # the reader (pandas, polars) loads with the first file, not with the first page
    from core.loading import load_file

    with st.spinner(f"Reading {md_escape(short(name, 60))} ({len(data) / 1e6:,.1f} MB)…"):
        try:
            ds = load_file(data, name, options)
        except DashboardError as err:
            state.set_load_error(src.file_id, err.user_message)
            return False
    return state.offer_dataset(ds, data, src, options)


def upload_box() -> None:
    """File uploader; a new file is read once, a failure is remembered."""
    uploaded = st.file_uploader(
        f"Upload a CSV, TSV or Excel (.xlsx) file — up to {MAX_UPLOAD_MB} MB",
        type=UPLOAD_TYPES,
        key="data_upload",
        help="Delimiter, encoding, decimal commas and missing-value markers are detected; you can override them below.",
    )
    if uploaded is None:
        return
    if state.upload_seen() == uploaded.file_id:
        return  # read already (or refused); a sample loaded since must not be replaced
    state.set_upload_seen(uploaded.file_id)
    src = state.Source(uploaded.name, "upload", uploaded.file_id)
    read_and_store(uploaded.getvalue(), uploaded.name, LoadOptions(), src)
    st.rerun()


def load_error_message() -> None:
    failed = state.load_error()
    if failed:
        kept = " Your previous data is still loaded." if state.dataset() is not None else ""
        st.error(md_escape(failed[1] + kept), icon=":material/error:")


def sample_picker() -> None:
    """One button per bundled dataset."""
    samples = list_samples()
    cols = st.columns(4)
    for i, sample in enumerate(samples):
        with cols[i % 4].container(border=True):
            st.markdown(f"**{sample.title}**")
            st.caption(f"{sample.description} Task: {sample.task}.")
            if st.button("Load", key=f"data_sample_{sample.key}", icon=":material/table_view:"):
                ds = load_sample(sample.key)
                state.offer_dataset(
                    ds,
                    sample.path.read_bytes(),
                    state.Source(sample.title, "sample", f"sample:{sample.key}"),
                    LoadOptions(),
                )
                st.rerun()


def pending_choice() -> None:
    """Ask before new data stops running work: use it (stop the work, recorded as stopped) or forget it."""
    held = state.pending_dataset()
    work = state.running_work()
    if held is None:
        return
    if work is None:  # the work ended meanwhile: nothing to stop
        state.resolve_pending(True)
        st.rerun()
    name = held[0].name
    st.warning(
        md_escape(
            f"'{short(name, 60)}' is read, but {work} is still going. Loading it stops that work at its next safe "
            "point: what has finished is kept and recorded in the experiment log as stopped; the rest is not done."
        ),
        icon=":material/pending_actions:",
    )
    left, right = st.columns(2)
    left.button(
        md_label(f"Stop it and use '{short(name, 40)}'"),
        key="data_pending_use",
        type="primary",
        on_click=state.resolve_pending,
        args=(True,),
        icon=":material/stop_circle:",
    )
    right.button(
        "Keep the current data and let it finish",
        key="data_pending_keep",
        on_click=state.resolve_pending,
        args=(False,),
        icon=":material/play_circle:",
    )
