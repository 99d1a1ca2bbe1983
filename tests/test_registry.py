"""The model catalogue, checked spec by spec: every declared model validates, builds, fits and refuses bad values."""

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning

from core.errors import DashboardError
from core.registry import (
    REGISTRY,
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    LayersParam,
    ParamError,
    get_spec,
    recommended,
    specs_for,
)
from core.target import Task

ROOT = Path(__file__).resolve().parents[1]

#: Building a Keras network needs TensorFlow and core.keras_net; its params are checked without building.
BUILDABLE = [spec for spec in REGISTRY.values() if not spec.needs_tensorflow]
SPEC_TASKS = [
    pytest.param(spec, task, id=f"{spec.key}-{task.name.lower()}")
    for spec in BUILDABLE
    for task in Task
    if task in spec.tasks
]
ALL_PARAMS = [
    pytest.param(spec, param, id=f"{spec.key}-{param.name}") for spec in REGISTRY.values() for param in spec.params
]
#: Form parameters that scikit-learn spells differently (checked in test_logistic_penalty_maps_to_l1_ratio_and_c).
MAPPED = {("logistic_regression", "penalty"), ("logistic_regression", "l1_ratio")}


def tiny_data(task: Task) -> tuple[np.ndarray, np.ndarray | None]:
    """60 rows x 4 numeric features with a learnable target for ``task``."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    noise = 0.3 * rng.normal(size=60)
    if task == Task.BINARY:
        return X, (X[:, 0] + noise > 0).astype(int)
    if task == Task.MULTICLASS:
        return X, np.digitize(X[:, 0] + noise, [-0.5, 0.5])
    if task == Task.REGRESSION:
        return X, X @ np.array([1.0, 2.0, 0.0, -1.0]) + noise
    return X, None


def inner(estimator):
    """The estimator the form's values land in, through the wrappers the registry adds."""
    if isinstance(estimator, TransformedTargetRegressor):
        return estimator.regressor
    if isinstance(estimator, CalibratedClassifierCV):
        return estimator.estimator
    return estimator


def other_value(param):
    """A valid value different from the default."""
    if isinstance(param, ChoiceParam):
        return next(c for c in param.choices if c != param.default or type(c) is not type(param.default))
    if isinstance(param, BoolParam):
        return not param.default
    if isinstance(param, IntParam):
        if param.default is None:
            return param.low
        return param.default + 1 if param.default < param.high else param.default - 1
    if isinstance(param, FloatParam):
        return (param.default + param.high) / 2 if param.default < param.high else (param.low + param.default) / 2
    if isinstance(param, LayersParam):
        return ({"type": "dense", "units": 8, "activation": "tanh"},)
    raise AssertionError(f"no other value for {param}")


# --------------------------------------------------------------------------- every spec, every task


@pytest.mark.filterwarnings("error::FutureWarning")  # no deprecated scikit-learn arguments
@pytest.mark.parametrize(("spec", "task"), SPEC_TASKS)
def test_defaults_build_fit_and_predict_on_tiny_data(spec, task):
    assert spec.validate(None) == spec.defaults()
    assert spec.validate(spec.defaults()) == spec.defaults()
    estimator = spec.build_estimator(task, seed=0)
    X, y = tiny_data(task)
    if task == Task.CLUSTERING:
        labels = estimator.fit_predict(X)
        assert len(labels) == len(X)
        return
    estimator.fit(X, y)
    prediction = estimator.predict(X)
    assert len(prediction) == len(X)
    if task.is_classification:
        assert set(prediction) <= set(y)
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            assert proba.shape == (len(X), len(set(y)))
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    else:
        assert np.all(np.isfinite(prediction))


