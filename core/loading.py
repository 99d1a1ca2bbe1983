"""Turn the bytes of an uploaded file into a :class:`Dataset`.

Reading is robust to what people actually upload: delimiter (``,`` ``;`` tab
``|``), encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 /
Latin-1), decimal commas, thousands separators, common missing-value tokens,
quoted fields with newlines, duplicate or empty column names and ragged rows.
Everything detected is recorded in a :class:`LoadReport` so the page can show
it and let the person override it.

Parsing is done by polars straight from the uploaded bytes (multi-threaded,
the fastest reader measured here) and handed to pandas through Arrow; the
small sample used for detection is parsed with the standard ``csv`` module.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.dates import DATE_SHARE, DATE_YEARS, ambiguous_order, looks_like_date, parse_dates
from core.errors import DataLoadError
from core.load_options import (  # defined there, without pandas, for the first page; importable from here too
    DELIMITER_NAMES,
    DELIMITERS,
    ENCODINGS,
    MAX_UPLOAD_MB,
    MISSING_TOKENS,
    LoadOptions,
)

MAX_COLUMNS = 5_000

_SAMPLE_BYTES = 256 * 1024
_SNIFF_RECORDS = 500
#: Files up to this size get a full ragged-row scan; larger ones have their first
#: _PARTIAL_SCAN_BYTES scanned (rows with *extra* fields are caught anywhere,
#: because polars refuses them).
_FULL_SCAN_BYTES = 8 * 1024 * 1024
_PARTIAL_SCAN_BYTES = 1024 * 1024
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_NUM_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_NUM_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
#: A cell of only spaces (tabs, non-breaking spaces …): nothing was written in it.
_BLANK = r"^\s+$"
_BLANK_STARTS = (" ", "\t", "\xa0")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")

csv.field_size_limit(2**31 - 1)


@dataclass
class LoadReport:
    """What the loader detected and did, for the person to see."""

    file_name: str
    file_kind: str  # "csv" or "excel"
    size_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    header: bool = True
    decimal: str = "."
    thousands: str | None = None
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None
    renamed_columns: dict[str, str] = field(default_factory=dict)
    ragged_rows: list[int] = field(default_factory=list)
    ragged_count: int = 0
    ragged_checked_all: bool = True
    parsed_dates: list[str] = field(default_factory=list)
    parsed_numbers: list[str] = field(default_factory=list)
    #: Column -> cells holding only spaces (read as missing).
    blank_cells: dict[str, int] = field(default_factory=dict)
    #: Column -> cells holding a missing-value marker (read as missing).
    marker_cells: dict[str, int] = field(default_factory=dict)
    #: The person's own missing-value markers, besides :data:`MISSING_TOKENS`.
    extra_missing: tuple[str, ...] = ()
    #: The person's reading of numeric dates (:attr:`LoadOptions.day_first`).
    day_first: bool | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        """Human name of the delimiter ("comma", "tab", ...)."""
        return DELIMITER_NAMES.get(self.delimiter or "", repr(self.delimiter))


@dataclass
class Dataset:
    """A loaded table plus how it was read."""

    frame: pd.DataFrame
    name: str
    report: LoadReport

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def n_cols(self) -> int:
        return self.frame.shape[1]


# --------------------------------------------------------------------------- entry


def load_file(
    data: bytes,
    file_name: str,
    options: LoadOptions | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_MB * 1024 * 1024,
) -> Dataset:
    """Read an uploaded CSV/TSV/Excel file into a :class:`Dataset`.

    Args:
        data: The file's bytes, as ``st.file_uploader`` hands them over.
        file_name: Its name; the suffix decides between Excel and text.
        options: Overrides for what is otherwise detected.
        max_bytes: Refuse larger files with a clear message.

    Raises:
        DataLoadError: The file cannot be read as a table; the message says why
            and what to do.
    """
    options = options or LoadOptions()
    if len(data) > max_bytes:
        raise DataLoadError(
            f"'{file_name}' is {len(data) / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit.",
            hint="Upload a smaller extract (for example a sample of the rows) "
            "or raise server.maxUploadSize in .streamlit/config.toml.",
        )
    if not data or (len(data) < 1_000_000 and not data.strip()):
        raise DataLoadError(f"'{file_name}' is empty.", hint="Choose a file with a header row and data.")
    try:
        if file_name.lower().endswith(_EXCEL_SUFFIXES) or data[:4] == b"PK\x03\x04":
            dataset = _load_excel(data, file_name, options)
        else:
            dataset = _load_text(data, file_name, options)
    except DataLoadError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise DataLoadError(
            f"'{file_name}' is too large or too deeply nested to read here ({type(exc).__name__})."
        ) from exc
    except Exception as exc:  # a parser failure we did not foresee: still a message, not a crash
        raise DataLoadError(
            f"'{file_name}' could not be read as a table ({type(exc).__name__}: {str(exc)[:200]}).",
            hint="Check that it is a CSV/TSV text file or an .xlsx workbook, or pick the delimiter and encoding by hand.",
        ) from exc
    _check_shape(dataset)
    return dataset


def load_path(path: str, options: LoadOptions | None = None) -> Dataset:
    """Read a file from disk (bundled samples, scripts, benchmarks)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return load_file(data, path.replace("\\", "/").rsplit("/", 1)[-1], options)


