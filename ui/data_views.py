"""Views of the Data page: loading, what was detected, preview and profile."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import charts
from core.errors import DashboardError
from core.loading import DELIMITER_NAMES, ENCODINGS, MAX_UPLOAD_MB, LoadOptions, load_file
from core.profiling import Profile, format_number
from core.samples import list_samples, load_sample
from core.schema import ROLE_HELP, Role
from ui import pickers, state
from ui.text import md_escape, md_label, short

DATE_ORDERS = {
    None: "automatic (day first only when a first number is above 12)",
    False: "month first: 03/04/2018 is 4 March",
    True: "day first: 03/04/2018 is 3 April",
}
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]
PREVIEW_ROWS = 100


def read_and_store(data: bytes, name: str, options: LoadOptions, src: state.Source) -> bool:
    """Read ``data``; on success make it the dataset (or hold it while work runs), on failure keep the old one."""
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


def detected_settings() -> None:
    """What the loader detected, its notices, and a form to override it."""
    ds, options = state.dataset(), state.load_options()
    rep = ds.report
    if rep.file_kind == "csv":
        facts = [
            f"encoding **{md_escape(rep.encoding)}**",
            f"delimiter **{rep.delimiter_name}**",
            f"header row **{'yes' if rep.header else 'no'}**",
            f"decimal mark **{md_escape(rep.decimal)}**",
        ] + ([f"thousands separator **{md_escape(rep.thousands)}**"] if rep.thousands else [])
    else:
        facts = [
            f"Excel sheet **{md_escape(rep.sheet)}** of {len(rep.sheets)}",
            f"header row **{'yes' if rep.header else 'no'}**",
        ]
    st.markdown("Detected: " + " · ".join(facts))
    for notice in rep.notices:
        st.warning(md_escape(notice), icon=":material/info:")
    with st.expander("Read the file differently"), st.form("data_reread"):
        if rep.file_kind == "csv":
            delims = [None, *DELIMITER_NAMES]
            delimiter = st.selectbox(
                "Delimiter",
                delims,
                index=delims.index(options.delimiter),
                format_func=lambda d: "automatic" if d is None else DELIMITER_NAMES[d],
                key="data_reread_delimiter",
            )
            encs = [None, *ENCODINGS]
            encoding = st.selectbox(
                "Encoding",
                encs,
                index=encs.index(options.encoding) if options.encoding in encs else 0,
                format_func=lambda e: "automatic" if e is None else e,
                key="data_reread_encoding",
            )
            sheet = None
        else:
            delimiter = encoding = None
            sheet = st.selectbox("Sheet", rep.sheets, index=rep.sheets.index(rep.sheet), key="data_reread_sheet")
        header = st.checkbox("First row is the header", value=rep.header, key="data_reread_header")
        missing = st.text_input(
            "Also read as missing (separate with commas)",
            value=", ".join(options.missing),
            key="data_reread_missing",
            placeholder="for example: unknown, tbd, n.a.",
            help="Empty cells, cells of only spaces and markers such as NA, N/A, ?, - and null are always missing.",
        )
        orders = [None, False, True]
        day_first = st.selectbox(
            "Dates written with numbers, such as 03/04/2018",
            orders,
            index=orders.index(options.day_first),
            format_func=DATE_ORDERS.get,
            key="data_reread_day_first",
        )
        if st.form_submit_button("Read again", icon=":material/refresh:", key="data_reread_submit"):
            src = state.source()
            markers = tuple(dict.fromkeys(m.strip() for m in missing.split(",") if m.strip()))
            new = LoadOptions(
                delimiter=delimiter, encoding=encoding, header=header, sheet=sheet, missing=markers, day_first=day_first
            )
            if read_and_store(state.raw(), ds.name, new, src) or state.pending_dataset() is not None:
                st.rerun()
            load_error_message()


def preview(frame: pd.DataFrame) -> None:
    """The first rows, long cells shortened (never rendered as markup)."""
    head = frame.head(PREVIEW_ROWS).copy()
    for name in head.columns:
        if pd.api.types.is_string_dtype(head[name].dtype):
            head[name] = head[name].map(lambda v: v if pd.isna(v) else short(v, 120))
    st.dataframe(head, height=260)
    st.caption(f"First {min(PREVIEW_ROWS, len(frame))} of {len(frame):,} rows.")


def profile_metrics(prof: Profile) -> None:
    cols = st.columns(5)
    cols[0].metric("Rows", f"{prof.n_rows:,}")
    cols[1].metric("Columns", f"{prof.n_cols:,}")
    cols[2].metric("Memory", f"{prof.memory_bytes / 1e6:,.1f} MB")
    cols[3].metric(
        "Duplicate rows",
        f"{prof.duplicate_rows:,}",
        help="Rows identical to an earlier row; the Clean page can drop them.",
    )
    cols[4].metric("Missing cells", f"{prof.missing_cells:,}", help="Empty cells and markers like NA, N/A, ?, -, null.")
    if prof.sampled:
        st.caption(
            f"Distinct counts, statistics, charts and correlations are computed on a random sample of {prof.sample_size:,} rows; counts of rows, missing cells and duplicates use all rows."
        )


def role_table(prof: Profile) -> None:
    """Per-column profile with an editable role and a small distribution chart."""
    guesses = state.role_guesses()
    table = prof.summary_rows()
    table.insert(
        2,
        "distribution",
        [
            (c.histogram[1] if c.histogram and not c.top_values else [v for _, v in (c.top_values or [])])
            for c in prof.columns
        ],
    )
    table["why"] = [guesses[c].reason if c in guesses else "" for c in table["column"]]
    edited = st.data_editor(
        table,
        key=f"data_roles_{state.version()}",
        hide_index=True,
        disabled=[c for c in table.columns if c != "role"],
        column_config={
            "role": st.column_config.SelectboxColumn(
                "role",
                options=[r.value for r in Role],
                required=True,
                help="Change a role if it was guessed wrong. "
                + " ".join(f"{r.value}: {h}" for r, h in ROLE_HELP.items()),
            ),
            "missing %": st.column_config.ProgressColumn("missing %", min_value=0, max_value=100, format="%.1f%%"),
            "distribution": st.column_config.BarChartColumn(
                "distribution", help="Histogram for numbers and dates; counts of the most frequent values otherwise."
            ),
            "why": st.column_config.TextColumn("why this role", width="medium"),
            "type": st.column_config.TextColumn("type", width="small"),
            "distinct": st.column_config.NumberColumn("distinct", width="small"),
            "summary": st.column_config.TextColumn("summary", width="medium"),
        },
        height=min(600, 38 + 35 * len(table)),
    )
    overrides = {
        c: r
        for c, r in zip(edited["column"], edited["role"], strict=True)
        if c in guesses and r != guesses[c].role.value
    }
    if overrides != state.role_overrides():
        state.set_role_overrides(overrides)
        st.rerun()
    hints = [c.name for c in prof.columns if c.looks_numeric]
    if hints:
        st.info(
            md_escape(
                "These columns look like numbers written with symbols (such as $, %, or thousands separators): "
                + ", ".join(f"'{h}'" for h in hints[:10])
                + ". Use 'to number' on the Clean page."
            ),
            icon=":material/lightbulb:",
        )


def column_detail(prof: Profile) -> None:
    """Statistics and a full-size chart for one chosen column."""
    key = f"data_detail_{state.version()}"
    name = st.selectbox("Column", pickers.bounded([c.name for c in prof.columns], key=key), key=key)
    col = prof.column(name)
    left, right = st.columns([1, 2])
    with left:
        st.text(
            f"role: {col.role.value}\ntype: {col.dtype}\nmissing: {col.missing:,} ({col.missing_share:.1%})\ndistinct: {col.distinct:,}"
        )
        if col.stats:
            st.dataframe(
                pd.DataFrame(
                    {
                        "statistic": list(col.stats),
                        "value": [short(v, 60) if isinstance(v, str) else format_number(v) for v in col.stats.values()],
                    }
                ),
                hide_index=True,
            )
    with right:
        st.plotly_chart(charts.column_distribution(col, height=300), key=f"data_chart_{name}")
