"""Rebuilding a session from a recorded training run: its settings as JSON, its trained models back.

When a run is recorded (:func:`core.tracking.recorder`, given :func:`run_settings`), what a new
session needs to rebuild it is kept next to the run (``session.json``): where the data came from and how
it was read (added by the app), role changes, the target and features, the cleaning plan, the
split, the models and their settings, and the fingerprint of the rows trained on. After a reload
the Data page offers the last run of the browser's workspace: :func:`settings_from` turns the
JSON back into the app's objects, and once the same data is loaded again (a bundled sample by
itself, an uploaded file by the person: the app does not keep uploads) the seeded split is made
again and :func:`restored_results` brings the recorded models back from their bundles (the safe
loader) with their recorded scores. Data whose fingerprint differs restores the settings only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core import tracking
from core.cleaning import CleaningPlan
from core.errors import DashboardError
from core.features import FeatureOptions, feature_sources
from core.metrics import TASK_METRICS
from core.model_card import dataset_fingerprint
from core.split import SplitConfig
from core.target import TargetChoice, Task, plain_label
from core.training import ModelFailure, ModelRun, TrainedModel, TrainingRequest, TrainSetup
from core.training.choose import refit_from_card

#: The layout of ``session.json``; older layouts are not restored.
SESSION_VERSION = 1


class RestoreError(DashboardError):
    """A recorded run cannot be turned back into a session."""


@dataclass
class RestoredSettings:
    """A recorded run's settings as the app's objects, plus what the app recorded about its data."""

    choice: TargetChoice
    plan: CleaningPlan
    setup: TrainSetup
    fingerprint: str
    source: dict = field(default_factory=dict)
    load_options: dict = field(default_factory=dict)
    role_overrides: dict = field(default_factory=dict)


def run_settings(request: TrainingRequest) -> dict:
    """What rebuilding this request's session needs, as JSON-ready data (see module docs)."""
    return {
        "version": SESSION_VERSION,
        "target": {
            "target": request.target,
            "task": request.task.value,
            "features": list(request.features),
            "positive": plain_label(request.positive),
        },
        "plan": request.plan.to_dict(),
        "setup": {
            "split": request.split.config.to_dict(),
            "models": [
                {"key": m.key, "name": m.name, "params": m.params, **({"log_target": True} if m.log_target else {})}
                for m in request.models
            ],
            "options": request.options.to_dict(),
            "imbalance": request.imbalance,
            "metric": request.metric,
        },
        "fingerprint": dataset_fingerprint(request.frame)["sha256"],
    }


def session_settings(context: dict, request: TrainingRequest) -> dict:
    """``context`` (the source, its load options and roles) with :func:`run_settings`: a run's ``session.json``.

    A module-level function, so ``functools.partial(session_settings, context)`` pickles by
    reference: the recording hook runs on the cluster (:class:`core.tracking.Recorder`).
    """
    return {**context, **run_settings(request)}


def settings_from(session: dict) -> RestoredSettings:
    """The app's objects from a ``session.json``; refused with a clear message when it cannot be read."""
    if not isinstance(session, dict) or session.get("version") != SESSION_VERSION:
        raise RestoreError("This run was recorded by another version of the app and cannot be restored.")
    try:
        target, setup = session["target"], session["setup"]
        choice = TargetChoice(
            target["target"],
            Task(target["task"]),
            "restored from the experiment log",
            list(target["features"]),
            target.get("positive"),
        )
        train_setup = TrainSetup(
            SplitConfig(**setup["split"]),
            # Log-target twins come back from the options (make_request adds them), not as picks of their own.
            [ModelRun(m["key"], m["name"], dict(m["params"])) for m in setup["models"] if not m.get("log_target")],
            FeatureOptions.from_dict(setup["options"]),
            setup["imbalance"],
            setup.get("metric") or None,
        )
        return RestoredSettings(
            choice,
            CleaningPlan.from_dict(session["plan"]),
            train_setup,
            str(session.get("fingerprint", "")),
            dict(session.get("source") or {}),
            dict(session.get("load_options") or {}),
            dict(session.get("role_overrides") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RestoreError(f"The recorded settings of this run cannot be read ({type(exc).__name__}: {exc}).") from exc


def same_data(request: TrainingRequest, settings: RestoredSettings) -> bool:
    """Whether ``request`` was built from the same rows as the recorded run (after the plan's row steps)."""
    return bool(settings.fingerprint) and dataset_fingerprint(request.frame)["sha256"] == settings.fingerprint


def restored_results(
    tracking_uri: str, training_run_id: str, request: TrainingRequest
) -> tuple[list[Any], tracking.TrackingReport]:
    """The recorded run's models, each loaded from its bundle (safe loader) with its recorded scores.

    Returns the results and a report that points each model at its run (so a test score scored
    later is logged on it). A model recorded as failed comes back as a :class:`ModelFailure`.
    Raises :class:`core.tracking.TrackingError` or :class:`core.export.BundleError` when a model
    cannot be read.
    """

    asked_runs = {m.name: m for m in request.models}
    results: list[Any] = []
    model_runs: dict[str, str] = {}
    runs = tracking.model_runs_of(tracking_uri, training_run_id)
    for run in runs:
        if run["failed"]:
            results.append(ModelFailure(run["name"], run["key"], "recorded as failed in the experiment log"))
            continue
        usable = tracking.load_run_model(tracking_uri, run["run_id"])
        model_runs[run["name"]] = run["run_id"]
        metrics = run["metrics"]
        held_out = "train" if request.task == Task.CLUSTERING else "valid"
        asked = asked_runs.get(run["name"])
        results.append(
            TrainedModel(
                run["name"],
                run["key"],
                asked.params if asked is not None else {},
                usable.pipeline,
                request.task,
                _scores(metrics, held_out, request.task),
                _scores(metrics, "train", request.task),
                float(metrics.get("duration_seconds", 0.0)),
                cv_scores={k: v for k, v in metrics.items() if k.startswith("cv_")},
                sources=feature_sources(usable.pipeline),
                log_target=asked is not None and asked.log_target,
                # The bundle holds the refitted pipeline; the fit before the refit is not kept.
                refit=refit_from_card(usable.card),
            )
        )
    report = tracking.TrackingReport(
        True,
        f"Restored {len(model_runs)} model runs from the experiment log.",
        tracking_uri,
        training_run_id,
        model_runs,
    )
    return results, report


def _scores(metrics: dict[str, float], prefix: str, task: Task) -> dict[str, float]:
    """One split's recorded scores; the task's metrics that were undefined (not recorded) come back as NaN."""
    recorded = {k.removeprefix(f"{prefix}_"): float(v) for k, v in metrics.items() if k.startswith(f"{prefix}_")}
    return {**dict.fromkeys(TASK_METRICS[task], math.nan), **recorded} if recorded else recorded
