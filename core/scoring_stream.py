"""Scoring a whole file on disk in chunks: predictions written as they come, never all held at once.

:func:`score_file` reads a CSV a block of bytes at a time (cut at a record's end, outside quotes),
parses each block with polars as text, types the model's columns the way the app's reader types a
table (:func:`core.loading.column_types.type_columns` for numbers, :func:`core.dates.parse_dates`
for dates, with the day/month order fixed once for the whole file), aligns them with the model's
schema like any batch (:func:`core.predict.check_batch`), predicts (:func:`core.predict.predict_frame`)
and appends the person's columns, exactly as written in the file, plus the predictions to the output
CSV, formula-safe (:data:`core.predict.FORMULA_START`). A column's type never depends on the chunk: it
comes from the model's :class:`~core.usable.FeatureSchema`, so a column empty in the first chunk and
numeric later is numbers throughout.

Rows with a problem never stop the file: a value that cannot be read as its column's type is treated
as missing, a category the model never saw as unknown, a row with more fields than the header has
its extra values ignored, and rows the model cannot predict (found by halving the chunk that failed)
get empty predictions. Each kind is counted, with the first few rows as examples, in the
:class:`StreamReport`.

Memory is bounded by the chunk: a block of bytes, its parsed text and the model's columns. Stop ends
the work between chunks; the output then keeps the name :func:`partial_path` gives it (``…-partial.csv``)
and the report says how many rows it holds. :class:`ScoringJob` runs the whole thing as one task on the
Dask cluster (:mod:`core.engine`): the workers read and write the files, so the paths must be on a disk
they see (the embedded cluster's workers share this machine's).
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import csv
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.dates import parse_dates
from core.engine import ClusterJob
from core.errors import DashboardError
from core.load_options import MISSING_TOKENS, LoadOptions
from core.loading.column_types import type_columns
from core.loading.detect import Sniffed, sniff
from core.loading.report import LoadReport, dedupe_names
from core.params import show_value
from core.predict import FORMULA_START, check_batch, neutralise_formulas, predict_frame
from core.usable import ColumnSchema, UsableModel

#: Rows read, typed and predicted at a time: memory is bounded by about one chunk.
CHUNK_ROWS = 50_000
#: A scored file is offered as a download up to this size; beyond it the page says where it is on the server.
DOWNLOAD_LIMIT_MB = 200
#: Example rows kept per kind of problem.
EXAMPLES = 5
#: Output folders of sessions untouched for this long are removed when another scoring starts.
KEEP_HOURS = 24
#: Scored files kept per session: starting another removes the oldest beyond this.
KEEP_PER_SESSION = 3
#: A chunk the model fails on is halved to find the rows at fault, at most this many predictions per chunk.
MAX_PREDICT_CALLS = 64
#: The detection sample and the first bytes read to estimate a row's size.
_HEAD_BYTES = 1024 * 1024
_PARTIAL = "-partial"
_EXCEL = (".xlsx", ".xlsm", ".xls")
#: A cell written as a plain number ('-3', '+1,5', '1e-4'): left alone even when it starts with '-' or '+'.
_NUMBER = r"^[+-]?[\d.,]+(?:[eE][+-]?\d+)?$"
#: A date written day and month as numbers first ('03/04/2018'), whose order is decided once per file.
_NUMERIC_DATE = r"^\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"


@dataclass(frozen=True)
class RowsScored(ev.Event):
    """A chunk was scored and written: rows done so far, of ``rows_total`` (None: estimated from the bytes)."""

    rows: int
    rows_total: int | None
    bytes_read: int
    bytes_total: int
    problem_rows: int

    @property
    def fraction(self) -> float:
        """The share of the file done, from the bytes read (exact, whatever the rows' lengths)."""
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 1.0

    @property
    def rows_estimate(self) -> int | None:
        """The file's rows: exact when known, else from the bytes per row so far."""
        if self.rows_total is not None:
            return self.rows_total
        return round(self.rows / self.fraction) if self.rows and self.fraction else None


@dataclass
class Problem:
    """One kind of problem: how many rows have it and the first few, in words."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, rows: np.ndarray, describe: Callable[[int], str]) -> None:
        """Count the rows at positions ``rows``; keep the first examples (``describe(position)``)."""
        self.count += len(rows)
        for position in rows[: max(0, EXAMPLES - len(self.examples))]:
            self.examples.append(describe(int(position)))


@dataclass
class StreamReport:
    """What scoring a whole file did: rows scored, rows with problems (why, how many, examples), where it went."""

    source: str
    out_path: str
    rows: int = 0
    problem_rows: int = 0
    #: why -> how many rows and the first few; a row may have several problems (counted once in problem_rows)
    problems: dict[str, Problem] = field(default_factory=dict)
    #: the model's columns the file lacks (treated as empty) and the file's columns the model does not use
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes_written: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    #: the file holds only the first ``rows`` rows (Stop was pressed, or the work broke off)
    partial: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def problem(self, why: str) -> Problem:
        return self.problems.setdefault(why, Problem())

    def summary(self) -> str:
        """One sentence: rows, time, where the predictions are."""
        what = "the first " if self.partial else ""
        return (
            f"{what}{self.rows:,} rows scored in {self.seconds:,.1f} s ({self.rows_per_second:,.0f} rows/s); "
            f"{self.problem_rows:,} with a problem. Predictions in {self.out_path} ({_size(self.bytes_written)})."
        )

    def sentences(self) -> list[str]:
        """Plain sentences: partial or not, the columns, each kind of problem with its examples."""
        lines = []
        if self.partial:
            lines.append(
                f"Stopped: the file holds the first {self.rows:,} rows only ({self.bytes_read / max(1, self.bytes_total):.0%} "
                "of the input). Its name ends in '-partial'."
            )
        if self.missing_columns:
            names = ", ".join(show_value(c) for c in self.missing_columns[:20])
            lines.append(
                f"{len(self.missing_columns)} column(s) the model needs are missing from the file: {names}. "
                "They were treated as empty (the model fills them as it learned to)."
            )
        if self.extra_columns:
            names = ", ".join(show_value(c) for c in self.extra_columns[:20])
            lines.append(
                f"{len(self.extra_columns)} column(s) the model does not use were copied as they are: {names}."
            )
        for why, found in self.problems.items():
            lines.append(f"{found.count:,} row(s): {why} (e.g. {'; '.join(found.examples)}).")
        return [*lines, *self.notes]


def _ignore(event: ev.Event) -> None:
    """The default listener: progress goes nowhere."""


def partial_path(out_path: str) -> str:
    """Where the output is written until the last row is in: ``scored.csv`` → ``scored-partial.csv``."""
    stem, suffix = os.path.splitext(out_path)
    return f"{stem}{_PARTIAL}{suffix or '.csv'}"


def _size(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


# --------------------------------------------------------------------------- reading blocks


def _layout(path: str, options: LoadOptions) -> tuple[Sniffed, list[str], LoadReport]:
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


def _blocks(path: str, encoding: str, block_bytes: int, skip_header: bool):
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


def _parse(block: bytes, names: list[str], delimiter: str):
    """A block as text columns; rows with more fields than the header are cut, and their positions returned."""
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
        return table, np.array([], dtype=int)
    except pl.exceptions.ComputeError as exc:
        if "more fields" not in str(exc):
            raise
    # A row with extra fields: the csv module finds them; each row keeps its first fields.
    rows: list[list[str | None]] = []
    long: list[int] = []
    width = len(names)
    reader = csv.reader(io.StringIO(block.decode("utf-8", errors="replace")), delimiter=delimiter)
    for row in reader:
        if not row:
            continue
        if len(row) > width:
            long.append(len(rows))
        rows.append([cell if cell != "" else None for cell in (row + [""] * width)[:width]])
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    return pl.DataFrame(columns, schema=schema), np.array(long, dtype=int)


# --------------------------------------------------------------------------- typing a chunk


def _nulls(table, columns: list[str], extra: tuple[str, ...]):
    """The reader's missing cells in ``columns``: empty, only spaces, a missing-value marker."""
    import polars as pl

    tokens = pl.Series([*MISSING_TOKENS, *extra], dtype=pl.String).implode()
    return table.select(
        pl.when(pl.col(c).is_in(tokens) | pl.col(c).str.contains(r"^\s+$")).then(None).otherwise(pl.col(c)).alias(c)
        for c in columns
    )


def _to_pandas(table) -> pd.DataFrame:
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


class _Typer:
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
class _Rows:
    """A chunk's rows in words: 'row 1,235' (counted in the file, from 1), with a column's value as written."""

    frame: pd.DataFrame
    first: int
    column: str | None = None

    def __call__(self, position: int) -> str:
        where = f"row {self.first + position + 1:,}"
        if self.column is None:
            return where
        return f"{where}: {show_value(self.frame[self.column].iloc[position])}"


def _value_problems(
    report: StreamReport,
    schema: list[ColumnSchema],
    raw: pd.DataFrame,
    aligned: pd.DataFrame,
    long: np.ndarray,
    first: int,
) -> np.ndarray:
    """Count a chunk's rows with extra fields, unreadable values and unseen categories; which rows have one."""
    flags = np.zeros(len(aligned), dtype=bool)
    if len(long):
        report.problem("more fields than the header (the extra values were ignored)").add(long, _Rows(raw, first))
        flags[long] = True
    for column in schema:
        if column.name not in raw.columns:
            continue
        present = raw[column.name].notna().to_numpy()
        values = aligned[column.name]
        bad = np.flatnonzero(present & values.isna().to_numpy())
        if len(bad):
            kind = {"number": "a number", "date": "a date"}.get(column.kind, "the expected type")
            why = f"{show_value(column.name)} is not {kind} (treated as missing)"
            report.problem(why).add(bad, _Rows(raw, first, column.name))
            flags[bad] = True
        if column.kind == "category" and column.complete and column.categories:
            known = values.astype(str).isin(set(column.categories)).to_numpy()
            unseen = np.flatnonzero(present & ~known & values.notna().to_numpy())
            if len(unseen):
                why = f"{show_value(column.name)} has a category the model never saw (treated as unknown)"
                report.problem(why).add(unseen, _Rows(raw, first, column.name))
                flags[unseen] = True
    return flags


# --------------------------------------------------------------------------- predicting a chunk


class _TransformOnce:
    """A fitted pipeline whose ``predict`` and ``predict_proba`` of the same rows share one transform.

    :func:`core.predict.predict_frame` asks a classifier for labels, then probabilities, of the same
    rows; a pipeline transforms them at each call (each step's ``transform`` in turn, then the last
    step's method), about half the time of scoring a chunk. This does the steps' transforms once, the
    way the pipeline does them (``_iter(with_final=False)``: resamplers and 'passthrough' left out), and
    hands the result to the last step's ``predict`` and ``predict_proba``: the same numbers, once.
    The last step is a shallow copy whose inner scores (:data:`_SHARED_SCORES`) are kept for the rows
    last scored, so a forest's or a boosting model's ``predict``, which computes its ``predict_proba``
    or raw scores, and the ``predict_proba`` that follows share them (the model itself is untouched).
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.final = _sharing_scores(pipeline.steps[-1][1])
        self._rows: Any = None
        self._transformed: Any = None

    @staticmethod
    def fits(pipeline: Any) -> bool:
        """A (scikit-learn or imbalanced-learn) pipeline ending in a step with ``predict_proba``."""
        from sklearn.pipeline import Pipeline

        return (
            isinstance(pipeline, Pipeline)
            and hasattr(pipeline, "_iter")
            and hasattr(pipeline.steps[-1][1], "predict_proba")
            and not _routing()
        )

    def _transform(self, X: Any) -> Any:
        if X is not self._rows:
            self._rows, self._transformed = None, None  # a failed transform leaves nothing stale
            transformed = X
            for _, _, step in self.pipeline._iter(with_final=False):
                transformed = step.transform(transformed)
            self._rows, self._transformed = X, transformed
        return self._transformed

    def forget(self) -> None:
        """Let the last rows' transform and scores go (memory stays one chunk's)."""
        self._rows, self._transformed = None, None
        for name in _SHARED_SCORES:
            scores = vars(self.final).get(name)
            if isinstance(scores, _LastScores):
                scores.forget()

    def predict(self, X: Any) -> Any:
        return self.final.predict(self._transform(X))

    def predict_proba(self, X: Any) -> Any:
        return self.final.predict_proba(self._transform(X))

    @property
    def classes_(self) -> Any:
        return self.pipeline.classes_

    def __getitem__(self, index: Any) -> Any:
        return self.pipeline[index]


#: A classifier's methods that ``predict`` and ``predict_proba`` both call on the same rows (forests and
#: nearest neighbours: ``predict_proba``; gradient boosting: ``decision_function`` / ``_raw_predict``).
_SHARED_SCORES = ("predict_proba", "decision_function", "_raw_predict")


class _LastScores:
    """A method of a model that gives back its last answer when asked again about the very same rows.

    Each caller gets its own copy of the array (some callers change it in place, e.g. a softmax).
    """

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self._rows: Any = None
        self._scores: np.ndarray | None = None

    def __call__(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return self.method(X, *args, **kwargs)
        if X is self._rows and self._scores is not None:
            return self._scores.copy()
        self.forget()
        scores = self.method(X)
        if isinstance(scores, np.ndarray):
            self._rows, self._scores = X, scores.copy()
        return scores

    def forget(self) -> None:
        self._rows, self._scores = None, None


def _sharing_scores(estimator: Any) -> Any:
    """A shallow copy of a fitted scikit-learn classifier whose :data:`_SHARED_SCORES` are :class:`_LastScores`."""
    from sklearn.base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        return estimator
    try:
        twin = copy.copy(estimator)
    except Exception:  # a model that cannot be copied is used as it is
        return estimator
    for name in _SHARED_SCORES:
        method = getattr(twin, name, None)  # None also when the model does not offer it (available_if)
        if callable(method):
            setattr(twin, name, _LastScores(method))
    return twin


def _routing() -> bool:
    """scikit-learn's metadata routing is on (the pipeline then routes parameters: leave it to do so)."""
    import sklearn

    return bool(sklearn.get_config().get("enable_metadata_routing", False))


