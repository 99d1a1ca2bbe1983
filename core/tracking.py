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
who sees which runs is :mod:`core.experiment_store` (re-exported here). Every
function takes the ``tracking_uri`` explicitly and talks to MLflow through an
``MlflowClient`` for that URI, so nothing depends on MLflow's process-wide
"current" tracking URI or active run (training jobs log from worker threads).

MLflow is imported inside the functions that need it, so importing this module
does not load it.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import DashboardError
from core.experiment_store import (  # noqa: F401  defined there (no MLflow, no pandas) for the first page; re-exported
    EXPERIMENTS_SETTING,
    LOOPBACK,
    ROOT,
    artifact_root,
    default_tracking_uri,
    describe_store,
    experiments_shared,
    store_version,
    ui_command,
)
from core.experiment_store import sqlite_path as _sqlite_path
from core.metrics import primary_metric
from core.serving import (  # the names marked F401 lived here before core.serving and stay importable
    BUNDLE_FILE,
    DEFAULT_PORT,  # noqa: F401
    MODEL_PATH,
    curl_example,  # noqa: F401
    model_uri,
    quiet_mlflow,
    request_body,  # noqa: F401
    save_served_model,
    serve_command,  # noqa: F401
)
from core.target import Task

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


@dataclass(frozen=True)
class TrackingReport:
    """What recording one training run did; never raised, shown on the Train page."""

    ok: bool
    message: str
    tracking_uri: str
    training_run_id: str | None = None
    #: model name -> the MLflow run id of that model
    model_runs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------- where


def _client(tracking_uri: str):
    quiet_mlflow()
    path = _sqlite_path(tracking_uri)
    if path is not None and path.is_absolute():
        path.parent.mkdir(parents=True, exist_ok=True)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri)


def _experiment_id(client, tracking_uri: str, create: bool) -> str | None:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    if not create:
        return None
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=artifact_root(tracking_uri))
    except Exception:  # another thread created it first
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            raise
        return experiment.experiment_id


def _store_error(tracking_uri: str, exc: Exception, doing: str) -> TrackingError:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return TrackingError(
        f"Could not {doing} the experiment store ({describe_store(tracking_uri, show_paths=False)}): "
        f"{type(exc).__name__}: {text}. "
        "Check that the folder is writable or that MLFLOW_TRACKING_URI points to a reachable tracking server."
    )


# --------------------------------------------------------------------------- what is logged


def _param_value(value: Any) -> str:
    """Scalars as Python shows them (``None``, ``True``, ``0.5``); lists and dicts as JSON."""
    if hasattr(value, "item") and not isinstance(value, list | dict | tuple):
        value = value.item()  # numpy scalars
    if value is None or isinstance(value, str | bool | int | float):
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= PARAM_LIMIT else text[: PARAM_LIMIT - 1] + "…"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value))


def setup_params(request) -> dict[str, str]:
    """The run-wide settings every model shares (logged on each model run, so comparisons show them)."""
    split = request.split.config.to_dict()
    params = {f"split.{k}": v for k, v in split.items()}
    params.update({f"features.{k}": v for k, v in request.options.to_dict().items()})
    params["imbalance"] = request.imbalance
    params["ranking_metric"] = request.metric
    params["seed"] = request.seed
    params["n_features"] = len(request.features)
    return {k: _param_value(v) for k, v in params.items()}


def model_metrics(model) -> dict[str, float]:
    """A trained model's scores, prefixed by the split they come from."""
    metrics: dict[str, float] = {}
    # clustering scores are computed on the training rows: say so
    sets = [("train", model.train_scores)]
    if model.task != Task.CLUSTERING:
        sets.append(("valid", model.scores))
    for prefix, scores in sets:
        metrics.update({f"{prefix}_{k}": float(v) for k, v in scores.items() if _finite(v)})
    metrics.update({k: float(v) for k, v in model.cv_scores.items() if _finite(v)})  # already cv_…
    metrics["duration_seconds"] = float(model.seconds)
    return metrics


def _split_json(request) -> str:
    return json.dumps({**request.split.config.to_dict(), "rows": request.split.sizes()}, indent=2)


# --------------------------------------------------------------------------- logging a run


def _now_ms() -> int:
    return int(time.time() * 1000)


def _run_tags(kind: str, request, source_name: str, workspace: str | None = None) -> dict[str, str]:
    """The tags every run of a training run carries (``kind``: ``"training"`` or ``"model"``)."""
    tags = {KIND: kind, DATASET: source_name, TASK: request.task.value, TARGET: str(request.target or "")}
    return {**tags, WORKSPACE: workspace} if workspace else tags


