"""Reading runs back: the runs table, the last training run, one run's models, comparisons, a model."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pandas as pd

from core.experiment_store import sqlite_path
from core.export import load_bundle
from core.metrics import METRICS, Metric, primary_metric
from core.serving import BUNDLE_FILE, model_uri
from core.target import Task
from core.tracking.store import (
    BUNDLE_DIR,
    DATASET,
    ERROR,
    FINGERPRINT,
    KIND,
    MODEL,
    MODEL_KEY,
    OUTCOME,
    PARENT,
    SESSION_FILE,
    TARGET,
    TASK,
    WORKSPACE,
    find_experiment,
    mlflow_client,
    store_error,
)

# --------------------------------------------------------------------------- reading runs

_HIGHER = Metric("", "", "")  # an unknown metric: higher is better

RUN_COLUMNS = [
    "run_id",
    "training_run_id",
    "date",
    "dataset",
    "task",
    "target",
    "model",
    "model_key",
    "status",
    "metric",
    "validation",
    "test",
    "seconds",
    "fingerprint",
]


def _search(client, experiment_id: str, filter_string: str, limit: int) -> list:
    runs: list = []
    token = None
    while len(runs) < limit:
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            max_results=min(1000, limit - len(runs)),
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs


def _main_metric(task_value: str, metrics: dict[str, float]) -> tuple[str, float, float]:
    try:
        metric = primary_metric(Task(task_value))
        key = metric.key
    except ValueError:
        key = "accuracy"
    prefix = "train" if task_value == Task.CLUSTERING.value else "valid"
    return key, metrics.get(f"{prefix}_{key}", math.nan), metrics.get(f"test_{key}", math.nan)


def list_runs(
    tracking_uri: str,
    dataset: str | None = None,
    task: Task | str | None = None,
    limit: int = 5000,
    workspace: str | None = None,
) -> pd.DataFrame:
    """One row per model run, newest first: date, dataset, task, model, main metrics (one workspace's if given).

    Raises:
        TrackingError: when the store cannot be read.
    """
    path = sqlite_path(tracking_uri)
    if path is not None and path.is_absolute() and not path.exists():
        return pd.DataFrame(columns=RUN_COLUMNS)  # nothing recorded yet: do not create the store to say so
    try:
        client = mlflow_client(tracking_uri)
        experiment_id = find_experiment(client, tracking_uri)
        query = f"tags.`{KIND}` = 'model'" + (f" and tags.`{WORKSPACE}` = '{_quote(workspace)}'" if workspace else "")
        runs = [] if experiment_id is None else _search(client, experiment_id, query, limit)
    except Exception as exc:
        raise store_error(tracking_uri, exc, "read") from exc
    rows = []
    for run in runs:
        tags, metrics = run.data.tags, run.data.metrics
        key, valid, test = _main_metric(tags.get(TASK, ""), metrics)
        rows.append(
            {
                "run_id": run.info.run_id,
                "training_run_id": tags.get(PARENT),
                "date": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
                "dataset": tags.get(DATASET, ""),
                "task": tags.get(TASK, ""),
                "target": tags.get(TARGET, ""),
                "model": tags.get(MODEL, run.info.run_name or ""),
                "model_key": tags.get(MODEL_KEY, ""),
                "status": run.info.status.lower(),
                "metric": key,
                "validation": valid,
                "test": test,
                "seconds": metrics.get("duration_seconds", math.nan),
                "fingerprint": tags.get(FINGERPRINT, ""),
            }
        )
    return filter_runs(pd.DataFrame(rows, columns=RUN_COLUMNS), dataset, task)


def best_first(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` ordered by their validation score on their main metric, best first (each metric in its own
    direction: a lower RMSE is better); runs of different metrics grouped by metric; unscored runs last."""
    if runs.empty:
        return runs
    sign = runs["metric"].map(lambda key: 1.0 if METRICS.get(key, _HIGHER).higher_is_better else -1.0)
    order = runs.assign(_score=-sign * pd.to_numeric(runs["validation"], errors="coerce"))
    return order.sort_values(["metric", "_score"], na_position="last", kind="stable").drop(columns="_score")


def _quote(value: str) -> str:
    """A value inside an MLflow filter string's single quotes (workspace ids are checked, but say it once)."""
    return value.replace("\\", "").replace("'", "")


def last_training_run(tracking_uri: str, workspace: str | None = None) -> dict | None:
    """The newest training run (of ``workspace``, if given) that can be restored, as plain data, or ``None``.

    Keys: ``run_id``, ``dataset``, ``task``, ``target``, ``started`` (a UTC timestamp), ``models``
    (model runs recorded), ``outcome``, ``session`` (the ``session.json`` it was recorded with).
    Never creates a store that does not exist yet.
    """
    path = sqlite_path(tracking_uri)
    if path is not None and path.is_absolute() and not path.exists():
        return None
    try:
        client = mlflow_client(tracking_uri)
        experiment_id = find_experiment(client, tracking_uri)
        if experiment_id is None:
            return None
        query = f"tags.`{KIND}` = 'training'" + (
            f" and tags.`{WORKSPACE}` = '{_quote(workspace)}'" if workspace else ""
        )
        for run in _search(client, experiment_id, query, 20):
            session = read_json(client, run.info.run_id, SESSION_FILE)
            if session is None:
                continue  # recorded before runs kept what restoring needs
            return {
                "run_id": run.info.run_id,
                "dataset": run.data.tags.get(DATASET, ""),
                "task": run.data.tags.get(TASK, ""),
                "target": run.data.tags.get(TARGET, ""),
                "started": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
                "models": int(run.data.metrics.get("models_trained", 0)),
                "outcome": run.data.tags.get(OUTCOME, "finished"),
                "fingerprint": run.data.tags.get(FINGERPRINT, ""),
                "session": session,
            }
    except Exception as exc:
        raise store_error(tracking_uri, exc, "read") from exc
    return None


def model_runs_of(tracking_uri: str, training_run_id: str) -> list[dict]:
    """The model runs of one training run, oldest first: ``run_id``, ``name``, ``key``, ``metrics``, ``failed``."""
    try:
        client = mlflow_client(tracking_uri)
        parent = client.get_run(training_run_id)
        runs = _search(client, parent.info.experiment_id, f"tags.`{PARENT}` = '{_quote(training_run_id)}'", 1000)
    except Exception as exc:
        raise store_error(tracking_uri, exc, "read") from exc
    return [
        {
            "run_id": run.info.run_id,
            "name": run.data.tags.get(MODEL, run.info.run_name or ""),
            "key": run.data.tags.get(MODEL_KEY, ""),
            "metrics": dict(run.data.metrics),
            "failed": ERROR in run.data.tags,
        }
        for run in sorted(runs, key=lambda r: r.info.start_time or 0)
    ]


def read_json(client, run_id: str, path: str) -> dict | None:
    try:
        with tempfile.TemporaryDirectory() as scratch:
            local = client.download_artifacts(run_id, path, scratch)
            return json.loads(Path(local).read_text(encoding="utf-8"))
    except Exception:  # not recorded (older runs) or unreadable: nothing to restore from
        return None


def filter_runs(runs: pd.DataFrame, dataset: str | None = None, task: Task | str | None = None) -> pd.DataFrame:
    """The rows of a :func:`list_runs` table from one dataset and/or task (``None``: any)."""
    task_value = task.value if isinstance(task, Task) else task
    if dataset is not None:
        runs = runs[runs["dataset"] == dataset]
    if task_value is not None:
        runs = runs[runs["task"] == task_value]
    return runs.reset_index(drop=True)


def run_label(model: str, run_id: str) -> str:
    """A short unique name for a run in comparisons."""
    return f"{model} ({run_id[:7]})"


def compare_runs(tracking_uri: str, run_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs side by side: parameters (with a ``differs`` flag) and metrics.

    Returns:
        ``(params, metrics)``: ``params`` has one row per parameter, one column per
        run (labelled by :func:`run_label`) and a boolean ``differs`` column;
        ``metrics`` has one row per metric and one column per run.

    Raises:
        TrackingError: when the store cannot be read or a run does not exist.
    """
    try:
        client = mlflow_client(tracking_uri)
        runs = [client.get_run(run_id) for run_id in run_ids]
    except Exception as exc:
        raise store_error(tracking_uri, exc, "read") from exc
    labels = [run_label(r.data.tags.get(MODEL, r.info.run_name or "run"), r.info.run_id) for r in runs]
    params = pd.DataFrame(
        {label: pd.Series(r.data.params, dtype=object) for label, r in zip(labels, runs, strict=True)}
    )
    params = params.reindex(columns=labels).sort_index()
    params.index.name = "parameter"
    if len(params):
        params["differs"] = params[labels].astype(str).nunique(axis=1, dropna=False) > 1
        # a parameter only one model has (the other's model has no such setting) differs too
        params["differs"] |= params[labels].isna().any(axis=1) & params[labels].notna().any(axis=1)
    else:
        params["differs"] = pd.Series(dtype=bool)
    metrics = pd.DataFrame(
        {label: pd.Series(r.data.metrics, dtype=float) for label, r in zip(labels, runs, strict=True)}
    )
    metrics = metrics.reindex(columns=labels).sort_index()
    metrics.index.name = "metric"
    return params, metrics


def split_metrics(metrics: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The rows of one split's metrics (e.g. ``valid_``) with the prefix removed."""
    shown = metrics.loc[[m for m in metrics.index if m.startswith(prefix)]].copy()
    shown.index = [m.removeprefix(prefix) for m in shown.index]
    return shown


def same_scale(metrics: pd.DataFrame) -> list[str]:
    """Metrics every run has with values within [-1, 1] (scores and shares), fit for one chart.

    Errors in the target's units (MAE, RMSE) or log loss would flatten every other bar.
    """
    complete = metrics.dropna()
    return [m for m in complete.index if bool((complete.loc[m].abs() <= 1).all())]


def load_run_model(tracking_uri: str, run_id: str):
    """The model of a run, restored from its bundle with the safe loader.

    Raises:
        TrackingError: when the run or its bundle cannot be read.
        core.export.BundleError: when the bundle is refused.
    """

    try:
        client = mlflow_client(tracking_uri)
        with tempfile.TemporaryDirectory() as scratch:
            local = client.download_artifacts(run_id, f"{BUNDLE_DIR}/{BUNDLE_FILE}", scratch)
            data = Path(local).read_bytes()
        model = client.get_run(run_id).data.tags.get(MODEL, "")
    except Exception as exc:
        raise store_error(tracking_uri, exc, "read") from exc
    usable = load_bundle(data, file_name=BUNDLE_FILE)
    usable.origin = f"experiment run {run_id[:7]}"
    if model:
        usable.name = model
    # where it came from, so the Predict page can show the serve command (no store URI: it may hold credentials)
    usable.card = {**usable.card, "tracking": {"run_id": run_id, "model_uri": model_uri(run_id)}}
    return usable
