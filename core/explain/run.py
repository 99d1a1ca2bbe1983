"""Explaining rows: in chunks with progress and Stop, one row at a time (what-if), or as a cluster job.

A run explains its rows in chunks of about a second, reporting rows done and time left after
each, and Stop keeps the finished chunks. The method is set up by :mod:`core.explain.explainer`
and costed by :mod:`core.explain.budget`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.anomaly import anomaly_scores
from core.engine import ClusterJob, warm
from core.errors import DashboardError
from core.explain.background import sample_rows
from core.explain.budget import auto_approximate, measure, rule_timing
from core.explain.explainer import Explainer, check_rows, explainer_kind, plain_value, prepare_explainer
from core.explain.result import (
    BUDGET_SECONDS,
    DEFAULT_ROWS,
    Estimate,
    Explanation,
    is_missing,
)
from core.explain.timing import Clock
from core.registry import get_spec
from core.target import Task


def explain(
    trained: Any,
    rows_frame: pd.DataFrame,
    background_frame: pd.DataFrame,
    *,
    approximate: bool | None = None,
    max_rows: int = DEFAULT_ROWS,
    seed: int = 0,
    listener: ev.Listener = ev.ignore,
    should_stop=lambda: False,
    budget: float = BUDGET_SECONDS,
    permutations: int = 1,
    target: str | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
    estimate: Estimate | None = None,
    clock: Clock = time.perf_counter,
) -> Explanation:
    """Explain up to ``max_rows`` rows of ``rows_frame`` in the person's columns.

    Args:
        trained: A :class:`core.training.TrainedModel` (classification or regression).
        rows_frame: Rows to explain (e.g. the validation split), person's columns; a seeded
            sample of ``max_rows`` is taken when larger (original index kept).
        background_frame: Training rows the contributions are measured against.
        approximate: Tree models only: True/False forces the mode; None (default) takes the
            ``estimate``'s choice, else times both modes on a few rows and uses exact TreeSHAP
            unless it would not fit ``budget`` seconds.
        max_rows: At most this many rows are explained.
        seed: Random seed (row sample, background, column orders).
        listener: Receives :class:`core.events.RowsExplained` (rows done, rows in all, seconds
            left) once the method is set up and after each chunk of about a second.
        should_stop: Checked between chunks; when true the rows done so far are returned (``partial``).
        budget: Seconds, for the automatic choice of the approximate tree mode.
        permutations: Passes per row for Permutation SHAP.
        target: The target column's name, to name the output in sentences.
        background_y: The target of each background row, so the background keeps each class's share.
        positive: Binary models: the class explained; None applies :func:`core.target.positive_class`.
        estimate: The :func:`estimate` shown before the run: its mode, and its timing to size
            the chunks and give the time left before the first chunk ends.
        clock: Seconds now (tests pass a fake clock).
    """
    check_rows(trained, rows_frame)
    started = clock()
    rows = sample_rows(rows_frame, max_rows, seed)
    timing = estimate.timing if estimate is not None else None
    if approximate is None and estimate is not None:
        approximate = estimate.approximate
    explainer = prepare_explainer(
        trained,
        background_frame,
        approximate=bool(approximate),
        seed=seed,
        permutations=permutations,
        target=target,
        background_y=background_y,
        positive=positive,
        clock=clock,
    )
    if approximate is None and getattr(explainer.method, "approximate_available", False):
        timing = measure(explainer, rows, clock=clock)
        explainer = explainer.with_mode(auto_approximate(timing, len(rows), budget))
        explainer = dataclasses.replace(explainer, seconds_prepare=clock() - started)  # the timing too
    cost = timing.cost(explainer.method.label == "TreeSHAP (approximate)") if timing is not None else None
    if cost is not None and cost.method != explainer.method.label:
        cost = None  # the estimate was for another method (e.g. shap could not read the model)
    return explainer.explain(rows, listener=listener, should_stop=should_stop, cost=cost, clock=clock)


@dataclass
class WhatIf:
    """The model's answer for one (edited) row and why.

    Attributes:
        prediction: The predicted class or value.
        probabilities: Class → probability (classification with probabilities), else None.
        explanation: A one-row :class:`Explanation`.
    """

    prediction: Any
    probabilities: dict[Any, float] | None
    explanation: Explanation


def explain_row(
    trained: Any,
    row_frame: pd.DataFrame,
    background_frame: pd.DataFrame,
    *,
    explainer: Explainer | None = None,
    seed: int = 0,
    target: str | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> WhatIf:
    """Prediction, probabilities and a one-row explanation, for the what-if form.

    Keep the :class:`Explainer` from :func:`what_if_explainer` and pass it as
    ``explainer`` to skip the set-up (background summary) on every edit.
    """
    check_rows(trained, row_frame)
    row = row_frame.iloc[:1]
    explainer = explainer or what_if_explainer(
        trained, background_frame, seed=seed, target=target, background_y=background_y, positive=positive
    )
    explanation = explainer.explain(row)
    if trained.task == Task.ANOMALY:  # what is explained: the anomaly score, not the -1/1 of predict
        prediction = anomaly_scores(trained.pipeline, row)[0]
    else:
        prediction = trained.pipeline.predict(row)[0]
    probabilities = None
    if trained.task.is_classification and hasattr(trained.pipeline, "predict_proba"):
        proba = trained.pipeline.predict_proba(row)[0]
        probabilities = {plain_value(c): float(p) for c, p in zip(trained.pipeline.classes_, proba, strict=False)}
    return WhatIf(plain_value(prediction), probabilities, explanation)


def what_if_explainer(
    trained: Any,
    background_frame: pd.DataFrame,
    *,
    seed: int = 0,
    target: str | None = None,
    approximate: bool | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> Explainer:
    """An explainer for single rows set up exactly like :func:`explain`'s.

    Same background rows (size and choice: give the same ``background_y``), same passes,
    same seed, same positive class: an unedited row gets the base value and contributions
    it has in the main explanation.

    Args:
        trained: The trained model.
        background_frame: The training rows given to :func:`explain`.
        seed: The seed given to :func:`explain`.
        target: The target column's name.
        approximate: Tree models: the mode the main explanation used
            (:attr:`Explanation.approximate`); None picks exact unless one row would be slow.
        background_y: The ``background_y`` given to :func:`explain`.
        positive: The ``positive`` given to :func:`explain`.
    """
    if approximate is None:
        approximate = explainer_kind(trained) == "tree" and auto_approximate(rule_timing(trained), 1, budget=1.5)
    return prepare_explainer(
        trained,
        background_frame,
        approximate=bool(approximate),
        seed=seed,
        target=target,
        background_y=background_y,
        positive=positive,
    )


def edit_row(row_frame: pd.DataFrame, changes: dict[str, Any]) -> pd.DataFrame:
    """The first row of ``row_frame`` with some values changed, for the what-if form.

    ``None`` (or NaN/NaT) makes a value missing, stored as the column's own missing
    value so the pipeline imputes it as it did in training. Other values keep the
    column's dtype when they fit it (an edited ``3.0`` in an integer column stays ``3``).
    """
    row = row_frame.iloc[:1].copy()
    for column, value in changes.items():
        old = row[column]
        if is_missing(value):
            if pd.api.types.is_datetime64_any_dtype(old.dtype):
                new = pd.Series([pd.NaT], index=row.index, dtype=old.dtype)
            elif pd.api.types.is_numeric_dtype(old.dtype) and not pd.api.types.is_bool_dtype(old.dtype):
                new = pd.Series([np.nan], index=row.index, dtype=float)
            else:
                new = pd.Series([None], index=row.index, dtype=object if old.dtype == bool else old.dtype)
        else:
            new = pd.Series([value], index=row.index)
            try:
                fitted = new.astype(old.dtype)
                if fitted.astype(object).iloc[0] == new.astype(object).iloc[0]:
                    new = fitted
            except (TypeError, ValueError):
                pass
        row[column] = new
    return row


class ExplainJob(ClusterJob):
    """:func:`explain` as one task on the cluster; the :class:`Explanation` is the job's result.

    Its events are :class:`core.events.RowsExplained` (rows done, time left). Stopping it ends
    the run after the chunk in progress (about a second); the rows finished are kept as a
    ``partial`` explanation that says how many of how many rows it covers.

    ``on_cluster``: the same model still on a worker
    (:meth:`core.training.TrainingJob.on_cluster`); the task then runs with it there instead
    of sending ``trained`` up from this process.
    """

    name = "explain-job"

    def __init__(
        self,
        trained: Any,
        rows_frame: pd.DataFrame,
        background_frame: pd.DataFrame,
        on_cluster: Any = None,
        **options: Any,
    ) -> None:
        self.trained = trained
        model = on_cluster if on_cluster is not None else trained
        super().__init__(_explain_task, model, rows_frame, background_frame, options)

    def _execute(self) -> Explanation:
        result = super()._execute()  # the task's value, straight from its worker (not via the scheduler's queue)
        self._keep(result)
        return result


def _explain_task(listen, should_stop, keep, trained, rows_frame, background_frame, options) -> Explanation:
    """On a worker: :func:`explain` (partial when stopped), the job's result."""
    return explain(trained, rows_frame, background_frame, listener=listen, should_stop=should_stop, **options)


def warm_workers(trained: Any) -> int:
    """Import what explaining ``trained`` needs on the cluster's workers now, not when the person clicks.

    shap, and TensorFlow for a Keras network (several seconds on a worker that never trained
    one): the estimate, timed in this process, does not count those imports. Returns the
    number of workers asked (0 when no cluster is running yet).
    """

    modules = ["shap", "core.explain.methods", "core.explain.permutation"]
    try:
        if get_spec(trained.key).needs_tensorflow:
            modules.append("keras")
    except DashboardError:  # a model from an older catalogue: shap is what every explanation needs
        pass
    return warm(modules)
