"""Model-agnostic cross-checks and drill-downs: permutation importance, a text column's top tokens."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.explain.background import sample_rows
from core.explain.result import Explanation, used_columns
from core.explain.summaries import as_numbers, column_kind
from core.metrics import scorer_for
from core.target import Task


def permutation_importance_frame(
    trained: Any,
    X: pd.DataFrame,
    y: pd.Series,
    task: Task,
    repeats: int = 5,
    seed: int = 0,
    *,
    max_rows: int = 2_000,
    metric_key: str | None = None,
) -> pd.DataFrame:
    """How much the ranking metric drops when one of the person's columns is shuffled.

    Runs scikit-learn's ``permutation_importance`` on the whole pipeline, so the
    columns are the person's own and no grouping is needed.

    Args:
        trained: The trained model.
        X: Rows it has not learned from (validation), person's columns.
        y: Their true targets.
        task: The task.
        repeats: Shuffles per column.
        seed: Random seed.
        max_rows: A seeded sample of at most this many rows is used.
        metric_key: The metric to score with (the task's default when ``None`` or when it has no
            scikit-learn scorer; accuracy when ROC-AUC cannot be computed).

    Returns:
        DataFrame(column, importance_mean, importance_std), largest first; ``attrs["metric"]``
        holds the metric's label.
    """
    from sklearn.inspection import permutation_importance

    if task == Task.CLUSTERING or y is None:
        raise DashboardError("Permutation importance needs a target to score against.")
    scorer, metric = scorer_for(task, metric_key)
    if metric.key in ("roc_auc", "pr_auc") and (y.nunique() < 2 or not hasattr(trained.pipeline, "predict_proba")):
        scorer, label = "accuracy", "Accuracy"
    else:
        label = metric.label
    rows = sample_rows(X, max_rows, seed)
    truth = y.loc[rows.index] if len(rows) < len(X) else y
    columns = [c for c in used_columns(trained, list(X.columns)) if c in rows.columns]
    result = permutation_importance(
        trained.pipeline, rows, truth, scoring=scorer, n_repeats=repeats, random_state=seed, n_jobs=1
    )
    position = {c: i for i, c in enumerate(rows.columns)}
    frame = pd.DataFrame(
        {
            "column": columns,
            "importance_mean": [float(result.importances_mean[position[c]]) for c in columns],
            "importance_std": [float(result.importances_std[position[c]]) for c in columns],
        }
    )
    frame = frame.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs["metric"] = label
    return frame


def top_tokens(explanation: Explanation, text_column: str, k: int = 10) -> pd.DataFrame:
    """The words (TF-IDF features) of a text column that moved the output most, and which way where they appear.

    A word's push is averaged over the rows that contain it: averaged over every row, a linear
    model's word mostly shows the rows *without* it (−weight × its average), which points the other way.

    Returns:
        DataFrame(token, mean_abs, mean, rows_with_token), the largest push where the word appears first
        (the order of the chart's bars): ``mean`` is the average push in the rows containing the word,
        ``mean_abs`` the average size of its push over every explained row, ``rows_with_token`` how many
        explained rows contain it. Words in none of them, or given no weight, are left out; so are words
        of a single row when enough words appear in two rows or more.
        Empty when the method explained the column as a whole (Permutation SHAP).
    """
    raw = explanation.raw_for_class()
    picks = [i for i, cols in enumerate(explanation.raw_sources) if tuple(cols) == (text_column,)]
    picks = [i for i in picks if explanation.raw_names[i].split("__", 1)[-1] != text_column]
    if not picks or explanation.rows == 0:
        return pd.DataFrame({"token": [], "mean_abs": [], "mean": [], "rows_with_token": []})
    tokens = [explanation.raw_names[i].split("__", 1)[-1] for i in picks]
    values = raw[:, picks]
    if explanation.raw_present is not None:
        present = np.asarray(explanation.raw_present[:, picks].toarray(), dtype=bool)
    else:  # an explanation built without the model's inputs: find the words in the text
        texts = [_words(t) for t in explanation.data[text_column].fillna("").astype(str).str.lower()]
        present = np.array([[token.lower() in words for token in tokens] for words in texts], dtype=bool)
    counts = present.sum(axis=0)
    sums = np.where(present, values, 0.0).sum(axis=0)
    frame = pd.DataFrame(
        {
            "token": tokens,
            "mean_abs": np.abs(values).mean(axis=0),
            "mean": np.divide(sums, counts, out=np.full(len(tokens), np.nan), where=counts > 0),
            "rows_with_token": counts.astype(int),
        }
    )
    frame = frame[frame["rows_with_token"] > 0]
    effect = frame["mean"].abs()
    frame = frame[effect > 1e-6 * max(float(effect.max()), 1e-12)]  # words the model gives no weight: left out
    if (frame["rows_with_token"] >= 2).sum() >= min(k, len(frame)):
        frame = frame[frame["rows_with_token"] >= 2]  # one row's word says little when enough others exist
    order = frame["mean"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].head(k).reset_index(drop=True)


def _words(text: str) -> set[str]:
    """Words and two-word phrases as the TF-IDF step reads them (words of two or more letters or digits)."""
    words = re.findall(r"(?u)\b\w\w+\b", text)
    return set(words) | {f"{a} {b}" for a, b in pairwise(words)}


def strongest_interaction(explanation: Explanation, column: str, *, chunks: int = 10) -> str | None:
    """The other column whose values best explain the spread of ``column``'s contributions at equal values.

    Rows are sorted by ``column`` and cut into chunks of similar values; within
    each chunk, how much of the contributions' spread another column explains
    (squared correlation for numbers, correlation ratio for categories) is
    averaged. That column is the natural colour of a dependence plot.
    """

    others = [c for c in explanation.columns if c != column]
    if not others or explanation.rows < 10:
        return others[0] if others else None
    s = explanation.column_values(column)
    x = explanation.data[column]
    key = as_numbers(x) if column_kind(x) in ("numeric", "date") else pd.factorize(x.astype(str))[0].astype(float)
    order = np.argsort(np.nan_to_num(key, nan=np.inf), kind="stable")
    pieces = [p for p in np.array_split(order, max(1, min(chunks, len(order) // 20))) if len(p) >= 5]
    best, best_score = others[0], -1.0
    for other in others:
        values = explanation.data[other]
        numeric = column_kind(values) in ("numeric", "date")
        encoded = as_numbers(values) if numeric else _top_categories(values)
        score = sum(len(p) * _explained(encoded[p], s[p], numeric) for p in pieces)
        if score > best_score:
            best, best_score = other, score
    return best


def _top_categories(values: pd.Series, keep: int = 8) -> np.ndarray:
    text = values.astype(str).where(values.notna(), "missing")
    top = set(text.value_counts().index[:keep])
    return text.where(text.isin(top), "other").to_numpy()


def _explained(c: np.ndarray, s: np.ndarray, numeric: bool) -> float:
    """Share of the variance of ``s`` explained by ``c`` (corr² for numbers, η² for categories)."""
    if np.var(s) <= 0:
        return 0.0
    if numeric:
        ok = np.isfinite(c)
        if ok.sum() < 3 or np.var(c[ok]) <= 0:
            return 0.0
        return float(np.corrcoef(c[ok], s[ok])[0, 1] ** 2)
    groups = pd.Series(s).groupby(c)
    between = (groups.size() * (groups.mean() - s.mean()) ** 2).sum() / len(s)
    return float(between / np.var(s))
