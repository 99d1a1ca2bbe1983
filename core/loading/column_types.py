"""Typing what the readers left as text: numbers written with separators, and dates.

Both readers (text files and Excel) end with :func:`post_process`, which types the columns with
:func:`type_columns` and says what it did in the report. :func:`type_columns` takes plain settings,
not a report, so "Show the code" copies it into the generated script and types a sheet as the app.
"""

from __future__ import annotations

import pandas as pd

from core.dates import DATE_SHARE, ambiguous_order, looks_like_date, parse_dates
from core.loading.report import LoadReport, missing_notice


def post_process(frame: pd.DataFrame, report: LoadReport) -> pd.DataFrame:
    """Type columns that polars left as text: numbers with separators, dates."""
    numbers, dates = type_columns(frame, report.decimal, report.day_first, report.notices)
    report.parsed_numbers.extend(numbers)
    report.parsed_dates.extend(dates)
    missing_notice(report)
    if report.parsed_numbers:
        report.notices.append(
            "Read as numbers (thousands separators or decimal commas removed): "
            + ", ".join(f"'{n}'" for n in report.parsed_numbers[:10])
            + "."
        )
    return frame


def type_columns(
    frame: pd.DataFrame, decimal: str = ".", day_first: bool | None = None, notices: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """Type the text columns of ``frame``, in place: numbers (``decimal`` is their decimal mark), then dates.

    Returns the columns read as numbers whose separators were removed, and the columns read as dates.
    ``day_first`` is the person's reading of numeric dates (``None``: decided per column); what the
    person should know about the dates is added to ``notices`` when given.
    """
    numbers: list[str] = []
    dates: list[str] = []
    for name in list(frame.columns):
        column = frame[name]
        if not pd.api.types.is_string_dtype(column.dtype):
            continue
        values = column.dropna()
        if values.empty:
            continue
        number = _parse_numbers(column, values, decimal)
        if number is not None:
            frame[name] = number
            if values.head(500).astype(str).str.contains(r"\d[.,]\d{3}(?:\D|$)|\d,\d", regex=True).any():
                numbers.append(name)  # separators were removed: say so
            continue
        date = _parse_dates(column, values, day_first, notices)
        if date is not None:
            frame[name] = date
            dates.append(name)
    return numbers, dates


def _parse_numbers(column: pd.Series, values: pd.Series, decimal: str) -> pd.Series | None:
    probe = values.head(500).astype(str).str.strip()
    if decimal == ",":
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


def _parse_dates(
    column: pd.Series, values: pd.Series, day_first: bool | None = None, notices: list[str] | None = None
) -> pd.Series | None:
    """``column`` as datetimes when (almost) all its values are dates or months, else ``None``.

    At least :data:`core.dates.DATE_SHARE` of the first 200 values, and of all values, must be
    dates; the others become missing, and ``notices`` (when given) says which.
    """
    probe = values.head(200).astype(str)
    if probe.map(looks_like_date).mean() < DATE_SHARE:
        return None
    parsed = parse_dates(column, day_first)
    failed = values.index[parsed.loc[values.index].isna()]
    if len(failed) > (1 - DATE_SHARE) * len(values) or parsed.loc[values.index].isna().all():
        return None
    if len(failed) and notices is not None:
        examples = ", ".join(repr(str(v)) for v in pd.unique(values.loc[failed].astype(str))[:3])
        notices.append(f"'{column.name}': {len(failed):,} value(s) are not dates and became missing (e.g. {examples}).")
    if notices is not None and day_first is None and ambiguous_order(values):
        example = str(values.iloc[0])
        notices.append(
            f"'{column.name}': every date reads both as month/day and as day/month (e.g. {example!r}); they were "
            f"read month first ({parsed.loc[values.index[0]]:%d %B %Y}). If they are day/month, choose 'day first' "
            "under 'Read the file differently'."
        )
    return parsed