def _log_model_run(
    client, experiment_id: str, parent_id: str, request, model, source_name: str, common: dict, workspace: str | None
):
    from mlflow.entities import Metric, Param

    from core.export import export_bundle
    from core.predict import usable_from_training

    usable = usable_from_training(model, request, source_name)
    fingerprint = (usable.card.get("dataset") or {}).get("sha256", "")
    end = _now_ms()
    tags = {**_run_tags("model", request, source_name, workspace), PARENT: parent_id, FINGERPRINT: fingerprint}
    tags.update({MODEL: model.name, MODEL_KEY: model.key})
    if model.refit is not None:  # the chosen model: refitted on training + validation rows (or why not)
        tags.update({CHOSEN: "true", REFITTED: str(model.refitted).lower()})
    run = client.create_run(experiment_id, start_time=end - int(model.seconds * 1000), tags=tags, run_name=model.name)
    run_id = run.info.run_id
    try:
        params = {**common, **{k: _param_value(v) for k, v in model.params.items()}}
        if model.log_target:
            params["target_transform"] = "log1p"
        metrics = model_metrics(model)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, end, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        client.log_text(run_id, request.plan.to_json(), PLAN_FILE)
        client.log_text(run_id, _split_json(request), SPLIT_FILE)
        client.log_dict(run_id, usable.card, CARD_FILE)
        bundle = export_bundle(usable)
        with tempfile.TemporaryDirectory() as scratch:
            bundle_path = Path(scratch) / BUNDLE_FILE
            bundle_path.write_bytes(bundle)
            client.log_artifact(run_id, str(bundle_path), BUNDLE_DIR)
            served = save_served_model(usable, Path(scratch) / MODEL_PATH, bundle)
            client.log_artifacts(run_id, str(served), MODEL_PATH)
        client.set_tag(run_id, "nocode.model_uri", model_uri(run_id))
        client.set_terminated(run_id, "FINISHED", end_time=end)
    except Exception as exc:
        client.set_tag(run_id, ERROR, _param_value(f"{type(exc).__name__}: {exc}")[:500])
        client.set_terminated(run_id, "FAILED")
        raise
    return run_id


def _log_failure_run(
    client, experiment_id: str, parent_id: str, request, failure, source_name: str, common: dict, workspace: str | None
):
    from mlflow.entities import Param

    tags = {**_run_tags("model", request, source_name, workspace), PARENT: parent_id, ERROR: failure.message[:500]}
    tags.update({MODEL: failure.name, MODEL_KEY: failure.key})
    run = client.create_run(experiment_id, tags=tags, run_name=failure.name)
    params = {**common}
    spec_params = next((m.params for m in request.models if m.name == failure.name), {})
    params.update({k: _param_value(v) for k, v in spec_params.items()})
    client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
    client.set_terminated(run.info.run_id, "FAILED")
    return run.info.run_id


