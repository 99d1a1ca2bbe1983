"""Views of a run for the pages: progress and ETA, live curves, the leaderboard, the best model."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.jobs import JobSnapshot
from core.metrics import METRICS, Metric, grid_format, in_sentence, primary_metric
from core.target import Task
from core.training.request import ModelFailure, TrainedModel


@dataclass(frozen=True)
class ModelProgress:
    """One model being fitted: its share done, in words, and since when."""

    name: str
    fraction: float
    detail: str
    since: float


@dataclass(frozen=True)
class Progress:
    """Where a run is, computed from its events (for progress bars and ETA).

    Models of one run may train side by side on the cluster: ``running`` lists
    them in the order they started; ``current`` is the latest.
    """

    done: int
    total: int
    running: tuple[ModelProgress, ...]
    elapsed: float
    eta: float | None

    @property
    def current(self) -> str | None:
        return self.running[-1].name if self.running else None

    @property
    def current_fraction(self) -> float:
        return self.running[-1].fraction if self.running else 0.0

    @property
    def current_detail(self) -> str:
        return self.running[-1].detail if self.running else ""

    @property
    def fraction(self) -> float:
        share = self.done + sum(m.fraction for m in self.running)
        return min(1.0, share / self.total) if self.total else 0.0


def progress(snapshot: JobSnapshot, now: float | None = None) -> Progress:
    """Models done, each running model's share done, elapsed seconds and an ETA.

    The ETA is the longest remaining time of the running models (each from its
    own pace) plus the models still waiting, each counted at the average time of
    those finished, shared among as many models as have run at once.
    """
    now = now or time.time()
    total, done, side_by_side = 0, 0, 1
    running: dict[str, ModelProgress] = {}
    durations: list[float] = []
    for event in snapshot.events:
        if isinstance(event, ev.TrainingStarted):
            total = len(event.models)
        elif isinstance(event, ev.ModelStarted):
            running[event.model] = ModelProgress(event.model, 0.0, "fitting…", event.at)
            side_by_side = max(side_by_side, len(running))
        elif isinstance(event, ev.EpochEnded) and event.model in running:
            since = running[event.model].since
            detail = f"epoch {event.epoch} of {event.epochs}"
            running[event.model] = ModelProgress(event.model, event.epoch / event.epochs, detail, since)
        elif isinstance(event, ev.StepEnded) and event.model in running:
            since = running[event.model].since
            detail = f"stage {event.step} of {event.steps}"
            running[event.model] = ModelProgress(event.model, event.step / event.steps, detail, since)
        elif isinstance(event, ev.FoldEnded) and event.model in running:
            since = running[event.model].since
            detail = f"cross-validation, fold {event.fold} of {event.folds}"
            running[event.model] = ModelProgress(event.model, event.fold / event.folds, detail, since)
        elif isinstance(event, ev.ModelFinished | ev.ModelFailed):
            began = running.pop(event.model, None)
            durations.append(max(0.0, event.at - began.since) if began else 0.0)
            done += 1
    end = snapshot.finished_at or now
    elapsed = max(0.0, end - snapshot.started_at) if snapshot.started_at else 0.0
    eta = None
    if snapshot.status == "running" and total:
        average = sum(durations) / len(durations) if durations else None
        lefts = []
        for model in running.values():
            spent = max(0.0, now - model.since)
            lefts.append(spent / model.fraction - spent if model.fraction > 0 else average)
            if average is None and model.fraction > 0:
                average = spent / model.fraction
        waiting = total - done - len(running)
        known = [left for left in lefts if left is not None]
        if (known or not running) and (average is not None or waiting == 0):
            eta = max(known, default=0.0) + waiting * (average or 0.0) / side_by_side
    return Progress(done, total, tuple(running.values()), elapsed, eta)


def live_history(snapshot: JobSnapshot, model: str) -> dict[str, list[float]]:
    """Per-epoch (or per-stage) metrics of one model so far, for live curves."""
    history: dict[str, list[float]] = {}
    for event in snapshot.events:
        if isinstance(event, ev.EpochEnded | ev.StepEnded) and event.model == model:
            for key, value in event.metrics.items():
                history.setdefault(key, []).append(float(value))
    return history


#: The leaderboard's columns per task (every metric is still computed and shown on Results).
LEADERBOARD_METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1_macro", "log_loss"),
    Task.MULTICLASS: ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    Task.REGRESSION: ("r2", "mae", "rmse", "mape"),
    Task.CLUSTERING: ("silhouette", "clusters"),
    Task.ANOMALY: ("flagged_share", "separation", "agreement"),
}


def cv_key(metric: Metric) -> str:
    """The key of a model's cross-validated mean of ``metric`` in its ``cv_scores``."""
    return f"cv_{metric.key}_mean"


def by_cross_validation(results: list[TrainedModel | ModelFailure], metric: Metric) -> bool:
    """Whether every trained model was cross-validated on ``metric``: then they are ranked and chosen by its mean.

    A run stopped before some model's folds ran is ranked by the validation score, the one score every
    model has (a model whose folds all failed was cross-validated: it has a mean, NaN, and is not chosen).
    """
    trained = [r for r in results if isinstance(r, TrainedModel)]
    return bool(trained) and all(cv_key(metric) in r.cv_scores for r in trained)


def choice_score(result: TrainedModel, metric: Metric, cross_validated: bool) -> float:
    """What a model is ranked by: its cross-validated mean when the run cross-validated, else its validation score."""
    value = result.cv_scores.get(cv_key(metric)) if cross_validated else result.scores.get(metric.key)
    return float(value) if value is not None else float("nan")