def _predicting(model: UsableModel) -> UsableModel:
    """The model as the chunks are predicted with: a classifier's rows transformed once per chunk."""
    if model.task.is_classification and _TransformOnce.fits(model.pipeline):
        return replace(model, pipeline=_TransformOnce(model.pipeline))
    return model


def _predict(
    model: UsableModel, aligned: pd.DataFrame
) -> tuple[list[tuple[int, pd.DataFrame]], list[tuple[int, int, str]]]:
    """Predictions by row range, and the ranges the model could not predict (with why).

    A chunk that fails is halved until the failing rows are alone, within :data:`MAX_PREDICT_CALLS`;
    beyond that budget a failing part is given up whole.
    """
    done: list[tuple[int, pd.DataFrame]] = []
    failed: list[tuple[int, int, str]] = []
    calls = 0
    pending = [(0, len(aligned))]
    while pending:
        low, high = pending.pop(0)
        calls += 1
        try:
            done.append((low, predict_frame(model, aligned.iloc[low:high])))
        except DashboardError as err:
            if high - low == 1 or calls + 2 > MAX_PREDICT_CALLS:
                failed.append((low, high, err.user_message))
            else:
                middle = (low + high) // 2
                pending[:0] = [(low, middle), (middle, high)]
    return done, failed


