"""Background rows: what a contribution is measured against, kept small so explaining stays fast.

A contribution is a difference from the model's mean output over the
background rows (the base value), so those rows must look like the data the
model learned from. They are a seeded random sample of the training rows,
stratified by the target when it is known: each class keeps its share (a 14%
class gives 7 of 50 rows), a number target its spread (equal shares of its
deciles). The base value is then the plain mean prediction over real rows,
and it is named as such wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Rows sampled from the background frame for LinearSHAP (it uses their mean).
SAMPLE_ROWS = 1_000
#: Rows kept for Permutation SHAP (each explained row costs about 2 × columns × this many predictions).
SUMMARY_ROWS = 50
#: A number target is stratified by this many quantile bins.
NUMBER_STRATA = 10


@dataclass(frozen=True)
class Background:
    """Rows a contribution is measured against, and how they were picked.

    Attributes:
        frame: The rows, in the person's columns and their original order.
        described: How they were picked, in words that follow "over" ("50 training rows
            sampled at random, keeping each class's share").
    """

    frame: pd.DataFrame
    described: str

    @property
    def rows(self) -> int:
        return len(self.frame)


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, seeded, in their original order."""
    if len(frame) <= rows:
        return frame
    picked = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return frame.iloc[picked]


def dense(X: Any) -> np.ndarray:
    """A float array from a dense or sparse matrix."""
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=float)


def strata(y: pd.Series | np.ndarray, classification: bool) -> np.ndarray:
    """One group code per row: the class, or the decile of a number target (missing values: a group of their own)."""
    values = pd.Series(np.asarray(y, dtype=object) if classification else np.asarray(y))
    if classification or not pd.api.types.is_numeric_dtype(values.dtype) or values.nunique() <= NUMBER_STRATA:
        codes = pd.factorize(values.astype(str).where(values.notna(), "\0missing"), sort=True)[0]
        return codes.astype(int)
    bins = pd.qcut(values, NUMBER_STRATA, labels=False, duplicates="drop")
    return bins.fillna(-1).to_numpy(dtype=int)


def allocate(sizes: np.ndarray, rows: int) -> np.ndarray:
    """Rows per group in proportion to the groups' sizes, summing to ``rows`` (largest remainders first)."""
    sizes = np.asarray(sizes, dtype=float)
    exact = sizes * rows / sizes.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: rows - counts.sum()]] += 1
    return np.minimum(counts, sizes.astype(int))


def representative_rows(
    frame: pd.DataFrame,
    rows: int,
    seed: int,
    y: pd.Series | np.ndarray | None = None,
    *,
    classification: bool = False,
) -> Background:
    """At most ``rows`` training rows, a seeded random sample stratified by the target when ``y`` is given.

    Args:
        frame: Training rows in the person's columns.
        rows: How many to keep (all of them when there are no more).
        seed: Random seed: the same rows for the same frame, target and seed.
        y: The target of each row of ``frame`` (same order), or None for a plain random sample.
        classification: Whether ``y`` holds classes (else numbers, stratified by decile).
    """
    if len(frame) <= rows:
        return Background(frame, f"all {len(frame):,} training rows" if len(frame) != 1 else "1 training row")
    rng = np.random.default_rng(seed)
    if y is None or len(y) != len(frame):
        picked = np.sort(rng.choice(len(frame), rows, replace=False))
        return Background(frame.iloc[picked], f"{rows:,} training rows sampled at random")
    groups = strata(y, classification)
    labels, sizes = np.unique(groups, return_counts=True)
    parts = [
        rng.choice(np.flatnonzero(groups == label), count, replace=False)
        for label, count in zip(labels, allocate(sizes, rows), strict=True)
        if count
    ]
    picked = np.sort(np.concatenate(parts))
    how = "keeping each class's share" if classification else "across the target's range"
    return Background(frame.iloc[picked], f"{len(picked):,} training rows sampled at random, {how}")
