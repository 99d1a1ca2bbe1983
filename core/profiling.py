"""Profile a table: size, duplicates, and per-column facts a person needs.

Cheap, exact numbers (row/column counts, missing cells, memory, duplicate rows)
are computed on the whole table. Everything whose cost grows with the number
of distinct values (distinct counts, quantiles, histograms, top values,
correlations) is computed on a seeded sample above :data:`PROFILE_SAMPLE_ROWS`
rows, and the :class:`Profile` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.big_files import BigSource
from core.cleaning import duplicated_mask
from core.numbers import format_number
from core.schema import Role

PROFILE_SAMPLE_ROWS = 100_000
#: The correlation heatmap shows at most this many numeric columns.
MAX_CORRELATION_COLUMNS = 30
HISTOGRAM_BINS = 30
TOP_VALUES = 10
_SYMBOL_NUMBER = re.compile(r"^\s*[-+(]?\s*[$€£¥]?\s*[-+]?\d[\d,.\s]*\s*[%$€£¥]?\s*\)?\s*$")


@dataclass
class ColumnProfile:
    """Facts about one column."""

    name: str
    role: Role
    dtype: str
    missing: int
    missing_share: float
    distinct: int
    stats: dict[str, float | str] = field(default_factory=dict)
    #: Numeric/datetime columns: (bin edges, counts) over the sample.
    histogram: tuple[list, list[int]] | None = None
    #: Label-like columns: most frequent values and their counts in the sample.
    top_values: list[tuple[str, int]] | None = None
    #: A text column whose values look like numbers with symbols ("$12", "12%").
    looks_numeric: bool = False


@dataclass
class Profile:
    """Facts about a whole table."""

    n_rows: int
    n_cols: int
    memory_bytes: int
    missing_cells: int
    duplicate_rows: int
    columns: list[ColumnProfile]
    sample_size: int
    correlation: pd.DataFrame | None = None
    correlation_note: str | None = None
    #: Which figures cover all rows and which a sample, when the table is a sample of a bigger file ('' else).
    scope_note: str = ""

    @property
    def sampled(self) -> bool:
        """Whether sample-based figures come from fewer rows than the table has."""
        return self.sample_size < self.n_rows

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column by name."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def summary_rows(self) -> pd.DataFrame:
        """One row per column, for the profile table."""
        return pd.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "role": [str(c.role) for c in self.columns],
                "type": [c.dtype for c in self.columns],
                "missing %": [round(100 * c.missing_share, 1) for c in self.columns],
                "distinct": [c.distinct for c in self.columns],
                "summary": [_summary_text(c) for c in self.columns],
            }
        )


def profile(
    frame: pd.DataFrame,
    roles: dict[str, Role],
    *,
    sample_rows: int = PROFILE_SAMPLE_ROWS,
    seed: int = 0,
    big: BigSource | None = None,
) -> Profile:
    """Profile ``frame`` given each column's role.

    Args:
        frame: The table.
        roles: Role of every column (inferred or overridden).
        sample_rows: Sample size for the costly, distribution-like figures.
        seed: Seed for that sample.
        big: When ``frame`` is a sample of a file too big to read whole: the file's exact row and
            missing counts (:mod:`core.loading.lazy`), used instead of the sample's.
    """
    sample = frame.sample(n=sample_rows, random_state=seed) if len(frame) > sample_rows else frame
    missing = frame.isna().sum()
    n_rows = len(frame)
    if big is not None:
        n_rows = big.rows
        missing = pd.Series({name: big.missing.get(name, int(missing[name])) for name in frame.columns}, dtype="int64")
    columns = [
        _profile_column(sample[name], roles.get(name, Role.CATEGORICAL), int(missing[name]), n_rows)
        for name in frame.columns
    ]
    correlation, note = _correlation(sample, [c.name for c in columns if c.role == Role.NUMERIC])
    memory = int(frame.memory_usage(deep=True).sum())
    return Profile(
        n_rows=n_rows,
        n_cols=frame.shape[1],
        memory_bytes=memory if big is None else int(memory / max(len(frame), 1) * big.rows),
        missing_cells=int(missing.sum()),
        duplicate_rows=count_duplicates(frame),
        columns=columns,
        sample_size=len(sample),
        correlation=correlation,
        correlation_note=note,
        scope_note="" if big is None else big.profile_note(len(sample), len(frame)),
    )


def count_duplicates(frame: pd.DataFrame) -> int:
    """Number of rows that repeat an earlier row exactly (whole table): what the Clean page's default drops."""
    return int(duplicated_mask(frame).sum())


