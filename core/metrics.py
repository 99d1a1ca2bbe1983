"""What each metric means and which one models are ranked by, without scikit-learn.

The catalogue (:data:`METRICS`: key, label, one-line meaning, direction), each task's
metrics and default ranking metric, and the ranking rule (:func:`default_ranking`). It is
kept apart from the scoring in :mod:`core.evaluation` (which needs scikit-learn) so that
labels, the experiment log and the sidebar load without it; :mod:`core.evaluation`
re-exports every name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from core.numbers import format_number
from core.target import Task, imbalance


@dataclass(frozen=True)
class Metric:
    """A metric's key, label, meaning and direction."""

    key: str
    label: str
    meaning: str
    higher_is_better: bool = True
    #: How a value reads (:func:`format_score`): ``"score"`` (a bounded score, 4 decimals), ``"amount"``
    #: (in the target's units or unbounded: thousands separators, sensible decimals), ``"share"`` (a
    #: percentage) or ``"count"`` (a whole number).
    reads_as: str = "score"


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
            "f1_weighted",
            "F1 (weighted)",
            "Balance of precision and recall per class, averaged in proportion to each class's rows.",
        ),
        Metric(
            "precision_macro",
            "Precision (macro)",
            "Of the rows predicted as a class, the share that really are; averaged over classes.",
        ),
        Metric(
            "recall_macro",
            "Recall (macro)",
            "Of the rows that really are a class, the share the model finds; averaged over classes.",
        ),
        Metric(
            "precision_weighted",
            "Precision (weighted)",
            "Precision per class, averaged in proportion to each class's rows.",
        ),
        Metric(
            "recall_weighted",
            "Recall (weighted)",
            "Recall per class, averaged in proportion to each class's rows (equals accuracy).",
        ),
        Metric(
            "roc_auc",
            "ROC-AUC",
            "Chance that a random positive row is ranked above a random negative one (0.5 = guessing, 1 = perfect).",
        ),
        Metric(
            "pr_auc",
            "PR-AUC",
            "Average precision for the positive class: how well the model ranks its rows above the rest "
            "(the positive share = guessing, 1 = perfect). Unlike ROC-AUC, many easy negatives cannot flatter it.",
        ),
        Metric(
            "log_loss", "Log loss", "How confident and right the predicted probabilities are (lower is better).", False
        ),
        Metric(
            "r2", "R²", "Share of the target's variation the model explains (1 = perfect, 0 = no better than the mean)."
        ),
        Metric("mae", "MAE", "Average size of the error, in the target's units (lower is better).", False, "amount"),
        Metric("rmse", "RMSE", "Typical error size, punishing big misses more (lower is better).", False, "amount"),
        Metric(
            "mape",
            "MAPE",
            "Average error as a share of the true value (0.1 = 10%; rows whose true value is 0 are skipped; lower is better).",
            False,
            "share",
        ),
        Metric("silhouette", "Silhouette", "How well separated the clusters are (-1 to 1, higher is better)."),
        Metric(
            "calinski_harabasz",
            "Calinski-Harabasz",
            "Spread between clusters relative to spread within them (no upper limit, higher is better).",
            reads_as="amount",
        ),
        Metric(
            "davies_bouldin",
            "Davies-Bouldin",
            "How much each cluster overlaps its most similar neighbour (0 = no overlap, lower is better).",
            False,
        ),
        Metric("clusters", "Clusters", "Number of clusters found (noise rows not counted).", reads_as="count"),
        Metric(
            "largest_cluster_share",
            "Largest cluster",
            "Share of all rows in the biggest cluster (near 1 = one cluster holds almost everything).",
            False,
            "share",
        ),
        Metric(
            "noise_share",
            "Noise share",
            "Share of rows left out of every cluster as noise (DBSCAN only; lower is better).",
            False,
            "share",
        ),
        Metric(
            "flagged_share",
            "Flagged share",
            "Share of rows scoring above the detector's threshold (compare it with the expected share you set: "
            "on rows it did not learn from, it shows whether the threshold holds).",
            reads_as="share",
        ),
        Metric(
            "separation",
            "Separation",
            "How far the flagged rows' scores stand from the others': the gap between their medians in "
            "interquartile ranges of all scores (higher = the unusual rows stand out more clearly).",
        ),
        Metric(
            "agreement",
            "Agreement",
            "How alike this detector ranks the rows to the run's other detectors: its mean Spearman rank "
            "correlation with them (1 = the same order, 0 = unrelated).",
        ),
    )
}


def in_sentence(label: str) -> str:
    """A metric's label as it reads mid-sentence ("validation flagged share", "train accuracy").

    Only a capital that merely starts the label is lowered: abbreviations and names keep theirs
    (ROC-AUC, R², F1 (macro), MAE, Calinski-Harabasz).
    """
    rest = label[1:]
    return label[:1].lower() + rest if label[:1].isupper() and rest[:1].islower() and rest == rest.lower() else label


#: What a score that does not exist reads as (undefined, not computed, the test split not scored yet).
NO_SCORE = "—"


#: How a score column reads in an interactive table (Streamlit's number formats): :func:`format_score`'s
#: rule for a grid, whose cells stay numbers (sorted as numbers); percentages get two decimals there.
GRID_FORMATS = {"score": "%.4f", "share": "percent", "count": "%d", "amount": "localized"}


