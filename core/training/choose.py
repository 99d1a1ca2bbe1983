"""Choosing the model of a run, and finishing it before it is tested, exported and logged.

:func:`choose` picks the best trained model the way the leaderboard ranks them
(:func:`core.training.views.best_model`): by the cross-validated mean on the training +
validation rows when the run cross-validated (small tables, :meth:`core.split.SplitConfig.folds_for`),
else by the validation score. :func:`refit` then fits that model again on the training +
validation rows (as PyCaret's ``finalize_model`` does): the validation rows have done their
job of choosing, and a model learns more from more rows. The test rows are never used. The
refitted model keeps the validation scores it had before (from the fit on training rows only,
kept as ``before_refit``), is marked ``refit``, and is the one the test score, the bundle, the
served model and the experiment log use. If the refit fails, the model keeps its first fit and
says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from core import anomaly
from core.errors import DashboardError
from core.features import feature_sources
from core.jobs import explain_failure
from core.metrics import Metric, format_score
from core.registry import get_spec
from core.target import Task
from core.training.fit import own_rows
from core.training.pipeline import build_model_pipeline
from core.training.request import ModelFailure, ModelRun, Refit, TrainedModel, TrainingRequest
from core.training.views import best_model, by_cross_validation, choice_score

#: Why the chosen model of a stopped run was not refitted.
STOPPED = "the run was stopped"


@dataclass(frozen=True)
class Choice:
    """The chosen model of a run and what it was chosen by."""

    model: TrainedModel
    metric: Metric
    #: k when chosen by k-fold cross-validation on training + validation rows; 0 when by the validation rows.
    folds: int
    #: The score it was chosen by (cross-validated mean, or validation score) and the folds' spread (std).
    score: float
    spread: float | None
    #: The rows the choice was judged on: training + validation (cross-validation) or validation.
    rows: int
    in_time_order: bool = False

    @property
    def how(self) -> str:
        """How the model was chosen, in words ("5-fold cross-validation", "its score on the validation rows")."""
        if self.folds:
            return f"{self.folds}-fold {'time-ordered ' if self.in_time_order else ''}cross-validation"
        if self.model.task == Task.ANOMALY:
            return "the order the detectors were picked in (without labels there is no score to judge by)"
        return f"its {self.metric.label} on the validation rows"

    @property
    def reason(self) -> str:
        """Why this model, in one sentence."""
        if self.model.task == Task.CLUSTERING:
            return (
                f"Highest {self.metric.label} on the {self.rows:,} clustered training rows ({self._shown(self.score)})."
            )
        if self.model.task == Task.ANOMALY:
            return f"{anomaly.NO_LABELS} So {anomaly.CHOICE_RULE}."
        best = "Highest" if self.metric.higher_is_better else "Lowest"
        if self.folds:
            spread = f" ± {self._shown(self.spread)}" if self.spread is not None and np.isfinite(self.spread) else ""
            return (
                f"{best} {self.metric.label} in {self.how} on the {self.rows:,} training + validation rows: "
                f"{self._shown(self.score)}{spread} (mean ± spread over the folds; the test rows were not used)."
            )
        return f"{best} {self.metric.label} on the {self.rows:,} validation rows: {self._shown(self.score)}."

    def _shown(self, value: float) -> str:
        return format_score(self.metric.key, value)


def ranking_words(request: TrainingRequest, cross_validated: bool) -> str:
    """What the leaderboard is ranked by, in words (the Train page, the report)."""
    metric = request.ranking
    if request.task == Task.ANOMALY:
        return (
            f"Detectors in the order you picked them, scored on the {len(request.split.valid):,} validation rows. "
            f"{anomaly.NO_LABELS} So {anomaly.CHOICE_RULE}."
        )
    if not cross_validated:
        why = (
            " (not every model was cross-validated: the run was stopped first)"
            if request.split.cv_folds
            else " (chosen on the Models page)"
        )
        return f"Ranked by {metric.label} on the {len(request.split.valid):,} validation rows{why}."
    return (
        f"Ranked by {metric.label} in {request.split.cv_folds}-fold cross-validation on the "
        f"{request.split.choice_rows:,} training + validation rows: the mean (CV {metric.label}) and its spread over "
        "the folds (CV ±). The other scores are from one fit on the training rows, scored on the validation rows. "
        "The test rows are not used."
    )


def choice_of(model: TrainedModel, request: TrainingRequest, results: list | None = None) -> Choice:
    """How ``model`` of ``request`` is (or was) judged: by cross-validation when the run cross-validated.

    ``results`` (the run's models) decide whether the run cross-validated; without them, ``model`` does.
    """
    metric = request.ranking
    cross_validated = model.task.has_target and by_cross_validation(results if results is not None else [model], metric)
    split = request.split
    if model.task == Task.CLUSTERING:
        rows = len(split.train)
    else:
        rows = split.choice_rows if cross_validated else len(split.valid)
    spread = model.cv_scores.get(f"cv_{metric.key}_std") if cross_validated else None
    return Choice(
        model,
        metric,
        split.cv_folds if cross_validated else 0,
        choice_score(model, metric, cross_validated),
        spread,
        rows,
        split.config.ordered,
    )


def choose(results: list[TrainedModel | ModelFailure], request: TrainingRequest) -> Choice | None:
    """The model to use and why: the best by the run's ranking metric (see module docs); None if none has a score."""
    model = best_model(results, request.task, request.metric or None)
    return None if model is None else choice_of(model, request, results)


def refit_run(trained: TrainedModel, request: TrainingRequest) -> ModelRun:
    """The model's run with what the refit changes: a network runs its best epoch's count, with no early stopping.

    Without validation rows there is nothing to stop early on, so a network trains for the number of
    epochs that validation found best (``best_epoch``), and keeps its last weights.
    """
    run = next((r for r in request.models if r.name == trained.name), None)
    run = run if run is not None else ModelRun(trained.key, trained.name, dict(trained.params))
    # As it was fitted: a time budget may have cut its trees; no time limit on the refit.
    run = replace(run, params=dict(trained.params), seconds=None)
    if trained.best_epoch and get_spec(trained.key).needs_tensorflow:
        params = {**run.params, "epochs": int(trained.best_epoch), "early_stopping": False}
        params["restore_best_weights"] = False
        run = replace(run, params=params)
    return run


def refit(trained: TrainedModel, request: TrainingRequest) -> TrainedModel:
    """``trained`` fitted again on the training + validation rows; the test rows are never used.

    Returns a new :class:`TrainedModel` with the refitted pipeline, the same validation scores (from
    ``before_refit``, the fit on training rows only) and ``refit`` saying on how many rows; or, when the
    refit fails, the model as it was with ``refit.error`` saying why. Clustering is returned unchanged
    (it has no validation rows to add). Never raises for a model that cannot be refitted.
    """
    if not request.task.has_target or request.target is None:
        return trained
    run = refit_run(trained, request)
    positions = own_rows(request, run, np.concatenate([request.split.train, request.split.valid]))
    started = time.perf_counter()
    try:
        pipeline = build_model_pipeline(request, run)
        X, y = request.xy(positions)
        pipeline.fit(X, y)
    except DashboardError as err:
        return replace(trained, refit=Refit(len(positions), error=err.user_message))
    except Exception as exc:  # never BaseException: a refit that fails keeps the model as it was
        return replace(trained, refit=Refit(len(positions), error=explain_failure(exc)))
    epochs = int(run.params["epochs"]) if trained.best_epoch and "epochs" in run.params else None
    return replace(
        trained,
        pipeline=pipeline,
        before_refit=trained.pipeline,
        refit=Refit(len(positions), time.perf_counter() - started, epochs),
        sources=feature_sources(pipeline),
    )


def not_refitted(trained: TrainedModel, request: TrainingRequest, why: str) -> TrainedModel:
    """``trained`` marked as chosen but not refitted, and why (e.g. :data:`STOPPED`)."""
    if not request.task.has_target:
        return trained
    return replace(trained, refit=Refit(request.split.choice_rows, error=why))


def finish(
    results: list[TrainedModel | ModelFailure], request: TrainingRequest, *, stopped: bool = False
) -> list[TrainedModel | ModelFailure]:
    """The run's results with the chosen model refitted in place (or marked why not: a stopped run is not refitted)."""
    choice = choose(results, request)
    if request.task == Task.ANOMALY:
        return with_agreement(results, request)
    if choice is None or request.task == Task.CLUSTERING:
        return list(results)
    done = not_refitted(choice.model, request, STOPPED) if stopped else refit(choice.model, request)
    return [done if r is choice.model else r for r in results]


def with_agreement(results: list[TrainedModel | ModelFailure], request: TrainingRequest) -> list:
    """Anomaly detectors with their ``agreement`` score: how alike each ranks the validation rows to the others.

    Needs every detector of the run, so it is added once they are all trained (:func:`finish`, the job's end).
    """
    trained = [r for r in results if isinstance(r, TrainedModel)]
    X_valid, _ = request.xy(request.split.valid)
    if len(trained) < 2 or not len(X_valid):
        return list(results)
    try:
        agreed = anomaly.agreement({m.name: anomaly.anomaly_scores(m.pipeline, X_valid) for m in trained})
    except Exception:  # never BaseException: agreement is extra, the detectors stay as trained
        return list(results)
    return [
        replace(r, scores={**r.scores, "agreement": agreed[r.name]}) if isinstance(r, TrainedModel) else r
        for r in results
    ]


def summary(model: TrainedModel, request: TrainingRequest, results: list | None = None) -> str:
    """The chosen model's story in plain words, for the Train and Results pages, the report and the model card.

    E.g. "The chosen model, LightGBM, was chosen by 5-fold cross-validation and then refitted on
    training + validation rows (2,490 rows) before the test score."
    """
    choice = choice_of(model, request, results)
    name = model.name
    if model.task == Task.CLUSTERING:
        return f"The chosen model, {name}, has the {choice.reason[0].lower()}{choice.reason[1:]}"
    if model.task == Task.ANOMALY:
        return (
            f"The chosen detector, {name}, is the first you picked: {anomaly.NO_LABELS[0].lower()}"
            f"{anomaly.NO_LABELS[1:]} It keeps its fit on the {len(request.split.train):,} training rows, so the "
            f"{len(request.split.valid):,} validation rows stay unseen to check its threshold on."
        )
    first = f"The chosen model, {name}, was chosen by {choice.how}"
    train_rows = len(request.split.train)
    refit_ = model.refit
    if refit_ is None:
        return (
            f"{first}; it was not refitted on training + validation rows, so it keeps its fit on the "
            f"{train_rows:,} training rows."
        )
    if refit_.error is None:
        epochs = f", for the {refit_.epochs} epochs validation found best" if refit_.epochs else ""
        return (
            f"{first} and then refitted on training + validation rows ({refit_.rows:,} rows{epochs}) "
            "before the test score."
        )
    if refit_.error == STOPPED:
        return (
            f"{first}; it was not refitted on training + validation rows because the run was stopped, so it keeps "
            f"its fit on the {train_rows:,} training rows."
        )
    return (
        f"{first}; refitting it on training + validation rows failed ({refit_.error}), so it keeps its fit on the "
        f"{train_rows:,} training rows."
    )


def choice_card(model: TrainedModel, request: TrainingRequest) -> dict | None:
    """How the chosen model was chosen and refitted, for its model card; None for a model that was not chosen."""
    refit_ = getattr(model, "refit", None)
    if refit_ is None:
        return None
    choice = choice_of(model, request)
    return {
        "chosen_by": choice.how,
        "metric": choice.metric.key,
        "score": choice.score,
        "spread": choice.spread,
        "folds": choice.folds,
        "rows": choice.rows,
        "refitted": model.refitted,
        "refit_rows": refit_.rows,
        "refit_epochs": refit_.epochs,
        "not_refitted_because": refit_.error,
        "validation_scores": "from the fit on the training rows, before the refit"
        if model.refitted
        else "from the fit on the training rows",
        "summary": summary(model, request),
    }


def refit_from_card(card: dict | None) -> Refit | None:
    """The :class:`Refit` a model card records (:func:`choice_card`), for a model brought back from a bundle."""
    choice = (card or {}).get("choice")
    if not isinstance(choice, dict) or "refit_rows" not in choice:
        return None
    epochs = choice.get("refit_epochs")
    return Refit(
        int(choice["refit_rows"]),
        epochs=int(epochs) if epochs is not None else None,
        error=None if choice.get("refitted") else str(choice.get("not_refitted_because") or "not refitted"),
    )
