"""Fairness across groups: does the model do as well for every group of rows?

The person picks a column of the loaded table (any but the target, a column the model
never saw included); its values split the evaluated rows into groups, and fairlearn's
:class:`~fairlearn.metrics.MetricFrame` scores the model's predictions within each group:
for classes the row count, accuracy, then recall and precision of the positive class and
the selection rate (two classes) or balanced accuracy and macro precision (more); for
numbers the row count, MAE, RMSE and R². The gaps between groups (``difference()``,
``ratio()``) become :class:`~core.guards.findings.Finding` objects when they pass the
thresholds of :data:`core.guards.thresholds.THRESHOLDS` (``group_*``).

Which rows: the validation split by default; the test split only once the person has
scored the model on it (:func:`core.results.test_scores`): looking at the test rows
while choosing models turns them into a second validation split. Groups: a numeric or
date column with many values is cut into a few quantile bins; missing values form the
group "(missing)"; beyond ``group_max`` groups the smallest become one "other" group;
groups with fewer than ``group_min_rows`` rows are shown but too small to judge.
Clustering has no right answer to compare with, so it does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate

from core.errors import DashboardError
from core.evaluation import classification_scores, regression_scores
from core.guards.findings import Finding, Level
from core.guards.thresholds import THRESHOLDS, Thresholds
from core.metrics import METRICS, Metric, format_score
from core.results import Predictions, predictions
from core.row_groups import group_column, group_labels
from core.target import Task
from core.training import TrainedModel, TrainingRequest

#: Why there is nothing to compare for clustering (the pages say it instead of a table).
_NO_ANSWERS = (
    "Fairness across groups compares a model's predictions with the right answers within each group; "
    "{task} has no right answers, so it does not apply{more}."
)
#: Why there is nothing to compare, for each task without right answers.
NOT_APPLICABLE = {
    Task.CLUSTERING: _NO_ANSWERS.format(task="clustering", more=""),
    Task.ANOMALY: _NO_ANSWERS.format(
        task="anomaly detection",
        more=" (the check against a known column, under Diagnostics, compares the scores with one column's values)",
    ),
}
#: The first row of the shown table: every evaluated row.
ALL_ROWS = "(all rows)"
#: What a too-small group's note says.
TOO_SMALL = "too few rows to judge"
#: What the note of the group holding the smallest groups together says.
MIXED = "several groups together: not judged"
#: The split names a report can be about, by the part of :func:`core.results.predictions`.
SPLITS = {"valid": "validation", "test": "test"}

#: Metrics of a group that are not in :data:`core.metrics.METRICS` (two classes, about the positive class).
GROUP_METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "recall_positive",
            "Recall (positive class)",
            "Of the rows that really are the positive class, the share the model finds.",
        ),
        Metric(
            "precision_positive",
            "Precision (positive class)",
            "Of the rows the model calls the positive class, the share that really are.",
        ),
        Metric("selection_rate", "Selection rate", "Share of the rows the model calls the positive class."),
    )
}


def metric_of(key: str) -> Metric:
    """A metric of the fairness table: from :data:`core.metrics.METRICS` or :data:`GROUP_METRICS`."""
    return METRICS[key] if key in METRICS else GROUP_METRICS[key]


#: The metrics compared per task, the main one (the chart's, the first finding's) first.
TASK_GROUP_METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("accuracy", "recall_positive", "precision_positive", "selection_rate"),
    Task.MULTICLASS: ("accuracy", "balanced_accuracy", "precision_macro"),
    Task.REGRESSION: ("mae", "rmse", "r2"),
}


#: Metrics drawn by the chart: shares of rows for classes, errors in the target's units for numbers.
CHARTED = ("accuracy", "recall_positive", "selection_rate", "balanced_accuracy", "mae", "rmse")


@dataclass(frozen=True)
class FairnessReport:
    """A model's scores per group of one column, the gaps between groups and what they mean.

    Attributes:
        column: The column whose values make the groups.
        split: The rows scored: ``"validation"`` or ``"test"``.
        table: One row per group, in the order shown: ``group`` (text), ``rows``, ``judged`` (enough rows
            to judge, not the "other" mix), ``note`` (why not, in words), then one column per metric key of
            :attr:`metrics` (NaN where undefined).
        gaps: One row per metric, between the judged groups: ``metric``, ``lowest``, ``lowest_value``,
            ``highest``, ``highest_value``, ``difference`` and ``ratio`` (fairlearn's, between groups).
            Empty when fewer than two groups can be judged.
        findings: The gaps that pass the thresholds, in plain words with a fix.
        notes: What the reader should know (the rows, bins, missing values, small groups).
        overall: Each metric on all the evaluated rows.
        metrics: The metric keys of the table, the main one first.
        positive: Two classes: the positive class the recall, precision and selection rate are about.
    """

    column: str
    split: str
    table: pd.DataFrame
    gaps: pd.DataFrame
    findings: list[Finding]
    notes: list[str]
    overall: dict[str, float]
    metrics: tuple[str, ...]
    positive: Any = None
    #: Whether ``column`` is one of the model's inputs.
    feature: bool = True

    @property
    def main(self) -> str:
        """The metric the chart shows first and the first finding is about."""
        return self.metrics[0]

    def charted(self) -> dict[str, str]:
        """The metrics the chart draws side by side (key -> label): those on one scale with the main one."""
        return {key: metric_of(key).label for key in self.metrics if key in CHARTED}

    def formatted(self) -> pd.DataFrame:
        """The table as people read it: all rows first, then each group; scores as every page shows them."""
        labels = {key: metric_of(key).label for key in self.metrics}
        first = {"Group": ALL_ROWS, "Rows": f"{int(self.table['rows'].sum()):,}"}
        first |= {labels[k]: format_score(k, self.overall.get(k)) for k in self.metrics}
        rows = [{**first, "Note": ""}]
        for record in self.table.to_dict("records"):
            row = {"Group": str(record["group"]), "Rows": f"{int(record['rows']):,}"}
            row |= {labels[k]: format_score(k, record[k]) for k in self.metrics}
            rows.append({**row, "Note": record["note"]})
        return pd.DataFrame(rows, columns=["Group", "Rows", *labels.values(), "Note"])

    def to_dict(self) -> dict:
        """Plain values for the model card (NaN as None)."""

        def number(value: Any) -> float | None:
            value = float(value)
            return value if np.isfinite(value) else None

        return {
            "column": self.column,
            "split": self.split,
            "feature": self.feature,
            "positive_class": None if self.positive is None else str(self.positive),
            "metrics": {key: metric_of(key).label for key in self.metrics},
            "overall": {key: number(self.overall.get(key, np.nan)) for key in self.metrics},
            "groups": [
                {
                    "group": str(r["group"]),
                    "rows": int(r["rows"]),
                    "judged": bool(r["judged"]),
                    "note": str(r["note"]),
                    "scores": {key: number(r[key]) for key in self.metrics},
                }
                for r in self.table.to_dict("records")
            ],
            "gaps": [
                {
                    "metric": r["metric"],
                    "lowest": str(r["lowest"]),
                    "highest": str(r["highest"]),
                    "difference": number(r["difference"]),
                    "ratio": number(r["ratio"]),
                }
                for r in self.gaps.to_dict("records")
            ],
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- the metrics of a group


def _positive_rates(y: np.ndarray, y_pred: np.ndarray, positive: Any) -> tuple[float, float]:
    """(recall, precision) of the positive class; NaN where nothing to divide (no such rows, or no such calls)."""
    actual, called = np.asarray(y) == positive, np.asarray(y_pred) == positive
    hits = float((actual & called).sum())
    recall = hits / actual.sum() if actual.any() else float("nan")
    precision = hits / called.sum() if called.any() else float("nan")
    return recall, precision


def metric_functions(task: Task, classes: list, positive: Any = None) -> dict[str, Callable]:
    """``key -> f(y_true, y_pred)`` for :data:`TASK_GROUP_METRICS`: the app's own scoring functions
    (:func:`core.evaluation.classification_scores`, :func:`core.evaluation.regression_scores`), so a group's
    accuracy or MAE is computed exactly as the leaderboard's."""

    def from_scores(key: str) -> Callable:
        if task == Task.REGRESSION:
            return lambda y, p: regression_scores(np.asarray(y, dtype=float), np.asarray(p, dtype=float))[key]
        return lambda y, p: classification_scores(np.asarray(y), np.asarray(p), None, classes)[key]

    functions: dict[str, Callable] = {}
    for key in TASK_GROUP_METRICS[task]:
        if key == "recall_positive":
            functions[key] = lambda y, p: _positive_rates(y, p, positive)[0]
        elif key == "precision_positive":
            functions[key] = lambda y, p: _positive_rates(y, p, positive)[1]
        elif key == "selection_rate":
            functions[key] = lambda y, p: selection_rate(y, p, pos_label=positive)
        else:
            functions[key] = from_scores(key)
    return functions


# --------------------------------------------------------------------------- the report


def fairness_report(
    model: TrainedModel,
    request: TrainingRequest,
    source: pd.DataFrame,
    column: str,
    *,
    part: str = "valid",
    test_scored: bool = False,
    pred: Predictions | None = None,
    thresholds: Thresholds = THRESHOLDS,
) -> FairnessReport:
    """``model``'s scores within each group of ``column``'s values, the gaps and the findings.

    Args:
        model: A trained model of ``request``.
        request: The run it belongs to.
        source: The table as loaded, every column (``Dataset.frame``): the request was made from it.
        column: Any column of ``source`` but the target.
        part: ``"valid"`` (default) or ``"test"``.
        test_scored: Whether the person has scored ``model`` on the test split; ``part="test"`` needs it.
        pred: The predictions of ``part`` when already made (the Results page keeps the validation ones).

    Raises:
        DashboardError: for clustering, the target, a column not in the table, or the test split
            before it was scored.
    """
    if not request.task.has_target:
        raise DashboardError(NOT_APPLICABLE[request.task])
    if column == request.target:
        raise DashboardError(
            f"'{column}' is the target: its groups are the answers themselves.", hint="Pick another column."
        )
    if part not in SPLITS:
        raise ValueError(f"part must be 'valid' or 'test'. Got {part!r}.")
    if part == "test" and not test_scored:
        raise DashboardError(
            "The test split stays unseen until the model is scored on it: groups are compared on the validation "
            "rows until then.",
            hint="Score the model on the test split first (Final evaluation), then compare groups on it.",
        )
    positions = request.split.valid if part == "valid" else request.split.test
    values = group_column(request, source, column).iloc[positions]
    if pred is None or len(pred.y) != len(positions):
        pred = predictions(model, request, part)
    formed = group_labels(values, column, thresholds)
    groups = formed.labels
    positive = pred.positive if request.task == Task.BINARY else None
    functions = metric_functions(request.task, pred.classes, positive)
    frame = MetricFrame(
        metrics={"rows": count, **functions},
        y_true=pred.y,
        y_pred=pred.y_pred,
        sensitive_features=groups.rename("group"),
    )
    by_group = frame.by_group.reindex(groups.cat.categories)
    by_group = by_group[by_group["rows"].fillna(0) > 0]
    keys = tuple(functions)
    table = pd.DataFrame({"group": [str(g) for g in by_group.index], "rows": by_group["rows"].astype(int).to_numpy()})
    table["judged"] = (table["rows"] >= thresholds.group_min_rows) & (table["group"] != formed.other)
    table["note"] = np.where(table["judged"], "", np.where(table["group"] == formed.other, MIXED, TOO_SMALL))
    for key in keys:
        table[key] = by_group[key].astype(float).to_numpy()
    overall = {key: float(frame.overall[key]) for key in keys}
    split = SPLITS[part]
    notes = _reader_notes(model, request, column, split, len(positions), positive) + formed.notes
    small = table[~table["judged"] & (table["group"] != formed.other)]
    if len(small):
        names = ", ".join(f"'{g}' ({n:,} rows)" for g, n in zip(small["group"], small["rows"], strict=True))
        notes.append(
            f"Too small to judge: {names}. Under {thresholds.group_min_rows} rows a score swings by chance, so "
            "these groups are shown but left out of the gaps."
        )
    gaps = _gaps(table, groups, pred, functions, positive)
    if table["judged"].sum() < 2:
        notes.append(
            f"Fewer than two groups have {thresholds.group_min_rows} rows or more here: no gap between groups "
            "can be judged."
        )
    findings = _findings(request.task, column, split, table, gaps, positive, thresholds)
    return FairnessReport(
        column,
        split,
        table,
        gaps,
        findings,
        notes,
        overall,
        keys,
        positive,
        column in request.features,
    )


def _reader_notes(
    model: TrainedModel, request: TrainingRequest, column: str, split: str, rows: int, positive: Any
) -> list[str]:
    notes = [
        f"On the {rows:,} validation rows: rows the model did not learn from."
        if split == "validation"
        else f"On the {rows:,} test rows, which were scored once: report these numbers, do not choose by them."
    ]
    if split == "validation" and model.refitted and model.before_refit is None:
        notes.append(
            f"{model.name} was brought back refitted on training + validation rows: it learned from these rows, "
            "so the scores look better than new data would."
        )
    if column not in request.features:
        notes.append(
            f"'{column}' is not one of the model's inputs: the model never saw it, yet its errors can still "
            "differ between its groups (other columns may stand in for it)."
        )
    if positive is not None:
        notes.append(
            f"Recall and precision are about the positive class '{positive}'; the selection rate is the share "
            f"of rows the model calls '{positive}'."
        )
    return notes


#: Metrics that are shares of a group's rows (or of its positive rows), whose gaps can be checked against chance.
SHARES = ("accuracy", "recall_positive", "selection_rate")


def _gaps(
    table: pd.DataFrame,
    groups: pd.Series,
    pred: Predictions,
    functions: dict[str, Callable],
    positive: Any,
) -> pd.DataFrame:
    """The spread of each metric between the groups that can be judged (fairlearn's difference and ratio).

    ``z`` is the difference between the lowest and highest group in standard errors of a difference of two
    shares (each ``sqrt(p (1 - p) / n)``, ``n`` the group's rows, or its positive rows for recall): under 2 a
    gap that size is common by chance alone. NaN for metrics that are not shares.
    """
    columns = ["metric", "lowest", "lowest_value", "highest", "highest_value", "difference", "ratio", "z"]
    judged = table.loc[table["judged"], "group"].tolist()
    if len(judged) < 2:
        return pd.DataFrame(columns=columns)
    names = groups.astype(str).to_numpy()
    inside = np.isin(names, judged)
    frame = MetricFrame(
        metrics=functions,
        y_true=pred.y[inside],
        y_pred=pred.y_pred[inside],
        sensitive_features=pd.Series(names[inside], name="group"),
    )
    difference, ratio = frame.difference(method="between_groups"), frame.ratio(method="between_groups")
    by_group = frame.by_group.astype(float)

    def rows_behind(key: str, group: str) -> int:
        mine = names == group
        return int((mine & (np.asarray(pred.y) == positive)).sum()) if key == "recall_positive" else int(mine.sum())

    records = []
    for key in functions:
        values = by_group[key].dropna()
        if len(values) < 2:
            continue
        low, high = values.idxmin(), values.idxmax()
        z = float("nan")
        if key in SHARES:
            p1, p2, n1, n2 = values[low], values[high], rows_behind(key, low), rows_behind(key, high)
            se = np.sqrt(p1 * (1 - p1) / max(n1, 1) + p2 * (1 - p2) / max(n2, 1))
            z = float((p2 - p1) / se) if se > 0 else (float("inf") if p2 > p1 else 0.0)
        records.append(
            {
                "metric": key,
                "lowest": low,
                "lowest_value": float(values[low]),
                "highest": high,
                "highest_value": float(values[high]),
                "difference": float(difference[key]),
                "ratio": float(ratio[key]),
                "z": z,
            }
        )
    return pd.DataFrame(records, columns=columns)


def _findings(
    task: Task,
    column: str,
    split: str,
    table: pd.DataFrame,
    gaps: pd.DataFrame,
    positive: Any,
    thresholds: Thresholds,
) -> list[Finding]:
    """The gaps that pass the thresholds, as findings the guards' way: evidence, then a fix."""
    rows = dict(zip(table["group"], table["rows"], strict=True))
    gap = {r["metric"]: r for r in gaps.to_dict("records")}

    def group(name: str) -> str:
        return f"group '{name}' (n={rows[name]:,})"

    def fix(worse: str) -> str:
        return (
            f"Collect more rows of group '{worse}', check the features that stand in for '{column}', or report the gap."
        )

    found: list[Finding] = []
    for key in ("accuracy", "recall_positive"):
        g = gap.get(key)
        if g is None or not (g["difference"] >= thresholds.group_score_gap and g["z"] >= thresholds.group_gap_z):
            continue
        hi, lo = format_score(key, g["highest_value"]), format_score(key, g["lowest_value"])
        evidence = (
            f"Accuracy is {hi} for {group(g['highest'])} but {lo} for {group(g['lowest'])} on the {split} rows."
            if key == "accuracy"
            else f"Of the rows that really are '{positive}', the model finds {hi} in {group(g['highest'])} but "
            f"only {lo} in {group(g['lowest'])} on the {split} rows."
        )
        check = "group_accuracy" if key == "accuracy" else "group_recall"
        found.append(Finding(Level.LOOK, column, evidence, fix(g["lowest"]), check, g["difference"]))
    g = gap.get("selection_rate")
    if g is not None and g["ratio"] < thresholds.group_selection_ratio and g["z"] >= thresholds.group_gap_z:
        evidence = (
            f"The model calls '{positive}' {g['highest_value']:.0%} of {group(g['highest'])} but "
            f"{g['lowest_value']:.0%} of {group(g['lowest'])}: a ratio of {g['ratio']:.2f}, under the "
            f"four-fifths rule's {thresholds.group_selection_ratio:.2f}."
        )
        found.append(
            Finding(
                Level.LOOK,
                column,
                evidence,
                f"If the groups really differ in how often they are '{positive}', this can be right; otherwise "
                f"check the features that stand in for '{column}', and report the gap.",
                "group_selection",
                1 - g["ratio"],
            )
        )
    g = gap.get("mae")
    if (
        g is not None
        and g["lowest_value"] > 0
        and g["highest_value"] / g["lowest_value"] >= thresholds.group_error_ratio
    ):
        times = g["highest_value"] / g["lowest_value"]
        evidence = (
            f"The typical error (MAE) is {format_score('mae', g['lowest_value'])} for {group(g['lowest'])} but "
            f"{format_score('mae', g['highest_value'])} for {group(g['highest'])} on the {split} rows: "
            f"{times:.1f} times as large."
        )
        found.append(Finding(Level.LOOK, column, evidence, fix(g["highest"]), "group_error", times))
    return found
