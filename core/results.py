"""Diagnostics for the Results page: predictions, curves, projections, comparisons.

Every function returns plain arrays or frames; :mod:`core.charts.results`
turns them into figures. Scores and tables that are metrics in their own
right (per-class report, confusion matrix, cluster sizes, the overfitting
warning) are in :mod:`core.evaluation`.

The test split is scored only by :func:`test_scores` and
``predictions(..., part="test")``; callers must invoke them on a deliberate
action of the person (a button), never on page load, so the test rows stay
unseen while models are being compared.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn import metrics as skm

from core import anomaly
from core.errors import DashboardError
from core.evaluation import UNDEFINED_FALLBACK, score, undefined_reasons
from core.limits import CHART_CATEGORIES
from core.metrics import TASK_METRICS, metric_label, primary_metric, scorer_for
from core.target import Task, match_label, plain_label, positive_class
from core.training import LEADERBOARD_METRICS, ModelFailure, TrainedModel, TrainingRequest, transform_only

#: Curves keyed by class (or model) name: (x values, y values, area score).
Curves = dict[Any, tuple[np.ndarray, np.ndarray, float]]

#: Scatter plots and projections show at most this many rows (seeded sample).
PLOT_ROWS = 5_000


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Predictions:
    """True labels, predictions and (classification) probabilities for one split.

    ``positive`` is the class a binary model's curves, threshold and calibration are about
    (``TrainingRequest.positive``); None for other tasks.
    """

    y: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: list
    positive: Any = None


def positive_column(pred: Predictions) -> int:
    """The column of ``pred.proba`` (and position in ``pred.classes``) of the positive class."""
    return _positive_index(pred.classes, pred.positive, pred.y)


def _positive_index(classes: list, positive: Any, y: np.ndarray | None = None) -> int:
    """Where the positive class sits in ``classes``: ``positive`` if given, else :func:`positive_class` of ``y``."""
    found = match_label(classes, positive)
    if found is None:
        found = match_label(classes, positive_class(y if y is not None and len(y) else classes))
    labels = [plain_label(c) for c in classes]
    return labels.index(found) if found is not None else len(classes) - 1


def predictions(trained: TrainedModel, request: TrainingRequest, part: str = "valid") -> Predictions:
    """Predict the validation (or, deliberately, the test) rows of a supervised request.

    Validation rows are predicted by the model as it was scored there (``trained.validated()``:
    before a refit on training + validation rows); test rows by the model as it is used.

    Raises:
        DashboardError: for clustering, or when the asked-for split has no rows.
    """
    if not request.task.has_target:
        raise DashboardError(f"{request.task.value.capitalize()} has no predictions to check: there is no target.")
    positions = _positions(request, part)
    X, y = request.xy(positions)
    pipeline = trained.pipeline if part == "test" else trained.validated().pipeline
    y_pred = np.asarray(pipeline.predict(X))
    if request.task == Task.REGRESSION:
        return Predictions(np.asarray(y, dtype=float), y_pred.astype(float), None, [])
    proba = np.asarray(pipeline.predict_proba(X), dtype=float) if hasattr(pipeline, "predict_proba") else None
    classes = list(pipeline.classes_)
    positive = None
    if request.task == Task.BINARY and len(classes) == 2:
        positive = classes[_positive_index(classes, request.positive, request.frame[request.target].dropna())]
    return Predictions(np.asarray(y), y_pred, proba, classes, plain_label(positive))


def test_scores(trained: TrainedModel, request: TrainingRequest) -> dict[str, float]:
    """The task's metrics on the test rows set aside by the split.

    Call this only when the person asks for the final score (a button): looking
    at test scores while choosing models turns the test split into a second
    validation split. The chosen model is scored as refitted on training +
    validation rows (:mod:`core.training.choose`), as it is exported and served.

    Raises:
        DashboardError: for clustering, or when no test rows were set aside.
    """
    if request.task == Task.CLUSTERING:
        raise DashboardError("Clustering has no test score: there is no target to check against.")
    X, y = request.xy(_positions(request, "test"))
    return score(trained.pipeline, X, y, request.task, request.positive)


def metric_reasons(
    trained: TrainedModel, request: TrainingRequest, scores: dict[str, float], part: str = "valid"
) -> dict[str, str]:
    """Why each of the task's metrics missing or NaN in ``scores`` is undefined (empty when all are defined).

    Predicts the rows of ``part`` (the clustered training rows for clustering)
    only when something is undefined. For ``part="test"`` call it only once the
    person has scored the test split: ``scores`` are those test scores.
    """

    task = request.task
    if all(np.isfinite(scores.get(key, np.nan)) for key in TASK_METRICS[task]):
        return {}
    if task == Task.CLUSTERING:
        _, labels, _ = cluster_assignments(trained, request)
        return undefined_reasons(scores, task, None, labels)
    if task == Task.ANOMALY:
        return _anomaly_reasons(trained, request, scores, part)
    pred = predictions(trained, request, part)
    return undefined_reasons(scores, task, pred.y, pred.y_pred, pred.proba, pred.classes)


def _anomaly_reasons(trained: TrainedModel, request: TrainingRequest, scores: dict, part: str) -> dict[str, str]:
    """Why a detector's scores (flagged share, separation, agreement) are undefined on the rows of ``part``."""
    X, _ = request.xy(_positions(request, part))
    found, at = anomaly.anomaly_scores(trained.pipeline, X), anomaly.threshold(trained.pipeline)
    reasons = {}
    for key in TASK_METRICS[Task.ANOMALY]:
        if np.isfinite(scores.get(key, np.nan)):
            continue
        if key == "agreement" and part == "test":
            reasons[key] = "Agreement compares the run's detectors on the validation rows; these rows score one."
            continue
        # Agreement is missing only when the run has one detector (core.training.choose.with_agreement).
        reason = anomaly.undefined_reason(key, found, at, detectors=1 if key == "agreement" else 2)
        reasons[key] = reason or UNDEFINED_FALLBACK
    return reasons


