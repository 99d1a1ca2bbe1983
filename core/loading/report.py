"""What a load found and did, and the bookkeeping every reader shares.

:class:`LoadReport` records what was detected and changed so the page can show it; :class:`Dataset`
is the loaded table with its report. The text and Excel readers both make column names unique
(:func:`unique_names`, :func:`dedupe_names`) and count the cells they read as missing
(:func:`count_missing`, :func:`missing_notice`) here, so they say it in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.big_files import BigSource
from core.load_options import DELIMITER_NAMES


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
    #: A file too big to read whole (:mod:`core.loading.lazy`): its exact counts; ``frame`` is a sample of it.
    big: BigSource | None = None

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def n_cols(self) -> int:
        return self.frame.shape[1]


# --------------------------------------------------------------------------- column names


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


def dedupe_names(raw: list[str], report: LoadReport) -> list[str]:
    """:func:`unique_names` of ``raw``; what was renamed is kept in ``report`` and said in a notice."""
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


# --------------------------------------------------------------------------- cells read as missing


def count_missing(report: LoadReport, blanks: dict[str, int], markers: dict[str, int]) -> None:
    """Add, per column, the cells read as missing because they held only spaces or a marker."""
    for counts, kept in ((blanks, report.blank_cells), (markers, report.marker_cells)):
        for name, count in counts.items():
            if count:
                kept[name] = kept.get(name, 0) + int(count)


def _marker_examples(report: LoadReport) -> str:
    mine = ", ".join(repr(m) for m in report.extra_missing[:5])
    return f"yours: {mine}, or one such as NA, N/A, ? or -" if mine else "such as NA, N/A, ? or -"


def missing_notice(report: LoadReport) -> None:
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
