"""Tree models: decision trees, random forests, histogram gradient boosting and LightGBM."""

from __future__ import annotations

from typing import Any

from core.models_catalogue.spec import CLASSIFICATION, REGRESSION, ModelSpec
from core.params import ChoiceParam, FloatParam, IntParam, ParamSpec
from core.target import Task


def _n_estimators(default: int, high: int = 2000) -> IntParam:
    return IntParam(
        name="n_estimators",
        label="Number of trees",
        default=default,
        low=1,
        high=high,
        log=True,
        help="More trees give steadier predictions but take longer to train.",
    )


def _max_depth(default: int | None, advanced: bool = False) -> IntParam:
    return IntParam(
        name="max_depth",
        label="Maximum depth",
        default=default,
        low=1,
        high=100,
        allow_none=True,
        advanced=advanced,
        help="How many questions a tree may ask in a row; shallower trees are simpler and overfit less.",
    )


def _min_samples_leaf(default: int, advanced: bool = True) -> IntParam:
    return IntParam(
        name="min_samples_leaf",
        label="Minimum rows per leaf",
        default=default,
        low=1,
        high=1000,
        log=True,
        advanced=advanced,
        help="Each final group must hold at least this many rows; larger values smooth the model.",
    )


def _learning_rate(default: float) -> FloatParam:
    return FloatParam(
        name="learning_rate",
        label="Learning rate",
        default=default,
        low=0.001,
        high=1.0,
        log=True,
        help="How much each new tree corrects the previous ones; smaller is more careful but needs more trees.",
    )


def _forest_params(classifier: bool) -> tuple[ParamSpec, ...]:
    return (
        _n_estimators(300),
        _max_depth(None),
        _min_samples_leaf(1),
        ChoiceParam(
            name="max_features",
            label="Features tried per split",
            default="sqrt" if classifier else 1.0,
            choices=("sqrt", "log2", 0.5, 1.0),
            labels={"sqrt": "square root of the features", "log2": "log₂ of the features", 0.5: "half", 1.0: "all"},
            advanced=True,
            help="Trying fewer features at each split makes the trees more different from each other.",
        ),
    )


def _tree_params(classifier: bool) -> tuple[ParamSpec, ...]:
    criteria = ("gini", "entropy", "log_loss") if classifier else ("squared_error", "absolute_error")
    return (
        _max_depth(6),
        _min_samples_leaf(5, advanced=False),
        ChoiceParam(
            name="criterion",
            label="Split quality measure",
            default=criteria[0],
            choices=criteria,
            advanced=True,
            help="How the tree scores a candidate question; the default rarely needs changing.",
        ),
    )


def _hgb_params() -> tuple[ParamSpec, ...]:
    return (
        _learning_rate(0.1),
        IntParam(
            name="max_iter",
            label="Number of boosting rounds",
            default=200,
            low=1,
            high=5000,
            log=True,
            help="How many trees are added one after another; early stopping may use fewer.",
        ),
        IntParam(
            name="max_leaf_nodes",
            label="Leaves per tree",
            default=31,
            low=2,
            high=1024,
            log=True,
            help="How detailed each tree may be; more leaves capture finer patterns but overfit sooner.",
        ),
        ChoiceParam(
            name="early_stopping",
            label="Early stopping",
            default="auto",
            choices=("auto", True, False),
            labels={"auto": "automatic (on above 10,000 rows)", True: "on", False: "off"},
            help="Stop adding trees when a held-out tenth of the training rows stops improving.",
        ),
        _min_samples_leaf(20),
        FloatParam(
            name="l2_regularization",
            label="L2 regularisation",
            default=0.0,
            low=0.0,
            high=100.0,
            advanced=True,
            help="Shrinks leaf values towards zero; raise it if the model overfits.",
        ),
        _max_depth(None, advanced=True),
    )


def _lightgbm_params() -> tuple[ParamSpec, ...]:
    return (
        _n_estimators(300, high=5000),
        _learning_rate(0.05),
        IntParam(
            name="num_leaves",
            label="Leaves per tree",
            default=31,
            low=2,
            high=1024,
            log=True,
            help="How detailed each tree may be; more leaves capture finer patterns but overfit sooner.",
        ),
        IntParam(
            name="min_child_samples",
            label="Minimum rows per leaf",
            default=20,
            low=1,
            high=1000,
            log=True,
            help="Each final group must hold at least this many rows; larger values smooth the model.",
        ),
        FloatParam(
            name="subsample",
            label="Row share per tree",
            default=1.0,
            low=0.1,
            high=1.0,
            advanced=True,
            help="Each tree sees this share of the rows, drawn at random; below 1 adds variety and speed.",
        ),
        FloatParam(
            name="colsample_bytree",
            label="Feature share per tree",
            default=1.0,
            low=0.1,
            high=1.0,
            advanced=True,
            help="Each tree sees this share of the features, drawn at random; below 1 adds variety.",
        ),
        FloatParam(
            name="reg_lambda",
            label="L2 regularisation",
            default=0.0,
            low=0.0,
            high=100.0,
            advanced=True,
            help="Shrinks leaf values towards zero; raise it if the model overfits.",
        ),
    )


