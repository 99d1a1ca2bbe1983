"""Sniffing a text file: its encoding, delimiter, header row and number format.

Detection looks at a sample from the start of the file (:data:`_SAMPLE_BYTES`), parsed with the
standard ``csv`` module; whatever the person chose in :class:`LoadOptions` wins over it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from core.errors import DataLoadError
from core.load_options import DELIMITERS, ENCODINGS, LoadOptions

_SAMPLE_BYTES = 256 * 1024
_SNIFF_RECORDS = 500
_NUM_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_NUM_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")

# Fields may be as long as a file; this package's readers (here and in core.loading.text) rely on it.
csv.field_size_limit(2**31 - 1)


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
    text = decode(data[: _SAMPLE_BYTES * 2] if _is_utf16(encoding) else data[:_SAMPLE_BYTES], encoding, partial=True)
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


def _is_utf16(encoding: str) -> bool:
    return encoding.lower().replace("_", "-").startswith("utf-16")


def decode(data: bytes, encoding: str, *, partial: bool = False) -> str:
    """``data`` as text; an encoding this app does not know, or bytes that are not valid in it, are refused
    with a message (``partial``: a sample, whose undecodable bytes are skipped)."""
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
