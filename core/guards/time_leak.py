"""Do time features read the future? A check of the training rows' features from earlier rows.

Features from earlier rows (:mod:`core.time_features`) may only read rows at or before a row's
time within its entity. The check computes them on the training rows, then again after the rows
*after* a cut point (in time; in row order, each entity's later rows) were changed — their values
replaced and their order shuffled, all still after the cut — and compares the rows before it: a
feature that reads only the past cannot tell. Any difference is a likely leak, named by its column.
Thresholds are in :mod:`core.guards.thresholds`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from core.guards.findings import Finding, Level
from core.guards.thresholds import THRESHOLDS
from core.time_features import TimeSetup, past_features
from core.time_order import order_keys, order_values


def future_reads(
    rows: pd.DataFrame, setup: TimeSetup, *, dates: bool, transformer: Any = None, seed: int = 0
) -> list[Finding]:
    """Findings for each time feature whose values on earlier rows change when only later rows change.

    Args:
        rows: The training rows (the pipeline's inputs).
        setup: The time features.
        dates: Whether the order column holds dates (as the pipeline decides it).
        transformer: The step to check (unfitted); :func:`core.time_features.past_features` by default.
        seed: Seeds the changes made to the later rows.
    """
    step = transformer if transformer is not None else past_features(setup, dates=dates)
    if not step.new_columns() or len(rows) < 4:
        return []
    frame = rows.iloc[: THRESHOLDS.time_check_rows].reset_index(drop=True)
    later = _later(frame, setup)
    if not later.any() or later.all():
        return []
    changed = _changed(frame, later, setup, np.random.default_rng(seed))
    before = np.flatnonzero(~later)
    first = clone(step).fit_transform(frame).iloc[before]
    second = clone(step).fit_transform(changed).loc[before]  # the earlier rows keep their index
    findings = []
    sources = step.sources()
    for column in step.new_columns():
        a, b = first[column].to_numpy(dtype=float), second[column].to_numpy(dtype=float)
        scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 1.0
        same = np.isclose(a, b, rtol=THRESHOLDS.time_tolerance, atol=THRESHOLDS.time_tolerance * max(scale, 1.0))
        moved = int((~(same | (np.isnan(a) & np.isnan(b)))).sum())
        if moved:
            findings.append(
                Finding(
                    Level.LEAK,
                    str(sources.get(column, column)),
                    f"The time feature '{column}' of {moved:,} of {len(before):,} earlier training rows changed "
                    "when only later rows were changed: it reads rows from their future.",
                    "Switch this feature off in the Time and sequences section of the Models page; a feature "
                    "may only use rows at or before each row's time within its entity.",
                    "time_future",
                    moved / len(before),
                )
            )
    return findings


def _later(frame: pd.DataFrame, setup: TimeSetup) -> np.ndarray:
    """Which rows come after the cut: later than that share of the time, or each entity's later rows."""
    share = THRESHOLDS.time_cut_share
    if setup.order is not None:
        when = order_values(frame[setup.order])
        key = when.astype("int64").astype(float) if when.dtype.kind == "M" else when.copy()
        if when.dtype.kind == "M":
            key[np.isnat(when)] = np.nan
        cut = np.nanquantile(key, share) if np.isfinite(key).any() else np.inf
        return np.asarray(key > cut)
    ordered = order_keys(frame, None, setup.entity)
    sizes = np.bincount(ordered.group)
    later = np.zeros(len(frame), dtype=bool)
    later[ordered.positions] = ordered.step >= np.ceil(sizes[ordered.group] * share)
    return later


def _changed(frame: pd.DataFrame, later: np.ndarray, setup: TimeSetup, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` with its later rows' values replaced and those rows shuffled, placed after the earlier rows."""
    out = frame.copy()
    rows = np.flatnonzero(later)
    for column in setup.columns:
        values = pd.to_numeric(out[column], errors="coerce").astype(float)
        out[column] = values
        spread = float(values.std()) if values.notna().sum() > 1 else 1.0
        out.loc[rows, column] = rng.normal(float(values.mean() or 0.0), spread or 1.0, len(rows)) * 3
    if setup.order is not None:  # their times shuffled among themselves: still after the cut
        out.loc[rows, setup.order] = out[setup.order].to_numpy()[rng.permutation(rows)]
    # In row order, the later rows go last (after every earlier row), in a shuffled order.
    return pd.concat([out.iloc[np.flatnonzero(~later)], out.iloc[rng.permutation(rows)]])
