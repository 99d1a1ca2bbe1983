"""Reading the file as the app did, written as code.

Text files are read with ``pandas.read_csv`` and the options the app detected or was given.
Workbooks are read with ``pandas.read_excel`` and then tidied and typed by the app's own code,
copied into the script (:func:`core.loading.tidy_sheet`, :func:`core.loading.column_types.type_columns`),
so the script's table is the app's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path

from core.codegen.helpers import Bundle
from core.codegen.imports import Binding, Imports
from core.codegen.values import Node, atom, list_literal, literal
from core.load_options import MISSING_TOKENS, LoadOptions
from core.loading.column_types import type_columns
from core.loading.detect import sniff
from core.loading.excel import EXCEL_SUFFIXES, tidy_sheet
from core.loading.report import LoadReport, unique_names


@dataclass(frozen=True)
class Reading:
    """How the app read the file."""

    kind: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = True
    decimal: str = "."
    thousands: str | None = None
    sheet: str | None = None
    renamed: bool = False
    #: The person's own missing-value markers (a workbook's reading uses them).
    missing: tuple[str, ...] = ()
    #: The person's reading of numeric dates (a workbook's typing uses it); ``None``: decided per column.
    day_first: bool | None = None


def reading_of(data_file: str, options: LoadOptions | None, report: LoadReport | None) -> Reading:
    """The reading options: the load report's (what the app did), else detected from the file when
    it exists, else the defaults; options the person set explicitly win."""
    options = options or LoadOptions()
    if report is not None:
        base = Reading(
            kind=report.file_kind,
            encoding=report.encoding or "utf-8",
            delimiter=report.delimiter or ",",
            header=report.header,
            decimal=report.decimal,
            thousands=report.thousands,
            sheet=report.sheet,
            renamed=bool(report.renamed_columns),
            missing=tuple(report.extra_missing),
            day_first=report.day_first,
        )
    elif str(data_file).lower().endswith(EXCEL_SUFFIXES):
        base = Reading(kind="excel")
    elif Path(data_file).is_file():
        with open(data_file, "rb") as handle:
            head = handle.read(512 * 1024)
        found = sniff(head, options)
        text = head.decode(found.encoding, errors="ignore").lstrip("\ufeff")
        first = next(csv.reader(io.StringIO(text), delimiter=found.delimiter), [])
        renamed = found.header and unique_names(first) != first
        base = Reading(
            "csv", found.encoding, found.delimiter, found.header, found.decimal, found.thousands, None, renamed
        )
    else:
        base = Reading()
    return replace(
        base,
        encoding=options.encoding or base.encoding,
        delimiter=options.delimiter or base.delimiter,
        header=base.header if options.header is None else options.header,
        sheet=options.sheet if options.sheet is not None else base.sheet,
        missing=tuple(options.missing) or base.missing,
        day_first=options.day_first if options.day_first is not None else base.day_first,
    )


def loading_code(
    data_file: str,
    load_options: LoadOptions | None = None,
    *,
    report: LoadReport | None = None,
    date_columns: list[str] | tuple[str, ...] = (),
) -> str:
    """Python code that reads ``data_file`` into ``df`` as the app did (needs ``pd`` imported; the
    app's helpers it calls come with it, copied, after the import lines they need).

    Text files: ``pandas.read_csv`` with the app's delimiter, encoding, decimal and thousands
    separators and missing-value tokens; the app's renaming of empty or repeated column names;
    ``date_columns`` parsed as dates as the app's reader does. Excel: ``pandas.read_excel`` with the
    app's missing-value markers, then the app's own clean-up and typing of the sheet (dates too).
    Rows with *more* fields than the header (which the app keeps in ``extra_N`` columns) are not
    reproduced.
    """
    imports = Imports()
    bundle = Bundle(imports)
    code = load_code(reading_of(data_file, load_options, report), date_columns, bundle)
    if not bundle.pieces:
        return code
    head = "\n".join(imports.lines()) + "\n\n\n" if imports.bound else ""
    return head + bundle.source() + "\n\n" + code


def load_code(reading: Reading, date_columns: list[str] | tuple[str, ...], bundle: Bundle) -> str:
    """The code that reads ``DATA_FILE`` into ``df``; the app's helpers it calls are copied into ``bundle``."""
    if reading.kind == "excel":
        return "\n".join(_excel_lines(reading, bundle)) + "\n"
    lines = [f"NA_TOKENS = {list_literal(['', *MISSING_TOKENS])}", *_csv_lines(reading, bundle)]
    if date_columns:
        lines += [
            "# The app recognised these columns as dates; pandas needs to be told.",
            f"DATE_COLUMNS = {list_literal(list(date_columns))}",
            "for column in DATE_COLUMNS:",
            '    df[column] = pd.to_datetime(df[column], errors="coerce", format="mixed")',
        ]
    return "\n".join(lines) + "\n"


def _csv_lines(r: Reading, bundle: Bundle) -> list[str]:
    args: list[tuple[str, Node]] = [("", atom("DATA_FILE")), ("sep=", atom(literal(r.delimiter)))]
    args.append(("encoding=", atom(literal(r.encoding))))
    if r.decimal != ".":
        args.append(("decimal=", atom(literal(r.decimal))))
    if r.thousands:
        args.append(("thousands=", atom(literal(r.thousands))))
    lines: list[str] = []
    if not r.header:
        args.append(("header=", atom("None")))
    elif r.renamed:
        bundle.imports.require("csv", Binding("import", "csv", None))
        rename = bundle.require(unique_names)
        lines += [
            "# Read the header row first: the app renamed empty, padded or repeated column names.",
            f'with open(DATA_FILE, encoding={literal(r.encoding)}, newline="") as handle:',
            f"    raw_names = next(csv.reader(handle, delimiter={literal(r.delimiter)}))",
        ]
        args += [("header=", atom("0")), ("names=", atom(f"{rename}(raw_names)"))]
    args += [("keep_default_na=", atom("False")), ("na_values=", atom("NA_TOKENS"))]
    lines.append("df = " + Node("pd.read_csv(", args, ")").format(0, 5))
    if not r.header:
        lines.append('df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]  # the file has no header row')
    return lines


def _excel_lines(r: Reading, bundle: Bundle) -> list[str]:
    args: list[tuple[str, Node]] = [("", atom("DATA_FILE"))]
    if r.sheet is not None:
        args.append(("sheet_name=", atom(literal(r.sheet))))
    args += [
        ("header=", atom("0" if r.header else "None")),
        ("na_values=", atom("NA_TOKENS")),
        ("engine=", atom('"openpyxl"')),
    ]
    tidy = bundle.require(tidy_sheet)
    typing = [("", atom("df"))]
    if r.decimal != ".":
        typing.append(("decimal=", atom(literal(r.decimal))))
    if r.day_first is not None:
        typing.append(("day_first=", atom(literal(r.day_first))))
    return [
        f"NA_TOKENS = {list_literal([*MISSING_TOKENS, *r.missing])}",
        "raw = " + Node("pd.read_excel(", args, ")").format(0, 6),
        "# The app's clean-up of the sheet: empty rows and columns dropped, column names made unique,",
        "# cells of only spaces read as missing, columns of numbers as numbers and the others as text.",
        f"df = {tidy}(raw, header={r.header!r}).frame",
        "# Text holding numbers with thousands separators, or dates, typed as the app types it (in place).",
        Node(f"{bundle.require(type_columns)}(", typing, ")").format(),
    ]
