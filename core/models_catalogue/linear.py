"""The baseline and the linear models: baseline, logistic regression, linear regression, ridge and lasso."""

from __future__ import annotations

import math
from typing import Any

from core.models_catalogue.spec import CLASSIFICATION, REGRESSION, SUPERVISED, ModelSpec
from core.params import BoolParam, ChoiceParam, FloatParam, IntParam
from core.target import Task


# Each build function takes (task, validated params, seed, class_weight) and returns an unfitted estimator.
def _build_baseline(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    # "prior" predicts the most frequent class like "most_frequent", but its probabilities
    # are the class shares, which gives honest log-loss and calibration figures.
    return DummyClassifier(strategy="prior") if task.is_classification else DummyRegressor(strategy="mean")


def _build_logistic(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression

    # scikit-learn 1.8 deprecated `penalty`: the choice maps to l1_ratio, and "none" to C=inf.
    l1_ratio = {"l2": 0.0, "none": 0.0, "l1": 1.0, "elasticnet": p["l1_ratio"]}[p["penalty"]]
    return LogisticRegression(
        C=math.inf if p["penalty"] == "none" else p["C"],
        l1_ratio=l1_ratio,
        solver="lbfgs" if l1_ratio == 0 else "saga",
        max_iter=p["max_iter"],
        class_weight=class_weight,
        random_state=seed,
    )


def _build_linear(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression(**p)


def _build_ridge(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(**p, random_state=seed)


def _build_lasso(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(**p, random_state=seed)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="baseline",
        label="Baseline",
        family="baseline",
        tasks=SUPERVISED,
        params=(),
        build=_build_baseline,
        explainer="kernel",
        help="Always predicts the most common class (or the average number) without looking at the features. "
        "Any real model must beat it to be worth using.",
        recommended=SUPERVISED,
    ),
    ModelSpec(
        key="logistic_regression",
        label="Logistic regression",
        family="linear",
        tasks=CLASSIFICATION,
        params=(
            FloatParam(
                name="C",
                label="Regularisation strength (C)",
                default=1.0,
                low=1e-4,
                high=1e4,
                log=True,
                help="Lower values keep the weights small and the model simple; higher values fit the data harder.",
            ),
            ChoiceParam(
                name="penalty",
                label="Penalty",
                default="l2",
                choices=("l2", "l1", "elasticnet", "none"),
                labels={
                    "l2": "L2: shrink all weights",
                    "l1": "L1: drop unhelpful features",
                    "elasticnet": "elastic net: a mix of both",
                    "none": "none",
                },
                help="How the model is kept simple: L1 can switch features off entirely, L2 only shrinks them.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=1000,
                low=10,
                high=100_000,
                log=True,
                advanced=True,
                help="Upper limit on optimisation steps; raise it if you see a convergence warning.",
            ),
            FloatParam(
                name="l1_ratio",
                label="L1 share (elastic net)",
                default=0.5,
                low=0.0,
                high=1.0,
                advanced=True,
                help="Only for the elastic-net penalty: 0 is pure L2, 1 is pure L1.",
            ),
        ),
        build=_build_logistic,
        explainer="linear",
        help="Weighs each feature and turns the sum into a probability. Fast, easy to explain, and a strong "
        "choice when the effects are roughly additive.",
        supports_class_weight=True,
        recommended=CLASSIFICATION,
    ),
    ModelSpec(
        key="linear_regression",
        label="Linear regression",
        family="linear",
        tasks=REGRESSION,
        params=(
            BoolParam(
                name="fit_intercept",
                label="Fit an intercept",
                default=True,
                advanced=True,
                help="Learn a constant starting value; leave on unless the target is zero when all features are.",
            ),
            BoolParam(
                name="positive",
                label="Only positive weights",
                default=False,
                advanced=True,
                help="Force every feature to push the prediction up, never down.",
            ),
        ),
        build=_build_linear,
        explainer="linear",
        help="Fits a straight-line (weighted sum) relation between the features and the number. The classic "
        "first model: each weight reads as 'one unit more of this feature adds so much'.",
    ),
    ModelSpec(
        key="ridge",
        label="Ridge regression",
        family="linear",
        tasks=REGRESSION,
        params=(
            FloatParam(
                name="alpha",
                label="Regularisation strength (alpha)",
                default=1.0,
                low=1e-4,
                high=1e4,
                log=True,
                help="Higher values shrink the weights more, which helps with many or correlated features.",
            ),
        ),
        build=_build_ridge,
        explainer="linear",
        help="Linear regression that keeps its weights small, so it stays stable with many or correlated "
        "features. A reliable, fast starting point.",
        recommended=REGRESSION,
    ),
    ModelSpec(
        key="lasso",
        label="Lasso regression",
        family="linear",
        tasks=REGRESSION,
        params=(
            FloatParam(
                name="alpha",
                label="Regularisation strength (alpha)",
                default=0.01,
                low=1e-5,
                high=1e5,
                log=True,
                help="Higher values switch more features off; the right size depends on the target's units.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=10_000,
                low=100,
                high=1_000_000,
                log=True,
                advanced=True,
                help="Upper limit on optimisation steps; raise it if you see a convergence warning.",
            ),
        ),
        build=_build_lasso,
        explainer="linear",
        help="Linear regression that can set weights to exactly zero, so it also picks the features that matter. "
        "Useful when you suspect only a few features count.",
    ),
)