# --------------------------------------------------------------------------- writing


def _safe_text(table, columns: list[str]):
    """Text cells a spreadsheet would run as formulas get a leading apostrophe (plain numbers stay)."""
    import polars as pl

    starts = "^[" + re.escape("".join(FORMULA_START)) + "]"
    if not columns:
        return table
    # Most columns have no cell starting like a formula: found in one pass, they are left as they are.
    hits = table.select(pl.col(c).str.contains(starts).any() for c in columns).row(0)
    columns = [c for c, hit in zip(columns, hits, strict=True) if hit]
    return table.with_columns(
        pl.when(pl.col(c).str.contains(starts) & ~pl.col(c).str.contains(_NUMBER))
        .then(pl.concat_str([pl.lit("'"), pl.col(c)]))
        .otherwise(pl.col(c))
        .alias(c)
        for c in columns
    )


def _output_names(originals: list[str], predicted: list[str]) -> list[str]:
    """The predictions' column names, made unique beside the person's (as on the Predict page)."""
    taken, names = set(originals), []
    for name in predicted:
        while name in taken:
            name = f"{name} (model)"
        taken.add(name)
        names.append(name)
    return names


# --------------------------------------------------------------------------- the way in


def score_file(
    model: UsableModel,
    path: str,
    out_path: str,
    options: LoadOptions | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    listen: ev.Listener | None = None,
    should_stop: Callable[[], bool] | None = None,
    rows_total: int | None = None,
    keep_columns: bool = True,
    name: str | None = None,
) -> StreamReport:
    """Score every row of the CSV at ``path`` with ``model``, writing ``out_path`` a chunk at a time.

    Args:
        model: The model (its schema decides each column's type).
        path: A CSV/TSV file on disk (Excel is refused: save it as CSV).
        out_path: Where the scored file goes (UTF-8 with BOM, formula-safe); ``…-partial.csv`` until done.
        options: How the training file was read (delimiter, encoding, header, extra missing markers,
            day-first dates); detected from the file's start when not given.
        chunk_rows: Rows per chunk (memory is about one chunk's).
        listen: Gets a :class:`RowsScored` after each chunk.
        should_stop: Checked before each chunk; true ends the work with a partial file.
        rows_total: The file's rows when known (an exact count from a scan); else estimated.
        keep_columns: Copy the person's columns next to the predictions (else a row number and the predictions).
        name: The file's name in messages (default: its base name).

    Returns:
        The :class:`StreamReport`.

    Raises:
        DashboardError: The file cannot be read, shares no column with the model, has no rows, or the
            model could not predict any row of the first chunk.
    """
    started = time.perf_counter()
    listen = listen or _ignore
    should_stop = should_stop or (lambda: False)
    options = options or LoadOptions()
    name = name or os.path.basename(path)
    if name.lower().endswith(_EXCEL):
        raise DashboardError(
            f"'{name}' is an Excel workbook, which cannot be read in chunks.",
            hint="Save the sheet as CSV and score that file, or upload a smaller workbook to score it whole.",
        )
    if not os.path.isfile(path):
        raise DashboardError(f"'{name}' is not a file on the server.", hint="Check the path, or upload the file.")
    sniffed, names, layout = _layout(path, options)
    size = os.path.getsize(path)
    report = StreamReport(name, out_path, bytes_total=size, notes=list(layout.notices))
    per_row = _bytes_per_row(path, sniffed)
    block_bytes = max(4096, int(chunk_rows * per_row))
    schema = list(model.schema.columns)
    used = [c.name for c in schema if c.name in names]
    report.missing_columns = [c.name for c in schema if c.name not in names]
    report.extra_columns = [n for n in names if n not in model.schema.names]
    typer = _Typer(schema, sniffed.decimal, options.day_first)
    predicting = _predicting(model)
    working = partial_path(out_path)
    os.makedirs(os.path.dirname(os.path.abspath(working)), exist_ok=True)
    problem_flags = 0
    header_written = False
    out_names: list[str] = []
    predicted_columns: list[str] = []
    finished = False
    try:
        with open(working, "wb") as out:
            out.write(b"\xef\xbb\xbf")  # Excel reads accents in UTF-8 with a BOM
            for block, read in _blocks(path, sniffed.encoding, block_bytes, sniffed.header):
                if should_stop():
                    break
                table, long = _parse(block, names, sniffed.delimiter)
                del block
                n = table.height
                if n == 0:
                    continue
                first_row = report.rows  # 0-based position of this chunk's first row in the file
                frame = (
                    _to_pandas(_nulls(table, used, tuple(options.missing))) if used else pd.DataFrame(index=range(n))
                )
                typed = typer(frame)
                aligned, _ = check_batch(typed, model.schema)
                flags = _value_problems(report, schema, frame, aligned, long, first_row)
                done, failed = _predict(predicting, aligned)
                if isinstance(predicting.pipeline, _TransformOnce):
                    predicting.pipeline.forget()
                if not done and not header_written:
                    raise DashboardError(
                        f"{model.name} could not predict any of the first {n:,} rows of '{name}': {failed[0][2]}",
                        hint="Check that this file has the columns and kinds of values the model was trained on.",
                    )
                if done:
                    predicted = pd.concat([part.set_axis(range(low, low + len(part))) for low, part in done])
                    predicted = predicted.reindex(range(n))
                else:  # every row of this chunk failed: empty predictions, counted below
                    predicted = pd.DataFrame(np.nan, index=range(n), columns=predicted_columns)
                predicted_columns = list(predicted.columns)
                for low, high, why in failed:
                    where = _Rows(frame, first_row)
                    report.problem(f"the model could not predict it: {why}").add(np.arange(low, high), where)
                    flags[low:high] = True
                del aligned, typed, frame
                if not header_written:
                    out_names = _output_names(names if keep_columns else ["row"], list(predicted.columns))
                predicted.columns = out_names
                out.write(_chunk_csv(table, predicted, names, keep_columns, first_row, not header_written))
                header_written = True
                report.rows += n
                problem_flags += int(flags.sum())
                report.problem_rows = problem_flags
                report.bytes_read = read
                report.bytes_written = out.tell()
                report.seconds = time.perf_counter() - started
                listen(RowsScored(report.rows, rows_total, read, size, problem_flags))
            else:
                finished = True
        if report.rows == 0 and finished:
            raise DashboardError(f"'{name}' has column names but no data rows.", hint="Add data rows below the header.")
    except BaseException:
        with contextlib.suppress(OSError):
            if report.rows == 0:
                os.remove(working)
        raise
    report.seconds = time.perf_counter() - started
    if finished:
        os.replace(working, out_path)
        report.bytes_read = size
    elif report.rows == 0:  # stopped before the first chunk: nothing worth keeping
        with contextlib.suppress(OSError):
            os.remove(working)
        report.partial, report.out_path = True, ""
        return report
    else:
        report.partial = True
        report.out_path = working
    report.bytes_written = os.path.getsize(report.out_path)
    return report