@pytest.mark.filterwarnings("error::FutureWarning")
@pytest.mark.parametrize(("spec", "task"), SPEC_TASKS)
def test_every_choice_and_switch_fits(spec, task):
    """Each declared choice is accepted by the library (no deprecated or incompatible values)."""
    X, y = tiny_data(task)
    quick = {name: 5 for name in ("n_estimators", "max_iter") if name in spec.defaults()}
    if spec.key in ("lasso", "logistic_regression"):
        quick = {"max_iter": 100}
    for param in spec.params:
        values = param.choices if isinstance(param, ChoiceParam) else (True, False)
        if not isinstance(param, ChoiceParam | BoolParam):
            continue
        for value in values:
            estimator = spec.build_estimator(task, {**quick, param.name: value})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # few iterations on purpose
                if task == Task.CLUSTERING:
                    estimator.fit_predict(X)
                else:
                    estimator.fit(X, y).predict(X)


@pytest.mark.filterwarnings("error::FutureWarning")
@pytest.mark.parametrize("spec", BUILDABLE, ids=lambda s: s.key)
def test_form_values_reach_the_estimator(spec):
    task = next(t for t in Task if t in spec.tasks)
    checked = []
    for param in spec.params:
        value = other_value(param)
        estimator = inner(spec.build_estimator(task, {param.name: value}))
        sklearn_params = estimator.get_params()
        if (spec.key, param.name) in MAPPED or param.name not in sklearn_params:
            continue
        assert sklearn_params[param.name] == value, param.name
        checked.append(param.name)
    assert checked or not spec.params, f"no parameter of {spec.key} reached the estimator"


def test_logistic_penalty_maps_to_l1_ratio_and_c():
    spec = get_spec("logistic_regression")
    lasso_like = spec.build_estimator(Task.BINARY, {"penalty": "l1", "C": 0.5})
    assert (lasso_like.l1_ratio, lasso_like.solver, lasso_like.C) == (1.0, "saga", 0.5)
    mixed = spec.build_estimator(Task.BINARY, {"penalty": "elasticnet", "l1_ratio": 0.3})
    assert (mixed.l1_ratio, mixed.solver) == (0.3, "saga")
    unpenalised = spec.build_estimator(Task.BINARY, {"penalty": "none"})
    assert (unpenalised.C, unpenalised.solver) == (math.inf, "lbfgs")


def test_form_strings_and_integral_floats_are_coerced():
    spec = get_spec("random_forest_clf")
    values = spec.validate({"n_estimators": 5.0, "max_depth": "7", "max_features": "1.0"})
    assert values["n_estimators"] == 5 and type(values["n_estimators"]) is int
    assert values["max_depth"] == 7 and values["max_features"] == 1.0
    assert spec.validate({"max_depth": None})["max_depth"] is None
    assert get_spec("ridge").validate({"alpha": "0.5"}) == {"alpha": 0.5}
    assert get_spec("hist_gradient_boosting_clf").validate({"early_stopping": False})["early_stopping"] is False
    assert get_spec("linear_regression").validate({"positive": "true"})["positive"] is True


def test_svr_scales_its_target_and_others_do_not():
    assert isinstance(get_spec("svr").build_estimator(Task.REGRESSION), TransformedTargetRegressor)
    assert not isinstance(get_spec("ridge").build_estimator(Task.REGRESSION), TransformedTargetRegressor)


