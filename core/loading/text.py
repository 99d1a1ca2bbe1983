"""Reading a text file (CSV, TSV, …) with polars, straight from the uploaded bytes.

The dialect comes from :func:`core.loading.detect.sniff`; the file is converted to UTF-8 when it is
not, scanned for rows whose field count differs from the header's (kept, padded, and reported),
parsed by polars (multi-threaded, the fastest reader measured here) and handed to pandas through
Arrow. Missing-value markers and cells of only spaces become real missing values, and
:func:`core.loading.column_types.post_process` types what polars left as text.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from core.dates import DATE_YEARS
from core.errors import DataLoadError
from core.load_options import MISSING_TOKENS, LoadOptions
from core.loading.column_types import post_process
from core.loading.detect import Sniffed, decode, sniff
from core.loading.report import Dataset, LoadReport, count_missing, dedupe_names

#: Files up to this size get a full ragged-row scan; larger ones have their first
#: _PARTIAL_SCAN_BYTES scanned (rows with *extra* fields are caught anywhere,
#: because polars refuses them).
_FULL_SCAN_BYTES = 8 * 1024 * 1024
_PARTIAL_SCAN_BYTES = 1024 * 1024
#: A cell of only spaces (tabs, non-breaking spaces …): nothing was written in it.
_BLANK = r"^\s+$"
_BLANK_STARTS = (" ", "\t", "\xa0")


def load_text(data: bytes, file_name: str, options: LoadOptions) -> Dataset:
    """Read a CSV/TSV file's bytes into a :class:`Dataset` (what :func:`core.loading.load_file` does for text)."""
    sniffed = sniff(data, options)
    report = LoadReport(
        file_name=file_name,
        file_kind="csv",
        size_bytes=len(data),
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        header=sniffed.header,
        decimal=sniffed.decimal,
        thousands=sniffed.thousands,
        extra_missing=tuple(options.missing),
        day_first=options.day_first,
    )
    utf8 = _to_utf8(data, sniffed.encoding)
    names, ragged = _scan_rows(utf8, sniffed, report)
    try:
        if ragged and max(ragged.values()) > len(names):
            frame = _read_ragged(utf8, sniffed, names, report)
        else:
            try:
                frame = _read_polars(utf8, sniffed, names, report)
            except _ExtraFields:
                # A row beyond the scanned part has extra fields: scan it all.
                report.notices = [n for n in report.notices if not n.startswith(_RAGGED_PREFIX)]
                names, ragged = _scan_rows(utf8, sniffed, report, full=True)
                frame = _read_ragged(utf8, sniffed, names, report)
    except _InvalidUtf8 as exc:
        if options.encoding is not None:
            raise DataLoadError(
                f"The file is not valid {options.encoding} text.",
                hint="Leave the encoding on automatic or try Windows-1252 (cp1252).",
            ) from exc
        # The sample looked like UTF-8 but a later part is not: a legacy file.
        report.encoding = "cp1252"
        report.notices.append(
            "Most of the file looked like UTF-8 but some bytes were not; it was read as Windows-1252."
        )
        utf8 = _to_utf8(data, "cp1252")
        frame = _read_polars(utf8, sniffed, names, report)
    frame = post_process(frame, report)
    return Dataset(frame=frame, name=file_name, report=report)


class _InvalidUtf8(Exception):
    """polars met bytes that are not UTF-8."""


class _ExtraFields(Exception):
    """polars met a row with more fields than the header."""


_RAGGED_PREFIX = "Ragged rows: "


def _to_utf8(data: bytes, encoding: str) -> bytes:
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    return decode(data, encoding).encode("utf-8")


