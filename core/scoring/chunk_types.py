"""A chunk's text columns typed as the model saw them in training, and its rows with a problem counted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.dates import parse_dates
from core.load_options import MISSING_TOKENS
from core.loading.column_types import type_columns
from core.params import show_value
from core.scoring.report import StreamReport
from core.usable import ColumnSchema

#: A date written day and month as numbers first ('03/04/2018'), whose order is decided once per file.
_NUMERIC_DATE = r"^\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"


def nulls(table, columns: list[str], extra: tuple[str, ...]):
    """The reader's missing cells in ``columns``: empty, only spaces, a missing-value marker."""
    import polars as pl

    tokens = pl.Series([*MISSING_TOKENS, *extra], dtype=pl.String).implode()
    return table.select(
        pl.when(pl.col(c).is_in(tokens) | pl.col(c).str.contains(r"^\s+$")).then(None).otherwise(pl.col(c)).alias(c)
        for c in columns
    )


def to_pandas(table) -> pd.DataFrame:
    import pyarrow as pa

    text = pd.StringDtype("pyarrow", na_value=np.nan)
    mapper = {pa.string(): text, pa.large_string(): text, pa.string_view(): text}
    frame = table.to_arrow().to_pandas(types_mapper=mapper.get)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype(text)
    return frame


def _numeric(column: ColumnSchema) -> bool:
    dtype = column.dtype.lower()
    return not dtype.startswith("bool") and (dtype.startswith(("int", "uint", "float")) or column.kind == "number")


class Typer:
    """Types a chunk's text columns as the model saw them in training, the same way in every chunk.

    Numbers: the reader's rule for the whole chunk (separators, decimal commas), else value by value.
    Dates: :func:`core.dates.parse_dates` with one day/month order for the whole file: the person's
    choice, else what the first chunk with dates decided (later values that only fit the other order
    become missing and are counted).
    """

    def __init__(self, schema: list[ColumnSchema], decimal: str, day_first: bool | None) -> None:
        self.schema = schema
        self.decimal = decimal
        self.day_first: dict[str, bool | None] = {c.name: day_first for c in schema}

    def __call__(self, raw: pd.DataFrame) -> pd.DataFrame:
        frame = raw.copy(deep=False)  # the raw text stays for the report's examples (copy-on-write: no data copied)
        for column in self.schema:
            if column.name not in frame.columns:
                continue
            values = frame[column.name]
            if values.notna().sum() == 0:
                continue  # all missing: check_batch makes it empty of the right type
            if column.kind == "date" and "datetime" in column.dtype:
                frame[column.name] = self._dates(column.name, values)
            elif _numeric(column):
                frame[column.name] = self._numbers(values, column)
        return frame

    def _numbers(self, values: pd.Series, column: ColumnSchema) -> pd.Series:
        typed = _plain_numbers(values) if self.decimal == "." else None
        if typed is None:  # separators or decimal commas: the reader's own rule for the chunk
            single = pd.DataFrame({"v": values})
            type_columns(single, self.decimal, False)
            typed = single["v"]
        if not pd.api.types.is_numeric_dtype(typed.dtype) or pd.api.types.is_bool_dtype(typed.dtype):
            # Some value is not a number: each is read on its own (as a batch is), the rest become missing.
            typed = pd.to_numeric(values.str.strip(), errors="coerce")
        if column.dtype.startswith("int") and typed.notna().all() and (typed == np.round(typed)).all():
            return typed.astype(column.dtype)
        return typed.astype(float) if not column.dtype.startswith("int") else typed

    def _dates(self, name: str, values: pd.Series) -> pd.Series:
        order = self.day_first[name]
        if order is not None:
            return parse_dates(values, order)
        decided = parse_dates(values, None)
        import pyarrow.compute as pc

        if not pc.any(pc.match_substring_regex(pa_array(values), _NUMERIC_DATE)).as_py():
            return decided  # no date written with the day and month as numbers first (ISO dates): nothing to decide
        # The order this chunk was read in, kept for every later chunk.
        self.day_first[name] = bool(parse_dates(values, True).equals(decided))
        return decided


def _plain_numbers(values: pd.Series) -> pd.Series | None:
    """Text that is all plain numbers ('12', '-3.5', '1e4') as polars reads them when it types a file; else None."""
    import polars as pl

    text = pl.Series(pa_array(values)).str.strip_chars()
    numbers = text.cast(pl.Float64, strict=False)
    if numbers.null_count() != text.null_count():
        return None
    out = pd.Series(numbers.to_numpy(), index=values.index, dtype=float)
    if (out.dropna() == np.round(out.dropna())).all() and text.str.contains(r"^[+-]?\d+$").fill_null(True).all():
        return out.astype("Int64").astype("int64") if out.notna().all() else out
    return out


def pa_array(values: pd.Series):
    """A pandas text column as an Arrow array (no copy for Arrow-backed text)."""
    import pyarrow as pa

    return pa.array(values, type=pa.large_string(), from_pandas=True)


# --------------------------------------------------------------------------- a chunk's problems


@dataclass(frozen=True)
class Rows:
    """A chunk's rows in words: 'row 1,235' (counted in the file, from 1), with a column's value as written."""

    frame: pd.DataFrame
    first: int
    column: str | None = None

    def __call__(self, position: int) -> str:
        where = f"row {self.first + position + 1:,}"
        if self.column is None:
            return where
        return f"{where}: {show_value(self.frame[self.column].iloc[position])}"


def value_problems(
    report: StreamReport,
    schema: list[ColumnSchema],
    raw: pd.DataFrame,
    aligned: pd.DataFrame,
    long: np.ndarray,
    short: np.ndarray,
    first: int,
) -> np.ndarray:
    """Count a chunk's rows with extra or missing fields, unreadable values and unseen categories; which rows have one."""
    flags = np.zeros(len(aligned), dtype=bool)
    if len(long):
        report.problem("more fields than the header (the extra values were ignored)").add(long, Rows(raw, first))
        flags[long] = True
    if len(short):
        report.problem("fewer fields than the header (the missing values were treated as empty)").add(
            short, Rows(raw, first)
        )
        flags[short] = True
    for column in schema:
        if column.name not in raw.columns:
            continue
        present = raw[column.name].notna().to_numpy()
        values = aligned[column.name]
        bad = np.flatnonzero(present & values.isna().to_numpy())
        if len(bad):
            kind = {"number": "a number", "date": "a date"}.get(column.kind, "the expected type")
            why = f"{show_value(column.name)} is not {kind} (treated as missing)"
            report.problem(why).add(bad, Rows(raw, first, column.name))
            flags[bad] = True
        if column.kind == "category" and column.complete and column.categories:
            known = values.astype(str).isin(set(column.categories)).to_numpy()
            unseen = np.flatnonzero(present & ~known & values.notna().to_numpy())
            if len(unseen):
                why = f"{show_value(column.name)} has a category the model never saw (treated as unknown)"
                report.problem(why).add(unseen, Rows(raw, first, column.name))
                flags[unseen] = True
    return flags