def test_seed_reaches_random_state():
    for key in ("random_forest_clf", "lightgbm_reg", "kmeans", "logistic_regression"):
        spec = get_spec(key)
        task = next(t for t in Task if t in spec.tasks)
        assert spec.build_estimator(task, seed=7).get_params()["random_state"] == 7, key


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("key", "params", "message"),
    [
        (
            "random_forest_clf",
            {"n_estimators": 0},
            "The 'n_estimators' parameter of Random forest must be an int in the range [1, 2000]. Got 0.",
        ),
        (
            "random_forest_clf",
            {"n_estimators": 2.5},
            "The 'n_estimators' parameter of Random forest must be an int in the range [1, 2000]. Got 2.5.",
        ),
        (
            "random_forest_clf",
            {"n_estimators": True},
            "The 'n_estimators' parameter of Random forest must be an int in the range [1, 2000]. Got True.",
        ),
        (
            "random_forest_clf",
            {"max_depth": 0},
            "The 'max_depth' parameter of Random forest must be an int in the range [1, 100] or None (no limit). Got 0.",
        ),
        (
            "ridge",
            {"alpha": "lots"},
            "The 'alpha' parameter of Ridge regression must be a float in the range [0.0001, 10000]. Got 'lots'.",
        ),
        (
            "ridge",
            {"alpha": float("nan")},
            "The 'alpha' parameter of Ridge regression must be a float in the range [0.0001, 10000]. Got nan.",
        ),
        (
            "ridge",
            {"alpha": None},
            "The 'alpha' parameter of Ridge regression must be a float in the range [0.0001, 10000]. Got None.",
        ),
        (
            "svm_clf",
            {"kernel": "x"},
            "The 'kernel' parameter of Support vector machine must be one of 'rbf', 'linear', 'poly', 'sigmoid'. "
            "Got 'x'.",
        ),
        (
            "hist_gradient_boosting_clf",
            {"early_stopping": 1},
            "The 'early_stopping' parameter of Gradient boosting must be one of 'auto', True, False. Got 1.",
        ),
        (
            "keras_mlp",
            {"early_stopping": "maybe"},
            "The 'early_stopping' parameter of Neural network (Keras) must be a bool (true or false). Got 'maybe'.",
        ),
        (
            "linear_regression",
            {"positive": 1},
            "The 'positive' parameter of Linear regression must be a bool (true or false). Got 1.",
        ),
        (
            "ridge",
            {"alphas": 1.0},
            "Invalid parameter 'alphas' for Ridge regression. Valid parameters are: 'alpha'.",
        ),
        ("baseline", {"strategy": "mean"}, "Invalid parameter 'strategy' for Baseline. Baseline takes no parameters."),
    ],
)
def test_invalid_values_are_refused_like_scikit_learn(key, params, message):
    with pytest.raises(ParamError) as caught:
        get_spec(key).validate(params)
    assert caught.value.user_message == message


def test_param_error_names_the_parameter():
    with pytest.raises(ParamError) as caught:
        get_spec("kmeans").build_estimator(Task.CLUSTERING, {"n_clusters": 1})
    assert caught.value.param == "n_clusters"
    assert isinstance(caught.value, DashboardError)


def test_wrong_task_is_refused_with_the_supported_tasks():
    with pytest.raises(DashboardError, match=r"Ridge regression cannot be used for binary classification; it works"):
        get_spec("ridge").build_estimator(Task.BINARY)
    with pytest.raises(DashboardError, match="K-means cannot be used for regression"):
        get_spec("kmeans").build_estimator("regression")


def test_unknown_model_and_bad_class_weight_are_refused():
    with pytest.raises(
        DashboardError,
        match=r"There is no model called 'xgboost' in this version of the app\. It offers: .*Random forest",
    ):
        get_spec("xgboost")
    with pytest.raises(ParamError, match="class_weight must be None or 'balanced'"):
        get_spec("logistic_regression").build_estimator(Task.BINARY, class_weight="heavy")


def test_catalogue_refuses_its_own_mistakes():
    with pytest.raises(ValueError, match="Invalid default"):
        IntParam(name="n", label="N", default=0, help="h", low=1, high=5)
    with pytest.raises(ValueError, match="Bad range"):
        FloatParam(name="x", label="X", default=0.5, help="h", low=0.0, high=1.0, log=True)


# --------------------------------------------------------------------------- random search


@pytest.mark.parametrize(("spec", "param"), ALL_PARAMS)
def test_sample_stays_inside_the_declared_values(spec, param):
    rng = np.random.default_rng(0)
    draws = [param.sample(rng) for _ in range(1000)]
    for value in draws:
        assert param.validate(value, spec.label) == value
    if isinstance(param, IntParam | FloatParam):
        numbers = [v for v in draws if v is not None]
        assert min(numbers) >= param.low and max(numbers) <= param.high
        assert len(set(numbers)) > 1
    if isinstance(param, ChoiceParam | BoolParam):
        assert len({repr(v) for v in draws}) == len(param.choices if isinstance(param, ChoiceParam) else (0, 1))