def excel_sheets(data: bytes) -> list[str]:
    """Names of the worksheets in an .xlsx file."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise DataLoadError(
            f"This file could not be opened as an Excel workbook ({type(exc).__name__}).",
            hint="Save it again from Excel as .xlsx, or export the sheet as CSV.",
        ) from exc
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class Sniffed:
    """Dialect detected from the start of a text file."""

    encoding: str
    delimiter: str
    header: bool
    decimal: str
    thousands: str | None


def sniff(data: bytes, options: LoadOptions | None = None) -> Sniffed:
    """Detect encoding, delimiter, header and number format from a sample."""
    options = options or LoadOptions()
    encoding = options.encoding or detect_encoding(data)
    text = _decode(data[: _SAMPLE_BYTES * 2] if _is_utf16(encoding) else data[:_SAMPLE_BYTES], encoding, partial=True)
    _refuse_binary(text)
    delimiter = options.delimiter or detect_delimiter(text)
    records = _records(text, delimiter, complete=len(data) <= _SAMPLE_BYTES)
    header = options.header if options.header is not None else _detect_header(records)
    body = records[1:] if header else records
    decimal, thousands = _detect_number_format(body, delimiter)
    return Sniffed(encoding, delimiter, header, decimal, thousands)


def detect_encoding(data: bytes) -> str:
    """Pick the encoding: BOMs first, then strict UTF-8, then Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:_SAMPLE_BYTES]
    if len(data) > _SAMPLE_BYTES:
        # Do not judge a multi-byte character cut in half at the sample's end.
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """Choose the delimiter whose field count is most consistent across rows."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        if delimiter not in text:
            continue
        counts = [len(r) for r in _records(text, delimiter, complete=False) if r]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _load_text(data: bytes, file_name: str, options: LoadOptions) -> Dataset:
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
    frame = _post_process(frame, report)
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
    return _decode(data, encoding).encode("utf-8")


def _is_utf16(encoding: str) -> bool:
    return encoding.lower().replace("_", "-").startswith("utf-16")


def _decode(data: bytes, encoding: str, *, partial: bool = False) -> str:
    try:
        codec_ok = "".encode(encoding) is not None
    except LookupError:
        codec_ok = False
    if not codec_ok:
        raise DataLoadError(
            f"'{encoding}' is not an encoding this app knows.",
            hint="Choose one of: " + ", ".join(ENCODINGS) + ", or leave it on automatic.",
        )
    try:
        return data.decode(encoding, errors="ignore" if partial else "strict")
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            f"The file is not valid {encoding} text (byte {exc.start:,} cannot be decoded).",
            hint="Leave the encoding on automatic or try Windows-1252 (cp1252).",
        ) from exc


def _refuse_binary(text: str) -> None:
    sample = text[:20_000]
    if not sample:
        return
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    if "\x00" in sample or control / len(sample) > 0.01:
        raise DataLoadError(
            "This file does not look like text: it contains binary data.",
            hint="Upload a CSV/TSV text file or an Excel .xlsx workbook. If it is an Excel file, keep its .xlsx name.",
        )


def _records(text: str, delimiter: str, *, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for row in reader:
            records.append(row)
            if len(records) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    if not complete and len(records) > 1 and len(records) < _SNIFF_RECORDS:
        records = records[:-1]  # the sample's last line may be cut short
    return records


def _looks_numeric(value: str) -> bool:
    return bool(_NUMBER.match(value.strip()))


def _detect_header(records: list[list[str]]) -> bool:
    """A first row of only numbers, above rows of numbers, is data, not names."""
    if len(records) < 2:
        return True
    first = [v for v in records[0] if v.strip()]
    return not (first and all(_looks_numeric(v) for v in first))


def _detect_number_format(records: list[list[str]], delimiter: str) -> tuple[str, str | None]:
    values = [v.strip() for row in records[:200] for v in row if v.strip()]
    comma_dec = sum(bool(_NUM_COMMA_DECIMAL.match(v)) for v in values)
    dot_dec = sum(bool(_NUM_DOT_DECIMAL.match(v)) for v in values)
    thousands_dot = sum(bool(_THOUSANDS_DOT.match(v)) and "." in v for v in values)
    thousands_comma = sum(bool(_THOUSANDS_COMMA.match(v)) for v in values)
    if delimiter != "," and (comma_dec + thousands_dot) > dot_dec:
        return ",", "." if thousands_dot else None
    return ".", "," if thousands_comma else None


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
        names = _dedupe_names(first, report)
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


def unique_names(raw_names: list[str]) -> list[str]:
    """Column names as the app makes them: padding stripped, empty ones numbered, repeats suffixed."""
    names: list[str] = []
    seen: set[str] = set()
    for i, original in enumerate(raw_names):
        name = str(original).strip() or f"column_{i + 1}"
        base, k = name, 2
        while name in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def _dedupe_names(raw: list[str], report: LoadReport) -> list[str]:
    names = unique_names(raw)
    for i, (original, name) in enumerate(zip(raw, names, strict=True)):
        if name != original:
            report.renamed_columns[original if original.strip() else f"(empty #{i + 1})"] = name
    if report.renamed_columns:
        pairs = ", ".join(f"'{a}' → '{b}'" for a, b in list(report.renamed_columns.items())[:8])
        report.notices.append(
            f"Renamed {len(report.renamed_columns)} column(s) that were empty, padded or repeated: {pairs}."
        )
    return names


def _read_polars(data: bytes, sniffed: Sniffed, names: list[str], report: LoadReport) -> pd.DataFrame:
    import polars as pl

    try:
        table = pl.read_csv(
            data,
            separator=sniffed.delimiter,
            has_header=sniffed.header,
            new_columns=names or None,
            decimal_comma=sniffed.decimal == ",",
            try_parse_dates=True,
            infer_schema_length=1_000,  # 10k made date inference 3x slower (polars 2.1)
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower():
            raise _InvalidUtf8(str(exc)) from exc
        if "more fields" in str(exc):
            raise _ExtraFields(str(exc)) from exc
        # Type inference guessed from the first rows and met a later value that
        # does not fit: read everything as text and let _post_process type it.
        try:
            table = pl.read_csv(
                data,
                separator=sniffed.delimiter,
                has_header=sniffed.header,
                new_columns=names or None,
                infer_schema=False,
                truncate_ragged_lines=True,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError as exc2:
            raise DataLoadError(f"The file could not be parsed as a table: {exc2}") from exc
    except pl.exceptions.PolarsError as exc:
        raise DataLoadError(f"The file could not be parsed as a table: {exc}") from exc
    implausible = [*_implausible_dates(table), *_numeric_dates(data, sniffed, names, table)]
    if implausible:
        # polars read version strings such as '1.2.3' as the date 0003-02-01: read those as text.
        table = pl.read_csv(
            data,
            separator=sniffed.delimiter,
            has_header=sniffed.header,
            new_columns=names or None,
            decimal_comma=sniffed.decimal == ",",
            try_parse_dates=True,
            infer_schema_length=1_000,
            schema_overrides=dict.fromkeys(implausible, pl.String),
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
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
    _count_missing(report, blanks, {name: lost[name] - blanks.get(name, 0) for name in dirty})
    return table


def _count_missing(report: LoadReport, blanks: dict[str, int], markers: dict[str, int]) -> None:
    for counts, kept in ((blanks, report.blank_cells), (markers, report.marker_cells)):
        for name, count in counts.items():
            if count:
                kept[name] = kept.get(name, 0) + int(count)


def _marker_examples(report: LoadReport) -> str:
    mine = ", ".join(repr(m) for m in report.extra_missing[:5])
    return f"yours: {mine}, or one such as NA, N/A, ? or -" if mine else "such as NA, N/A, ? or -"


def _missing_notice(report: LoadReport) -> None:
    """Say how many cells were read as missing because they held only spaces or a marker."""
    parts = []
    for counts, what in (
        (report.blank_cells, "holding only spaces"),
        (report.marker_cells, f"holding a missing-value marker ({_marker_examples(report)})"),
    ):
        if counts:
            total = sum(counts.values())
            names = ", ".join(f"'{n}'" for n in list(counts)[:5])
            more = f" and {len(counts) - 5:,} more columns" if len(counts) > 5 else ""
            parts.append(f"{total:,} cell{'s' if total != 1 else ''} {what} (in {names}{more})")
    if parts:
        report.notices.append("Read as missing: " + "; ".join(parts) + ".")


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


# --------------------------------------------------------------------------- typing


def _post_process(frame: pd.DataFrame, report: LoadReport) -> pd.DataFrame:
    """Type columns that polars left as text: numbers with separators, dates."""
    for name in list(frame.columns):
        column = frame[name]
        if not pd.api.types.is_string_dtype(column.dtype):
            continue
        values = column.dropna()
        if values.empty:
            continue
        number = _parse_numbers(column, values, report)
        if number is not None:
            frame[name] = number
            if values.head(500).astype(str).str.contains(r"\d[.,]\d{3}(?:\D|$)|\d,\d", regex=True).any():
                report.parsed_numbers.append(name)  # separators were removed: say so
            continue
        date = _parse_dates(column, values, report)
        if date is not None:
            frame[name] = date
            report.parsed_dates.append(name)
    _missing_notice(report)
    if report.parsed_numbers:
        report.notices.append(
            "Read as numbers (thousands separators or decimal commas removed): "
            + ", ".join(f"'{n}'" for n in report.parsed_numbers[:10])
            + "."
        )
    return frame


def _parse_numbers(column: pd.Series, values: pd.Series, report: LoadReport) -> pd.Series | None:
    probe = values.head(500).astype(str).str.strip()
    if report.decimal == ",":
        pattern, drop, point = r"[+-]?\d{1,3}(\.\d{3})*(,\d+)?|[+-]?\d+(,\d+)?", ".", ","
    else:
        pattern, drop, point = r"[+-]?\d{1,3}(,\d{3})*(\.\d+)?|[+-]?\d+(\.\d+)?", ",", "."
    if not probe.str.fullmatch(pattern).all():
        return None
    cleaned = column.str.strip().str.replace(drop, "", regex=False)
    if point != ".":
        cleaned = cleaned.str.replace(point, ".", regex=False)
    parsed = pd.to_numeric(cleaned, errors="coerce")
    if parsed.notna().sum() != len(values):
        return None
    return parsed


def _parse_dates(column: pd.Series, values: pd.Series, report: LoadReport | None = None) -> pd.Series | None:
    """``column`` as datetimes when (almost) all its values are dates or months, else ``None``.

    At least :data:`core.dates.DATE_SHARE` of the first 200 values, and of all values, must be
    dates; the others become missing, and the report says which.
    """
    probe = values.head(200).astype(str)
    if probe.map(looks_like_date).mean() < DATE_SHARE:
        return None
    day_first = report.day_first if report is not None else None
    parsed = parse_dates(column, day_first)
    failed = values.index[parsed.loc[values.index].isna()]
    if len(failed) > (1 - DATE_SHARE) * len(values) or parsed.loc[values.index].isna().all():
        return None
    if len(failed) and report is not None:
        examples = ", ".join(repr(str(v)) for v in pd.unique(values.loc[failed].astype(str))[:3])
        report.notices.append(
            f"'{column.name}': {len(failed):,} value(s) are not dates and became missing (e.g. {examples})."
        )
    if report is not None and day_first is None and ambiguous_order(values):
        example = str(values.iloc[0])
        report.notices.append(
            f"'{column.name}': every date reads both as month/day and as day/month (e.g. {example!r}); they were "
            f"read month first ({parsed.loc[values.index[0]]:%d %B %Y}). If they are day/month, choose 'day first' "
            "under 'Read the file differently'."
        )
    return parsed


# --------------------------------------------------------------------------- excel


def _load_excel(data: bytes, file_name: str, options: LoadOptions) -> Dataset:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DataLoadError(
            f"'{file_name}' is named like an Excel workbook but is not one.",
            hint="Open it in Excel and save as .xlsx, or export it as CSV.",
        )
    sheets = excel_sheets(data)
    if not sheets:
        raise DataLoadError(f"'{file_name}' has no worksheets.")
    sheet = options.sheet if options.sheet in sheets else sheets[0]
    report = LoadReport(
        file_name=file_name, file_kind="excel", size_bytes=len(data), sheets=sheets, sheet=sheet,
        header=options.header if options.header is not None else True, extra_missing=tuple(options.missing),
        day_first=options.day_first,
    )  # fmt: skip
    if len(sheets) > 1:
        report.notices.append(f"This workbook has {len(sheets)} sheets; showing '{sheet}'. Pick another sheet above.")
    try:
        raw = pd.read_excel(
            io.BytesIO(data),
            sheet_name=sheet,
            header=0 if report.header else None,
            na_values=[*MISSING_TOKENS, *options.missing],
            engine="openpyxl",
        )
    except Exception as exc:  # openpyxl/pandas raise many types for broken sheets
        raise DataLoadError(
            f"Sheet '{sheet}' could not be read ({type(exc).__name__}: {exc}).",
            hint="Check the sheet in Excel, or export it as CSV.",
        ) from exc
    raw = raw.dropna(how="all").dropna(axis=1, how="all") if len(raw) else raw
    names = [str(c) if not str(c).startswith("Unnamed:") else "" for c in raw.columns]
    if not report.header:
        names = [f"column_{i + 1}" for i in range(raw.shape[1])]
    raw.columns = _dedupe_names(names, report)
    frame = pd.DataFrame(index=raw.index)
    for name in raw.columns:
        column = raw[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            blank = column.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
            if blank.any():
                _count_missing(report, {name: int(blank.sum())}, {})
                column = column.mask(blank)
            numeric = pd.to_numeric(column, errors="coerce")
            if numeric.notna().sum() == column.notna().sum() and column.notna().any():
                column = numeric
            else:
                column = column.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
        frame[name] = column
    frame = frame.reset_index(drop=True)
    frame = _post_process(frame, report)
    return Dataset(frame=frame, name=file_name, report=report)


# --------------------------------------------------------------------------- checks


def _check_shape(dataset: Dataset) -> None:
    frame = dataset.frame
    if frame.shape[1] == 0:
        raise DataLoadError(
            f"No columns were found in '{dataset.name}'.",
            hint="Check that the first line holds column names separated by commas, semicolons, tabs or pipes.",
        )
    if frame.shape[1] > MAX_COLUMNS:
        raise DataLoadError(
            f"'{dataset.name}' has {frame.shape[1]:,} columns; this app handles up to {MAX_COLUMNS:,}.",
            hint="Select the columns you need before uploading.",
        )
    if len(frame) == 0:
        raise DataLoadError(
            f"'{dataset.name}' has column names but no data rows.",
            hint="Add data below the header, or untick 'First row is the header' if the first row is data.",
        )
    if frame.shape[1] == 1:
        dataset.report.notices.append(
            "Only one column was found. If the file has more, pick the delimiter by hand above."
        )
