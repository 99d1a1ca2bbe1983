"""What a model spec is: :class:`ModelSpec`, its allowed families and explainers, and task sets for declaring one."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import DashboardError
from core.params import ParamError, ParamSpec, show_value
from core.target import Task

FAMILIES = (
    "baseline",
    "linear",
    "tree",
    "ensemble",
    "boosting",
    "svm",
    "neighbors",
    "bayes",
    "neural",
    "clustering",
    "anomaly",
)
#: Which SHAP explainer suits a model: fast exact ones for trees and linear models, model-agnostic otherwise.
EXPLAINERS = ("tree", "linear", "kernel")

CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
REGRESSION = frozenset({Task.REGRESSION})
SUPERVISED = CLASSIFICATION | REGRESSION
CLUSTERING = frozenset({Task.CLUSTERING})
ANOMALY = frozenset({Task.ANOMALY})


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A model the app offers: what it is, which tasks it serves, its parameters and how to build it.

    ``build(task, params, seed, class_weight=None)`` receives validated
    parameters and returns an unfitted estimator; call :meth:`build_estimator`
    rather than ``build`` so parameters are validated and targets scaled.
    ``check(task, params, label)``, when given, refuses parameter values that
    do not fit the task.
    """

    key: str
    label: str
    family: str
    tasks: frozenset[Task]
    params: tuple[ParamSpec, ...]
    build: Callable[..., Any]
    explainer: str
    help: str
    supports_class_weight: bool = False
    accepts_sparse: bool = True
    #: Splits on categories itself (``categorical_features``): categorical columns reach it as codes.
    native_categories: bool = False
    staged: bool = False
    recommended: frozenset[Task] = frozenset()
    #: Left out of the Recommended set above this many rows (too slow there).
    recommended_max_rows: int | None = None
    needs_tensorflow: bool = False
    #: Reads text columns word by word itself (a text network): they reach it as strings, and it needs one.
    raw_text: bool = False
    #: Reads windows of the last rows per entity (a sequence network): offered only once a time order is set
    #: (:class:`core.time_features.TimeSetup`), whose order and entity columns reach it as two key columns.
    needs_time_order: bool = False
    scale_target: bool = False
    check: Callable[[Task, dict, str], None] | None = None

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if self.family not in FAMILIES or self.explainer not in EXPLAINERS:
            raise ValueError(f"{self.key}: unknown family {self.family!r} or explainer {self.explainer!r}")
        if len(set(names)) != len(names) or not self.recommended <= self.tasks:
            raise ValueError(f"{self.key}: duplicate parameter names or recommended for a task it cannot do")

    def param(self, name: str) -> ParamSpec:
        """The parameter called ``name``."""
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def basic_params(self) -> tuple[ParamSpec, ...]:
        """Parameters shown by default."""
        return tuple(p for p in self.params if not p.advanced)

    def advanced_params(self) -> tuple[ParamSpec, ...]:
        """Parameters shown behind the "Advanced" toggle."""
        return tuple(p for p in self.params if p.advanced)

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default (fresh copies, safe to edit)."""
        return {p.name: copy.deepcopy(p.default) for p in self.params}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Random valid parameters, for random search."""
        return {p.name: p.sample(rng) for p in self.params}

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Complete ``params`` with defaults and check every value; raise :class:`ParamError` on the first problem."""
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ParamError(
                f"The parameters of {self.label} must be a mapping of names to values. Got {show_value(params)}."
            )
        known = {p.name for p in self.params}
        unknown = [name for name in params if name not in known]
        if unknown:
            valid = ", ".join(repr(p.name) for p in self.params)
            detail = f"Valid parameters are: {valid}." if valid else f"{self.label} takes no parameters."
            raise ParamError(
                f"Invalid parameter {show_value(unknown[0])} for {self.label}. {detail}", param=str(unknown[0])
            )
        return {
            p.name: p.validate(params[p.name], self.label) if p.name in params else copy.deepcopy(p.default)
            for p in self.params
        }

    def build_estimator(
        self, task: Task | str, params: Mapping[str, Any] | None = None, seed: int = 0, class_weight: str | None = None
    ) -> Any:
        """An unfitted estimator for ``task`` from form values.

        Args:
            task: The task to solve; must be one of the spec's ``tasks``.
            params: Parameter values (missing ones take their defaults).
            seed: Random seed, passed as ``random_state`` wherever the estimator has one.
            class_weight: ``"balanced"`` to weight classes by rarity; ignored by models
                that do not support it and outside classification.

        Raises:
            DashboardError: The task is not supported, or (as :class:`ParamError`) a value is invalid.
        """
        task = Task(task)
        if task not in self.tasks:
            supported = ", ".join(t.value for t in Task if t in self.tasks)
            raise DashboardError(
                f"{self.label} cannot be used for {task.value}; it works for {supported}.",
                hint="Pick another model, or change the task on the Target page.",
            )
        values = self.validate(params)
        if self.check is not None:
            self.check(task, values, self.label)
        if class_weight not in (None, "balanced"):
            raise ParamError(f"class_weight must be None or 'balanced'. Got {show_value(class_weight)}.")
        weight = class_weight if self.supports_class_weight and task.is_classification else None
        estimator = self.build(task, values, int(seed), weight)
        if self.scale_target and task == Task.REGRESSION:
            from sklearn.compose import TransformedTargetRegressor
            from sklearn.preprocessing import StandardScaler

            estimator = TransformedTargetRegressor(regressor=estimator, transformer=StandardScaler())
        return estimator
