"""Fitting one model: its pipeline, preprocessing on training rows only, scores.

:func:`train_model` is the unit of work a run is made of (in order by
:func:`core.training.run.run_training`, as one cluster task per model by
:class:`core.training.run.TrainingJob`); it turns any failure into a
:class:`ModelFailure`, so one model never ends a run.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd

from core import anomaly
from core import events as ev
from core.errors import DashboardError
from core.evaluation import clustering_scores, score
from core.features import feature_sources
from core.jobs import explain_failure
from core.registry import get_spec
from core.split import cv_folds
from core.target import Task
from core.training.budget import Deadline, training_sample
from core.training.pipeline import build_model_pipeline
from core.training.request import ModelFailure, ModelRun, TrainedModel, TrainingRequest
from core.training.staged import fit_staged


def fit_preprocessing(pipeline, X: pd.DataFrame, y: pd.Series | None):
    """Fit every step but the last, as ``Pipeline.fit`` would; return the model's inputs.

    Samplers (outlier removal, SMOTE, …) resample here, i.e. on training rows only.
    """
    Xt, yt = X, y
    for _, step in pipeline.steps[:-1]:
        if step is None or step == "passthrough":
            continue
        if hasattr(step, "fit_resample"):
            Xt, yt = step.fit_resample(Xt, yt)
        else:
            Xt = step.fit_transform(Xt, yt)
    return Xt, yt


def transform_only(pipeline, X: pd.DataFrame):
    """Apply the fitted preprocessing (samplers skipped) to new rows."""
    Xt = X
    for _, step in pipeline.steps[:-1]:
        if step is None or step == "passthrough" or hasattr(step, "fit_resample"):
            continue
        Xt = step.transform(Xt)
    return Xt


def train_one(
    request: TrainingRequest, run: ModelRun, listener: ev.Listener = ev.ignore, should_stop=lambda: False
) -> TrainedModel:
    """Fit one model's pipeline on the training split and score it on validation.

    A model planned in a time budget (``run.seconds``) ends its staged growth or epochs once that
    time has passed (with slack), and says so in ``budget_note``; one shrunk to fewer rows
    (``run.max_rows``) learns from a stratified sample of the training rows.
    """
    spec = get_spec(run.key)
    started = time.perf_counter()
    pipeline = build_model_pipeline(request, run)
    X_train, y_train = request.xy(own_rows(request, run, request.split.train))
    X_valid, y_valid = request.xy(request.split.valid)
    should_stop = deadline = Deadline(should_stop, run.seconds)
    Xt, yt = fit_preprocessing(pipeline, X_train, y_train)
    model = pipeline.steps[-1][1]
    extra: dict[str, Any] = {}

    def trained(scores: dict, train_scores: dict, **more: Any) -> TrainedModel:
        return TrainedModel(
            run.name,
            run.key,
            spec.validate(run.params),
            pipeline,
            request.task,
            scores,
            train_scores,
            time.perf_counter() - started,
            sources=feature_sources(pipeline),
            log_target=run.log_target and request.task == Task.REGRESSION,
            **more,
        )

    if request.task == Task.CLUSTERING:
        labels = model.fit_predict(Xt)
        scores = clustering_scores(_dense(Xt), labels, seed=request.seed)
        return trained(scores, scores)
    if request.task == Task.ANOMALY:  # learns the usual rows from the training rows; scored on validation rows
        model.fit(Xt)
        at = anomaly.threshold(model)
        train_scores = anomaly.summary(anomaly.training_scores(model, Xt), at)
        return dataclasses.replace(trained({}, train_scores), scores=score(pipeline, X_valid, None, request.task))
    if spec.needs_tensorflow:
        Xv = transform_only(pipeline, X_valid)
        model.fit(
            Xt, yt, validation_data=(Xv, y_valid), listener=listener, should_stop=should_stop, model_name=run.name
        )
        extra = {
            "history": dict(model.history_),
            "best_epoch": model.best_epoch_,
            "stopped_early": model.stopped_early_,
            "ended_by": {"early stopping": "early stopping", "diverged": "diverged"}.get(model.stop_reason_, ""),
        }
        if deadline.passed:
            ran = len(model.history_.get("loss", []))
            extra["budget_note"] = (
                f"ran {ran} of {run.params.get('epochs', ran)} epochs before its time in the budget ran out"
            )
    elif spec.staged:
        fit_staged(
            model,
            Xt,
            yt,
            transform_only(pipeline, X_valid),
            y_valid,
            request.task,
            run.name,
            listener,
            should_stop,
            request.ranking,
            request.positive,
        )
        if deadline.passed:
            extra.update(_grown(spec, run, model))
    else:
        model.fit(Xt, yt)
    if deadline.passed:
        extra["ended_by"] = "budget"
    elif deadline.stopped:
        extra["ended_by"] = "stop"
    fitted = trained({}, {})  # the fit's seconds, before scoring
    if "params" in extra:
        fitted = dataclasses.replace(fitted, params=extra.pop("params"))
    scores = score(pipeline, X_valid, y_valid, request.task, request.positive)
    train_scores = _training_score(pipeline, X_train, y_train, Xt, request)
    return dataclasses.replace(fitted, scores=scores, train_scores=train_scores, **extra)


def own_rows(request: TrainingRequest, run: ModelRun, positions: np.ndarray) -> np.ndarray:
    """The rows of ``positions`` that ``run`` learns from: all, or its own sample when shrunk (``max_rows``)."""
    return training_sample(request, positions, run.max_rows)


def _grown(spec, run: ModelRun, model) -> dict:
    """What a staged model grew before its time ran out: its parameters with the count, and a note."""
    inner = getattr(model, "regressor_", getattr(model, "regressor", model))
    size_param = next((p for p in ("n_estimators", "max_iter") if p in inner.get_params()), None)
    if size_param is None:
        return {}
    grown = getattr(inner, "n_iter_", None) or getattr(inner, "best_iteration_", None) or inner.get_params()[size_param]
    if hasattr(inner, "booster_"):  # LightGBM: the trees actually in the booster
        grown = inner.booster_.current_iteration()
    total = int(run.params.get(size_param, grown))
    word = "trees" if size_param == "n_estimators" else "iterations"
    params = {**spec.validate(run.params), size_param: int(grown)}
    return {
        "params": params,
        "budget_note": f"grew {int(grown)} of {total} {word} before its time in the budget ran out",
    }


#: Training rows scored for the overfitting check (a seeded sample of them beyond this).
TRAIN_SCORE_ROWS = 5_000


def score_rows(n: int, seed: int) -> np.ndarray:
    """Positions of at most :data:`TRAIN_SCORE_ROWS` of ``n`` training rows for the training score: one seeded draw."""
    rows = TRAIN_SCORE_ROWS
    return np.arange(n) if n <= rows else np.random.default_rng(seed).choice(n, rows, replace=False)


def _training_score(pipeline, X_train: pd.DataFrame, y_train: pd.Series, Xt, request: TrainingRequest) -> dict:
    """Scores on (at most 5,000) training rows, for the overfitting check.

    Without a sampler the preprocessed training matrix ``Xt`` has one row per
    training row, so the model scores its rows directly instead of sending the
    raw rows through the preprocessing again (the same numbers, less time).
    """
    pick = score_rows(len(X_train), request.seed)
    y_pick = y_train.iloc[pick]
    resampled = any(hasattr(step, "fit_resample") for _, step in pipeline.steps[:-1])
    if resampled or getattr(Xt, "shape", (0,))[0] != len(X_train):
        return score(pipeline, X_train.iloc[pick], y_pick, request.task, request.positive)
    if len(pick) < len(X_train):  # the same rows, already preprocessed
        Xt = Xt.iloc[pick] if isinstance(Xt, pd.DataFrame) else Xt[pick]
    return score(pipeline.steps[-1][1], Xt, y_pick, request.task, request.positive)


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def cross_validate(
    request: TrainingRequest,
    run: ModelRun,
    folds: int,
    should_stop=lambda: False,
    listener: ev.Listener = ev.ignore,
) -> dict[str, float]:
    """Mean and spread of the ranking metric over k folds of the training + validation rows.

    The test rows are never used. Folds are time-ordered windows when the split is ordered
    by time, stratified for classes otherwise (:func:`core.split.cv_folds`). A fold that
    cannot be fitted or scored (a class missing from its rows, say) counts as missing; the
    mean is over the others. Stop ends it between folds with no scores (a partial mean is
    not comparable with the other models').
    """
    positions = np.concatenate([request.split.train, request.split.valid])
    y_all = request.frame[request.target] if request.target is not None else None
    metric = request.ranking.key
    values = []
    in_time_order = request.split.config.ordered
    for fit_rows, score_rows in cv_folds(
        y_all, request.split.in_time_order(positions), request.task, folds, request.seed, in_time_order=in_time_order
    ):
        if should_stop():
            return {}
        pipeline = build_model_pipeline(request, run)
        X_fit, y_fit = request.xy(own_rows(request, run, fit_rows))
        try:
            pipeline.fit(X_fit, y_fit)
            values.append(score(pipeline, *request.xy(score_rows), request.task, request.positive).get(metric, np.nan))
        except (ValueError, DashboardError):  # e.g. one class in the fold's rows: this fold says nothing
            values.append(np.nan)
        listener(ev.FoldEnded(model=run.name, fold=len(values), folds=folds))
    if not np.isfinite(values).any():
        return {f"cv_{metric}_mean": float("nan"), f"cv_{metric}_std": float("nan")}
    return {f"cv_{metric}_mean": float(np.nanmean(values)), f"cv_{metric}_std": float(np.nanstd(values))}


def train_model(
    request: TrainingRequest, run: ModelRun, listener: ev.Listener = ev.ignore, should_stop=lambda: False
) -> TrainedModel | ModelFailure:
    """One model of a run: fitted and scored, then cross-validated when the split says so; or why it failed.

    Never raises for a model that cannot be trained: one model's failure must not end the run.
    """
    try:
        trained = train_one(request, run, listener, should_stop)
        if request.split.cv_folds and request.task.has_target:
            as_fitted = dataclasses.replace(run, params=trained.params)  # a budget may have cut its growth
            trained.cv_scores = cross_validate(request, as_fitted, request.split.cv_folds, should_stop, listener)
        return trained
    except DashboardError as err:
        return ModelFailure(run.name, run.key, err.user_message)
    except Exception as exc:  # never BaseException: Ctrl-C and exits still end the process
        return ModelFailure(run.name, run.key, explain_failure(exc))


def ended(result: TrainedModel | ModelFailure) -> ev.Event:
    """The event that says a model is done: finished with its scores, or failed with the reason."""
    if isinstance(result, ModelFailure):
        return ev.ModelFailed(model=result.name, message=result.message)
    return ev.ModelFinished(model=result.name, scores=result.scores, seconds=result.seconds)
