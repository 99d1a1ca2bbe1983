"""Randomized search over the ranges a model's spec declares.

Each trial draws parameters with the specs' ``sample`` methods, builds the
same pipeline the app trains, and cross-validates it on the **training split
only** (validation and test rows are never seen). The budget is a number of
trials and/or seconds; Stop ends it after the current trial. Progress is a
:class:`core.events.StepEnded` per trial with the score and the best so far.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from core import admission
from core import events as ev
from core.engine import ClusterJob
from core.errors import DashboardError
from core.evaluation import score
from core.jobs import explain_failure
from core.registry import get_spec
from core.split import cv_folds
from core.training import ModelRun, TrainingRequest, build_model_pipeline


@dataclass(frozen=True)
class Trial:
    """One tried set of parameters and its cross-validated score."""

    number: int
    params: dict
    score: float
    seconds: float
    error: str | None = None


@dataclass
class TuningResult:
    """All trials, the best parameters and the metric they were judged by."""

    key: str
    metric: str
    higher_is_better: bool
    trials: list[Trial] = field(default_factory=list)

    @property
    def best(self) -> Trial | None:
        scored = [t for t in self.trials if t.error is None and math.isfinite(t.score)]
        if not scored:
            return None
        return (max if self.higher_is_better else min)(scored, key=lambda t: t.score)


def untunable(task) -> str | None:
    """Why a model of ``task`` cannot be tuned (no right answers to score settings against), or None."""
    if task.has_target:
        return None
    return f"Tuning needs a score to improve, and {task.value} has no right answers to score settings against."


def random_search(
    request: TrainingRequest,
    run: ModelRun,
    *,
    trials: int = 20,
    seconds: float | None = None,
    folds: int = 3,
    seed: int = 0,
    listener: ev.Listener = ev.ignore,
    should_stop=lambda: False,
    keep=lambda trial: None,
) -> TuningResult:
    """Try ``trials`` random settings of ``run``'s model (or until ``seconds`` pass).

    The first trial is the current settings, so tuning never reports worse than
    what the person already had.

    Raises:
        DashboardError: the task has no target (:func:`untunable`): there is no score to improve.
    """
    reason = untunable(request.task)
    if reason:
        raise DashboardError(reason)
    spec = get_spec(run.key)
    metric = request.ranking
    result = TuningResult(run.key, metric.label, metric.higher_is_better)
    rng = np.random.default_rng(seed)
    y_all = request.frame[request.target] if request.target is not None else None
    in_time_order = request.split.config.ordered
    splits = cv_folds(y_all, request.split.train, request.task, folds, seed, in_time_order=in_time_order)
    started = time.perf_counter()
    label = f"Tuning {run.name}"
    for number in range(1, trials + 1):
        if should_stop() or (seconds is not None and number > 1 and time.perf_counter() - started >= seconds):
            break
        params = dict(run.params) if number == 1 else _draw(spec, run.params, rng)
        trial = _trial(request, replace(run, params=params), splits, metric.key, number)
        result.trials.append(trial)
        keep(trial)
        best = result.best
        metrics = {"score": trial.score, "best": best.score if best else float("nan")}
        listener(ev.StepEnded(model=label, step=number, steps=trials, metrics=metrics))
    return result


def _draw(spec, current: dict, rng: np.random.Generator) -> dict:
    """Random values for every tunable parameter; layers and the like stay as they are."""
    params = dict(current)
    for param in spec.params:
        sample = getattr(param, "sample", None)
        if sample is None or param.name == "layers":
            continue
        params[param.name] = sample(rng)
    return spec.validate(params)


def _trial(request: TrainingRequest, run: ModelRun, splits, metric: str, number: int) -> Trial:
    started = time.perf_counter()
    values = []
    try:
        for fit_rows, score_rows in splits:
            pipeline = build_model_pipeline(request, run)
            pipeline.fit(*request.xy(fit_rows))
            values.append(score(pipeline, *request.xy(score_rows), request.task, request.positive).get(metric, np.nan))
    except Exception as exc:  # one bad draw (e.g. an incompatible combination) must not end the search
        return Trial(number, run.params, float("nan"), time.perf_counter() - started, explain_failure(exc))
    return Trial(number, run.params, float(np.nanmean(values)), time.perf_counter() - started)


class TuningJob(ClusterJob):
    """A randomized search as one task on the cluster (see :class:`core.engine.ClusterJob`).

    A search counts as a run for the server's queue (:mod:`core.admission`), as a training run does:
    it waits for a free place before its task is sent, Stop meanwhile makes it leave the queue
    (:attr:`left_queue`), and its place is released when the task has ended.
    """

    name = "tuning-job"

    def __init__(self, request: TrainingRequest, run: ModelRun, *, queue=None, **budget) -> None:
        self.request = request
        self.run = run
        self.budget = budget
        self._queue: admission.AdmissionQueue | None = queue
        self._ticket: admission.Ticket | None = None
        self.left_queue = False

        def work(listen, should_stop, keep):
            return random_search(request, run, listener=listen, should_stop=should_stop, keep=keep, **budget)

        super().__init__(work)

    def start(self):
        """Join the server's queue, then start the handle's thread."""
        if self._thread is None and self._ticket is None:
            queue = self._queue or admission.server_queue()
            self._ticket = queue.join(self.budget.get("seconds"), owner=self)  # its time limit, when it has one
        return super().start()

    def waiting(self) -> admission.Place | None:
        """Its place in the server's queue while it waits; None once admitted (or not started)."""
        ticket = self._ticket
        if ticket is None or not ticket.queued or self.snapshot().status != "running":
            return None
        return ticket.place()

    def _execute(self):
        ticket = self._ticket
        try:
            if ticket is not None and not admission.wait_turn(ticket, self._listen, self._stop.is_set):
                self.left_queue = True
                self.stop_reason = admission.cancelled_reason(self.stop_reason)
                return None
            self.started_at = time.time()  # the search's time starts when it is admitted
            return super()._execute()
        finally:
            if ticket is not None:
                ticket.release()
