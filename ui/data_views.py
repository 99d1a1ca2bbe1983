"""Views of the Data page once a table is loaded: what was detected, preview and profile.

Loading the table (upload, samples) is :mod:`ui.load_views`, which loads without pandas.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import charts
from core.load_options import DELIMITER_NAMES, ENCODINGS, LoadOptions
from core.numbers import format_number
from core.profiling import Profile
from core.schema import ROLE_HELP, Role
from ui import charts_view, pickers, state
from ui.load_views import load_error_message, read_and_store
from ui.text import md_escape, short

DATE_ORDERS = {
    None: "automatic (day first only when a first number is above 12)",
    False: "month first: 03/04/2018 is 4 March",
    True: "day first: 03/04/2018 is 3 April",
}
PREVIEW_ROWS = 100


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
    if prof.scope_note:
        st.caption(md_escape(prof.scope_note))
    elif prof.sampled:
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
        charts_view.show_kept(  # the same figure on every rerun of the page (plotly's checks are its cost)
            lambda: charts.column_distribution(col, height=300), f"data_chart_{name}", token=(id(prof), name)
        )