def log_training(
    tracking_uri: str,
    request,
    results: list,
    source_name: str,
    seconds: float | None = None,
    outcome: str = "finished",
    workspace: str | None = None,
    session: dict | None = None,
):
    """Record one training run: a parent run and one child run per model.

    Args:
        tracking_uri: the MLflow store (see :func:`default_tracking_uri`).
        request: the :class:`core.training.TrainingRequest` that was trained.
        results: its :class:`TrainedModel` / :class:`ModelFailure` list.
        source_name: the dataset's name (file name or sample).
        seconds: the run's wall time (defaults to the sum of the models' times).
        outcome: how the run ended ("finished", "stopped: new data was loaded", …); a stopped run
            is tagged with it and ends KILLED in MLflow, its finished models recorded as usual.
        workspace: the browser workspace the run belongs to (tagged; see :func:`list_runs`).
        session: what rebuilding the session needs (:mod:`core.restore`), kept as ``session.json``.

    Returns:
        ``(training_run_id, {model name: run id})``.

    Raises:
        TrackingError: when the store cannot be written.
    """
    from mlflow.entities import Metric, Param

    from core.export import dataset_fingerprint
    from core.training import TrainedModel

    trained = [r for r in results if isinstance(r, TrainedModel)]
    seconds = float(seconds if seconds is not None else sum(r.seconds for r in trained))
    try:
        client = _client(tracking_uri)
        experiment_id = _experiment_id(client, tracking_uri, create=True)
        fingerprint = dataset_fingerprint(request.frame)
        end = _now_ms()
        parent = client.create_run(
            experiment_id,
            start_time=end - int(seconds * 1000),
            tags={
                **_run_tags("training", request, source_name, workspace),
                FINGERPRINT: fingerprint["sha256"],
                OUTCOME: _param_value(outcome),
            },
            run_name=f"{source_name} · {request.task.value}",
        )
        parent_id = parent.info.run_id
        common = setup_params(request)
        sizes = request.split.sizes()
        client.log_batch(
            parent_id,
            metrics=[
                Metric(k, float(v), end, 0)
                for k, v in {
                    "duration_seconds": seconds,
                    "rows_train": sizes["train"],
                    "rows_valid": sizes["validation"],
                    "rows_test": sizes["test"],
                    "models_trained": len(trained),
                    "models_failed": len(results) - len(trained),
                }.items()
            ],
            params=[
                Param(k, v)
                for k, v in {
                    **common,
                    "dataset": _param_value(source_name),
                    "task": request.task.value,
                    "target": _param_value(str(request.target or "")),
                    "dataset_rows": str(fingerprint["rows"]),
                    "dataset_columns": str(fingerprint["columns"]),
                    "dataset_sha256": fingerprint["sha256"],
                    "features": _param_value(request.features),
                    "models": _param_value([m.name for m in request.models]),
                }.items()
            ],
        )
        client.log_text(parent_id, request.plan.to_json(), PLAN_FILE)
        client.log_text(parent_id, _split_json(request), SPLIT_FILE)
        if session is not None:
            client.log_dict(parent_id, session, SESSION_FILE)
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "write to") from exc
    runs: dict[str, str] = {}
    problems: list[str] = []
    for result in results:
        try:
            if isinstance(result, TrainedModel):
                runs[result.name] = _log_model_run(
                    client, experiment_id, parent_id, request, result, source_name, common, workspace
                )
            else:
                _log_failure_run(client, experiment_id, parent_id, request, result, source_name, common, workspace)
        except Exception as exc:  # one model that cannot be logged must not lose the others
            problems.append(f"{result.name}: {type(exc).__name__}: {str(exc)[:200]}")
    status = "FAILED" if problems else ("KILLED" if outcome.startswith("stopped") else "FINISHED")
    client.set_terminated(parent_id, status, end_time=end)
    if problems and not runs:
        raise TrackingError("No model of this run could be recorded. " + " ".join(problems))
    if problems:
        client.set_tag(parent_id, ERROR, _param_value(" ".join(problems))[:500])
    return parent_id, runs


def record_training(
    tracking_uri: str,
    request,
    results: list,
    source_name: str,
    seconds: float | None = None,
    outcome: str = "finished",
    workspace: str | None = None,
    session: dict | None = None,
) -> TrackingReport:
    """:func:`log_training` that reports instead of raising (for the worker thread)."""
    started = time.perf_counter()
    from core.training import TrainedModel

    expected = sum(isinstance(r, TrainedModel) for r in results)
    try:
        parent, runs = log_training(tracking_uri, request, results, source_name, seconds, outcome, workspace, session)
    except Exception as exc:
        message = (
            exc.user_message if isinstance(exc, DashboardError) else str(_store_error(tracking_uri, exc, "write to"))
        )
        return TrackingReport(
            False,
            f"This run was not recorded in the experiment log. {message} The trained models are kept in this session.",
            tracking_uri,
            seconds=time.perf_counter() - started,
        )
    elapsed = time.perf_counter() - started
    if len(runs) < expected:
        missing = expected - len(runs)
        return TrackingReport(
            False,
            f"{missing} of {expected} models could not be recorded in the experiment log; the others were. "
            "The trained models are kept in this session.",
            tracking_uri,
            parent,
            runs,
            elapsed,
        )
    stopped = f" The run is recorded as {outcome}." if outcome.startswith("stopped") else ""
    return TrackingReport(
        True, f"Recorded {len(runs)} model runs in the experiment log.{stopped}", tracking_uri, parent, runs, elapsed
    )


def recorder(
    tracking_uri: str,
    source_name: str,
    workspace: str | None = None,
    session_of: Callable[[Any], dict] | None = None,
) -> Callable[[Any, list, float, str], TrackingReport]:
    """A hook for :class:`core.training.TrainingJob` that records the run when it ends (and how it ended).

    ``session_of(request)`` gives what rebuilding the session needs (:mod:`core.restore`), kept
    with the run as ``session.json``; ``workspace`` tags every run of it.
    """

    def record(request, results: list, seconds: float, outcome: str = "finished") -> TrackingReport:
        session = session_of(request) if session_of is not None else None
        return record_training(tracking_uri, request, results, source_name, seconds, outcome, workspace, session)

    return record


