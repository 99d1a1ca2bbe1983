"""Reading an Excel workbook (.xlsx, .xlsm) with pandas and openpyxl.

One sheet is read (the person's choice, else the first); :func:`tidy_sheet` then cleans it up as
the app does, and :func:`core.loading.column_types.post_process` types the text that holds
numbers or dates. :func:`tidy_sheet` takes and gives plain tables (no report), so "Show the code"
copies it into the generated script, which then reads a workbook exactly as the app.
"""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

import pandas as pd

from core.errors import DataLoadError
from core.load_options import MISSING_TOKENS, LoadOptions
from core.loading.column_types import post_process
from core.loading.report import Dataset, LoadReport, count_missing, dedupe_names, unique_names

#: File names read as Excel workbooks (any file starting like a zip archive is tried as one too).
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


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


def load_excel(data: bytes, file_name: str, options: LoadOptions) -> Dataset:
    """Read an Excel workbook's bytes into a :class:`Dataset` (what :func:`core.loading.load_file` does for Excel)."""
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
    tidy = tidy_sheet(raw, report.header)
    dedupe_names(tidy.names, report)  # the renaming tidy_sheet did, kept in the report and said
    count_missing(report, tidy.blank_cells, {})
    frame = post_process(tidy.frame, report)
    return Dataset(frame=frame, name=file_name, report=report)


class TidySheet(NamedTuple):
    """A sheet after :func:`tidy_sheet`."""

    #: The table: unique column names, a fresh 0, 1, … index.
    frame: pd.DataFrame
    #: The column names as the sheet gave them (before they were made unique).
    names: list[str]
    #: Column -> cells that held only spaces, now missing.
    blank_cells: dict[str, int]


def tidy_sheet(raw: pd.DataFrame, header: bool = True) -> TidySheet:
    """The app's clean-up of a sheet as ``pandas.read_excel`` gives it (``header``: its first row holds the names).

    Empty rows and columns are dropped; column names are made unique (pandas' ``Unnamed: n`` is an
    empty name; without a header row the columns are ``column_1``, ``column_2``, …); text cells of
    only spaces become missing; a column whose every value is a number becomes numbers, any other
    column with text becomes text.
    """
    raw = raw.dropna(how="all").dropna(axis=1, how="all") if len(raw) else raw
    names = [str(c) if not str(c).startswith("Unnamed:") else "" for c in raw.columns]
    if not header:
        names = [f"column_{i + 1}" for i in range(raw.shape[1])]
    raw = raw.set_axis(unique_names(names), axis=1)
    frame = pd.DataFrame(index=raw.index)
    blank_cells: dict[str, int] = {}
    for name in raw.columns:
        column = raw[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            blank = column.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
            if blank.any():
                blank_cells[name] = int(blank.sum())
                column = column.mask(blank)
            numeric = pd.to_numeric(column, errors="coerce")
            if numeric.notna().sum() == column.notna().sum() and column.notna().any():
                column = numeric
            else:
                column = column.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
        frame[name] = column
    return TidySheet(frame.reset_index(drop=True), names, blank_cells)