def _profile_column(values: pd.Series, role: Role, missing: int, n_rows: int) -> ColumnProfile:
    present = values.dropna()
    col = ColumnProfile(
        name=str(values.name),
        role=role,
        dtype=_dtype_label(values.dtype),
        missing=missing,
        missing_share=missing / n_rows if n_rows else 0.0,
        distinct=int(present.nunique()),
    )
    if present.empty:
        return col
    if pd.api.types.is_numeric_dtype(present.dtype) and not pd.api.types.is_bool_dtype(present.dtype):
        _numeric_facts(col, present.astype(float))
    elif pd.api.types.is_datetime64_any_dtype(present.dtype):
        _datetime_facts(col, present)
    else:
        _label_facts(col, present)
    return col


def _numeric_facts(col: ColumnProfile, present: pd.Series) -> None:
    q = present.quantile([0.25, 0.5, 0.75]).to_numpy()
    col.stats = {
        "mean": float(present.mean()),
        "std": float(present.std()) if len(present) > 1 else 0.0,
        "min": float(present.min()),
        "25%": float(q[0]),
        "median": float(q[1]),
        "75%": float(q[2]),
        "max": float(present.max()),
    }
    finite = present[np.isfinite(present)]
    counts, edges = np.histogram(finite, bins=min(HISTOGRAM_BINS, max(1, col.distinct)))
    col.histogram = (edges.tolist(), counts.tolist())
    if col.role in (Role.CATEGORICAL, Role.ID, Role.CONSTANT):
        col.top_values = _top(present)


def _datetime_facts(col: ColumnProfile, present: pd.Series) -> None:
    col.stats = {"first": str(present.min()), "last": str(present.max())}
    as_int = present.astype("int64")
    counts, edges = np.histogram(as_int, bins=HISTOGRAM_BINS)
    col.histogram = (pd.to_datetime(edges.astype("int64"), unit=_unit(present)).astype(str).tolist(), counts.tolist())


def _unit(present: pd.Series) -> str:
    return np.datetime_data(present.dtype)[0] if present.dtype.kind == "M" else "ns"


def _label_facts(col: ColumnProfile, present: pd.Series) -> None:
    text = present.astype(str)
    lengths = text.str.len()
    col.top_values = _top(text)
    top_value, top_count = col.top_values[0]
    col.stats = {
        "most frequent": top_value,
        "its share": top_count / len(text),
        "mean length": float(lengths.mean()),
        "max length": int(lengths.max()),
    }
    head = text.head(500)
    col.looks_numeric = col.role != Role.TEXT and bool(head.str.match(_SYMBOL_NUMBER).mean() > 0.9)


def _top(values: pd.Series) -> list[tuple[str, int]]:
    counts = values.value_counts().head(TOP_VALUES)
    return [(str(k), int(v)) for k, v in counts.items()]


def _correlation(sample: pd.DataFrame, numeric: list[str]) -> tuple[pd.DataFrame | None, str | None]:
    if len(numeric) < 2:
        return None, "A correlation heatmap needs at least two numeric columns."
    note = None
    if len(numeric) > MAX_CORRELATION_COLUMNS:
        spread = sample[numeric].std(numeric_only=True).sort_values(ascending=False)
        numeric = [c for c in spread.index if spread[c] > 0][:MAX_CORRELATION_COLUMNS]
        note = f"Showing the {len(numeric)} numeric columns with the largest spread."
    corr = sample[numeric].astype(float).corr()
    return corr, note


def _dtype_label(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "true/false"
    if pd.api.types.is_integer_dtype(dtype):
        return "whole number"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date/time"
    return "text"


def _summary_text(col: ColumnProfile) -> str:
    s = col.stats
    if not s:
        return ""
    if "mean" in s:
        return f"min {format_number(s['min'])} · median {format_number(s['median'])} · max {format_number(s['max'])}"
    if "first" in s:
        return f"{str(s['first'])[:10]} → {str(s['last'])[:10]}"
    share = float(s["its share"])
    return f"top: {str(s['most frequent'])[:30]} ({share:.0%})"