def cv_columns(metric: Metric) -> tuple[str, str]:
    """The leaderboard's columns of the cross-validated mean and spread of ``metric``."""
    return f"CV {metric.label}", "CV ±"


def train_column(metric: Metric) -> str:
    """The leaderboard's column of ``metric`` on the training rows (beside it, ``gap``: train − validation)."""
    return f"train {in_sentence(metric.label)}"


#: The leaderboard's seconds column in a table (Streamlit's number format).
SECONDS_FORMAT = "%.2f"


def leaderboard_formats(metric: Metric) -> dict[str, str]:
    """How each number column of :func:`leaderboard` reads in a table (ranked by ``metric``): every score
    by :func:`core.metrics.grid_format` (a share as a percentage), the training score, the gap and the
    cross-validated columns as ``metric`` reads, seconds with two decimals. The cells stay numbers."""
    keys = {m.label: m.key for m in METRICS.values()}
    keys |= dict.fromkeys((*cv_columns(metric), train_column(metric), "gap"), metric.key)
    formats = {label: grid_format(key) for label, key in keys.items()}
    formats["seconds"] = SECONDS_FORMAT
    return formats


def status_text(result: TrainedModel) -> str:
    """How a model's training ended, in the leaderboard's words: early stopping is not the person's Stop."""
    epochs = len(result.history.get("loss", []))
    planned = result.params.get("epochs")
    ran = f" after {epochs} of {planned} epochs" if epochs and planned else ""
    if result.ended_by == "stop":
        return f"stopped by you{ran}"
    if result.ended_by == "budget":
        return f"time budget ran out{ran}"
    if result.ended_by == "diverged":
        return f"diverged{ran} (kept its best epoch)"
    if result.ended_by == "early stopping" or (result.stopped_early and not result.ended_by):
        best = f": best epoch {result.best_epoch}" if result.best_epoch else ""
        return f"early stopping{ran}{best}"
    return "ok"


def leaderboard(results: list[TrainedModel | ModelFailure], task: Task, metric_key: str | None = None) -> pd.DataFrame:
    """One row per model: validation scores, training score, gap, time; failures with reasons.

    Sorted by ``metric_key`` (the task's default when ``None``), which is also
    the first score column and the one the training score and gap are given for.
    When the models were cross-validated (:func:`by_cross_validation`), the
    cross-validated mean and spread (std over the folds) of that metric come
    first and the table is sorted by the mean (when only some were, as in a
    stopped run, they come after the validation scores). ``attrs["ranked_by"]``
    names the column the table is sorted by.
    """

    metric = primary_metric(task, metric_key)
    cross_validated = task.has_target and by_cross_validation(results, metric)
    # Shown whenever some model has them (a stopped run), ranked by only when every model has them.
    some_cv = any(isinstance(r, TrainedModel) and cv_key(metric) in r.cv_scores for r in results)
    mean_column, spread_column = cv_columns(metric)
    columns = (metric.key, *(k for k in LEADERBOARD_METRICS[task] if k != metric.key))
    rows = []
    for result in results:
        if isinstance(result, ModelFailure):
            rows.append({"model": result.name, "status": f"failed: {result.message}"})
            continue
        row: dict[str, Any] = {"model": result.name, "status": status_text(result)}
        if cross_validated:
            row[mean_column] = choice_score(result, metric, True)
            row[spread_column] = result.cv_scores.get(f"cv_{metric.key}_std", np.nan)
        for key in columns:
            if key in result.scores:
                row[METRICS[key].label] = result.scores[key]
        if metric.key in result.train_scores and metric.key in result.scores:
            row[train_column(metric)] = result.train_scores[metric.key]
            row["gap"] = result.train_scores[metric.key] - result.scores[metric.key]
        if some_cv and not cross_validated:
            row[mean_column] = result.cv_scores.get(cv_key(metric), np.nan)
            row[spread_column] = result.cv_scores.get(f"cv_{metric.key}_std", np.nan)
        row["seconds"] = result.seconds
        rows.append(row)
    table = pd.DataFrame(rows)
    ranked_by = mean_column if cross_validated else metric.label
    if ranked_by in table.columns and task != Task.ANOMALY:  # detectors stay in the order picked (best_model)
        table = table.sort_values(ranked_by, ascending=not metric.higher_is_better, na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["ranked_by"] = ranked_by
    return table


def best_model(
    results: list[TrainedModel | ModelFailure], task: Task, metric_key: str | None = None
) -> TrainedModel | None:
    """The trained model to choose: the best on ``metric_key`` (the task's default when ``None``).

    Judged by the cross-validated mean when the run cross-validated (:func:`by_cross_validation`),
    else by the validation score; a model without that score is never chosen. Anomaly detection has
    no score to judge by (:data:`core.anomaly.NO_LABELS`): the first detector picked that trained.
    """
    if task == Task.ANOMALY:
        return next((r for r in results if isinstance(r, TrainedModel)), None)
    metric = primary_metric(task, metric_key)
    cross_validated = task.has_target and by_cross_validation(results, metric)
    trained = [
        r for r in results if isinstance(r, TrainedModel) and np.isfinite(choice_score(r, metric, cross_validated))
    ]
    if not trained:
        return None
    pick = max if metric.higher_is_better else min
    return pick(trained, key=lambda r: choice_score(r, metric, cross_validated))