# Each build function takes (task, validated params, seed, class_weight) and returns an unfitted estimator.
def _build_forest(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    if task.is_classification:
        return RandomForestClassifier(**p, class_weight=class_weight, n_jobs=-1, random_state=seed)
    return RandomForestRegressor(**p, n_jobs=-1, random_state=seed)


def _build_tree(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task.is_classification:
        return DecisionTreeClassifier(**p, class_weight=class_weight, random_state=seed)
    return DecisionTreeRegressor(**p, random_state=seed)


def _build_hgb(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task.is_classification:
        return HistGradientBoostingClassifier(**p, class_weight=class_weight, random_state=seed)
    return HistGradientBoostingRegressor(**p, random_state=seed)


def _build_lightgbm(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    common = {
        **p,
        "subsample_freq": 1 if p["subsample"] < 1 else 0,  # LightGBM ignores subsample unless bagging is on
        "random_state": seed,
        # OpenMP's thread count: on a worker its share of the cores, or all when it fits alone there
        # (core.worker_cores.cores_for_task); a fixed count would spin-wait beside another fit.
        "n_jobs": 0,
        "verbose": -1,
    }
    if task.is_classification:
        return LGBMClassifier(**common, class_weight=class_weight)
    return LGBMRegressor(**common)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="decision_tree_clf",
        label="Decision tree",
        family="tree",
        tasks=CLASSIFICATION,
        params=_tree_params(classifier=True),
        build=_build_tree,
        explainer="tree",
        help="A flowchart of yes/no questions about the features. Easy to draw and explain, but one tree "
        "alone is less accurate than a forest.",
        supports_class_weight=True,
    ),
    ModelSpec(
        key="decision_tree_reg",
        label="Decision tree",
        family="tree",
        tasks=REGRESSION,
        params=_tree_params(classifier=False),
        build=_build_tree,
        explainer="tree",
        help="A flowchart of yes/no questions that ends in an average value. Easy to draw and explain, but "
        "one tree alone is less accurate than a forest.",
    ),
    ModelSpec(
        key="random_forest_clf",
        label="Random forest",
        family="ensemble",
        tasks=CLASSIFICATION,
        params=_forest_params(classifier=True),
        build=_build_forest,
        explainer="tree",
        help="Hundreds of decision trees, each trained on a random part of the data, vote together. Robust "
        "with little tuning and hard to overfit badly.",
        supports_class_weight=True,
        staged=True,
        recommended=CLASSIFICATION,
    ),
    ModelSpec(
        key="random_forest_reg",
        label="Random forest",
        family="ensemble",
        tasks=REGRESSION,
        params=_forest_params(classifier=False),
        build=_build_forest,
        explainer="tree",
        help="Hundreds of decision trees, each trained on a random part of the data, average their answers. "
        "Robust with little tuning and hard to overfit badly.",
        staged=True,
    ),
    ModelSpec(
        key="hist_gradient_boosting_clf",
        label="Gradient boosting",
        family="boosting",
        tasks=CLASSIFICATION,
        params=_hgb_params(),
        build=_build_hgb,
        explainer="tree",
        help="Adds small trees one by one, each fixing the previous ones' mistakes (scikit-learn's fast "
        "histogram version). Among the most accurate models on tables.",
        supports_class_weight=True,
        accepts_sparse=False,
        native_categories=True,
        staged=True,
    ),
    ModelSpec(
        key="hist_gradient_boosting_reg",
        label="Gradient boosting",
        family="boosting",
        tasks=REGRESSION,
        params=_hgb_params(),
        build=_build_hgb,
        explainer="tree",
        help="Adds small trees one by one, each fixing the previous ones' mistakes (scikit-learn's fast "
        "histogram version). Among the most accurate models on tables.",
        accepts_sparse=False,
        native_categories=True,
        staged=True,
        recommended=REGRESSION,
    ),
    ModelSpec(
        key="lightgbm_clf",
        label="LightGBM",
        family="boosting",
        tasks=CLASSIFICATION,
        params=_lightgbm_params(),
        build=_build_lightgbm,
        explainer="tree",
        help="Microsoft's gradient boosting library: trees added one by one, each fixing earlier mistakes. "
        "Very fast on large tables and often the most accurate.",
        supports_class_weight=True,
        staged=True,
        recommended=CLASSIFICATION,
    ),
    ModelSpec(
        key="lightgbm_reg",
        label="LightGBM",
        family="boosting",
        tasks=REGRESSION,
        params=_lightgbm_params(),
        build=_build_lightgbm,
        explainer="tree",
        help="Microsoft's gradient boosting library: trees added one by one, each fixing earlier mistakes. "
        "Very fast on large tables and often the most accurate.",
        staged=True,
        recommended=REGRESSION,
    ),
)