def grid_format(key: str) -> str:
    """The table format of a metric's column (:data:`GRID_FORMATS`, by how the metric reads)."""
    return GRID_FORMATS[METRICS[key].reads_as if key in METRICS else "score"]


def format_score(key: str, value: float | None) -> str:
    """A metric's value as every page, the report and the model card show it (one definition).

    Bounded scores get 4 decimals (0.9377); amounts in the target's units get thousands separators from
    1,000 (an MAE of 12,964.3 reads ``12,964``) and 4 significant digits below (``35.27``, ``1.280``, ``0.1234``,
    so an MAE and an RMSE side by side show the same precision);
    shares read as percentages (``12.5%``); counts as whole numbers (``3``); no value as :data:`NO_SCORE`.
    """
    if value is None or not math.isfinite(value):
        return NO_SCORE
    reads_as = METRICS[key].reads_as if key in METRICS else "score"
    if reads_as == "count":
        return f"{round(value):,}"
    if reads_as == "share":
        return f"{value:.1%}"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if reads_as == "amount":
        return f"{value:#.4g}" if size >= 1e-3 or value == 0 else format_number(value)  # never 1.000e-05
    return f"{0.0 if round(value, 4) == 0 else value:.4f}"  # a baseline's R² of -0.00001 reads 0.0000, not -0.0000


#: Each task's default ranking metric (imbalanced classes: see :func:`default_ranking`). Several classes
#: rank by macro F1: accuracy lets a model look good by getting the common classes right and the rest wrong.
PRIMARY: dict[Task, str] = {
    Task.BINARY: "roc_auc",
    Task.MULTICLASS: "f1_macro",
    Task.REGRESSION: "r2",
    Task.CLUSTERING: "silhouette",
    # Never ranked by: without labels the first detector picked is chosen (core.training.views.best_model).
    Task.ANOMALY: "flagged_share",
}
_CLASSIFICATION_DETAIL = (
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "precision_weighted",
    "recall_weighted",
)
#: Each task's metrics, most important first (the leaderboard's columns, in order).
TASK_METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", *_CLASSIFICATION_DETAIL, "log_loss"),
    Task.MULTICLASS: ("accuracy", "balanced_accuracy", *_CLASSIFICATION_DETAIL, "roc_auc", "log_loss"),
    Task.REGRESSION: ("r2", "mae", "rmse", "mape"),
    Task.CLUSTERING: ("silhouette", "calinski_harabasz", "davies_bouldin", "clusters", "noise_share"),
    Task.ANOMALY: ("flagged_share", "separation", "agreement"),
}


def metric_label(key: str) -> str:
    """How people read a metric's key: its label, or the key in words when it is not in :data:`METRICS`."""
    metric = METRICS.get(key)
    return metric.label if metric is not None else key.replace("_", " ")


#: Metrics a person may rank models by, per task (the default first; see :func:`default_ranking`).
RANKING_CHOICES: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("roc_auc", "balanced_accuracy", "pr_auc", "f1_macro", "accuracy", "log_loss"),
    Task.MULTICLASS: ("f1_macro", "balanced_accuracy", "accuracy", "roc_auc", "log_loss"),
    Task.REGRESSION: ("r2", "mae", "rmse", "mape"),
    Task.CLUSTERING: ("silhouette",),
    Task.ANOMALY: ("flagged_share",),
}


def primary_metric(task: Task, key: str | None = None) -> Metric:
    """The metric the leaderboard, the best model and tuning rank by: ``key`` if given, else the task's default."""
    return METRICS[key or PRIMARY[task]]


#: scikit-learn scorer names of the metrics that have one with the same meaning (higher is better).
SKLEARN_SCORERS: dict[str, str] = {
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "r2": "r2",
}


def scorer_for(task: Task, key: str | None = None) -> tuple[str, Metric]:
    """A scikit-learn scorer name for ranking metric ``key`` and the metric it measures.

    Metrics without a same-direction scorer (log loss, errors in units) fall
    back to the task's default metric, which the returned :class:`Metric` names.
    """
    metric = primary_metric(task, key)
    if metric.key not in SKLEARN_SCORERS:
        metric = primary_metric(task)
    return SKLEARN_SCORERS[metric.key], metric


def default_ranking(task: Task, y: pd.Series | None) -> tuple[str, str]:
    """The metric to rank models by for this target, and why, in words.

    With imbalanced classes (:func:`core.target.imbalance`), accuracy looks good
    while the rarest class is missed, so classification is ranked by balanced
    accuracy, where each class counts the same. Otherwise the task's
    :data:`PRIMARY` metric: ROC-AUC for two classes, macro F1 for more.
    """
    key = PRIMARY[task]
    rare = imbalance(y) if task.is_classification and y is not None else None
    if rare is not None:
        return "balanced_accuracy", (
            f"the rarest class, '{rare.label}', is only {rare.share:.1%} of the rows: accuracy would look good "
            "while that class is missed, so models are ranked by balanced accuracy (every class counts the same)"
        )
    if task == Task.MULTICLASS:
        return key, (
            f"{METRICS[key].label} counts every class the same, so a model cannot rank first by getting only the "
            "common classes right"
        )
    return key, f"{METRICS[key].label} is the usual yardstick for {task.value}"
