"""Training: fit each chosen model's pipeline on the training split, score it on
validation, report progress as events, honour Stop, never let one model's
failure end the run.

:func:`run_training` does the work synchronously (scripts, tests, benchmarks);
:class:`TrainingJob` runs it in a worker thread owned by one browser session,
so a Streamlit rerun or a visit to another page does not abandon it. Threads
never touch Streamlit; the page polls :meth:`TrainingJob.snapshot`.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.cleaning import CleaningPlan, RowReport, apply_row_steps
from core.errors import DashboardError, TargetError
from core.evaluation import Metric, clustering_scores, default_ranking, primary_metric, score
from core.features import FeatureOptions, build_pipeline, feature_sources
from core.guards.leakage import LeakageScan, scan
from core.guards.model_checks import model_findings
from core.jobs import BackgroundJob, JobSnapshot, explain_failure
from core.schema import Role
from core.split import Split, SplitConfig, cv_folds, make_split
from core.target import Task, class_limit, resolve_positive

#: Staged learners are grown in this many steps, scoring validation after each.
STAGES = 10
#: Live validation curves score at most this many validation rows per stage.
STAGE_SCORE_ROWS = 2_000


@dataclass(frozen=True)
class ModelRun:
    """One model to train: its spec key, a unique display name and parameters."""

    key: str
    name: str
    params: dict = field(default_factory=dict)


@dataclass
class TrainingRequest:
    """Everything needed to train: cleaned rows, choices and the split."""

    frame: pd.DataFrame  # rows after the plan's row steps
    target: str | None
    task: Task
    features: list[str]
    roles: dict[str, Role]
    plan: CleaningPlan
    split: Split
    models: list[ModelRun]
    options: FeatureOptions = field(default_factory=FeatureOptions)
    imbalance: str = "none"
    seed: int = 42
    #: What the plan's row steps did to the file's rows (counts per step, rows kept).
    row_report: RowReport | None = None
    #: The leakage scan of the features on this request's training rows.
    leakage: LeakageScan | None = None
    #: The metric models are ranked by (leaderboard, best model, tuning); empty: the task's default.
    metric: str = ""

    #: Binary: the class the probabilities, curves and explanations are about.
    positive: Any = None

    @property
    def ranking(self) -> Metric:
        """The metric the leaderboard, the best model and tuning rank by."""
        return primary_metric(self.task, self.metric or None)

    def xy(self, positions: np.ndarray) -> tuple[pd.DataFrame, pd.Series | None]:
        X = self.frame.iloc[positions][self.features]
        y = self.frame.iloc[positions][self.target] if self.target is not None else None
        return X, y


@dataclass
class TrainedModel:
    """A fitted pipeline with its validation scores and how it got there."""

    name: str
    key: str
    params: dict
    pipeline: Any
    task: Task
    scores: dict[str, float]
    train_scores: dict[str, float]
    seconds: float
    cv_scores: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False
    sources: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    #: The after-training guard checks (core.guards.model_checks), once they have run; None before.
    checks: list | None = None


@dataclass
class ModelFailure:
    """A model that could not be trained, and why."""

    name: str
    key: str
    message: str


def _spec(key: str):
    from core.registry import get_spec

    return get_spec(key)


# --------------------------------------------------------------------------- one model


def build_model_pipeline(request: TrainingRequest, run: ModelRun):
    """The unfitted pipeline for one model of the request."""
    spec = _spec(run.key)
    class_weight = "balanced" if request.imbalance == "class_weight" and spec.supports_class_weight else None
    estimator = spec.build_estimator(request.task, run.params, seed=request.seed, class_weight=class_weight)
    return build_pipeline(
        request.plan,
        request.roles,
        request.features,
        estimator,
        options=request.options,
        dense=not spec.accepts_sparse,
        imbalance=request.imbalance if request.task.is_classification else "none",
        seed=request.seed,
    )


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
    """Fit one model's pipeline on the training split and score it on validation."""
    spec = _spec(run.key)
    started = time.perf_counter()
    pipeline = build_model_pipeline(request, run)
    X_train, y_train = request.xy(request.split.train)
    X_valid, y_valid = request.xy(request.split.valid)
    Xt, yt = fit_preprocessing(pipeline, X_train, y_train)
    model = pipeline.steps[-1][1]
    extra: dict[str, Any] = {}
    if request.task == Task.CLUSTERING:
        labels = model.fit_predict(Xt)
        scores = clustering_scores(_dense(Xt), labels, seed=request.seed)
        return TrainedModel(
            run.name,
            run.key,
            spec.validate(run.params),
            pipeline,
            request.task,
            scores,
            scores,
            time.perf_counter() - started,
            sources=feature_sources(pipeline),
        )
    if spec.needs_tensorflow:
        Xv = transform_only(pipeline, X_valid)
        model.fit(
            Xt, yt, validation_data=(Xv, y_valid), listener=listener, should_stop=should_stop, model_name=run.name
        )
        extra = {
            "history": dict(model.history_),
            "best_epoch": model.best_epoch_,
            "stopped_early": model.stopped_early_,
        }
    elif spec.staged:
        _fit_staged(
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
    else:
        model.fit(Xt, yt)
    seconds = time.perf_counter() - started
    scores = score(pipeline, X_valid, y_valid, request.task, request.positive)
    train_scores = _training_score(pipeline, X_train, y_train, Xt, request)
    return TrainedModel(
        run.name,
        run.key,
        spec.validate(run.params),
        pipeline,
        request.task,
        scores,
        train_scores,
        seconds,
        sources=feature_sources(pipeline),
        **extra,
    )


def _limit(X: pd.DataFrame, y: pd.Series, seed: int, rows: int = 5_000):
    """At most ``rows`` training rows for the training score (overfitting check)."""
    if len(X) <= rows:
        return X, y
    pick = np.random.default_rng(seed).choice(len(X), rows, replace=False)
    return X.iloc[pick], y.iloc[pick]


def _training_score(pipeline, X_train: pd.DataFrame, y_train: pd.Series, Xt, request: TrainingRequest) -> dict:
    """Scores on (at most 5,000) training rows, for the overfitting check.

    Without a sampler the preprocessed training matrix ``Xt`` has one row per
    training row, so the model scores its rows directly instead of sending the
    raw rows through the preprocessing again (the same numbers, less time).
    """
    resampled = any(hasattr(step, "fit_resample") for _, step in pipeline.steps[:-1])
    if resampled or getattr(Xt, "shape", (0,))[0] != len(X_train):
        return score(pipeline, *_limit(X_train, y_train, request.seed), request.task, request.positive)
    X_pick, y_pick = _limit(X_train, y_train, request.seed)
    if len(X_pick) < len(X_train):
        pick = np.random.default_rng(request.seed).choice(len(X_train), len(X_pick), replace=False)
        Xt = Xt[pick] if not isinstance(Xt, pd.DataFrame) else Xt.iloc[pick]
    return score(pipeline.steps[-1][1], Xt, y_pick, request.task, request.positive)


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def _fit_staged(
    model, Xt, yt, Xv, yv, task: Task, name: str, listener: ev.Listener, should_stop, metric: Metric, positive=None
) -> None:
    """Grow a forest / boosted model in stages, scoring validation after each.

    Estimators with ``warm_start`` are refitted with more trees per stage;
    estimators whose ``fit`` takes ``callbacks`` and ``eval_set`` (LightGBM)
    report from inside one fit. Either way Stop ends growth at a stage boundary
    and keeps the trees grown so far.
    """
    if len(yv) > STAGE_SCORE_ROWS:
        pick = np.random.default_rng(0).choice(len(yv), STAGE_SCORE_ROWS, replace=False)
        Xv, yv = Xv[pick], yv.iloc[pick]
    inner = getattr(model, "regressor", model)  # TransformedTargetRegressor wraps
    size_param = next((p for p in ("n_estimators", "max_iter") if p in inner.get_params()), None)
    if hasattr(inner, "staged_predict") and size_param is not None:
        _fit_then_stage(model, inner, size_param, Xt, yt, Xv, yv, task, name, listener, metric, positive)
    elif size_param is not None and hasattr(inner, "warm_start"):
        _fit_warm(model, inner, size_param, Xt, yt, Xv, yv, task, name, listener, should_stop, metric, positive)
    elif size_param is not None and {"callbacks", "eval_set"} <= set(inspect.signature(inner.fit).parameters):
        _fit_with_callbacks(inner, size_param, Xt, yt, Xv, yv, task, name, listener, should_stop, metric, positive)
    else:
        model.fit(Xt, yt)


def _fit_then_stage(
    model, inner, size_param: str, Xt, yt, Xv, yv, task: Task, name: str, listener, metric: Metric, positive=None
) -> None:
    """Boosting with staged predictions: fit once, then draw the curve stage by stage.

    Refitting histogram gradient boosting with warm start re-bins the data and
    re-predicts every earlier tree at each stage (2.2x the plain fit at 100k rows),
    so the curve comes from ``staged_predict`` after one fit instead.
    """
    from core.evaluation import classification_scores, regression_scores

    model.fit(Xt, yt)
    staged = list(inner.staged_predict_proba(Xv) if task.is_classification else inner.staged_predict(Xv))
    if not staged:
        return
    steps = max(1, min(STAGES, len(staged)))
    picks = sorted({max(0, round(len(staged) * i / steps) - 1) for i in range(1, steps + 1)})
    classes = list(inner.classes_) if task.is_classification else None
    for step, index in enumerate(picks, start=1):
        out = staged[index]
        if task.is_classification:
            pred = np.asarray(classes)[np.argmax(out, axis=1)]
            scores = classification_scores(np.asarray(yv), pred, out, classes, positive)
        else:
            scores = regression_scores(np.asarray(yv, dtype=float), np.asarray(out, dtype=float))
        value = scores.get(metric.key, scores["accuracy" if task.is_classification else "r2"])
        listener(
            ev.StepEnded(
                model=name,
                step=step,
                steps=len(picks),
                metrics={f"validation {metric.label}": value, size_param: float(index + 1)},
            )
        )


def _fit_warm(
    model,
    inner,
    size_param: str,
    Xt,
    yt,
    Xv,
    yv,
    task: Task,
    name: str,
    listener,
    should_stop,
    metric: Metric,
    positive=None,
) -> None:
    total = int(inner.get_params()[size_param])
    inner.set_params(warm_start=True)
    steps = max(1, min(STAGES, total))
    for step in range(1, steps + 1):
        inner.set_params(**{size_param: max(1, round(total * step / steps))})
        with warnings.catch_warnings():
            # Every stage refits on the same rows, so "balanced" class weights stay right under warm start.
            warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
            model.fit(Xt, yt)
        value = _stage_score(model, Xv, yv, task, metric, positive)
        grown = float(inner.get_params()[size_param])
        listener(
            ev.StepEnded(
                model=name, step=step, steps=steps, metrics={f"validation {metric.label}": value, size_param: grown}
            )
        )
        if should_stop() and step < steps:
            break
    inner.set_params(warm_start=False)


def _fit_with_callbacks(
    inner, size_param: str, Xt, yt, Xv, yv, task: Task, name: str, listener, should_stop, metric: Metric, positive=None
) -> None:
    from lightgbm.callback import EarlyStopException

    total = int(inner.get_params()[size_param])
    steps = max(1, min(STAGES, total))
    every = max(1, total // steps)

    classes = np.unique(np.asarray(yt)) if task.is_classification else None

    def report(env) -> None:
        grown = env.iteration + 1
        if grown % every == 0 or grown == total:
            value = _booster_score(env.model.predict(Xv), yv, classes, task, metric, positive)
            listener(
                ev.StepEnded(
                    model=name,
                    step=min(steps, grown // every),
                    steps=steps,
                    metrics={f"validation {metric.label}": value, size_param: float(grown)},
                )
            )
            if should_stop() and grown < total:
                raise EarlyStopException(env.iteration, env.evaluation_result_list)

    inner.fit(Xt, yt, callbacks=[report])


def _booster_score(raw: np.ndarray, yv, classes, task: Task, metric: Metric, positive=None) -> float:
    """The ranking metric from a booster's raw predictions (the wrapper is not fitted yet)."""
    from core.evaluation import classification_scores, regression_scores

    if task == Task.REGRESSION:
        scores = regression_scores(np.asarray(yv, dtype=float), np.asarray(raw, dtype=float))
        return scores.get(metric.key, scores["r2"])
    proba = np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw
    pred = classes[np.argmax(proba, axis=1)]
    scores = classification_scores(np.asarray(yv), pred, proba, list(classes), positive)
    return scores.get(metric.key, scores["accuracy"])


def _stage_score(model, Xv, yv, task: Task, metric: Metric, positive=None) -> float:
    from core.evaluation import classification_scores, regression_scores

    pred = model.predict(Xv)
    if task == Task.REGRESSION:
        scores = regression_scores(np.asarray(yv, dtype=float), np.asarray(pred, dtype=float))
        return scores.get(metric.key, scores["r2"])
    proba = model.predict_proba(Xv) if hasattr(model, "predict_proba") else None
    scores = classification_scores(np.asarray(yv), np.asarray(pred), proba, list(model.classes_), positive)
    return scores.get(metric.key, scores["accuracy"])


def cross_validate(request: TrainingRequest, run: ModelRun, folds: int) -> dict[str, float]:
    """Mean and spread of the primary metric over k folds of train+validation."""
    positions = np.concatenate([request.split.train, request.split.valid])
    y_all = request.frame[request.target] if request.target is not None else None
    metric = request.ranking.key
    values = []
    in_time_order = request.split.config.time_column is not None
    for fit_rows, score_rows in cv_folds(
        y_all, positions, request.task, folds, request.seed, in_time_order=in_time_order
    ):
        pipeline = build_model_pipeline(request, run)
        X_fit, y_fit = request.xy(fit_rows)
        pipeline.fit(X_fit, y_fit)
        values.append(score(pipeline, *request.xy(score_rows), request.task, request.positive).get(metric, np.nan))
    return {f"cv_{metric}_mean": float(np.nanmean(values)), f"cv_{metric}_std": float(np.nanstd(values))}


# --------------------------------------------------------------------------- a run


def run_training(
    request: TrainingRequest,
    listener: ev.Listener = ev.ignore,
    should_stop=lambda: False,
    on_result=lambda result: None,
) -> list[TrainedModel | ModelFailure]:
    """Train every model of the request in order; failures are per model.

    ``on_result`` receives each :class:`TrainedModel` or :class:`ModelFailure`
    as soon as it exists, so a leaderboard can fill in during the run.
    """
    started = time.perf_counter()
    names = tuple(run.name for run in request.models)
    listener(ev.TrainingStarted(models=names))
    results: list[TrainedModel | ModelFailure] = []
    for index, run in enumerate(request.models):
        if should_stop():
            listener(ev.TrainingStopped(finished=tuple(r.name for r in results if isinstance(r, TrainedModel))))
            return results
        listener(ev.ModelStarted(model=run.name, index=index, total=len(request.models)))
        try:
            trained = train_one(request, run, listener, should_stop)
            if request.split.config.cv_folds and request.task != Task.CLUSTERING:
                trained.cv_scores = cross_validate(request, run, request.split.config.cv_folds)
        except DashboardError as err:
            results.append(ModelFailure(run.name, run.key, err.user_message))
            on_result(results[-1])
            listener(ev.ModelFailed(model=run.name, message=err.user_message))
            continue
        except Exception as exc:  # a model that fails must not end the run (never BaseException)
            message = explain_failure(exc)
            results.append(ModelFailure(run.name, run.key, message))
            on_result(results[-1])
            listener(ev.ModelFailed(model=run.name, message=message))
            continue
        results.append(trained)
        on_result(trained)
        listener(ev.ModelFinished(model=run.name, scores=trained.scores, seconds=trained.seconds))
    if should_stop():
        listener(ev.TrainingStopped(finished=tuple(r.name for r in results if isinstance(r, TrainedModel))))
    else:
        listener(ev.TrainingFinished(seconds=time.perf_counter() - started))
    return results


# --------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class AfterRun:
    """Where a job's after-run hook is (e.g. recording the run in the experiment log)."""

    status: str  # "none" (no hook), "pending", "running", "done", "failed", "skipped"
    value: Any = None
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.status in ("pending", "running")


#: after_run(request, results, seconds, outcome) -> anything; runs once, in the worker thread.
#: ``outcome`` is :meth:`core.jobs.BackgroundJob.outcome` ("finished", "stopped: <why>", …).
AfterRunHook = Callable[[TrainingRequest, list, float, str], Any]


class TrainingJob(BackgroundJob):
    """A training run in a worker thread, owned by one browser session.

    :meth:`stop` asks the run to end at the next safe point (between models,
    between stages, at the end of a Keras epoch); finished models are kept.

    Once the run has ended and its status is final, the same worker thread runs
    the after-training guard checks on the best model (stored in its ``checks``;
    :attr:`checking` is true meanwhile), then ``after_run`` (optional), once, with
    the request, the results, the run's seconds and how it ended (:meth:`outcome`); the page never waits for
    either. Whatever the hook returns or raises is kept in :meth:`after_run` —
    its failure never loses the trained models.
    """

    name = "training-job"

    def __init__(self, request: TrainingRequest, after_run: AfterRunHook | None = None) -> None:
        self.request = request
        self._after_hook = after_run
        self._after = AfterRun("none" if after_run is None else "pending")
        self.checking = True
        super().__init__(lambda listen, should_stop, keep: run_training(request, listen, should_stop, keep))

    def _run(self) -> None:
        super()._run()
        snap = self.snapshot()
        try:
            best = best_model(snap.results, self.request.task, self.request.metric)
            if best is not None and best.checks is None:
                best.checks = model_findings(best, self.request)
        except Exception:  # a check that fails must not lose the run; the model simply has no checks
            pass
        finally:
            self.checking = False
        if self._after_hook is None:
            return
        if not snap.results:
            self._after = AfterRun("skipped")
            return
        self._after = AfterRun("running")
        seconds = (snap.finished_at or time.time()) - snap.started_at
        try:
            self._after = AfterRun("done", self._after_hook(self.request, snap.results, seconds, self.outcome()))
        except Exception as exc:  # report, never raise in a thread
            self._after = AfterRun("failed", error=explain_failure(exc))

    @classmethod
    def restored(cls, request: TrainingRequest, results: list, recorded: Any = None) -> TrainingJob:
        """A finished job holding models brought back from the experiment log (:mod:`core.restore`).

        Its events say the models finished (so progress and the leaderboard read as after a run),
        and ``recorded`` stands for what recording the run returned (model run ids for test scores).
        """
        job = cls(request)
        names = tuple(r.name for r in results)
        job._events = [ev.TrainingStarted(models=names)]
        for index, result in enumerate(results):
            job._events.append(ev.ModelStarted(model=result.name, index=index, total=len(results)))
            if isinstance(result, TrainedModel):
                job._events.append(ev.ModelFinished(model=result.name, scores=result.scores, seconds=result.seconds))
            else:
                job._events.append(ev.ModelFailed(model=result.name, message=result.message))
        job._events.append(ev.TrainingFinished(seconds=sum(getattr(r, "seconds", 0.0) for r in results)))
        job._results = list(results)
        job._status = "finished"
        job.started_at = job.finished_at = time.time()
        job.checking = False
        job._after = AfterRun("done", recorded) if recorded is not None else AfterRun("none")
        return job

    def after_run(self) -> AfterRun:
        """The after-run hook's state and result."""
        return self._after


# --------------------------------------------------------------------------- views of a run


@dataclass(frozen=True)
class Progress:
    """Where a run is, computed from its events (for progress bars and ETA)."""

    done: int
    total: int
    current: str | None
    current_fraction: float
    current_detail: str
    elapsed: float
    eta: float | None

    @property
    def fraction(self) -> float:
        return min(1.0, (self.done + self.current_fraction) / self.total) if self.total else 0.0


def progress(snapshot: JobSnapshot, now: float | None = None) -> Progress:
    """Models done, the current model's share done, elapsed seconds and an ETA.

    The ETA adds the current model's remaining time (from its own pace) to the
    models still waiting, each counted at the average time of those finished.
    """
    now = now or time.time()
    total, done, current, fraction, detail = 0, 0, None, 0.0, ""
    current_since, durations = 0.0, []
    for event in snapshot.events:
        if isinstance(event, ev.TrainingStarted):
            total = len(event.models)
        elif isinstance(event, ev.ModelStarted):
            current, fraction, detail, current_since = event.model, 0.0, "fitting…", event.at
        elif isinstance(event, ev.EpochEnded) and event.model == current:
            fraction, detail = event.epoch / event.epochs, f"epoch {event.epoch} of {event.epochs}"
        elif isinstance(event, ev.StepEnded) and event.model == current:
            fraction, detail = event.step / event.steps, f"stage {event.step} of {event.steps}"
        elif isinstance(event, ev.ModelFinished | ev.ModelFailed):
            durations.append(max(0.0, event.at - current_since))
            done, current, fraction, detail = done + 1, None, 0.0, ""
    end = snapshot.finished_at or now
    elapsed = max(0.0, end - snapshot.started_at) if snapshot.started_at else 0.0
    eta = None
    if snapshot.status == "running" and total:
        spent = max(0.0, now - current_since) if current else 0.0
        projected = spent / fraction if current and fraction > 0 else None
        average = sum(durations) / len(durations) if durations else projected
        current_left = spent / fraction - spent if current and fraction > 0 else average
        waiting = total - done - (1 if current else 0)
        if current_left is not None and (average is not None or waiting == 0):
            eta = current_left + waiting * (average or 0.0)
    return Progress(done, total, current, fraction, detail, elapsed, eta)


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
}


def leaderboard(results: list[TrainedModel | ModelFailure], task: Task, metric_key: str | None = None) -> pd.DataFrame:
    """One row per model: validation scores, training score, gap, time; failures with reasons.

    Sorted by ``metric_key`` (the task's default when ``None``), which is also
    the first score column and the one the training score and gap are given for.
    """
    from core.evaluation import METRICS

    metric = primary_metric(task, metric_key)
    columns = (metric.key, *(k for k in LEADERBOARD_METRICS[task] if k != metric.key))
    rows = []
    for result in results:
        if isinstance(result, ModelFailure):
            rows.append({"model": result.name, "status": f"failed: {result.message}"})
            continue
        row: dict[str, Any] = {"model": result.name, "status": "stopped early" if result.stopped_early else "ok"}
        for key in columns:
            if key in result.scores:
                row[METRICS[key].label] = result.scores[key]
        if metric.key in result.train_scores and metric.key in result.scores:
            row[f"train {metric.label}"] = result.train_scores[metric.key]
            row["gap"] = result.train_scores[metric.key] - result.scores[metric.key]
        for key, value in result.cv_scores.items():
            row[key.replace("_", " ")] = value
        row["seconds"] = result.seconds
        rows.append(row)
    table = pd.DataFrame(rows)
    if metric.label in table.columns:
        table = table.sort_values(
            metric.label, ascending=not metric.higher_is_better, na_position="last", kind="stable"
        )
    return table.reset_index(drop=True)


def best_model(
    results: list[TrainedModel | ModelFailure], task: Task, metric_key: str | None = None
) -> TrainedModel | None:
    """The trained model with the best validation score on ``metric_key`` (the task's default when ``None``)."""
    metric = primary_metric(task, metric_key)
    trained = [
        r
        for r in results
        if isinstance(r, TrainedModel) and metric.key in r.scores and np.isfinite(r.scores[metric.key])
    ]
    if not trained:
        return None
    pick = max if metric.higher_is_better else min
    return pick(trained, key=lambda r: r.scores[metric.key])


@dataclass
class TrainSetup:
    """What the person chose on the Models page (plain data)."""

    split: SplitConfig
    models: list[ModelRun]
    options: FeatureOptions = field(default_factory=FeatureOptions)
    imbalance: str = "none"
    #: The metric to rank models by; ``None``: :func:`core.evaluation.default_ranking` for the target.
    metric: str | None = None


def suggested_setup(task: Task, y: pd.Series | None) -> TrainSetup:
    """The Models page's starting point for a target: class weights and balanced accuracy when classes are imbalanced.

    Class weights are on (for the models that support them) whenever
    :func:`core.evaluation.default_ranking` ranks by balanced accuracy, i.e. the
    classes are imbalanced (:func:`core.target.imbalance`).
    """
    metric, _ = default_ranking(task, y)
    imbalanced = task.is_classification and metric == "balanced_accuracy"
    return TrainSetup(SplitConfig(), [], FeatureOptions(), "class_weight" if imbalanced else "none", metric)


def make_request(
    frame: pd.DataFrame,
    target: str | None,
    task: Task,
    features: list[str],
    roles: dict[str, Role],
    plan: CleaningPlan,
    setup: TrainSetup,
    positive: Any = None,
) -> TrainingRequest:
    """Apply the plan's row steps, split, scan the training rows for leakage, and bundle everything.

    The baseline is added for supervised tasks if the person did not pick it. Binary tasks get
    a positive class: ``positive`` if it is one of the labels, else :func:`core.target.positive_class`.

    Raises:
        TargetError: A classification target has more classes than its rows support
            (:func:`core.target.class_limit`).
    """
    rows, row_report = apply_row_steps(frame, plan, target, features)
    kept = [c for c in features if c in rows.columns]
    limit = class_limit(rows[target]) if task.is_classification else None
    if limit is not None:
        raise TargetError(limit.problem, hint=limit.fix)
    split = make_split(rows, target, task, setup.split)
    leakage = scan(rows.iloc[split.train], target, task, kept, plan.roles_after(roles), seed=setup.split.seed)
    metric = setup.metric or default_ranking(task, rows[target] if target is not None else None)[0]
    models = list(setup.models)
    if task != Task.CLUSTERING and not any(m.key == "baseline" for m in models):
        models.insert(0, ModelRun("baseline", "Baseline", {}))
    if not models:
        raise DashboardError("Choose at least one model to train.")
    positive = resolve_positive(rows[target], positive) if task == Task.BINARY else None
    return TrainingRequest(
        rows,
        target,
        task,
        kept,
        roles,
        plan,
        split,
        models,
        setup.options,
        setup.imbalance,
        setup.split.seed,
        row_report,
        leakage,
        metric,
        positive,
    )