def test_same_seed_gives_same_sample():
    spec = get_spec("lightgbm_clf")
    assert spec.sample(np.random.default_rng(3)) == spec.sample(np.random.default_rng(3))


# --------------------------------------------------------------------------- class weights


@pytest.mark.parametrize("spec", [s for s in BUILDABLE if s.supports_class_weight], ids=lambda s: s.key)
def test_balanced_class_weight_reaches_supporting_estimators(spec):
    estimator = inner(spec.build_estimator(Task.BINARY, class_weight="balanced"))
    assert estimator.get_params()["class_weight"] == "balanced"
    assert inner(spec.build_estimator(Task.BINARY)).get_params()["class_weight"] is None


def test_class_weight_is_ignored_where_unsupported():
    knn = get_spec("knn_clf").build_estimator(Task.BINARY, class_weight="balanced")
    assert "class_weight" not in knn.get_params()
    forest = get_spec("random_forest_reg").build_estimator(Task.REGRESSION, class_weight="balanced")
    assert "class_weight" not in forest.get_params()


# --------------------------------------------------------------------------- catalogue shape


def test_catalogue_lists_and_recommendations():
    for task in Task:
        specs = specs_for(task)
        assert specs and all(task in s.tasks for s in specs)
        assert set(recommended(task)) <= {s.key for s in specs}
    assert specs_for(Task.BINARY)[0].key == "baseline"
    assert specs_for(Task.REGRESSION)[0].key == "baseline"
    assert recommended(Task.BINARY) == [
        "baseline",
        "logistic_regression",
        "random_forest_clf",
        "lightgbm_clf",
        "svm_clf",
        "keras_mlp",
    ]
    assert "svm_clf" not in recommended(Task.BINARY, n_rows=100_000), "too slow at that size"
    assert set(recommended(Task.REGRESSION)) == {
        "baseline",
        "ridge",
        "lightgbm_reg",
        "hist_gradient_boosting_reg",
        "keras_mlp",
    }
    assert recommended(Task.CLUSTERING) == ["kmeans"]


def test_every_spec_is_described_for_people():
    for spec in REGISTRY.values():
        assert spec.label and spec.help.endswith(".")
        assert spec.explainer in ("tree", "linear", "kernel")
        for param in spec.params:
            assert param.label and param.help and "\n" not in param.help, (spec.key, param.name)
        assert {p.name for p in spec.basic_params()} | {p.name for p in spec.advanced_params()} == {
            p.name for p in spec.params
        }


def test_defaults_are_fresh_copies():
    spec = get_spec("keras_mlp")
    spec.defaults()["layers"][0]["units"] = 1
    assert spec.defaults()["layers"][0]["units"] == 64


def test_importing_the_registry_loads_no_heavy_library():
    code = (
        "import sys, json, core.registry;"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'shap', 'streamlit', 'lightgbm')"
        " if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# --------------------------------------------------------------------------- the Keras network


def test_keras_spec_declares_tensorflow_and_takes_defaults():
    spec = get_spec("keras_mlp")
    assert spec.needs_tensorflow and spec.staged and spec.supports_class_weight
    assert not spec.accepts_sparse and not spec.scale_target and spec.explainer == "kernel"
    defaults = spec.validate(None)
    assert defaults["layers"] == (
        {"type": "dense", "units": 64, "activation": "relu"},
        {"type": "dropout", "rate": 0.1},
        {"type": "dense", "units": 32, "activation": "relu"},
    )
    assert (defaults["learning_rate"], defaults["batch_size"], defaults["epochs"], defaults["loss"]) == (
        1e-3,
        32,
        100,
        "auto",
    )


