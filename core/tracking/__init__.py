"""Experiment tracking with MLflow: every training run recorded, findable later, servable.

One training run becomes one MLflow *parent* run (dataset, task, target,
fingerprint, split, duration) with one *child* run per model: its parameters,
its metrics prefixed by the split they come from (``valid_accuracy``,
``train_accuracy``, ``cv_…``; ``test_…`` once the person scores the test split,
see :func:`log_test_scores`), tags, the cleaning plan and split as JSON
artefacts, the model bundle (:func:`core.export.export_bundle`) and the same
model as an MLflow pyfunc model that ``mlflow models serve`` can serve (written
by :func:`core.serving.save_served_model`; serving and its commands live in
:mod:`core.serving`).

The store is a local SQLite file in the project's ``data/`` folder unless
``MLFLOW_TRACKING_URI`` names another (a team's tracking server); where it is and
who sees which runs is :mod:`core.experiment_store`.

The package, one concern per module:

* :mod:`~core.tracking.store` — the experiment, tags, file names and the MLflow client;
* :mod:`~core.tracking.record` — recording a training run and its test scores;
* :mod:`~core.tracking.runs` — reading runs back: the table, comparisons, a model.

MLflow is imported inside the functions that need it, so importing this package
does not load it. The names below are the package's public API.
"""

from core.tracking.record import (
    Recorder,
    TrackingReport,
    log_test_scores,
    log_test_scores_when_recorded,
    log_training,
    model_metrics,
    record_training,
    recorder,
    setup_params,
)
from core.tracking.runs import (
    RUN_COLUMNS,
    best_first,
    compare_runs,
    filter_runs,
    last_training_run,
    list_runs,
    load_run_model,
    model_runs_of,
    read_json,
    run_label,
    same_scale,
    split_metrics,
)
from core.tracking.store import (
    BUNDLE_DIR,
    CARD_FILE,
    CHOSEN,
    DATASET,
    EXPERIMENT,
    FINGERPRINT,
    KIND,
    MODEL,
    MODEL_KEY,
    OUTCOME,
    PLAN_FILE,
    REFITTED,
    SESSION_FILE,
    SPLIT_FILE,
    TARGET,
    TASK,
    WORKSPACE,
    TrackingError,
)

__all__ = [
    "BUNDLE_DIR",
    "CARD_FILE",
    "CHOSEN",
    "DATASET",
    "EXPERIMENT",
    "FINGERPRINT",
    "KIND",
    "MODEL",
    "MODEL_KEY",
    "OUTCOME",
    "PLAN_FILE",
    "REFITTED",
    "RUN_COLUMNS",
    "SESSION_FILE",
    "SPLIT_FILE",
    "TARGET",
    "TASK",
    "WORKSPACE",
    "Recorder",
    "TrackingError",
    "TrackingReport",
    "best_first",
    "compare_runs",
    "filter_runs",
    "last_training_run",
    "list_runs",
    "load_run_model",
    "log_test_scores",
    "log_test_scores_when_recorded",
    "log_training",
    "model_metrics",
    "model_runs_of",
    "read_json",
    "record_training",
    "recorder",
    "run_label",
    "same_scale",
    "setup_params",
    "split_metrics",
]  # fmt: skip
