"""Training: fit each chosen model's pipeline on the training split, score it on
validation, report progress as events, honour Stop, never let one model's
failure end the run.

The package, one concern per module:

* :mod:`~core.training.request` — what a run is asked to do (:func:`make_request`);
* :mod:`~core.training.fit` — one model: its pipeline, preprocessing fitted on
  training rows only, its scores (:func:`train_one`);
* :mod:`~core.training.staged` — forests and boosted models grown in stages with
  live validation curves;
* :mod:`~core.training.run` — a run: :func:`run_training` in this process (scripts,
  tests, benchmarks) and :class:`TrainingJob`, the handle a browser session keeps
  while the run works elsewhere;
* :mod:`~core.training.views` — progress, live curves, the leaderboard, the best model;
* :mod:`~core.training.choose` — the chosen model and why (``choose``), refitted on
  training + validation rows before the test score, export and experiment log.

The names below are the package's public API.
"""

from core.training.choose import Choice, choice_of, refit, summary
from core.training.fit import cross_validate, fit_preprocessing, train_one, transform_only
from core.training.pipeline import build_model_pipeline
from core.training.request import (
    ModelFailure,
    ModelRun,
    Refit,
    TrainedModel,
    TrainingRequest,
    TrainSetup,
    make_request,
    suggested_setup,
    with_log_target,
)
from core.training.run import AfterRun, AfterRunHook, TrainingJob, run_training
from core.training.staged import STAGE_SCORE_ROWS, STAGES
from core.training.views import (
    LEADERBOARD_METRICS,
    ModelProgress,
    Progress,
    best_model,
    by_cross_validation,
    cv_columns,
    leaderboard,
    leaderboard_formats,
    live_history,
    progress,
    train_column,
)

__all__ = [
    "LEADERBOARD_METRICS",
    "STAGES",
    "STAGE_SCORE_ROWS",
    "AfterRun",
    "AfterRunHook",
    "Choice",
    "ModelFailure",
    "ModelProgress",
    "ModelRun",
    "Progress",
    "Refit",
    "TrainSetup",
    "TrainedModel",
    "TrainingJob",
    "TrainingRequest",
    "best_model",
    "build_model_pipeline",
    "by_cross_validation",
    "choice_of",
    "cross_validate",
    "cv_columns",
    "fit_preprocessing",
    "leaderboard",
    "leaderboard_formats",
    "live_history",
    "make_request",
    "progress",
    "refit",
    "run_training",
    "suggested_setup",
    "summary",
    "train_column",
    "train_one",
    "transform_only",
    "with_log_target",
]