def test_keras_layers_are_normalised():
    layers = get_spec("keras_mlp").validate(
        {"layers": [{"type": "dense", "units": "16"}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0}]}
    )["layers"]
    assert layers == (
        {"type": "dense", "units": 16, "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "dropout", "rate": 0.0},
    )


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [{"type": "dense", "units": 8}, {"type": "dropout", "rate": 1.5}],
            "Layer 2 (dropout): rate must be a float in [0, 0.9]. Got 1.5.",
        ),
        ([{"type": "dense", "units": 0}], "Layer 1 (dense): units must be an int in [1, 4096]. Got 0."),
        ([{"type": "dense", "units": 5000}], "Layer 1 (dense): units must be an int in [1, 4096]. Got 5000."),
        (
            [{"type": "dense", "units": 8, "activation": "softplus"}],
            "Layer 1 (dense): activation must be one of 'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'gelu', 'swish', "
            "'linear', 'leaky_relu'. Got 'softplus'.",
        ),
        (
            [{"type": "dense", "units": 8}, {"type": "conv"}],
            "Layer 2: type must be one of 'dense', 'dropout', 'batchnorm'. Got 'conv'.",
        ),
        ([{"type": "dense", "units": 8}, 3], "Layer 2 must be a dict with a 'type'. Got 3."),
        (
            [{"type": "dropout", "rate": 0.2, "units": 4}, {"type": "dense", "units": 8}],
            "Layer 1 (dropout): unknown setting 'units'. Valid settings: 'rate'.",
        ),
        (
            [{"type": "dropout", "rate": 0.2}],
            "The 'layers' parameter of Neural network (Keras) needs at least one dense layer.",
        ),
        ([], "The 'layers' parameter of Neural network (Keras) needs at least one dense layer."),
        (
            [{"type": "dense", "units": 8}] * 21,
            "The 'layers' parameter of Neural network (Keras) can have at most 20 layers. Got 21.",
        ),
        ("dense 64", "The 'layers' parameter of Neural network (Keras) must be a list of layers. Got 'dense 64'."),
    ],
)
def test_keras_bad_layers_are_refused_with_the_layer_number(layers, message):
    with pytest.raises(ParamError) as caught:
        get_spec("keras_mlp").validate({"layers": layers})
    assert caught.value.user_message == message
    assert caught.value.param == "layers"


def test_keras_loss_must_fit_the_task(monkeypatch):
    from core.models_catalogue import neural

    monkeypatch.setattr(neural, "KerasNetwork", dict)
    spec = get_spec("keras_mlp")
    with pytest.raises(ParamError, match="must be one of 'auto', 'mse', 'mae', 'huber' for regression"):
        spec.build_estimator(Task.REGRESSION, {"loss": "binary_crossentropy"})
    with pytest.raises(ParamError, match=r"for multiclass classification\. Got 'binary_crossentropy'"):
        spec.build_estimator(Task.MULTICLASS, {"loss": "binary_crossentropy"})


def test_keras_build_passes_the_agreed_keywords(monkeypatch):
    """With a stand-in for KerasNetwork: no TensorFlow, only the constructor contract."""
    from core.models_catalogue import neural

    monkeypatch.setattr(neural, "KerasNetwork", dict)
    spec = get_spec("keras_mlp")
    kwargs = spec.build_estimator(Task.BINARY, {"epochs": 2}, seed=5, class_weight="balanced")
    assert set(kwargs) == {
        "layers",
        "optimizer",
        "learning_rate",
        "momentum",
        "batch_size",
        "epochs",
        "early_stopping",
        "patience",
        "restore_best_weights",
        "l2",
        "loss",
        "task",
        "seed",
        "class_weight",
    }
    assert (kwargs["task"], kwargs["seed"], kwargs["class_weight"], kwargs["epochs"]) == (
        "binary classification",
        5,
        "balanced",
        2,
    )
    regression = spec.build_estimator(Task.REGRESSION, class_weight="balanced")
    assert isinstance(regression, dict) and regression["class_weight"] is None