def _scan_rows(
    data: bytes, sniffed: Sniffed, report: LoadReport, *, full: bool = False
) -> tuple[list[str], dict[int, int]]:
    """Read the header and find rows whose field count differs from it."""
    full = full or len(data) <= _FULL_SCAN_BYTES
    chunk = data if full else data[:_PARTIAL_SCAN_BYTES]
    text = chunk.decode("utf-8", errors="replace")
    if not full:
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text), delimiter=sniffed.delimiter)
    try:
        first = next(reader)
    except StopIteration:
        first = []
    except csv.Error as exc:
        raise DataLoadError(f"The first row could not be read: {exc}.") from exc
    width = len(first)
    ragged: dict[int, int] = {}
    try:
        for row in reader:
            if row and len(row) != width:
                ragged[reader.line_num] = len(row)
    except csv.Error as exc:
        report.notices.append(f"Stopped checking row lengths at line {reader.line_num}: {exc}.")
    if sniffed.header:
        names = dedupe_names(first, report)
    else:
        names = [f"column_{i + 1}" for i in range(width)]
    report.ragged_count = len(ragged)
    report.ragged_rows = sorted(ragged)[:20]
    report.ragged_checked_all = full
    if ragged:
        more = sum(1 for n in ragged.values() if n > width)
        less = len(ragged) - more
        where = ", ".join(str(n) for n in report.ragged_rows[:10])
        parts = []
        if less:
            parts.append(f"{less:,} with fewer fields than the header (missing cells left empty)")
        if more:
            parts.append(f"{more:,} with more (extra values kept in columns 'extra_1', …)")
        scope = "" if full else f" in the first {_PARTIAL_SCAN_BYTES // 2**20} MB"
        report.notices.append(
            f"{_RAGGED_PREFIX}{len(ragged):,} rows{scope} do not have {width} fields: "
            + "; ".join(parts)
            + f". Lines: {where}{' …' if len(ragged) > 10 else ''}. "
            "No row was dropped; check these lines in the source file."
        )
    return names, ragged


def _read_polars(data: bytes, sniffed: Sniffed, names: list[str], report: LoadReport) -> pd.DataFrame:
    import polars as pl

    def read(**settings):
        """The file as the sniffed layout says, with ``settings`` for the typing."""
        layout = {"separator": sniffed.delimiter, "has_header": sniffed.header, "new_columns": names or None}
        return pl.read_csv(data, **layout, raise_if_empty=False, **settings)

    typed = {
        "decimal_comma": sniffed.decimal == ",",
        "try_parse_dates": True,
        "infer_schema_length": 1_000,  # 10k made date inference 3x slower (polars 2.1)
        "truncate_ragged_lines": False,
    }
    try:
        table = read(**typed)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower():
            raise _InvalidUtf8(str(exc)) from exc
        if "more fields" in str(exc):
            raise _ExtraFields(str(exc)) from exc
        # Type inference guessed from the first rows and met a later value that
        # does not fit: read everything as text and let post_process type it.
        try:
            table = read(infer_schema=False, truncate_ragged_lines=True)
        except pl.exceptions.PolarsError as exc2:
            raise DataLoadError(f"The file could not be parsed as a table: {exc2}") from exc
    except pl.exceptions.PolarsError as exc:
        raise DataLoadError(f"The file could not be parsed as a table: {exc}") from exc
    implausible = [*_implausible_dates(table), *_numeric_dates(data, sniffed, names, table)]
    if implausible:
        # polars read version strings such as '1.2.3' as the date 0003-02-01: read those as text.
        table = read(**typed, schema_overrides=dict.fromkeys(implausible, pl.String))
    holder = [_null_tokens(table, report)]
    del table
    return _polars_to_pandas(holder)


def _numeric_dates(data: bytes, sniffed: Sniffed, names: list[str], table) -> list[str]:
    """Columns polars read as dates that are written as numbers ('03/04/2018'): core.dates reads those.

    polars picks day or month first by itself, silently; core.dates decides once per column with
    the rule the app states, says when both readings work, and follows the person's choice.
    """
    import polars as pl

    temporal = [name for name, dtype in table.schema.items() if dtype.is_temporal() and dtype != pl.Duration]
    if not temporal:
        return []
    head = pl.read_csv(
        data,
        separator=sniffed.delimiter,
        has_header=sniffed.header,
        new_columns=names or None,
        infer_schema=False,
        n_rows=200,
        truncate_ragged_lines=True,
        raise_if_empty=False,
    )
    return [
        name
        for name in temporal
        if name in head.columns and head[name].drop_nulls().str.contains(r"^\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}").any()
    ]


