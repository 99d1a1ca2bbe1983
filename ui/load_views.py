"""Views of the Data page that bring a table in: the upload box, the samples, and asking first while work runs.

They are drawn on the first page of every session, so this module loads neither pandas nor
the reader: those load when a file is read (:func:`read_and_store`) or a sample is loaded.
"""

from __future__ import annotations

import streamlit as st

from core.errors import DashboardError
from core.load_options import MAX_UPLOAD_MB, LoadOptions
from core.samples import list_samples, load_sample
from ui import big_views, state
from ui.text import md_escape, md_label, short

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]


def read_and_store(data: bytes | None, name: str, options: LoadOptions, src: state.Source) -> bool:
    """Read ``data``; on success make it the dataset (or hold it while work runs), on failure keep the old one.

    A source on disk (``src.path``: a file too big to read whole) is read lazily instead (:mod:`ui.big_views`).
    """
    if src.path is not None or data is None:
        return big_views.read_big(src.path or "", name, options, src)
    # the reader (pandas, polars) loads with the first file, not with the first page
    from core.loading import load_file

    with st.spinner(f"Reading {md_escape(short(name, 60))} ({len(data) / 1e6:,.1f} MB)…"):
        try:
            ds = load_file(data, name, options, max_bytes=upload_limit_mb() * 1024 * 1024)
        except DashboardError as err:
            state.set_load_error(src.file_id, err.user_message)
            return False
    return state.offer_dataset(ds, data, src, options)


def upload_limit_mb() -> int:
    """The upload limit in MB: Streamlit's ``server.maxUploadSize`` (the administrator's setting)."""
    return int(st.get_option("server.maxUploadSize") or MAX_UPLOAD_MB)


def upload_box() -> None:
    """File uploader; a new file is read once, a failure is remembered; a big one is written to disk, read lazily."""
    uploaded = st.file_uploader(
        f"Upload a CSV, TSV or Excel (.xlsx) file — up to {upload_limit_mb():,} MB",
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
    data = uploaded.getvalue()
    if big_views.is_big(len(data), uploaded.name):
        # Streamlit holds the bytes already: written once to the session's scratch folder, then scanned lazily.
        src = state.Source(uploaded.name, "upload", uploaded.file_id, path=state.scratch().write(data))
        del data
        if not read_and_store(None, uploaded.name, LoadOptions(), src):
            state.scratch().keep_only(_paths_in_use())
    else:
        read_and_store(data, uploaded.name, LoadOptions(), src)
    st.rerun()


def _paths_in_use() -> set[str]:
    ds, src, held = state.dataset(), state.source(), state.pending_dataset()
    paths = {p for p in (src.path if src else None, ds.big.path if ds and ds.big else None) if p}
    if held is not None and held[2].path:
        paths.add(held[2].path)
    return paths


def big_files_box() -> None:
    """The upload limit and the memory a file needs; the server's data folder, when the administrator set one."""
    from core import server_settings
    from core.big_files import data_files, limits_words

    folder = server_settings.DATA_DIR.value()
    files = data_files(folder)
    with st.expander("Big files" + (f" · {len(files)} on this server" if files else ""), icon=":material/storage:"):
        st.caption(
            md_escape(
                limits_words(
                    upload_limit_mb(), server_settings.BIG_FILE_MB.value(), server_settings.machine_memory_mb()
                )
            )
        )
        if not folder:
            return
        if not files:
            st.caption("The server's data folder has no CSV, TSV or TXT files.")
            return
        st.caption("Files in the server's data folder (no upload needed):")
        for i, found in enumerate(files):
            left, right = st.columns([4, 1])
            left.text(f"{short(found.name, 80)} · {found.size_words}")
            if right.button("Open", key=f"data_server_{i}", icon=":material/folder_open:"):
                open_server_file(folder, found.name)


def open_server_file(folder: str, name: str) -> None:
    """Open a file of the server's data folder: lazily when big, else read whole like an upload."""
    from core.big_files import resolve_data_file

    try:
        path = resolve_data_file(folder, name)
    except DashboardError as err:
        state.set_load_error(f"server:{name}", err.user_message)
        st.rerun()
    size = path.stat().st_size
    file_id = f"server:{name}:{size}:{path.stat().st_mtime_ns}"
    if big_views.is_big(size, name):
        read_and_store(None, name, LoadOptions(), state.Source(name, "server", file_id, path=str(path)))
    else:
        read_and_store(path.read_bytes(), name, LoadOptions(), state.Source(name, "server", file_id))
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
