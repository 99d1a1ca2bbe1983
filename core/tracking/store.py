"""Where runs are kept: the experiment, the tags and file names every run uses, the MLflow client.

Every function takes the ``tracking_uri`` explicitly and talks to MLflow through an
``MlflowClient`` for that URI (:func:`client`), so nothing depends on MLflow's process-wide
"current" tracking URI or active run (training jobs log from worker threads). Which store
that is, and who sees which runs, is :mod:`core.experiment_store`.
"""

from __future__ import annotations

from core.errors import DashboardError
from core.experiment_store import artifact_root, describe_store, give_up_soon, server_address, sqlite_path
from core.serving import quiet_mlflow

EXPERIMENT = "nocode-ml-dashboard"
#: Tag names (MLflow tags are strings); ``nocode.kind`` tells training runs from model runs.
TAG = "nocode."
KIND, DATASET, TASK, TARGET, MODEL, MODEL_KEY, FINGERPRINT, ERROR, OUTCOME, WORKSPACE = (
    f"{TAG}{name}"
    for name in (
        "kind", "dataset", "task", "target", "model", "model_key", "fingerprint", "error", "outcome", "workspace",
    )
)  # fmt: skip
#: On the chosen model's run: ``true``; and whether it was refitted on training + validation rows (core.training.choose).
CHOSEN, REFITTED = f"{TAG}chosen", f"{TAG}refitted"
PARENT = "mlflow.parentRunId"
#: Artefact paths inside a model run.
BUNDLE_DIR = "bundle"
PLAN_FILE = "cleaning_plan.json"
SPLIT_FILE = "split.json"
CARD_FILE = "model_card.json"
#: On a training run: what rebuilding the session needs (source, roles, target, plan, settings; see core.restore).
SESSION_FILE = "session.json"
#: MLflow refuses longer parameter values.
PARAM_LIMIT = 6000


class TrackingError(DashboardError):
    """The experiment store cannot be read or written."""


# --------------------------------------------------------------------------- where


def mlflow_client(tracking_uri: str):
    quiet_mlflow()
    give_up_soon()
    path = sqlite_path(tracking_uri)
    if path is not None and path.is_absolute():
        path.parent.mkdir(parents=True, exist_ok=True)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri)


def find_experiment(client, tracking_uri: str) -> str | None:
    """The app's experiment in the store, if it has one."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return None if experiment is None else experiment.experiment_id


def ensure_experiment(client, tracking_uri: str) -> str:
    """The app's experiment, created (with its artefacts beside the store) when the store has none yet."""
    found = find_experiment(client, tracking_uri)
    if found is not None:
        return found
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=artifact_root(tracking_uri))
    except Exception:  # another thread created it first
        found = find_experiment(client, tracking_uri)
        if found is None:
            raise
        return found


def store_error(tracking_uri: str, exc: Exception, doing: str) -> TrackingError:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if server_address(tracking_uri) is None:
        fix = "Check that the folder is writable or that MLFLOW_TRACKING_URI points to a reachable tracking server."
    elif "Invalid Host header" in text:  # MLflow's server refuses names it was not told to answer to
        fix = (
            "The tracking server refused the name it was called by: start it with --allowed-hosts naming the "
            "host and port in MLFLOW_TRACKING_URI."
        )
    else:
        fix = "Check that the tracking server in MLFLOW_TRACKING_URI is running and reachable from the app's server."
    return TrackingError(
        f"Could not {doing} the experiment store ({describe_store(tracking_uri, show_paths=False)}): "
        f"{type(exc).__name__}: {text}. {fix}"
    )
