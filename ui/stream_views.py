"""The Predict page's "whole file" when the file is too big to read whole: scored in chunks on the cluster.

Three ways in: the big file the session's table is a sample of (:mod:`core.loading.lazy`), a file of the
server's data folder (``NOCODE_DATA_DIR``), and an upload above the big-file limit
(:data:`core.server_settings.BIG_FILE_MB`), written to the session's folder first. Each starts a
:class:`core.scoring.job.ScoringJob`; this view follows it (progress, Stop) and shows its report,
where the predictions are on the server, and a download when the file is small enough to hold
(:data:`core.scoring.DOWNLOAD_LIMIT_MB`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from typing import Any

import streamlit as st

from core.big_files import data_files, resolve_data_file, size_words
from core.errors import DashboardError
from core.load_options import LoadOptions
from core.server_settings import BIG_FILE_MB, DATA_DIR
from core.usable import UsableModel
from ui import job_views, state
from ui.text import md_code, md_escape

#: Files the cluster's workers could not see on another machine: said once, where a file is picked.
_REMOTE_NOTE = (
    "The cluster's workers read the file and write the predictions: with workers on other machines, the data "
    "folder and the output folder (NOCODE_OUTPUT_DIR) must be on a disk they share."
)


def too_big(size_bytes: int) -> bool:
    """Whether an upload is scored in chunks rather than read whole (the server's big-file limit)."""
    return size_bytes > BIG_FILE_MB.value() * 1024 * 1024


def whole_file(usable: UsableModel, label: str, upload: Any) -> bool:
    """Big files: the offers, a big upload's button, the job's progress and report. True: the upload is handled here."""
    big_upload = upload is not None and too_big(upload.size)
    if upload is None:
        _offers(usable, label)
    elif big_upload:
        _upload_offer(usable, label, upload)
    if upload is None or big_upload:
        show()
    return big_upload


def _options(**layout: Any) -> LoadOptions:
    """How to read a file scored here: the person's missing markers and date order, the rest detected or given."""
    chosen = state.load_options()
    return LoadOptions(missing=chosen.missing, day_first=chosen.day_first, **layout)


def _offers(usable: UsableModel, label: str) -> None:
    """Score the whole big file behind the session's table, or a file of the server's data folder."""
    dataset = state.dataset()
    big = getattr(dataset, "big", None) if dataset is not None else None
    if big is not None:
        st.markdown(
            f"The table in this session is a sample of {md_code(big.name)}: **{big.rows:,} rows** "
            f"({size_words(big.size_bytes)}). Score every row; the predictions are written to a file on the server."
        )
        if st.button(f"Score all {big.rows:,} rows", key="predict_stream_big", icon=":material/play_arrow:"):
            from core.scoring.job import with_layout

            chosen = big.options if isinstance(big.options, LoadOptions) else None
            options = with_layout(chosen, delimiter=big.delimiter, header=big.header, encoding="utf-8")  # a UTF-8 copy
            _start(usable, label, big.path, big.name, options, rows_total=big.rows)
    files = data_files(DATA_DIR.value())
    if files:
        names = [f.name for f in files]
        sizes = {f.name: f.size_words for f in files}
        picked = st.selectbox(
            "Or score a file of the server's data folder",
            names,
            index=None,
            key="predict_stream_server_file",
            format_func=lambda n: f"{n} ({sizes[n]})",
            placeholder="Pick a file",
        )
        if picked and st.button("Score this file", key="predict_stream_server", icon=":material/play_arrow:"):
            try:
                path = str(resolve_data_file(DATA_DIR.value(), picked))
            except DashboardError as err:
                st.error(md_escape(err.user_message))
                return
            _start(usable, label, path, picked, _options())


def _upload_offer(usable: UsableModel, label: str, upload: Any) -> None:
    """An upload above the big-file limit: written to the session's folder and scored in chunks."""
    limit = size_words(BIG_FILE_MB.value() * 1024 * 1024)
    if upload.name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        st.error(
            md_escape(
                f"'{upload.name}' is {size_words(upload.size)}, above the {limit} a file is read whole, and "
                "an Excel workbook cannot be read in chunks. Save the sheet as CSV and upload that."
            ),
            icon=":material/error:",
        )
        return
    st.info(
        md_escape(
            f"'{upload.name}' is {size_words(upload.size)}, above the {limit} this server reads whole: it is "
            "scored in chunks and the predictions are written to a file on the server."
        ),
        icon=":material/info:",
    )
    held = state.stream_job()
    if held is not None and held[3] is not None and held[0].snapshot().status == "running":
        return  # an upload is being scored: the view below follows it
    if st.button("Score it in chunks", key="predict_stream_upload", type="primary", icon=":material/play_arrow:"):
        from core.scoring import session_folder

        inputs = os.path.join(session_folder(state.stream_folder()), "inputs")
        os.makedirs(inputs, exist_ok=True)
        for entry in os.scandir(inputs):  # earlier uploads' copies (their scoring has ended)
            with contextlib.suppress(OSError):
                os.remove(entry.path)
        spilled = os.path.join(inputs, f"{time.strftime('%Y%m%d-%H%M%S')}-upload.csv")
        upload.seek(0)
        with open(spilled, "wb") as fh:
            shutil.copyfileobj(upload, fh, 8 * 1024 * 1024)
        _start(usable, label, spilled, upload.name, _options(), spilled=spilled)


def _start(
    usable: UsableModel,
    label: str,
    path: str,
    name: str,
    options: LoadOptions,
    rows_total: int | None = None,
    spilled: str | None = None,
) -> None:
    """Start scoring ``path`` on the cluster into the session's folder (older outputs there let go)."""
    from core import engine
    from core.scoring import keep_latest, output_name, session_folder
    from core.scoring.job import ScoringJob

    folder = session_folder(state.stream_folder())
    keep_latest(folder, keep=2)  # with the new one: the three newest
    out = os.path.join(folder, f"{time.strftime('%Y%m%d-%H%M%S')}-{output_name(name)}")
    try:
        model = state.memo(
            "stream_model", (label, id(usable.pipeline)), lambda: engine.place(usable), lambda f: f.status == "finished"
        )
    except DashboardError as err:
        st.error(md_escape(err.user_message), icon=":material/error:")
        return
    job = ScoringJob(model, path, out, options, rows_total=rows_total, name=name).start()
    state.set_stream_job((job, label, name, spilled))


def show() -> None:
    """The last file scored in chunks: progress and Stop while it runs; then its report and where it is."""
    held = state.stream_job()
    if held is None:
        return
    job, label, name, spilled = held
    running = job.snapshot().status == "running"

    def progress(now) -> None:
        if now.status != "running":
            return
        st.progress(*_bar(now.events, name))
        job_views.stop_button(
            job,
            "Stop",
            "predict_stream_stop",
            "Stop after the chunk in progress; the rows scored so far stay in a file marked partial.",
            icon=":material/stop:",
        )

    st.markdown(f"**{'Scoring' if running else 'Scored'} {md_code(name)}** with {md_escape(label)}")
    job_views.follow(job, 1.0, progress)
    if running:
        _remote_note()
        return
    if spilled:
        with contextlib.suppress(OSError):
            os.remove(spilled)  # the upload's copy is not needed once its scoring has ended
    snap = job.snapshot()
    if snap.error:
        st.error(md_escape(snap.error), icon=":material/error:")
        return
    if not snap.results:
        return
    _report(snap.results[-1], name)


def _bar(events: list, name: str) -> tuple[float, str]:
    from core.scoring import RowsScored

    chunks = [e for e in events if isinstance(e, RowsScored)]
    if not chunks:
        return 0.0, f"Reading {name}…"
    last = chunks[-1]
    total = last.rows_estimate
    of = f" of {'' if last.rows_total is not None else 'about '}{total:,}" if total else ""
    return last.fraction, f"Scoring… {last.rows:,}{of} rows · {last.problem_rows:,} with a problem"


def _remote_note() -> None:
    from core import engine

    if not engine.info().embedded:
        st.caption(_REMOTE_NOTE)


def _report(report: Any, name: str) -> None:
    from core.scoring import DOWNLOAD_LIMIT_MB, downloadable

    if report.partial and not report.out_path:
        st.warning("Stopped before the first chunk was scored: no file was written.", icon=":material/pause_circle:")
        return
    (st.warning if report.partial else st.success)(
        md_escape(report.summary()), icon=":material/pause_circle:" if report.partial else ":material/check_circle:"
    )
    lines = report.sentences()
    if lines:  # missing columns, rows with a problem: a warning, not small print under the success
        st.warning("\n\n".join(md_escape(line) for line in lines), icon=":material/warning:")
    st.markdown("**On the server:**")
    st.code(report.out_path, language=None, wrap_lines=True)
    if downloadable(report):
        st.download_button(
            "Download the scored file (CSV)",
            data=lambda: _read(report.out_path),
            file_name=os.path.basename(report.out_path),
            mime="text/csv",
            icon=":material/download:",
            key="predict_stream_download",
            on_click="ignore",
            help="Cells a spreadsheet would run as formulas are prefixed with ' .",
        )
    else:
        st.caption(
            f"The file is larger than {DOWNLOAD_LIMIT_MB:,} MB, too large to send through the browser from here: "
            "copy it from the server (the path above). It is kept for a day."
        )


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()
