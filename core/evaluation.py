"""Scores for a fitted model on one split, by task.

Each metric has a key, a label and a one-line meaning (shown on hover), and
whether higher is better: that catalogue and the ranking rule live in
:mod:`core.metrics` (no scikit-learn) and are re-exported here. :func:`score`
computes the task's metrics from a fitted pipeline and rows it has not been
fitted on; the ``*_scores`` functions do the same from labels and predictions.
Tables for the Results page (per-class report, confusion matrix, cluster sizes)
and the overfitting warning live here too; curves and projections are in
:mod:`core.results`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from core import anomaly
from core.limits import CHART_CATEGORIES, other_label
from core.metrics import METRICS, TASK_METRICS, primary_metric
from core.target import Task, match_label

#: True values closer to zero than this are left out of MAPE (the share is undefined there).
MAPE_TINY = 1e-9


def score(pipeline, X: pd.DataFrame, y: pd.Series | None, task: Task, positive=None) -> dict[str, float]:
    """The task's metrics for a fitted pipeline on rows ``X`` (and labels ``y``); ``positive``: see :func:`classification_scores`."""
    if task == Task.CLUSTERING:
        return {}
    if task == Task.ANOMALY:  # no labels: how many rows the detector flags and how clearly (core.anomaly)
        return anomaly.summary(anomaly.anomaly_scores(pipeline, X), anomaly.threshold(pipeline))
    if task == Task.REGRESSION:
        return regression_scores(np.asarray(y, dtype=float), np.asarray(pipeline.predict(X), dtype=float))
    classes = list(pipeline.classes_)
    if hasattr(pipeline, "predict_proba"):
        # One pass through the pipeline: labels are the most probable class, which is
        # what every classifier in the registry predicts.
        proba = pipeline.predict_proba(X)
        y_pred = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]
        y_pred = y_pred.astype(np.asarray(y).dtype) if np.asarray(y).dtype != object else y_pred
    else:
        proba, y_pred = None, pipeline.predict(X)
    return classification_scores(np.asarray(y), np.asarray(y_pred), proba, classes, positive)