def _chunk_csv(table, predicted: pd.DataFrame, names: list[str], keep: bool, first_row: int, header: bool) -> bytes:
    """One chunk's output: the person's columns as written (formula-safe) or the row number, then the predictions."""
    import polars as pl

    safe_predictions = pl.from_pandas(predicted.reset_index(drop=True))
    text = [name for name, dtype in safe_predictions.schema.items() if dtype == pl.String]
    safe_predictions = _safe_text(safe_predictions, text)
    if keep:
        left = _safe_text(table, names)
    else:
        left = pl.DataFrame({"row": np.arange(first_row + 1, first_row + 1 + table.height)})
    if header:  # the header's names are formula-safe too; later chunks write no names
        left.columns = list(neutralise_formulas(pd.DataFrame(columns=left.columns)).columns)
        safe_predictions.columns = list(neutralise_formulas(pd.DataFrame(columns=predicted.columns)).columns)
    both = pl.concat([left, safe_predictions], how="horizontal")
    return both.write_csv(include_header=header).encode("utf-8")


def _bytes_per_row(path: str, sniffed: Sniffed) -> float:
    """Bytes one row takes in the file, from its first megabyte (records, not lines)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    lines = head.count(b"\n") or 1
    return max(8.0, len(head) / lines) * (2 if _codec(sniffed.encoding).startswith("utf-16") else 1)


# --------------------------------------------------------------------------- where outputs go


def output_root() -> str:
    """The folder that holds each session's scored files (``NOCODE_OUTPUT_DIR``, else the system's temp)."""
    from core.server_settings import OUTPUT_DIR

    return OUTPUT_DIR.value() or os.path.join(tempfile.gettempdir(), "nocode-scored")


def session_folder(session: str, root: str | None = None) -> str:
    """The session's output folder (made if need be); sweeps folders of sessions gone for :data:`KEEP_HOURS`."""
    root = root or output_root()
    os.makedirs(root, exist_ok=True)
    sweep(root)
    folder = os.path.join(root, re.sub(r"[^A-Za-z0-9_-]", "_", session))
    os.makedirs(folder, exist_ok=True)
    return folder


