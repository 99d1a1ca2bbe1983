"""Scores for a fitted model on one split, by task.

Each metric has a key, a label and a one-line meaning (shown on hover), and
whether higher is better. :func:`score` computes the task's metrics from a
fitted pipeline and rows it has not been fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from core.target import Task


@dataclass(frozen=True)
class Metric:
    """A metric's key, label, meaning and direction."""

    key: str
    label: str
    meaning: str
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("accuracy", "Accuracy", "Share of rows predicted correctly."),
        Metric(
            "balanced_accuracy",
            "Balanced accuracy",
            "Accuracy averaged over classes, so a rare class counts as much as a common one.",
        ),
        Metric("f1_macro", "F1 (macro)", "Balance of precision and recall, averaged over classes."),
        Metric(
            "roc_auc",
            "ROC-AUC",
            "Chance that a random positive row is ranked above a random negative one (0.5 = guessing, 1 = perfect).",
        ),
        Metric(
            "log_loss", "Log loss", "How confident and right the predicted probabilities are (lower is better).", False
        ),
        Metric(
            "r2", "R²", "Share of the target's variation the model explains (1 = perfect, 0 = no better than the mean)."
        ),
        Metric("mae", "MAE", "Average size of the error, in the target's units (lower is better).", False),
        Metric("rmse", "RMSE", "Typical error size, punishing big misses more (lower is better).", False),
        Metric("silhouette", "Silhouette", "How well separated the clusters are (-1 to 1, higher is better)."),
    )
}

PRIMARY: dict[Task, str] = {
    Task.BINARY: "roc_auc",
    Task.MULTICLASS: "accuracy",
    Task.REGRESSION: "r2",
    Task.CLUSTERING: "silhouette",
}
TASK_METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("roc_auc", "accuracy", "balanced_accuracy", "f1_macro", "log_loss"),
    Task.MULTICLASS: ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    Task.REGRESSION: ("r2", "mae", "rmse"),
    Task.CLUSTERING: ("silhouette",),
}


def primary_metric(task: Task) -> Metric:
    """The metric the leaderboard sorts by."""
    return METRICS[PRIMARY[task]]


def score(pipeline, X: pd.DataFrame, y: pd.Series | None, task: Task) -> dict[str, float]:
    """The task's metrics for a fitted pipeline on rows ``X`` (and labels ``y``)."""
    if task == Task.CLUSTERING:
        return {}
    y_pred = pipeline.predict(X)
    if task == Task.REGRESSION:
        return regression_scores(np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float))
    proba = pipeline.predict_proba(X) if hasattr(pipeline, "predict_proba") else None
    return classification_scores(np.asarray(y), np.asarray(y_pred), proba, list(pipeline.classes_))


def regression_scores(y: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE."""
    return {
        "r2": float(skm.r2_score(y, y_pred)) if len(y) > 1 else float("nan"),
        "mae": float(skm.mean_absolute_error(y, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y, y_pred))),
    }


def classification_scores(
    y: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: list
) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1, ROC-AUC and log loss (when probabilities exist)."""
    out = {
        "accuracy": float(skm.accuracy_score(y, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, y_pred)),
        "f1_macro": float(skm.f1_score(y, y_pred, average="macro", zero_division=0)),
    }
    if proba is None or len(np.unique(y)) < 2:
        return out
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    try:
        if len(classes) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y == classes[1], proba[:, 1]))
        else:
            out["roc_auc"] = float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
        out["log_loss"] = float(skm.log_loss(y, proba, labels=classes))
    except ValueError:
        pass  # a class missing from this split: AUC undefined
    return out


def clustering_scores(Xt, labels: np.ndarray, *, sample: int = 5_000, seed: int = 0) -> dict[str, float]:
    """Silhouette (on a sample) and cluster count; noise (-1) is left out."""
    labels = np.asarray(labels)
    mask = labels != -1
    clusters = len(np.unique(labels[mask]))
    out = {"clusters": float(clusters), "noise_share": float(1 - mask.mean())}
    if clusters < 2 or mask.sum() <= clusters:
        return out
    rows = np.flatnonzero(mask)
    if len(rows) > sample:
        rows = np.random.default_rng(seed).choice(rows, sample, replace=False)
    out["silhouette"] = float(skm.silhouette_score(Xt[rows], labels[rows]))
    return out
