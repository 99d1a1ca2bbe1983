"""One model of a request as an unfitted pipeline: its estimator from the catalogue, inside the plan's steps.

Apart from :mod:`core.training.fit` so that the budget's probes (:mod:`core.training.budget`),
which fitting itself uses, build the same pipeline without importing the fitting code.
"""

from __future__ import annotations

from core.features import build_pipeline, many_levels
from core.registry import get_spec
from core.target import Task
from core.training.request import ModelRun, TrainingRequest
from core.transformers import log_target


def build_model_pipeline(request: TrainingRequest, run: ModelRun):
    """The unfitted pipeline for one model of the request."""
    spec = get_spec(run.key)
    class_weight = "balanced" if request.imbalance == "class_weight" and spec.supports_class_weight else None
    estimator = spec.build_estimator(request.task, run.params, seed=request.seed, class_weight=class_weight)
    if run.log_target and request.task == Task.REGRESSION:
        estimator = log_target(estimator)
    return build_pipeline(
        request.plan,
        request.roles,
        request.features,
        estimator,
        options=request.options,
        dense=not spec.accepts_sparse,
        imbalance=request.imbalance if request.task.is_classification else "none",
        seed=request.seed,
        native_categories=spec.native_categories and native_worthwhile(request),
        raw_text=spec.raw_text,
        sequence=spec.needs_time_order,
    )


def native_worthwhile(request: TrainingRequest) -> bool:
    """Whether a model that can split on categories should (:data:`core.features.NATIVE_MIN_LEVELS`, training rows)."""
    X_train, _ = request.xy(request.split.train)
    return many_levels(X_train, request.plan, request.roles, request.features)