def leaderboard_reasons(results: list[TrainedModel | ModelFailure], request: TrainingRequest) -> list[str]:
    """Why leaderboard cells are empty: one line per metric and reason, naming the models it applies to.

    Covers the validation metrics the leaderboard shows (a gap or training score
    next to an undefined metric is empty for the same reason).
    """

    shown = LEADERBOARD_METRICS[request.task]
    trained = [r for r in results if isinstance(r, TrainedModel)]
    grouped: dict[tuple[str, str], list[str]] = {}
    for model in trained:
        if all(np.isfinite(model.scores.get(key, np.nan)) for key in shown):
            continue
        for key, reason in metric_reasons(model, request, model.scores).items():
            if key in shown:
                grouped.setdefault((key, reason), []).append(model.name)
    lines = []
    for (key, reason), names in sorted(grouped.items(), key=lambda item: shown.index(item[0][0])):
        who = "every model" if len(names) == len(trained) > 1 else ", ".join(names)
        lines.append(f"{metric_label(key)} ({who}): {reason}")
    return lines


def _positions(request: TrainingRequest, part: str) -> np.ndarray:
    if part not in ("valid", "test"):
        raise ValueError(f"part must be 'valid' or 'test'. Got {part!r}.")
    positions = request.split.valid if part == "valid" else request.split.test
    if len(positions) == 0:
        name = "validation" if part == "valid" else "test"
        raise DashboardError(
            f"No rows were set aside for {name}.",
            hint="Choose a share above 0% for it on the Models page and train again.",
        )
    return positions


# --------------------------------------------------------------------------- classification curves


def _one_vs_rest(y: np.ndarray, proba: np.ndarray, classes: list, positive: Any = None):
    """(label, is-this-class, probability of it) for the positive class (binary) or each class.

    With more than :data:`core.limits.CHART_CATEGORIES` classes, only the most frequent among ``y``.
    """
    y, proba = np.asarray(y), np.asarray(proba, dtype=float)
    indices = [_positive_index(classes, positive, y)] if len(classes) == 2 else range(len(classes))
    if len(classes) > CHART_CATEGORIES:
        support = pd.Series(y).value_counts().reindex(list(classes), fill_value=0).to_numpy()
        indices = sorted(np.argsort(-support, kind="stable")[:CHART_CATEGORIES])
    for index in indices:
        hit = y == classes[index]
        if hit.any() and not hit.all():  # a curve needs both kinds of rows
            yield classes[index], hit, proba[:, index]