def sweep(root: str, hours: float = KEEP_HOURS, now: float | None = None) -> list[str]:
    """Remove the session folders under ``root`` untouched for ``hours``; the ones removed."""
    now = time.time() if now is None else now
    removed = []
    for entry in os.scandir(root):
        with contextlib.suppress(OSError):
            if entry.is_dir() and now - _newest(entry.path) > hours * 3600:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _newest(folder: str) -> float:
    times = [os.path.getmtime(folder)]
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):
            times.append(entry.stat().st_mtime)
    return max(times)


def keep_latest(folder: str, keep: int = KEEP_PER_SESSION, spare: tuple[str, ...] = ()) -> None:
    """Remove all but the ``keep`` newest files in ``folder`` (``spare``: never removed, e.g. one being written)."""
    entries = sorted(
        (
            e
            for e in os.scandir(folder)
            if e.is_file() and os.path.abspath(e.path) not in {os.path.abspath(s) for s in spare}
        ),
        key=lambda e: e.stat().st_mtime,
        reverse=True,
    )
    for entry in entries[keep:]:
        with contextlib.suppress(OSError):
            os.remove(entry.path)


def output_name(source: str) -> str:
    """``sales.csv`` → ``sales-scored.csv`` (a safe file name)."""
    stem = os.path.splitext(os.path.basename(source))[0] or "predictions"
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "predictions"
    return f"{stem}-scored.csv"


