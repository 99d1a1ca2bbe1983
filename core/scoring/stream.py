"""The way in: :func:`score_file` scores every row of a CSV on disk, a chunk at a time."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from core import events as ev
from core.errors import DashboardError
from core.load_options import LoadOptions
from core.predict import check_batch
from core.scoring.chunk_types import Rows, Typer, nulls, to_pandas, value_problems
from core.scoring.outputs import partial_path
from core.scoring.predicting import TransformOnce, for_chunks, predict_chunk
from core.scoring.reading import EXCEL, blocks, bytes_per_row, parse, read_layout
from core.scoring.report import RowsScored, StreamReport
from core.scoring.writing import chunk_csv, output_names
from core.usable import UsableModel

#: Rows read, typed and predicted at a time: memory is bounded by about one chunk.
CHUNK_ROWS = 50_000


def _ignore(event: ev.Event) -> None:
    """The default listener: progress goes nowhere."""


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
    if name.lower().endswith(EXCEL):
        raise DashboardError(
            f"'{name}' is an Excel workbook, which cannot be read in chunks.",
            hint="Save the sheet as CSV and score that file, or upload a smaller workbook to score it whole.",
        )
    if not os.path.isfile(path):
        raise DashboardError(f"'{name}' is not a file on the server.", hint="Check the path, or upload the file.")
    sniffed, names, layout = read_layout(path, options)
    size = os.path.getsize(path)
    report = StreamReport(name, out_path, bytes_total=size, notes=list(layout.notices))
    per_row = bytes_per_row(path, sniffed)
    block_bytes = max(4096, int(chunk_rows * per_row))
    schema = list(model.schema.columns)
    used = [c.name for c in schema if c.name in names]
    report.missing_columns = [c.name for c in schema if c.name not in names]
    report.extra_columns = [n for n in names if n not in model.schema.names]
    typer = Typer(schema, sniffed.decimal, options.day_first)
    predicting = for_chunks(model)
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
            for block, read in blocks(path, sniffed.encoding, block_bytes, sniffed.header):
                if should_stop():
                    break
                table, long, short = parse(block, names, sniffed.delimiter)
                del block
                n = table.height
                if n == 0:
                    continue
                first_row = report.rows  # 0-based position of this chunk's first row in the file
                frame = to_pandas(nulls(table, used, tuple(options.missing))) if used else pd.DataFrame(index=range(n))
                typed = typer(frame)
                aligned, _ = check_batch(typed, model.schema)
                flags = value_problems(report, schema, frame, aligned, long, short, first_row)
                done, failed = predict_chunk(predicting, aligned)
                if isinstance(predicting.pipeline, TransformOnce):
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
                    where = Rows(frame, first_row)
                    report.problem(f"the model could not predict it: {why}").add(np.arange(low, high), where)
                    flags[low:high] = True
                del aligned, typed, frame
                if not header_written:
                    out_names = output_names(names if keep_columns else ["row"], list(predicted.columns))
                predicted.columns = out_names
                out.write(chunk_csv(table, predicted, names, keep_columns, first_row, not header_written))
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
