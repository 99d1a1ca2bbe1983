"""Models whose explanation is slow, stopped or held on purpose, without waiting on a real clock.

* :class:`FakeClock` is the clock ``core.explain`` reads (``clock=`` arguments); only the
  wrapped model moves it, so set-up, probe and run costs are exact and deterministic.
* :class:`Hooked` wraps a fitted final estimator: every ``predict``/``predict_proba`` first
  calls ``hook(rows)``: spend fake seconds per prediction, press Stop, or wait for the test.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from typing import Any


class FakeClock:
    """Seconds that pass only when :meth:`spend` is called."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        self.now += seconds


class Hooked:
    """A fitted estimator that calls ``hook(rows)`` before each prediction."""

    def __init__(self, inner: Any, hook: Callable[[int], None]) -> None:
        self.inner = inner
        self.hook = hook
        if hasattr(inner, "predict_proba"):
            self.predict_proba = self._predict_proba

    def __getattr__(self, name: str) -> Any:  # classes_, n_features_in_, … of the inner model
        if "inner" not in self.__dict__:  # while unpickling on a worker
            raise AttributeError(name)
        return getattr(self.__dict__["inner"], name)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X):
        self.hook(X.shape[0])
        return self.inner.predict(X)

    def _predict_proba(self, X):
        self.hook(X.shape[0])
        return self.inner.predict_proba(X)


def with_final(trained: Any, hook: Callable[[int], None]) -> Any:
    """A copy of a TrainedModel whose final estimator calls ``hook`` before predicting."""
    pipeline = copy.copy(trained.pipeline)
    name, final = trained.pipeline.steps[-1]
    pipeline.steps = [*trained.pipeline.steps[:-1], (name, Hooked(final, hook))]
    return dataclasses.replace(trained, pipeline=pipeline)


def slowed(trained: Any, clock: FakeClock, seconds_per_prediction: float) -> Any:
    """A copy of a TrainedModel that takes ``seconds_per_prediction`` fake seconds per predicted row."""
    return with_final(trained, lambda rows: clock.spend(rows * seconds_per_prediction))


def pause_per_call(_rows: int) -> None:
    """A hook that makes every prediction take a real tenth of a second (picklable, for cluster jobs)."""
    time.sleep(0.1)
