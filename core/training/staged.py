"""Staged growth: forests and boosted models grown in steps, validation scored after each.

The live curves on the Train page come from here, and Stop ends growth at a
stage boundary, keeping the trees grown so far.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from core import events as ev
from core.evaluation import classification_scores, regression_scores
from core.metrics import Metric
from core.target import Task

#: Staged learners are grown in this many steps, scoring validation after each.
STAGES = 10
#: Live validation curves score at most this many validation rows per stage.
STAGE_SCORE_ROWS = 2_000


def fit_staged(
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
    if hasattr(model, "regressor"):
        # A wrapped target (log target): the inner model's stages predict on the transformed scale and it is
        # fitted by the wrapper, so it grows in one fit without a live curve.
        model.fit(Xt, yt)
        return
    inner = model
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

    model.fit(Xt, yt)
    staged = list(inner.staged_predict_proba(Xv) if task.is_classification else inner.staged_predict(Xv))
    if not staged:
        return
    steps = max(1, min(STAGES, len(staged)))
    picks = sorted({max(0, round(len(staged) * i / steps) - 1) for i in range(1, steps + 1)})
    classes = list(inner.classes_) if task.is_classification else []
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
    """LightGBM: one fit, the curve from the validation predictions the booster keeps up to date.

    With the validation rows as an ``eval_set``, LightGBM adds each new tree's output to their
    predictions as it grows; a metric function keeps the latest, and the stage callback scores
    them. Predicting the rows afresh at every stage cost a quarter of a one-thread fit on a
    3,000-row table. The fitted model is the same (no early stopping, the rows only watched).
    """
    from lightgbm.callback import EarlyStopException

    total = int(inner.get_params()[size_param])
    steps = max(1, min(STAGES, total))
    every = max(1, total // steps)

    classes = np.unique(np.asarray(yt)) if task.is_classification else None
    latest: dict[str, np.ndarray] = {}

    def watch(y_true, y_pred):  # LightGBM's predictions for the validation rows, after this tree
        latest["pred"] = y_pred
        return "watched", 0.0, True

    def report(env) -> None:
        grown = env.iteration + 1
        if grown % every == 0 or grown == total:
            raw = latest["pred"] if "pred" in latest else env.model.predict(Xv)
            value = _booster_score(np.asarray(raw), yv, classes, task, metric, positive)
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

    # A validation label the training rows lack would stop LightGBM's label encoder: predict afresh then.
    watched = classes is None or set(np.unique(np.asarray(yv))) <= set(classes)
    extra = {"eval_set": [(Xv, yv)], "eval_metric": watch} if watched else {}
    with warnings.catch_warnings():
        # LightGBM 4.7 prefers eval_X/eval_y, but its classifier encodes the labels of eval_set only.
        warnings.filterwarnings("ignore", message="The argument 'eval_set' is deprecated")
        inner.fit(Xt, yt, callbacks=[report], **extra)


def _booster_score(raw: np.ndarray, yv, classes, task: Task, metric: Metric, positive=None) -> float:
    """The ranking metric from a booster's raw predictions (the wrapper is not fitted yet)."""

    if task == Task.REGRESSION:
        scores = regression_scores(np.asarray(yv, dtype=float), np.asarray(raw, dtype=float))
        return scores.get(metric.key, scores["r2"])
    proba = np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw
    pred = classes[np.argmax(proba, axis=1)]
    scores = classification_scores(np.asarray(yv), pred, proba, list(classes), positive)
    return scores.get(metric.key, scores["accuracy"])


def _stage_score(model, Xv, yv, task: Task, metric: Metric, positive=None) -> float:
    pred = model.predict(Xv)
    if task == Task.REGRESSION:
        scores = regression_scores(np.asarray(yv, dtype=float), np.asarray(pred, dtype=float))
        return scores.get(metric.key, scores["r2"])
    proba = model.predict_proba(Xv) if hasattr(model, "predict_proba") else None
    scores = classification_scores(np.asarray(yv), np.asarray(pred), proba, list(model.classes_), positive)
    return scores.get(metric.key, scores["accuracy"])
