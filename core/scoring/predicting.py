"""Predicting a chunk: a classifier's rows transformed once, a failing chunk halved to find the rows at fault."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.predict import predict_frame
from core.usable import UsableModel

#: A chunk the model fails on is halved to find the rows at fault, at most this many predictions per chunk.
MAX_PREDICT_CALLS = 64


class TransformOnce:
    """A fitted pipeline whose ``predict`` and ``predict_proba`` of the same rows share one transform.

    :func:`core.predict.predict_frame` asks a classifier for labels, then probabilities, of the same
    rows; a pipeline transforms them at each call (each step's ``transform`` in turn, then the last
    step's method), about half the time of scoring a chunk. This does the steps' transforms once, the
    way the pipeline does them (``_iter(with_final=False)``: resamplers and 'passthrough' left out), and
    hands the result to the last step's ``predict`` and ``predict_proba``: the same numbers, once.
    The last step is a shallow copy whose inner scores (:data:`_SHARED_SCORES`) are kept for the rows
    last scored, so a forest's or a boosting model's ``predict``, which computes its ``predict_proba``
    or raw scores, and the ``predict_proba`` that follows share them (the model itself is untouched).
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.final = _sharing_scores(pipeline.steps[-1][1])
        self._rows: Any = None
        self._transformed: Any = None

    @staticmethod
    def fits(pipeline: Any) -> bool:
        """A (scikit-learn or imbalanced-learn) pipeline ending in a step with ``predict_proba``."""
        from sklearn.pipeline import Pipeline

        return (
            isinstance(pipeline, Pipeline)
            and hasattr(pipeline, "_iter")
            and hasattr(pipeline.steps[-1][1], "predict_proba")
            and not _routing()
        )

    def _transform(self, X: Any) -> Any:
        if X is not self._rows:
            self._rows, self._transformed = None, None  # a failed transform leaves nothing stale
            transformed = X
            for _, _, step in self.pipeline._iter(with_final=False):
                transformed = step.transform(transformed)
            self._rows, self._transformed = X, transformed
        return self._transformed

    def forget(self) -> None:
        """Let the last rows' transform and scores go (memory stays one chunk's)."""
        self._rows, self._transformed = None, None
        for name in _SHARED_SCORES:
            scores = vars(self.final).get(name)
            if isinstance(scores, _LastScores):
                scores.forget()

    def predict(self, X: Any) -> Any:
        return self.final.predict(self._transform(X))

    def predict_proba(self, X: Any) -> Any:
        return self.final.predict_proba(self._transform(X))

    @property
    def classes_(self) -> Any:
        return self.pipeline.classes_

    def __getitem__(self, index: Any) -> Any:
        return self.pipeline[index]


#: A classifier's methods that ``predict`` and ``predict_proba`` both call on the same rows (forests and
#: nearest neighbours: ``predict_proba``; gradient boosting: ``decision_function`` / ``_raw_predict``).
_SHARED_SCORES = ("predict_proba", "decision_function", "_raw_predict")


class _LastScores:
    """A method of a model that gives back its last answer when asked again about the very same rows.

    Each caller gets its own copy of the array (some callers change it in place, e.g. a softmax).
    """

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self._rows: Any = None
        self._scores: np.ndarray | None = None

    def __call__(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return self.method(X, *args, **kwargs)
        if X is self._rows and self._scores is not None:
            return self._scores.copy()
        self.forget()
        scores = self.method(X)
        if isinstance(scores, np.ndarray):
            self._rows, self._scores = X, scores.copy()
        return scores

    def forget(self) -> None:
        self._rows, self._scores = None, None


def _sharing_scores(estimator: Any) -> Any:
    """A shallow copy of a fitted scikit-learn classifier whose :data:`_SHARED_SCORES` are :class:`_LastScores`."""
    from sklearn.base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        return estimator
    try:
        twin = copy.copy(estimator)
    except Exception:  # a model that cannot be copied is used as it is
        return estimator
    for name in _SHARED_SCORES:
        method = getattr(twin, name, None)  # None also when the model does not offer it (available_if)
        if callable(method):
            setattr(twin, name, _LastScores(method))
    return twin


def _routing() -> bool:
    """scikit-learn's metadata routing is on (the pipeline then routes parameters: leave it to do so)."""
    import sklearn

    return bool(sklearn.get_config().get("enable_metadata_routing", False))


def for_chunks(model: UsableModel) -> UsableModel:
    """The model as the chunks are predicted with: a classifier's rows transformed once per chunk."""
    if model.task.is_classification and TransformOnce.fits(model.pipeline):
        return replace(model, pipeline=TransformOnce(model.pipeline))
    return model


def predict_chunk(
    model: UsableModel, aligned: pd.DataFrame
) -> tuple[list[tuple[int, pd.DataFrame]], list[tuple[int, int, str]]]:
    """Predictions by row range, and the ranges the model could not predict (with why).

    A chunk that fails is halved until the failing rows are alone, within :data:`MAX_PREDICT_CALLS`;
    beyond that budget a failing part is given up whole.
    """
    done: list[tuple[int, pd.DataFrame]] = []
    failed: list[tuple[int, int, str]] = []
    calls = 0
    pending = [(0, len(aligned))]
    while pending:
        low, high = pending.pop(0)
        calls += 1
        try:
            done.append((low, predict_frame(model, aligned.iloc[low:high])))
        except DashboardError as err:
            if high - low == 1 or calls + 2 > MAX_PREDICT_CALLS:
                failed.append((low, high, err.user_message))
            else:
                middle = (low + high) // 2
                pending[:0] = [(low, middle), (middle, high)]
    return done, failed