def _implausible_dates(table) -> list[str]:
    """Columns polars read as dates although some year is outside :data:`DATE_YEARS`."""
    import polars as pl

    temporal = [name for name, dtype in table.schema.items() if dtype.is_temporal() and dtype != pl.Duration]
    if not temporal:
        return []
    low, high = DATE_YEARS
    years = table.select(
        [pl.col(n).dt.year().min().alias(f"{n}\0min") for n in temporal]
        + [pl.col(n).dt.year().max().alias(f"{n}\0max") for n in temporal]
    ).row(0)
    k = len(temporal)
    return [
        name
        for name, first, last in zip(temporal, years[:k], years[k:], strict=True)
        if first is not None and (first < low or last > high)
    ]


def _null_tokens(table, report: LoadReport):
    """Turn missing-value tokens and cells of only spaces in text columns into real nulls.

    Done after parsing, only on columns that hold one, because polars' own
    ``null_values`` option doubled the read time of clean files. A cell of only
    spaces must start with one, so only columns with such a cell get the slower
    exact test. How many cells each column lost is kept in ``report``.
    """
    import polars as pl

    text = [name for name, dtype in table.schema.items() if dtype == pl.String]
    if not text:
        return table
    tokens = pl.Series([*MISSING_TOKENS, *report.extra_missing], dtype=pl.String).implode()

    def spaced(name: str):
        column = pl.col(name).str
        return pl.any_horizontal(*(column.starts_with(ch) for ch in _BLANK_STARTS))

    flags = table.select(
        [pl.col(name).is_in(tokens).any().alias(f"m{i}") for i, name in enumerate(text)]
        + [spaced(name).any().alias(f"b{i}") for i, name in enumerate(text)]
    ).row(0)
    marked = {name for name, flag in zip(text, flags[: len(text)], strict=True) if flag}
    spacey = [name for name, flag in zip(text, flags[len(text) :], strict=True) if flag]
    counts = table.select(pl.col(n).str.contains(_BLANK).sum() for n in spacey).row(0) if spacey else ()
    blanks = {name: int(count) for name, count in zip(spacey, counts, strict=True) if count}
    blank = set(blanks)
    dirty = [name for name in text if name in marked or name in blank]
    if not dirty:
        return table
    before = {name: table[name].null_count() for name in dirty}

    def missing(name: str):
        hit = pl.col(name).is_in(tokens)
        return hit | pl.col(name).str.contains(_BLANK) if name in blank else hit

    table = table.with_columns(pl.when(missing(name)).then(None).otherwise(pl.col(name)).alias(name) for name in dirty)
    lost = {name: table[name].null_count() - before[name] for name in dirty}
    count_missing(report, blanks, {name: lost[name] - blanks.get(name, 0) for name in dirty})
    return table


def _read_ragged(data: bytes, sniffed: Sniffed, names: list[str], report: LoadReport) -> pd.DataFrame:
    """Slow path for rows with extra fields: keep every value, pad the rest."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")), delimiter=sniffed.delimiter)
    rows = list(reader)
    if sniffed.header and rows:
        rows = rows[1:]
    width = max(len(names), *(len(r) for r in rows)) if rows else len(names)
    full_names = names + [f"extra_{i + 1}" for i in range(width - len(names))]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(full_names)
    for row in rows:
        if row:
            writer.writerow(row + [""] * (width - len(row)))
    normalised = Sniffed("utf-8", ",", True, sniffed.decimal, sniffed.thousands)
    return _read_polars(buffer.getvalue().encode("utf-8"), normalised, full_names, report)


def _polars_to_pandas(holder: list) -> pd.DataFrame:
    """Convert the polars table in ``holder`` to pandas, releasing it on the way.

    The table is passed in a list so this function holds the last reference:
    each stage is freed as soon as the next exists, which keeps the peak memory
    near twice the data rather than three times.
    """
    import pyarrow as pa

    string_dtype = pd.StringDtype("pyarrow", na_value=np.nan)

    def types_mapper(arrow_type):
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return string_dtype
        return None

    table = holder.pop()
    arrow = table.to_arrow()
    del table
    frame = arrow.to_pandas(types_mapper=types_mapper, self_destruct=True, split_blocks=True)
    del arrow
    for name in frame.columns:
        if frame[name].dtype == object:  # all-null or odd columns
            frame[name] = frame[name].astype(string_dtype)
    return frame
