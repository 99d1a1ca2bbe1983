"""Reading a CSV on disk a block of whole records at a time (cut outside quotes, transcoded to UTF-8), parsed as text."""

from __future__ import annotations

import codecs
import csv
import io
import os

import numpy as np

from core.errors import DashboardError
from core.load_options import LoadOptions
from core.loading.detect import Sniffed, sniff
from core.loading.report import LoadReport, dedupe_names

#: The detection sample and the first bytes read to estimate a row's size.
_HEAD_BYTES = 1024 * 1024
EXCEL = (".xlsx", ".xlsm", ".xls")


def read_layout(path: str, options: LoadOptions) -> tuple[Sniffed, list[str], LoadReport]:
    """The file's dialect, column names (as the reader names them), where the data starts, a report for notices."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head.strip():
        raise DashboardError(f"'{os.path.basename(path)}' is empty.", hint="Choose a file with a header row and data.")
    sniffed = sniff(head, options)
    report = LoadReport(
        file_name=os.path.basename(path), file_kind="csv", size_bytes=len(head), encoding=sniffed.encoding
    )
    text = codecs.getincrementaldecoder(_codec(sniffed.encoding))(errors="replace").decode(head)
    text = text.lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text), delimiter=sniffed.delimiter), [])
    if sniffed.header:
        names = dedupe_names(first, report)
    else:
        names = [f"column_{i + 1}" for i in range(len(first))]
    return sniffed, names, report


def _codec(encoding: str) -> str:
    return "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _record_end(data: bytes) -> int:
    """The position of the last newline that ends a record (outside quotes), or -1."""
    quotes = data.count(b'"')
    end = data.rfind(b"\n")
    tries = 0
    while end >= 0 and tries < 10_000:
        if (quotes - data.count(b'"', end)) % 2 == 0:
            return end
        end = data.rfind(b"\n", 0, end)
        tries += 1
    return -1


def blocks(path: str, encoding: str, block_bytes: int, skip_header: bool):
    """UTF-8 blocks of whole records, and the input bytes read so far; the header record is left out."""
    decoder = codecs.getincrementaldecoder(_codec(encoding))(errors="replace")
    transcode = _codec(encoding) != "utf-8"
    carry = b""
    first = True
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(block_bytes)
            done = fh.tell()
            data = decoder.decode(raw, final=not raw).encode("utf-8") if transcode else raw
            if first:
                data = data.removeprefix(b"\xef\xbb\xbf")
            buffer = carry + data if carry else data
            if first and skip_header:
                end = _record_end_first(buffer)
                if end < 0 and raw:
                    carry, first = buffer, True
                    continue
                buffer = buffer[end + 1 :] if end >= 0 else b""
            first = False
            if not raw:
                if buffer.strip():
                    yield buffer, done
                return
            end = _record_end(buffer)
            if end < 0:  # one record longer than a block: read on
                carry = buffer
                continue
            yield buffer[: end + 1], done
            carry = buffer[end + 1 :]


def _record_end_first(data: bytes) -> int:
    """The end of the first record (the header), outside quotes, or -1."""
    inside = False
    for position, byte in enumerate(data):
        if byte == 0x22:
            inside = not inside
        elif byte == 0x0A and not inside:
            return position
    return -1


def parse(block: bytes, names: list[str], delimiter: str):
    """A block as text columns, and the positions of its rows with more fields than the header (cut to
    the header's) and with fewer (the missing ones empty)."""
    import polars as pl

    schema = dict.fromkeys(names, pl.String)
    try:
        table = pl.read_csv(
            block,
            schema=schema,
            has_header=False,
            separator=delimiter,
            raise_if_empty=False,
            encoding="utf8-lossy",
            missing_columns="insert",  # a first row with fewer fields
            truncate_ragged_lines=False,
        )
        return table, np.array([], dtype=int), short_rows(block, len(names), delimiter, table.height)
    except pl.exceptions.ComputeError as exc:
        if "more fields" not in str(exc):
            raise
    # A row with extra fields: the csv module finds them; each row keeps its first fields.
    rows: list[list[str | None]] = []
    long: list[int] = []
    short: list[int] = []
    width = len(names)
    reader = csv.reader(io.StringIO(block.decode("utf-8", errors="replace")), delimiter=delimiter)
    for row in reader:
        if not row:
            continue
        if len(row) > width:
            long.append(len(rows))
        elif len(row) < width:
            short.append(len(rows))
        rows.append([cell if cell != "" else None for cell in (row + [""] * width)[:width]])
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    return pl.DataFrame(columns, schema=schema), np.array(long, dtype=int), np.array(short, dtype=int)


def short_rows(block: bytes, width: int, delimiter: str, rows: int) -> np.ndarray:
    """Positions of the rows of ``block`` with fewer than ``width`` fields, counted line by line.

    Only in a block without quotes, where a line is a row: a quoted field may hold the delimiter or a
    line break, and such rows are not counted (an empty line is a row with one empty field, as the
    parser reads it). Empty when the lines do not match the parsed ``rows``.
    """
    sep = delimiter.encode("utf-8")
    if width <= 1 or len(sep) != 1 or b'"' in block:
        return np.array([], dtype=int)
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == 0x0A)
    if len(data) and data[-1] != 0x0A:
        ends = np.append(ends, len(data))
    if len(ends) != rows:
        return np.array([], dtype=int)
    fields = np.bincount(np.searchsorted(ends, np.flatnonzero(data == sep[0])), minlength=len(ends)) + 1
    return np.flatnonzero(fields[: len(ends)] < width)


def bytes_per_row(path: str, sniffed: Sniffed) -> float:
    """Bytes one row takes in the file, from its first megabyte (records, not lines)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    lines = head.count(b"\n") or 1
    return max(8.0, len(head) / lines) * (2 if _codec(sniffed.encoding).startswith("utf-16") else 1)