def regression_scores(y: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R², MAE, RMSE and MAPE.

    When some true values are (near) zero, MAPE skips those rows and the count
    is added as ``mape_skipped_rows``; :func:`mape` gives the same in words.
    """
    out = {
        "r2": float(skm.r2_score(y, y_pred)) if len(y) > 1 else float("nan"),
        "mae": float(skm.mean_absolute_error(y, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y, y_pred))),
    }
    out["mape"], skipped = _mape(y, y_pred)
    if skipped:
        out["mape_skipped_rows"] = float(skipped)
    return out


def _mape(y: np.ndarray, y_pred: np.ndarray) -> tuple[float, int]:
    y, y_pred = np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float)
    keep = np.abs(y) >= MAPE_TINY
    if not keep.any():
        return float("nan"), len(y)
    return float(np.mean(np.abs((y[keep] - y_pred[keep]) / y[keep]))), int((~keep).sum())


def mape(y: np.ndarray, y_pred: np.ndarray) -> tuple[float, str | None]:
    """Mean absolute percentage error (as a share: 0.1 = 10%) and a note on skipped rows.

    Rows whose true value is zero (below :data:`MAPE_TINY` in size) have no
    percentage error and are skipped; the note says how many. When every true
    value is zero the result is NaN with a note saying so.
    """
    value, skipped = _mape(y, y_pred)
    if skipped == len(y) and skipped:
        return value, "MAPE is not defined here: every true value is 0, so no percentage error can be computed."
    if skipped:
        rows = "row" if skipped == 1 else "rows"
        return (
            value,
            f"MAPE leaves out {skipped} {rows} (of {len(y)}) whose true value is 0: no percentage exists there.",
        )
    return value, None


def classification_scores(
    y: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: list, positive=None
) -> dict[str, float]:
    """Accuracy, balanced accuracy, F1/precision/recall (macro and weighted), ROC-AUC and log loss.

    The same numbers as scikit-learn's metric functions (``zero_division=0`` for
    recall and F1), computed from one confusion matrix over integer codes: with
    text labels that is ten times faster than calling each function. Precision
    is NaN (undefined, not 0) when the model never predicted a class that has
    rows: see :func:`precision_average`. ROC-AUC, PR-AUC and log loss need
    probabilities and at least two classes among ``y``. PR-AUC is about the
    ``positive`` class (binary; the second of ``classes`` when ``None``).
    """
    labels, y_code, pred_code = _label_codes(np.asarray(y), np.asarray(y_pred), classes)
    k = len(labels)
    matrix = np.bincount(y_code * k + pred_code, minlength=k * k).reshape(k, k).astype(float)
    present = (matrix.sum(axis=1) + matrix.sum(axis=0)) > 0  # sklearn's labels: seen in y or y_pred
    tp, support, called = np.diag(matrix)[present], matrix.sum(axis=1)[present], matrix.sum(axis=0)[present]
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * tp, support + called, out=np.zeros_like(tp), where=(support + called) > 0)
    precision = np.divide(tp, called, out=np.full_like(tp, np.nan), where=called > 0)
    total = support.sum()
    weights = support / total if total else np.zeros_like(support)
    out = {
        "accuracy": float(tp.sum() / total) if total else float("nan"),
        "balanced_accuracy": float(recall[support > 0].mean()) if (support > 0).any() else float("nan"),
        "f1_macro": float(f1.mean()),
    }
    for average in ("weighted", "macro"):
        out[f"precision_{average}"] = precision_average(precision, support, weighted=average == "weighted")
        out[f"recall_{average}"] = float((recall * weights).sum() if average == "weighted" else recall.mean())
        if average == "weighted":
            out["f1_weighted"] = float((f1 * weights).sum())
    if proba is None or len(np.unique(y_code)) < 2:
        return out
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    n_classes = len(classes)
    try:
        if n_classes == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y_code == 1, proba[:, 1]))
            column = 0 if positive is not None and match_label(classes[:1], positive) is not None else 1
            out["pr_auc"] = float(skm.average_precision_score(y_code == column, proba[:, column]))
        else:
            out["roc_auc"] = float(skm.roc_auc_score(y_code, proba, multi_class="ovr", labels=list(range(n_classes))))
        out["log_loss"] = float(skm.log_loss(y_code, proba, labels=list(range(n_classes))))
    except ValueError:
        pass  # a class missing from this split, or labels the model never learned: AUC undefined
    return out


def _label_codes(y: np.ndarray, y_pred: np.ndarray, classes: list) -> tuple[list, np.ndarray, np.ndarray]:
    """``classes`` (plus any other label found, sorted after them) and both arrays as integer codes."""
    index = pd.Index(list(classes))
    y_code, pred_code = index.get_indexer(y), index.get_indexer(y_pred)
    if (y_code < 0).any() or (pred_code < 0).any():
        extra = pd.unique(np.concatenate([y[y_code < 0], y_pred[pred_code < 0]]))
        index = pd.Index([*classes, *extra])
        y_code, pred_code = index.get_indexer(y), index.get_indexer(y_pred)
    return list(index), y_code.astype(np.int64), pred_code.astype(np.int64)


def precision_average(precision: np.ndarray, support: np.ndarray, *, weighted: bool = False) -> float:
    """Macro (or support-weighted) average of per-class precision, NaN where it is undefined.

    A class the model never predicted has no precision (scikit-learn's
    ``zero_division`` case, NaN here). If such a class has rows, leaving it out
    would flatter the average and counting it as 0 would invent a number, so
    the average is NaN. Classes with neither rows nor predictions are left out.
    """
    precision, support = np.asarray(precision, dtype=float), np.asarray(support, dtype=float)
    if np.isnan(precision[support > 0]).any():
        return float("nan")
    keep = ~np.isnan(precision)
    if not keep.any():
        return float("nan")
    if not weighted:
        return float(precision[keep].mean())
    total = support[keep].sum()
    return float((precision[keep] * support[keep]).sum() / total) if total else float("nan")


#: Said of an undefined metric when no more precise reason is known.
UNDEFINED_FALLBACK = "Not defined on these rows."


def undefined_reason(
    key: str, y: np.ndarray | None, y_pred: np.ndarray, proba: np.ndarray | None = None, classes: list | None = None
) -> str | None:
    """Why metric ``key`` has no value on these rows, in plain words; ``None`` when it has one.

    The rules follow the scoring functions of this module: ``y`` true labels
    (``None`` for clustering), ``y_pred`` predictions (cluster labels for
    clustering), ``proba`` class probabilities in the order of ``classes``
    (the classes the model learned).
    """
    if key in ("r2", "mae", "rmse", "mape"):
        return _regression_reason(key, np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float))
    if key in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        return _clustering_reason(np.asarray(y_pred))
    if key not in METRICS or y is None:
        return None
    y, y_pred = np.asarray(y), np.asarray(y_pred)
    if len(y) == 0:
        return "There are no rows to score."
    present = sorted(pd.unique(y), key=str)
    known = list(classes) if classes is not None else sorted(pd.unique(np.concatenate([y, y_pred])), key=str)
    if key.startswith("precision_"):
        called = set(pd.unique(y_pred))
        never = [c for c in present if c not in called]
        if not never:
            return None
        counts = pd.Series(y).value_counts()
        rows = ", ".join(f"'{c}' ({counts[c]:,} row{'s' if counts[c] != 1 else ''} here)" for c in never[:5])
        return (
            f"The model never predicted {rows}, so that class has no precision (no share of its calls can be "
            "right) and the average has none either."
        )
    if key not in ("roc_auc", "pr_auc", "log_loss"):
        return None
    if proba is None:
        return "This model gives no probabilities, so it cannot rank rows or say how sure it is."
    if len(present) < 2:
        return (
            f"These rows hold only one class ({_quoted(present)}): {METRICS[key].label} needs rows of at least "
            "two classes to tell apart."
        )
    unseen = [c for c in present if c not in known]
    positive = y == known[-1]
    # Binary ROC-AUC and PR-AUC rank the second class against all other rows; they lack a value only when
    # one side is empty.
    binary_defined = key in ("roc_auc", "pr_auc") and len(known) == 2 and positive.any() and not positive.all()
    if unseen and not binary_defined:
        return (
            f"These rows hold classes the model never saw in training ({_quoted(unseen)}): it gives them no "
            "probability."
        )
    missing = [c for c in known if c not in present]
    if key == "roc_auc" and len(known) > 2 and missing:
        return (
            f"These rows hold {len(present)} of the {len(known)} classes the model knows ({_quoted(missing)} have "
            "none): ROC-AUC is averaged over every class, and a class without rows has no ROC-AUC."
        )
    return None


def _quoted(labels: list, limit: int = 5) -> str:
    shown = ", ".join(f"'{c}'" for c in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _regression_reason(key: str, y: np.ndarray, y_pred: np.ndarray) -> str | None:
    if len(y) == 0:
        return "There are no rows to score."
    if key == "r2" and len(y) < 2:
        return "R² needs at least two rows; there is one."
    if key == "mape":
        value, note = mape(y, y_pred)
        return note if not np.isfinite(value) else None
    return None


def _clustering_reason(labels: np.ndarray) -> str | None:
    clustered = labels[labels != -1]
    clusters = len(np.unique(clustered))
    if clusters < 2:
        return "Only one cluster was found (noise rows aside): comparing clusters needs at least two."
    if len(clustered) <= clusters:
        return "Every cluster holds one row, so the spread within clusters cannot be measured."
    return None


def undefined_reasons(
    scores: dict[str, float],
    task: Task,
    y: np.ndarray | None,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: list | None = None,
) -> dict[str, str]:
    """For each of the task's metrics that ``scores`` lacks or holds as NaN: why (see :func:`undefined_reason`)."""
    out = {}
    for key in TASK_METRICS[task]:
        value = scores.get(key)
        if value is not None and np.isfinite(value):
            continue
        out[key] = undefined_reason(key, y, y_pred, proba, classes) or UNDEFINED_FALLBACK
    return out


