"""Background rows: the "average" a contribution is measured against, kept small so explaining stays fast.

A contribution is a difference from the model's average output over the
background rows, so the background must look like the data the model learned
from (training rows), but its size multiplies the cost of model-agnostic
explanations. We sample at most :data:`SAMPLE_ROWS` rows; when the model's
inputs are all numbers (dense), k-means summarises that sample into a few
representative *real* rows (the row nearest each centre), weighted by their
cluster's size, so categories and integers keep valid values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Rows sampled from the background frame (LinearSHAP uses their mean; k-means summarises them).
SAMPLE_ROWS = 1_000
#: Representative rows kept for Permutation SHAP (each explained row costs about 2 × columns × this many predictions).
SUMMARY_ROWS = 50


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, seeded, in their original order."""
    if len(frame) <= rows:
        return frame
    picked = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return frame.iloc[picked]


def dense(X: Any) -> np.ndarray:
    """A float array from a dense or sparse matrix."""
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=float)


def summarize(frame: pd.DataFrame, transformed: Any, rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, str]:
    """A small weighted background: k-means medoids when the model's inputs are dense, else a sample.

    Args:
        frame: Background rows in the person's columns.
        transformed: The same rows after the pipeline's preprocessing.
        rows: How many representative rows to keep.
        seed: Random seed.

    Returns:
        (rows in the person's columns, weights summing to 1, a short description).
    """
    if len(frame) <= rows:
        return frame, np.full(len(frame), 1.0 / max(1, len(frame))), f"{len(frame)} background rows"
    if hasattr(transformed, "toarray"):  # sparse (text): k-means on thousands of tokens is not worth it
        picked = sample_rows(frame, rows, seed)
        return picked, np.full(len(picked), 1.0 / len(picked)), f"{len(picked)} sampled background rows"
    from sklearn.cluster import KMeans

    X = np.nan_to_num(dense(transformed))
    scale = X.std(axis=0)
    X = X / np.where(scale > 0, scale, 1.0)
    km = KMeans(n_clusters=rows, n_init=1, random_state=seed).fit(X)
    positions, weights = [], []
    for k in range(rows):
        members = np.flatnonzero(km.labels_ == k)
        if len(members) == 0:
            continue
        nearest = members[np.argmin(((X[members] - km.cluster_centers_[k]) ** 2).sum(axis=1))]
        positions.append(nearest)
        weights.append(len(members))
    w = np.asarray(weights, dtype=float)
    return frame.iloc[positions], w / w.sum(), f"{len(positions)} k-means representative rows of {len(frame)}"