def downloadable(report: StreamReport) -> bool:
    """Whether the scored file is small enough to offer as a download (:data:`DOWNLOAD_LIMIT_MB`)."""
    return report.bytes_written <= DOWNLOAD_LIMIT_MB * 1024 * 1024


# --------------------------------------------------------------------------- on the cluster


class ScoringJob(ClusterJob):
    """:func:`score_file` as one task on the cluster; the :class:`StreamReport` is the job's result.

    ``model`` is a :class:`~core.usable.UsableModel`, or a future of one already on a worker
    (:func:`core.engine.place`), so the pipeline is not sent again at every file. Stop ends the
    work after the chunk in progress; the report then says the file is partial.
    """

    name = "scoring-job"

    def __init__(
        self, model: Any, path: str, out_path: str, options: LoadOptions | None = None, **settings: Any
    ) -> None:
        self.path, self.out_path = path, out_path
        super().__init__(_score_task, model, path, out_path, options, settings)

    def _execute(self) -> StreamReport:
        result = super()._execute()
        self._keep(result)
        return result


def _score_task(listen, should_stop, keep, model, path, out_path, options, settings) -> StreamReport:
    """On a worker: :func:`score_file` with the job's channel."""
    return score_file(model, path, out_path, options, listen=listen, should_stop=should_stop, **settings)


def with_layout(options: LoadOptions | None, **layout: Any) -> LoadOptions:
    """``options`` with the file's known layout (a big file's delimiter, header, UTF-8 copy) filled in."""
    return replace(options or LoadOptions(), **{k: v for k, v in layout.items() if v is not None})