def classification_report_frame(y: np.ndarray, y_pred: np.ndarray, classes: list) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then "macro avg" and "weighted avg" rows.

    The ``class`` column holds text (class labels as strings), so the table
    shows in one column next to the two summary rows. Precision is NaN for a
    class the model never predicted (undefined, not 0); the columns stay numeric.
    """
    _, recall, f1, support = skm.precision_recall_fscore_support(y, y_pred, labels=classes, zero_division=0)
    precision = skm.precision_score(y, y_pred, labels=classes, average=None, zero_division=np.nan)
    table = pd.DataFrame(
        {"class": [str(c) for c in classes], "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    total = support.sum()
    weights = support / total if total else np.zeros(len(classes))
    summary = [
        {"class": "macro avg", **{k: float(table[k].mean()) for k in ("recall", "f1")}},
        {"class": "weighted avg", **{k: float((table[k] * weights).sum()) for k in ("recall", "f1")}},
    ]
    summary[0]["precision"] = precision_average(precision, support)
    summary[1]["precision"] = precision_average(precision, support, weighted=True)
    for row in summary:
        row["support"] = int(total)
    table = pd.concat([table, pd.DataFrame(summary)], ignore_index=True)
    return table.astype({"support": int})


def confusion_frame(
    y: np.ndarray, y_pred: np.ndarray, classes: list, normalize: bool = False, *, max_classes: int = CHART_CATEGORIES
) -> pd.DataFrame:
    """Rows are actual classes, columns predicted classes (labels as text).

    With ``normalize`` each row is divided by its total, so a cell is the share
    of that actual class predicted as the column's class (a class absent from
    ``y`` gives a row of zeros). Beyond ``max_classes`` classes, the most frequent
    actual classes keep their row and column and the rest are summed as one
    "other (N classes)" row and column, so 5,000 classes make a 30 × 30 table.
    """
    classes = list(classes)
    labels = [str(c) for c in classes]
    if len(classes) > max_classes:
        support = pd.Series(np.asarray(y)).value_counts().reindex(classes, fill_value=0)
        top = set(support.sort_values(ascending=False, kind="stable").index[: max_classes - 1])
        kept = [c for c in classes if c in top]
        position = {c: i for i, c in enumerate(kept)}
        y = np.array([position.get(v, len(kept)) for v in np.asarray(y)], dtype=int)
        y_pred = np.array([position.get(v, len(kept)) for v in np.asarray(y_pred)], dtype=int)
        classes = list(range(len(kept) + 1))
        labels = [str(c) for c in kept] + [other_label(len(labels) - len(kept))]
    counts = skm.confusion_matrix(y, y_pred, labels=classes)
    values: np.ndarray = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    return pd.DataFrame(values, index=pd.Index(labels, name="actual"), columns=pd.Index(labels, name="predicted"))


def clustering_scores(Xt, labels: np.ndarray, *, sample: int = 5_000, seed: int = 0) -> dict[str, float]:
    """Silhouette (on a sample), Calinski-Harabasz, Davies-Bouldin, cluster count, noise and largest-cluster shares.

    Noise (label -1) is left out of every score. Calinski-Harabasz and
    Davies-Bouldin are cheap and use every clustered row. Per-cluster row
    counts are in :func:`cluster_sizes`.
    """
    labels = np.asarray(labels)
    mask = labels != -1
    clusters = len(np.unique(labels[mask]))
    out = {"clusters": float(clusters), "noise_share": float(1 - mask.mean())}
    if mask.any():
        out["largest_cluster_share"] = float(np.unique(labels[mask], return_counts=True)[1].max() / len(labels))
    if clusters < 2 or mask.sum() <= clusters:
        return out
    rows = np.flatnonzero(mask)
    sampled = rows
    if len(rows) > sample:
        sampled = np.random.default_rng(seed).choice(rows, sample, replace=False)
    out["silhouette"] = float(skm.silhouette_score(Xt[sampled], labels[sampled]))
    clustered = Xt[rows]
    if hasattr(clustered, "toarray"):
        clustered = clustered.toarray()
    out["calinski_harabasz"] = float(skm.calinski_harabasz_score(clustered, labels[rows]))
    out["davies_bouldin"] = float(skm.davies_bouldin_score(clustered, labels[rows]))
    return out


def cluster_sizes(labels: np.ndarray) -> pd.DataFrame:
    """Rows and share of rows per cluster (noise, label -1, shown as "noise" and last)."""
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    table = pd.DataFrame({"cluster": values, "rows": counts})
    table["share"] = table["rows"] / max(1, int(counts.sum()))
    table["noise"] = table["cluster"].astype(str) == "-1"
    table = table.sort_values(["noise", "cluster"], kind="stable")
    table["cluster"] = ["noise" if n else str(c) for c, n in zip(table["cluster"], table["noise"], strict=True)]
    return table.drop(columns="noise").reset_index(drop=True)


def overfitting_check(train_scores: dict[str, float], valid_scores: dict[str, float], task: Task) -> str | None:
    """Plain words when the task's default metric is much better on training rows than on validation rows.

    Classification: training − validation > 0.05 while training > 0.9.
    Regression (R²): training − validation > 0.1. Clustering has no held-out
    score and gives ``None``, as do missing or non-finite scores. The default
    metric is used whatever the models are ranked by: ROC-AUC (binary) sees a
    model memorise its training rows even when its thresholded scores, such as
    balanced accuracy on a rare class, stay low on both.
    """
    if not task.has_target:
        return None
    metric = primary_metric(task)
    train, valid = train_scores.get(metric.key), valid_scores.get(metric.key)
    if train is None or valid is None or not (np.isfinite(train) and np.isfinite(valid)):
        return None
    gap = train - valid if metric.higher_is_better else valid - train
    large = gap > 0.1 if task == Task.REGRESSION else gap > 0.05 and train > 0.9
    if not large:
        return None
    return (
        f"The model scores {train:.2f} ({metric.label}) on data it learned from and {valid:.2f} on data it has "
        "not seen: it may have memorised the training rows. Try a simpler model or stronger regularisation."
    )