def log_test_scores(tracking_uri: str, run_id: str, scores: dict[str, float]) -> None:
    """Add the held-out test scores (``test_…``) to a model's run.

    Raises:
        TrackingError: when the store cannot be written.
    """
    from mlflow.entities import Metric

    try:
        client = _client(tracking_uri)
        now = _now_ms()
        looks = client.get_run(run_id).data.metrics.get("test_looks", 0.0)
        metrics = [Metric(f"test_{k}", float(v), now, 0) for k, v in scores.items() if _finite(v)]
        metrics.append(Metric("test_looks", float(looks) + 1, now, 0))
        client.log_batch(run_id, metrics=metrics)
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "write to") from exc


# --------------------------------------------------------------------------- reading runs

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
    runs, token = [], None
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
    path = _sqlite_path(tracking_uri)
    if path is not None and path.is_absolute() and not path.exists():
        return pd.DataFrame(columns=RUN_COLUMNS)  # nothing recorded yet: do not create the store to say so
    try:
        client = _client(tracking_uri)
        experiment_id = _experiment_id(client, tracking_uri, create=False)
        query = f"tags.`{KIND}` = 'model'" + (f" and tags.`{WORKSPACE}` = '{_quote(workspace)}'" if workspace else "")
        runs = [] if experiment_id is None else _search(client, experiment_id, query, limit)
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "read") from exc
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


def _quote(value: str) -> str:
    """A value inside an MLflow filter string's single quotes (workspace ids are checked, but say it once)."""
    return value.replace("\\", "").replace("'", "")


def last_training_run(tracking_uri: str, workspace: str | None = None) -> dict | None:
    """The newest training run (of ``workspace``, if given) that can be restored, as plain data, or ``None``.

    Keys: ``run_id``, ``dataset``, ``task``, ``target``, ``started`` (a UTC timestamp), ``models``
    (model runs recorded), ``outcome``, ``session`` (the ``session.json`` it was recorded with).
    Never creates a store that does not exist yet.
    """
    path = _sqlite_path(tracking_uri)
    if path is not None and path.is_absolute() and not path.exists():
        return None
    try:
        client = _client(tracking_uri)
        experiment_id = _experiment_id(client, tracking_uri, create=False)
        if experiment_id is None:
            return None
        query = f"tags.`{KIND}` = 'training'" + (
            f" and tags.`{WORKSPACE}` = '{_quote(workspace)}'" if workspace else ""
        )
        for run in _search(client, experiment_id, query, 20):
            session = _read_json(client, run.info.run_id, SESSION_FILE)
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
        raise _store_error(tracking_uri, exc, "read") from exc
    return None


def model_runs_of(tracking_uri: str, training_run_id: str) -> list[dict]:
    """The model runs of one training run, oldest first: ``run_id``, ``name``, ``key``, ``metrics``, ``failed``."""
    try:
        client = _client(tracking_uri)
        parent = client.get_run(training_run_id)
        runs = _search(client, parent.info.experiment_id, f"tags.`{PARENT}` = '{_quote(training_run_id)}'", 1000)
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "read") from exc
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


def _read_json(client, run_id: str, path: str) -> dict | None:
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
        client = _client(tracking_uri)
        runs = [client.get_run(run_id) for run_id in run_ids]
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "read") from exc
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
    from core.export import load_bundle

    try:
        client = _client(tracking_uri)
        with tempfile.TemporaryDirectory() as scratch:
            local = client.download_artifacts(run_id, f"{BUNDLE_DIR}/{BUNDLE_FILE}", scratch)
            data = Path(local).read_bytes()
        model = client.get_run(run_id).data.tags.get(MODEL, "")
    except Exception as exc:
        raise _store_error(tracking_uri, exc, "read") from exc
    usable = load_bundle(data, file_name=BUNDLE_FILE)
    usable.origin = f"experiment run {run_id[:7]}"
    if model:
        usable.name = model
    # where it came from, so the Predict page can show the serve command (no store URI: it may hold credentials)
    usable.card = {**usable.card, "tracking": {"run_id": run_id, "model_uri": model_uri(run_id)}}
    return usable


def __getattr__(name: str):
    # ``core.tracking.BundleModel``: where the served script of models logged before core.serving
    # looked for it (they carry their own copy of core/, but a stray import path may find this one)
    if name == "BundleModel":
        from core import serving

        return serving.BundleModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