def roc_curves(y: np.ndarray, proba: np.ndarray, classes: list, positive: Any = None) -> Curves:
    """ROC curve per class: ``{label: (false positive rate, true positive rate, AUC)}``.

    Binary: only the positive class (``positive``; None applies :func:`core.target.positive_class`
    to ``y``). Multiclass: one class against the rest, for each class present among ``y`` (and not all of it).
    """
    curves: Curves = {}
    for label, hit, scores in _one_vs_rest(y, proba, classes, positive):
        fpr, tpr, _ = skm.roc_curve(hit, scores)
        curves[label] = (fpr, tpr, float(skm.roc_auc_score(hit, scores)))
    return curves


def pr_curves(y: np.ndarray, proba: np.ndarray, classes: list, positive: Any = None) -> Curves:
    """Precision-recall curve per class: ``{label: (recall, precision, average precision)}``.

    Same classes as :func:`roc_curves`; x (recall) comes first, as in ROC.
    """
    curves: Curves = {}
    for label, hit, scores in _one_vs_rest(y, proba, classes, positive):
        precision, recall, _ = skm.precision_recall_curve(hit, scores, drop_intermediate=True)
        curves[label] = (recall, precision, float(skm.average_precision_score(hit, scores)))
    return curves


def calibration_table(
    y: np.ndarray, proba: np.ndarray, classes: list, bins: int = 10, positive: Any = None
) -> pd.DataFrame:
    """Predicted probability vs observed frequency, in equal-width bins over [0, 1].

    Binary: the positive class's probability vs the share of rows that are of that class
    (``positive`` as in :func:`roc_curves`). Multiclass: *confidence* calibration — the highest probability
    vs the share of rows where that top class was right — one table however
    many classes. Empty bins are left out. Columns: ``bin_low``, ``bin_high``,
    ``predicted`` (mean probability), ``observed`` (share), ``rows``.
    """
    y, proba = np.asarray(y), np.asarray(proba, dtype=float)
    if len(classes) == 2:
        index = _positive_index(classes, positive, y)
        prob, hit = proba[:, index], y == classes[index]
    else:
        prob, hit = proba.max(axis=1), np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == y
    prob = np.clip(prob, 0.0, 1.0)
    index = np.minimum((prob * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": index, "p": prob, "hit": hit.astype(float)})
    table = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("hit", "mean"), rows=("p", "size"))
    table.insert(0, "bin_high", (table.index + 1) / bins)
    table.insert(0, "bin_low", table.index / bins)
    return table.reset_index(drop=True)


def threshold_metrics(y: np.ndarray, proba_pos: np.ndarray, positive_label: Any, threshold: float) -> dict[str, float]:
    """Confusion counts and scores when rows with probability ≥ ``threshold`` are called positive.

    Returns ``threshold``, ``tn``, ``fp``, ``fn``, ``tp`` (counts) and
    ``accuracy``, ``precision``, ``recall``, ``f1``, ``balanced_accuracy``.
    Precision with no positive calls is NaN (undefined: nothing was called
    positive), not 0; F1 is ``2·tp / (2·tp + fp + fn)``, as in scikit-learn, so it
    stays defined. Any other ratio with nothing to divide is 0.
    """
    actual = np.asarray(y) == positive_label
    called = np.asarray(proba_pos, dtype=float) >= threshold
    tp, fp = int((actual & called).sum()), int((~actual & called).sum())
    fn, tn = int((actual & ~called).sum()), int((~actual & ~called).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = ratio(tp, tp + fn)
    rates = [ratio(tp, tp + fn)] * bool(tp + fn) + [ratio(tn, tn + fp)] * bool(tn + fp)
    return {
        "threshold": float(threshold),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "accuracy": ratio(tp + tn, tp + tn + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "balanced_accuracy": float(np.mean(rates)) if rates else 0.0,
    }


# --------------------------------------------------------------------------- regression


def residuals_frame(y: np.ndarray, y_pred: np.ndarray, *, limit: int | None = PLOT_ROWS, seed: int = 0) -> pd.DataFrame:
    """``actual``, ``predicted`` and ``residual`` (actual − predicted) per row, for plotting.

    At most ``limit`` rows (a seeded sample; ``None`` keeps all), so scatter
    plots stay light; scores are computed on every row elsewhere.
    """
    actual, predicted = np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float)
    rows = _sample(len(actual), limit, seed)
    return pd.DataFrame({"actual": actual[rows], "predicted": predicted[rows], "residual": (actual - predicted)[rows]})


def _sample(n: int, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


# --------------------------------------------------------------------------- learning curves


def learning_curve_table(
    make_pipeline: Callable[[], Any],
    X_train: pd.DataFrame,
    y_train: pd.Series,
    task: Task,
    *,
    sizes: tuple[float, ...] = (0.1, 0.325, 0.55, 0.775, 1.0),
    folds: int = 3,
    seed: int = 0,
    metric_key: str | None = None,
) -> pd.DataFrame:
    """Ranking-metric score vs number of training rows, by k-fold CV on the rows given.

    Pass the training split only: each size is a share of a fold's fitting
    rows, and every fold's held-out rows come from ``X_train`` too, so the
    validation and test splits stay untouched. A size that cannot be fitted
    (e.g. one class only) gives NaN. Columns: ``rows``, ``train_mean``,
    ``train_std``, ``valid_mean``, ``valid_std``.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, learning_curve

    if not task.has_target:
        raise DashboardError(f"Learning curves need a target: {task.value} has none.")
    cv: KFold | StratifiedKFold = KFold(folds, shuffle=True, random_state=seed)
    if task.is_classification and pd.Series(y_train).value_counts().min() >= folds:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failed small fits are reported as NaN
        rows, train, valid = learning_curve(
            make_pipeline(),
            X_train,
            y_train,
            train_sizes=np.asarray(sizes, dtype=float),
            cv=cv,
            scoring=skm.get_scorer(scorer_for(task, metric_key)[0]),
            shuffle=True,
            random_state=seed,
            error_score=np.nan,
        )
        return pd.DataFrame(
            {
                "rows": rows,
                "train_mean": np.nanmean(train, axis=1),
                "train_std": np.nanstd(train, axis=1),
                "valid_mean": np.nanmean(valid, axis=1),
                "valid_std": np.nanstd(valid, axis=1),
            }
        )


def keras_learning_curve(history: dict[str, list[float]]) -> pd.DataFrame:
    """A network's per-epoch history as a table: ``epoch`` (from 1) and one column per logged metric."""
    epochs = max((len(v) for v in history.values()), default=0)
    table = pd.DataFrame({"epoch": np.arange(1, epochs + 1)})
    for key, values in history.items():
        table[key] = [float(v) for v in values] + [np.nan] * (epochs - len(values))
    return table


# --------------------------------------------------------------------------- clustering


def _cluster_names(labels: np.ndarray) -> np.ndarray:
    return np.array(["noise" if str(v) == "-1" else str(v) for v in np.asarray(labels)], dtype=object)


def _cluster_order(labels: np.ndarray) -> list[str]:
    found = [v for v in np.unique(np.asarray(labels)) if str(v) != "-1"]
    return [str(v) for v in found] + ["noise"] * any(str(v) == "-1" for v in np.asarray(labels))


def pca_projection(Xt, labels: np.ndarray, seed: int = 0, *, limit: int = PLOT_ROWS) -> pd.DataFrame:
    """The model's inputs projected on their first two principal components, for a scatter plot.

    Dense input uses PCA; sparse input (text, wide one-hot) uses truncated SVD
    so it is never densified. At most ``limit`` rows (seeded sample). Columns
    ``pc1``, ``pc2``, ``cluster`` (text; label -1 is "noise"); the variance
    share of each component is in ``frame.attrs["explained_variance"]``.
    """
    from sklearn.decomposition import PCA, TruncatedSVD

    labels = np.asarray(labels)
    rows = _sample(Xt.shape[0], limit, seed)
    X = Xt[rows] if sparse.issparse(Xt) else np.asarray(Xt, dtype=float)[rows]
    if sparse.issparse(X) and X.shape[1] > 2:
        reducer: Any = TruncatedSVD(n_components=2, random_state=seed)
    else:
        X = X.toarray() if sparse.issparse(X) else X
        reducer = PCA(n_components=max(1, min(2, X.shape[1], X.shape[0])), random_state=seed)
    points = reducer.fit_transform(X)
    if points.shape[1] < 2:
        points = np.column_stack([points, np.zeros(len(points))])
    frame = pd.DataFrame({"pc1": points[:, 0], "pc2": points[:, 1], "cluster": _cluster_names(labels[rows])})
    explained = list(getattr(reducer, "explained_variance_ratio_", []))
    frame.attrs["explained_variance"] = [float(v) for v in explained] + [0.0] * (2 - len(explained))
    return frame


def cluster_profiles(X: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """What sets each cluster apart, one row per (cluster, column), in the person's own columns.

    Numeric columns: the cluster's mean in standard deviations from the mean
    of all rows (``kind="numeric"``). Categorical, text and yes/no columns: the
    share of the cluster's rows holding its most frequent value
    (``kind="categorical"``). Date columns are left out. Columns: ``cluster``,
    ``column``, ``kind``, ``value``, ``detail`` (words, with user values),
    ``rows``.

    Raises:
        DashboardError: when ``labels`` does not have one entry per row of ``X``.
    """
    if len(X) != len(labels):
        raise DashboardError(
            f"Cluster labels ({len(labels)}) and rows ({len(X)}) do not match.",
            hint="Profile the same rows the clustering model was fitted on.",
        )
    names = _cluster_names(labels)
    order = _cluster_order(labels)
    records: list[dict[str, Any]] = []
    for column in X.columns:
        values = X[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            if pd.api.types.is_datetime64_any_dtype(values):
                continue
            records += _categorical_profile(column, values, names)
        else:
            records += _numeric_profile(column, values.astype(float), names)
    table = pd.DataFrame(records, columns=["cluster", "column", "kind", "value", "detail", "rows"])
    table["cluster"] = pd.Categorical(table["cluster"], categories=order, ordered=True)
    table = table.sort_values(["cluster"], kind="stable").reset_index(drop=True)
    table["cluster"] = table["cluster"].astype(str)
    return table


def _numeric_profile(column: str, values: pd.Series, names: np.ndarray) -> list[dict[str, Any]]:
    mean, std = values.mean(), values.std(ddof=0)
    out = []
    for cluster, part in values.groupby(names):
        m = part.mean()
        z = (m - mean) / std if std and np.isfinite(std) and std > 0 else 0.0
        detail = f"mean {m:.3g} (all rows {mean:.3g})"
        out.append(dict(cluster=cluster, column=column, kind="numeric", value=float(z), detail=detail, rows=len(part)))
    return out


def _categorical_profile(column: str, values: pd.Series, names: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for cluster, part in values.groupby(names):
        counts = part.value_counts()
        if counts.empty:
            share, detail = float("nan"), "all missing"
        else:
            share = float(counts.iloc[0] / len(part))
            detail = f"most common: {counts.index[0]} ({share:.0%})"
        out.append(dict(cluster=cluster, column=column, kind="categorical", value=share, detail=detail, rows=len(part)))
    return out


# --------------------------------------------------------------------------- comparing models


def compare_table(
    results: list[TrainedModel | ModelFailure], task: Task, metric_key: str | None = None
) -> pd.DataFrame:
    """Trained models' validation score (ranking metric) and training time (failures left out).

    Columns: ``model``, ``score``, ``seconds``, ``baseline`` (True for the
    baseline model, drawn muted). Models without a finite score are left out.
    """

    key = primary_metric(task, metric_key).key
    rows = [
        {"model": r.name, "score": float(r.scores[key]), "seconds": float(r.seconds), "baseline": r.key == "baseline"}
        for r in results
        if isinstance(r, TrainedModel) and np.isfinite(r.scores.get(key, np.nan))
    ]
    return pd.DataFrame(rows, columns=["model", "score", "seconds", "baseline"])


def cluster_assignments(trained: TrainedModel, request: TrainingRequest) -> tuple[Any, np.ndarray, pd.DataFrame]:
    """(transformed rows, cluster labels, original rows) of the rows the clustering was fitted on."""

    X, _ = request.xy(request.split.train)
    Xt = transform_only(trained.pipeline, X)
    model = trained.pipeline.steps[-1][1]
    labels = np.asarray(getattr(model, "labels_", None) if hasattr(model, "labels_") else model.predict(Xt))
    return Xt, labels, X
