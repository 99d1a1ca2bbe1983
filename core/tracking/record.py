"""Recording a training run: one MLflow parent run, one child run per model, the test scores later."""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import DashboardError
from core.experiment_store import LOOPBACK, server_address, sqlite_path
from core.export import export_bundle
from core.model_card import dataset_fingerprint
from core.predict import usable_from_training
from core.serving import BUNDLE_FILE, MODEL_PATH, model_uri, save_served_model
from core.target import Task
from core.tracking.store import (
    BUNDLE_DIR,
    CARD_FILE,
    CHOSEN,
    DATASET,
    ERROR,
    FINGERPRINT,
    KIND,
    MODEL,
    MODEL_KEY,
    OUTCOME,
    PARAM_LIMIT,
    PARENT,
    PLAN_FILE,
    REFITTED,
    SESSION_FILE,
    SPLIT_FILE,
    TARGET,
    TASK,
    WORKSPACE,
    TrackingError,
    ensure_experiment,
    mlflow_client,
    store_error,
)
from core.training import TrainedModel, TrainingJob
from core.training.run import ANY_MACHINE, THIS_MACHINE


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

    def log_test_scores(self, model: str, scores: dict[str, float]) -> bool:
        """Add ``model``'s test scores to its run in this recorded training run; False when it has none.

        Raises:
            TrackingError: when the store cannot be written.
        """
        run_id = self.model_runs.get(model)
        if not run_id:
            return False
        log_test_scores(self.tracking_uri, run_id, scores)
        return True


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
    if getattr(request, "sample_of", None) is not None:  # "500,000 of 40,000,000 rows (a stratified sample by 'y')"
        params["source_sample"] = request.sample_of.note()
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
    spec_params: dict = next((m.params for m in request.models if m.name == failure.name), {})
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

    trained = [r for r in results if isinstance(r, TrainedModel)]
    seconds = float(seconds if seconds is not None else sum(r.seconds for r in trained))
    try:
        client = mlflow_client(tracking_uri)
        experiment_id = ensure_experiment(client, tracking_uri)
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
        raise store_error(tracking_uri, exc, "write to") from exc
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

    expected = sum(isinstance(r, TrainedModel) for r in results)
    try:
        parent, runs = log_training(tracking_uri, request, results, source_name, seconds, outcome, workspace, session)
    except Exception as exc:
        message = (
            exc.user_message if isinstance(exc, DashboardError) else str(store_error(tracking_uri, exc, "write to"))
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


@dataclass(frozen=True)
class Recorder:
    """The hook :class:`core.training.TrainingJob` calls when a run ends: it records the run (and how it ended).

    ``session_of(request)`` gives what rebuilding the session needs (:mod:`core.restore`), kept
    with the run as ``session.json``; ``workspace`` tags every run of it. It pickles (with
    ``session_of`` a module-level function or a ``functools.partial`` of one), so the job runs it
    as a cluster task beside the models (:data:`core.training.run.AFTER_RUN_ON_CLUSTER`) wherever
    the workers reach the store: a tracking server at a network address from any worker, a SQLite
    file (by its absolute path) or a server at a loopback address only from workers on this machine
    (the embedded cluster's; a classroom cluster's when started on the app's machine). Elsewhere the
    job's thread records in the app's process.
    """

    tracking_uri: str
    source_name: str
    workspace: str | None = None
    session_of: Callable[[Any], dict] | None = None

    @property
    def runs_on_cluster(self) -> str | None:
        """Which workers reach the store (:data:`core.training.run.THIS_MACHINE` or ``ANY_MACHINE``); None:
        only this process (a store named by a path relative to its working folder, or of another kind)."""
        address = server_address(self.tracking_uri)
        if address is not None:
            return THIS_MACHINE if urlsplit(address).hostname in LOOPBACK else ANY_MACHINE
        path = sqlite_path(self.tracking_uri)
        return THIS_MACHINE if path is not None and path.is_absolute() else None

    def __call__(self, request, results: list, seconds: float, outcome: str = "finished") -> TrackingReport:
        session = self.session_of(request) if self.session_of is not None else None
        return record_training(
            self.tracking_uri, request, results, self.source_name, seconds, outcome, self.workspace, session
        )


def recorder(
    tracking_uri: str,
    source_name: str,
    workspace: str | None = None,
    session_of: Callable[[Any], dict] | None = None,
) -> Recorder:
    """A :class:`Recorder` for ``tracking_uri`` (the hook that records a run when it ends)."""
    return Recorder(tracking_uri, source_name, workspace, session_of)


def log_test_scores_when_recorded(job: TrainingJob, model: str, scores: dict[str, float]) -> str:
    """Add ``model``'s test scores to its run in the experiment log, once ``job``'s run is recorded there.

    ``job`` records its run with the hook from :func:`recorder`, seconds after the run in its own
    thread. While that still runs, the scores wait on the job and that thread writes them right
    after the recording (:meth:`core.training.TrainingJob.when_after_run`): the page and the demo
    neither wait nor start a thread. A store that cannot be written then leaves the scores in the
    session only (the recording itself says what is wrong with the store).

    Returns:
        ``"queued"`` (written once recorded), ``"logged"`` (written now), or ``"not recorded"``
        (the run, or this model, is not in the experiment log).

    Raises:
        TrackingError: when written now and the store cannot be written.
    """

    def log(after: Any) -> bool:
        report = after.value if after.status == "done" else None
        return isinstance(report, TrackingReport) and report.log_test_scores(model, scores)

    def quietly(after: Any) -> None:
        with contextlib.suppress(DashboardError):  # the session keeps the score; the log lacks it
            log(after)

    if job.when_after_run(quietly):
        return "queued"
    return "logged" if log(job.after_run()) else "not recorded"


def log_test_scores(tracking_uri: str, run_id: str, scores: dict[str, float]) -> None:
    """Add the held-out test scores (``test_…``) to a model's run.

    Raises:
        TrackingError: when the store cannot be written.
    """
    from mlflow.entities import Metric

    try:
        client = mlflow_client(tracking_uri)
        now = _now_ms()
        looks = client.get_run(run_id).data.metrics.get("test_looks", 0.0)
        metrics = [Metric(f"test_{k}", float(v), now, 0) for k, v in scores.items() if _finite(v)]
        metrics.append(Metric("test_looks", float(looks) + 1, now, 0))
        client.log_batch(run_id, metrics=metrics)
    except Exception as exc:
        raise store_error(tracking_uri, exc, "write to") from exc
