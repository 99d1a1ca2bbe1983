"""A scored chunk as CSV: the person's columns as written, then the predictions, formula-safe."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.predict import FORMULA_START, neutralise_formulas

#: A cell written as a plain number ('-3', '+1,5', '1e-4'): left alone even when it starts with '-' or '+'.
_NUMBER = r"^[+-]?[\d.,]+(?:[eE][+-]?\d+)?$"


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


def output_names(originals: list[str], predicted: list[str]) -> list[str]:
    """The predictions' column names, made unique beside the person's (as on the Predict page)."""
    taken, names = set(originals), []
    for name in predicted:
        while name in taken:
            name = f"{name} (model)"
        taken.add(name)
        names.append(name)
    return names


def chunk_csv(table, predicted: pd.DataFrame, names: list[str], keep: bool, first_row: int, header: bool) -> bytes:
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
