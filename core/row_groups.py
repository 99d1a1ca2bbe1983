"""Rows in groups by one column of the loaded table: the column matched to a run's rows, and readable groups.

A run's rows hold its features and target only; :func:`group_column` brings any other column of the
loaded table along by replaying the plan's row steps, so a column the model never saw can split its
rows (fairness across groups, an anomaly detector checked against a known column).
:func:`group_labels` makes readable groups of it: a number or date column with many values cut into
a few quantile bins, missing values as the group :data:`MISSING`, beyond ``group_max`` groups the
smallest as one "other" group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.cleaning import apply_row_steps
from core.errors import DashboardError
from core.guards.thresholds import THRESHOLDS, Thresholds
from core.numbers import format_number
from core.training import TrainingRequest

#: The group of rows without a value in the column.
MISSING = "(missing)"


def group_column(request: TrainingRequest, source: pd.DataFrame, column: str) -> pd.Series:
    """``column``'s value for each row of ``request.frame`` (by position), from the table as loaded.

    A feature is taken from the request's rows. Any other column is not in them (the row steps keep
    the features and the target only), so the row steps are replayed on ``source`` (the loaded table
    the request was made from) with ``column`` under a name no step knows: the same rows are kept, in
    the same order, and the column comes along.

    Raises:
        DashboardError: ``column`` is not in the table, or the table is not the one trained on.
    """
    if column in request.features:
        return request.frame[column].reset_index(drop=True)
    if column not in source.columns:
        raise DashboardError(f"'{column}' is not a column of the loaded table.", hint="Pick one of the listed columns.")
    marker = "__group__"
    while marker in source.columns:
        marker += "_"
    renamed = source.rename(columns={column: marker})  # duplicates are judged on values: the name does not matter
    rows, _ = apply_row_steps(renamed, request.plan, request.target, [*request.features, marker])
    target = request.target
    same = len(rows) == len(request.frame) and (
        target is None or rows[target].reset_index(drop=True).equals(request.frame[target].reset_index(drop=True))
    )
    if not same:
        raise DashboardError(
            "The loaded table is not the one this model was trained on, so its rows cannot be matched to groups.",
            hint="Load the table the model was trained on, or train again on this one.",
        )
    return rows[marker].reset_index(drop=True)


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """Numbers or dates as floats (missing: NaN), or ``None`` for anything else (text, categories, yes/no)."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        present = values.dropna()
        return pd.Series(present.astype("int64").astype(float), index=present.index).reindex(values.index)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    return None


def _show(value: Any) -> str:
    """A bin edge as people read it: a date, or a number with sensible digits."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value != value.normalize() else value.date().isoformat()
    return format_number(float(value))  # the app's one rule for a number


@dataclass(frozen=True)
class Groups:
    """Each evaluated row's group, and how the groups were formed."""

    #: One label per row, a categorical whose categories are in the order shown.
    labels: pd.Series
    notes: list[str]
    #: The label of the group that holds the smallest groups together (a mix: never judged), if any.
    other: str | None = None


def _label(value: Any) -> str:
    return (
        _show(value)
        if isinstance(value, int | float | np.number | pd.Timestamp) and not isinstance(value, bool)
        else str(value)
    )


def group_labels(values: pd.Series, column: str, thresholds: Thresholds = THRESHOLDS) -> Groups:
    """Each row's group as text, in the order to show them, and notes on how groups were formed.

    Numbers and dates with more than ``group_bin_above`` distinct values are cut into
    ``group_bins`` quantile bins of these rows ("18 to 30": the lowest and highest value in
    the bin); missing values form :data:`MISSING`; beyond ``group_max`` groups the largest are
    kept and the rest become "other (N groups)". The labels' categories are in the order shown:
    bins and a few numbers in their order, else largest first; other and missing last.
    """
    values = values.reset_index(drop=True)
    missing = values.isna()
    notes: list[str] = []
    numbers = _as_numbers(values)
    distinct = int(values.nunique(dropna=True))
    order: list[str] = []
    if numbers is not None and distinct > thresholds.group_bin_above:
        codes = pd.qcut(numbers, thresholds.group_bins, labels=False, duplicates="drop")
        labels = pd.Series(np.full(len(values), MISSING, dtype=object))
        for code in sorted(codes.dropna().unique()):
            inside = (codes == code).to_numpy()
            low, high = values[inside].min(), values[inside].max()
            name = f"{_show(low)} to {_show(high)}" if _show(low) != _show(high) else _show(low)
            labels[inside] = name
            order.append(name)
        notes.append(
            f"'{column}' has {distinct:,} different values: its rows are cut into {len(order)} quantile bins "
            "of about equal rows (by the values of these rows)."
        )
    else:
        names = {v: _label(v) for v in values.dropna().unique()}
        labels = values.map(names).astype(object).where(~missing, MISSING)
        if numbers is not None:  # a few numbers (a party's size: 1 … 6) read in their order, not by count
            order = [names[v] for v in sorted(names)]
    if missing.any():
        some = f"{int(missing.sum()):,} rows have" if missing.sum() > 1 else "1 row has"
        notes.append(f"{some} no value in '{column}': they form the group '{MISSING}'.")
    sizes = labels.value_counts()
    if not order:
        order = [g for g in sizes.index if g != MISSING]
    named = [g for g in order if g in sizes.index]
    other = None
    if len(named) > thresholds.group_max:
        keep = set(sizes.drop(MISSING, errors="ignore").index[: thresholds.group_max])
        rest = [g for g in named if g not in keep]
        other = f"other ({len(rest):,} groups)"
        labels = labels.where(labels.isin(keep) | (labels == MISSING), other)
        named = [g for g in named if g in keep] + [other]
        notes.append(
            f"'{column}' makes {len(rest) + len(keep):,} groups: the {len(keep)} largest are shown, "
            f"the other {len(rest):,} together as '{other}'."
        )
    categories = named + ([MISSING] if missing.any() else [])
    return Groups(pd.Series(pd.Categorical(labels, categories=categories), name=column), notes, other)
