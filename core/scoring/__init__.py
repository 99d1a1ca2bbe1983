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
its extra values ignored, one with fewer has the rest empty (counted where a line is a row: in blocks
without quotes, or read by the csv module), and rows the model cannot predict (found by halving the chunk that failed)
get empty predictions. Each kind is counted, with the first few rows as examples, in the
:class:`StreamReport`.

Memory is bounded by the chunk: a block of bytes, its parsed text and the model's columns. Stop ends
the work between chunks; the output then keeps the name :func:`partial_path` gives it (``…-partial.csv``)
and the report says how many rows it holds. :class:`ScoringJob` runs the whole thing as one task on the
Dask cluster (:mod:`core.engine`): the workers read and write the files, so the paths must be on a disk
they see (the embedded cluster's workers share this machine's).

The package's modules: :mod:`~core.scoring.reading` (blocks of records), :mod:`~core.scoring.chunk_types`
(typing a chunk, its problems), :mod:`~core.scoring.predicting`, :mod:`~core.scoring.writing` (a chunk as CSV),
:mod:`~core.scoring.outputs` (folders, downloads), :mod:`~core.scoring.report`, :mod:`~core.scoring.stream`
(:func:`score_file`) and :mod:`~core.scoring.job` (:class:`ScoringJob`).
"""

from core.scoring.outputs import (
    DOWNLOAD_LIMIT_MB,
    KEEP_PER_SESSION,
    downloadable,
    keep_latest,
    output_name,
    output_root,
    partial_path,
    session_folder,
    sweep,
)
from core.scoring.report import Problem, RowsScored, StreamReport
from core.scoring.stream import CHUNK_ROWS, score_file

__all__ = [
    "CHUNK_ROWS",
    "DOWNLOAD_LIMIT_MB",
    "KEEP_PER_SESSION",
    "Problem",
    "RowsScored",
    "StreamReport",
    "downloadable",
    "keep_latest",
    "output_name",
    "output_root",
    "partial_path",
    "score_file",
    "session_folder",
    "sweep",
]
