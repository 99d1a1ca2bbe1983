"""core.explain: methods by spec, grouping to the person's columns, additivity, budget, Stop, summaries.

SHAP runs on at most 20 rows; the Keras network trains on 32 rows for 2 epochs.
Models are trained once per module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import events as ev
from core import explain as ce
from core.errors import DashboardError
from core.explain.permutation import PermutationMethod, row_keys
from core.features import FeatureOptions
from core.numbers import format_number
from core.samples import load_sample
from core.target import Task
from core.training import ModelRun, TrainedModel, run_training, transform_only
from tests.conftest import make_training_request
from tests.explain_helpers import FakeClock, pause_per_call, slowed, with_final
from tests.test_training import request_for

ROOT = Path(__file__).resolve().parents[1]
ROWS = 20


def frame_request(frame: pd.DataFrame, target: str, task: Task, models: list[ModelRun], **setup):
    features = [c for c in frame.columns if c != target]
    return make_training_request(frame, target, task, models=models, features=features, seed=7, **setup)


def trained_models(request) -> dict[str, TrainedModel]:
    results = run_training(request)
    failures = [r for r in results if not isinstance(r, TrainedModel)]
    assert not failures, failures
    # Each model as fitted on the training rows: the chosen one is refitted on training + validation
    # rows at the end of a run, and these tests expect the same fit whichever model is chosen.
    return {r.name: r.validated() for r in results}


@pytest.fixture(scope="module")
def maintenance():
    """Binary, imbalanced, with a categorical (one-hot) column and missing values."""
    frame = load_sample("predictive_maintenance").frame.drop(columns="machine_id")
    frame = frame.sample(800, random_state=0).reset_index(drop=True)
    # A site code with 60 levels: enough for histogram gradient boosting to split on categories itself.
    frame["site"] = [f"site_{i}" for i in np.random.default_rng(0).integers(0, 60, len(frame))]
    models = [
        ModelRun("lightgbm_clf", "Boosting", {"n_estimators": 30}),
        ModelRun("random_forest_clf", "Forest", {"n_estimators": 15}),
        ModelRun("hist_gradient_boosting_clf", "Native boosting", {"max_iter": 30}),
    ]
    req = frame_request(frame, "failure", Task.BINARY, models)
    return req, trained_models(req)


@pytest.fixture(scope="module")
def houses():
    """Regression with one-hot and date parts."""
    req = request_for(
        "house_prices",
        "price",
        Task.REGRESSION,
        [ModelRun("ridge", "Ridge"), ModelRun("knn_reg", "kNN")],
    )
    return req, trained_models(req)


@pytest.fixture(scope="module")
def iris():
    req = request_for(
        "iris", "species", Task.MULTICLASS, [ModelRun("random_forest_clf", "Forest", {"n_estimators": 10})]
    )
    return req, trained_models(req)


def splits(req):
    X_valid, y_valid = req.xy(req.split.valid)
    X_train, _ = req.xy(req.split.train)
    return X_valid, y_valid, X_train


# --------------------------------------------------------------------------- the library stays light


def test_importing_core_explain_loads_neither_shap_nor_tensorflow():
    code = (
        "import sys, json, core.explain, core.explain.run, core.explain.methods, core.explain.permutation, core.charts;"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'shap', 'streamlit') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# --------------------------------------------------------------------------- grouping


def test_one_hot_contributions_sum_back_to_their_column(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["Boosting"], X_valid, X_train, max_rows=ROWS, target="failure")
    assert expl.method == "TreeSHAP (exact)" and expl.rows == ROWS
    assert "machine_type" in expl.columns and not any("__" in c for c in expl.columns)
    onehot = [i for i, cols in enumerate(expl.raw_sources) if cols == ("machine_type",)]
    assert len(onehot) > 1  # several one-hot features came from one column
    np.testing.assert_allclose(
        expl.column_values("machine_type"), expl.raw_values[:, onehot].sum(axis=1), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(expl.values.sum(axis=1), expl.raw_values.sum(axis=1), rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(expl.data, X_valid.loc[expl.data.index, expl.columns])  # original values


def test_interaction_terms_are_split_equally_between_their_columns():
    req = request_for(
        "diabetes",
        "disease_progression",
        Task.REGRESSION,
        [ModelRun("ridge", "Ridge")],
        options=FeatureOptions(interactions=True),
    )
    ridge = trained_models(req)["Ridge"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(ridge, X_valid, X_train, max_rows=10)
    pairs = [i for i, cols in enumerate(expl.raw_sources) if len(cols) == 2]
    assert pairs
    matrix = ce.grouping_matrix(expl.raw_sources, expl.columns)
    assert np.allclose(matrix[pairs].sum(axis=1), 1.0) and np.allclose(matrix[pairs].max(axis=1), 0.5)
    np.testing.assert_allclose(expl.values.sum(axis=1), expl.raw_values.sum(axis=1), rtol=1e-9)


# --------------------------------------------------------------------------- correctness per method


def test_linear_attributions_are_coefficients_times_centred_values(houses):
    req, models = houses
    ridge = models["Ridge"]
    X_valid, _, X_train = splits(req)
    background = X_train.iloc[:200]  # below the sample size: the whole background is used
    expl = ce.explain(ridge, X_valid, background, max_rows=ROWS, target="price")
    assert expl.method == "LinearSHAP" and expl.output == "price" and expl.output_name == "predicted price"
    Xt = np.asarray(transform_only(ridge.pipeline, expl.data.reindex(columns=X_valid.columns)))
    mean = np.asarray(transform_only(ridge.pipeline, background)).mean(axis=0)
    coef = ridge.pipeline.steps[-1][1].coef_
    np.testing.assert_allclose(expl.raw_values, coef * (Xt - mean), rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(expl.predictions, ridge.pipeline.predict(expl.data), rtol=1e-9)


def test_tree_additivity_in_log_odds_and_in_probability(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    boosting = models["Boosting"]
    boost = ce.explain(boosting, X_valid, X_train, max_rows=ROWS, target="failure")
    assert boost.output == "log-odds" and boost.output_name == "log-odds of failure = 1"
    margins = boosting.pipeline.steps[-1][1].predict(transform_only(boosting.pipeline, boost.data), raw_score=True)
    np.testing.assert_allclose(boost.predictions, margins, atol=1e-6)
    forest = ce.explain(models["Forest"], X_valid, X_train, max_rows=ROWS, target="failure")
    assert forest.output == "probability" and forest.output_name == "probability of failure = 1"
    np.testing.assert_allclose(
        forest.predictions, models["Forest"].pipeline.predict_proba(forest.data)[:, 1], atol=1e-6
    )


def test_a_model_splitting_on_categories_is_explained_by_permutation_and_says_why(maintenance):
    """shap's TreeSHAP misreads histogram gradient boosting's category splits: never offered for them."""
    req, models = maintenance
    native = models["Native boosting"]
    assert ce.explainer_kind(native) == "kernel" and ce.explainer_kind(models["Boosting"]) == "tree"
    X_valid, _, X_train = splits(req)
    expl = ce.explain(native, X_valid, X_train, max_rows=ROWS, target="failure")
    assert expl.method.startswith("Permutation") and "splits on categories" in expl.note
    np.testing.assert_allclose(expl.predictions, native.pipeline.predict_proba(expl.data)[:, 1], atol=1e-6)
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base_value, expl.predictions, atol=1e-6)


def test_approximate_tree_mode_is_additive_and_labelled(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["Forest"], X_valid, X_train, approximate=True, max_rows=ROWS)
    assert expl.method == "TreeSHAP (approximate)"
    np.testing.assert_allclose(expl.predictions, models["Forest"].pipeline.predict_proba(expl.data)[:, 1], atol=1e-6)


def test_keras_network_is_explained_over_the_whole_pipeline_and_is_additive():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, 46),
            "colour": rng.choice(["red", "blue", "green"], 46),
            "age": rng.integers(1, 80, 46).astype(float),
        }
    )
    frame["bought"] = np.where(frame["size"] + (frame["colour"] == "red") * 3 > 11, "yes", "no")
    params = {"epochs": 2, "batch_size": 8, "early_stopping": False}
    req = frame_request(frame, "bought", Task.BINARY, [ModelRun("keras_mlp", "Net", params)])
    net = trained_models(req)["Net"]
    assert len(req.split.train) <= 32
    X_valid, _, X_train = splits(req)
    expl = ce.explain(net, X_valid, X_train, max_rows=ROWS, target="bought")
    assert expl.method == "Permutation SHAP" and expl.columns == ["size", "colour", "age"]
    assert expl.output == "probability" and expl.output_name == "probability of bought = yes"
    np.testing.assert_allclose(expl.predictions, net.pipeline.predict_proba(expl.data)[:, 1], atol=1e-5)


@pytest.fixture(scope="module")
def scattered():
    """14% "yes" rows scattered among "no" rows; a 1-nearest-neighbour model predicts each training row's own label."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(0, 10, (400, 3)), columns=["a", "b", "c"])
    frame["y"] = np.where(rng.uniform(size=400) < 0.14, "yes", "no")
    req = frame_request(frame, "y", Task.BINARY, [ModelRun("knn_clf", "kNN", {"n_neighbors": 1})])
    return req, trained_models(req)["kNN"]


def test_the_base_value_is_the_mean_prediction_over_a_stratified_sample_of_training_rows(scattered):
    """Not k-means centres: those under-weighted the scattered "yes" rows (0.107 against a 16% rate)."""
    req, knn = scattered
    X_valid, _, X_train = splits(req)
    _, y_train = req.xy(req.split.train)
    rate = float((y_train == "yes").mean())
    expl = ce.explain(knn, X_valid, X_train, background_y=y_train, max_rows=5, target="y")
    assert expl.background_rows == 50
    assert expl.base_value == pytest.approx(round(50 * rate) / 50, abs=1e-9), "each class keeps its share"
    assert abs(expl.base_value - knn.pipeline.predict_proba(X_train)[:, 1].mean()) < 0.02
    text = ce.describe_method(expl)
    assert "the mean probability of y = yes over 50 training rows sampled at random" in text, text
    assert "average" not in text and "typical" not in text


def test_a_class_weighted_tree_says_its_base_value_is_class_weighted(scattered):
    """With class weights on (the default for imbalanced classes) the trees' counts are weighted: the base is
    about 0.5, not the 14 % share, and must not be called the mean prediction over the training rows."""
    req, _ = scattered
    frame = req.frame
    weighted = frame_request(
        frame, "y", Task.BINARY, [ModelRun("decision_tree_clf", "Tree", {"max_depth": 3})], imbalance="class_weight"
    )
    tree = trained_models(weighted)["Tree"]
    X_valid, _, X_train = splits(weighted)
    expl = ce.explain(tree, X_valid, X_train, max_rows=5, target="y")
    assert expl.base_value == pytest.approx(0.5, abs=0.05)
    assert "each class weighted equally (class weights were on)" in ce.describe_method(expl)
    assert expl.base_label == "class-weighted mean over the training rows"


def test_the_base_value_is_named_where_it_is_shown(scattered):
    from core import charts

    req, knn = scattered
    X_valid, _, X_train = splits(req)
    _, y_train = req.xy(req.split.train)
    expl = ce.explain(knn, X_valid, X_train, background_y=y_train, max_rows=3, target="y")
    assert charts.waterfall(expl, 0).data[0].y[0] == "mean over 50 sampled training rows"
    assert "a mean of " + format_number(expl.base_value) + " over 50 training rows" in ce.summarize_row(expl, 0)


def test_permutation_shap_is_exact_for_an_additive_model():
    """For a model without interactions, every column's value is slope × (value − background mean)."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(0, 2, 60), "b": rng.uniform(0, 9, 60), "c": rng.normal(5, 1, 60)})
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] + 0.5 * frame["c"] + rng.normal(0, 0.1, 60)
    req = frame_request(frame, "y", Task.REGRESSION, [ModelRun("linear_regression", "LR")])
    lr = trained_models(req)["LR"]
    X_valid, _, X_train = splits(req)
    background = X_train.iloc[:30]
    method = PermutationMethod(lr, background, np.full(30, 1 / 30), ["a", "b", "c"], seed=1)
    values = method(X_valid.iloc[:8])[..., 0]
    Xt = transform_only(lr.pipeline, X_valid.iloc[:8])
    slopes = lr.pipeline.steps[-1][1].coef_
    expected = slopes * (Xt - transform_only(lr.pipeline, background).mean(axis=0))
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-8)


def test_preprocessing_once_gives_the_same_values_as_the_whole_pipeline(houses):
    req, models = houses
    knn = models["kNN"]
    X_valid, _, X_train = splits(req)
    columns = ce.explain_row(knn, X_valid, X_train).explanation.columns
    background = X_train.iloc[:8]
    weights = np.full(8, 1 / 8)
    fast = PermutationMethod(knn, background, weights, columns, seed=5)
    slow = PermutationMethod(knn, background, weights, columns, seed=5)
    slow.fast = False
    assert fast.fast
    np.testing.assert_allclose(fast(X_valid.iloc[:4]), slow(X_valid.iloc[:4]), rtol=1e-9, atol=1e-6)


def test_multiclass_keeps_values_per_class(iris):
    req, models = iris
    forest = models["Forest"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(forest, X_valid, X_train, max_rows=ROWS, target="species")
    assert expl.per_class.shape == (expl.rows, 4, 3) and expl.classes == ["setosa", "versicolor", "virginica"]
    proba = forest.pipeline.predict_proba(expl.data)
    for index in range(3):
        view = expl.for_class(index)
        assert view.class_label == expl.classes[index] and view.output_name == f"probability of '{expl.classes[index]}'"
        np.testing.assert_allclose(view.predictions, proba[:, index], atol=1e-6)


def test_multiclass_rows_are_explained_for_their_predicted_class(iris):
    from core import charts

    req, models = iris
    forest = models["Forest"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(forest, X_valid, X_train, max_rows=ROWS, target="species")
    predicted = forest.pipeline.predict(expl.data)
    proba = forest.pipeline.predict_proba(expl.data)
    assert len(set(predicted)) > 1, "rows of several classes"
    for i in range(expl.rows):
        k = expl.classes.index(predicted[i])
        assert expl.classes[expl.predicted_index[i]] == predicted[i]
        fig = charts.waterfall(expl, i)
        assert f"probability of '{predicted[i]}'" in fig.layout.title.text
        assert fig.data[0].x[-1] == pytest.approx(proba[i, k], abs=1e-6)
        assert f"probability of '{predicted[i]}' for this row" in ce.summarize_row(expl, i)
    np.testing.assert_allclose(expl.predictions, proba.max(axis=1), atol=1e-6)


def test_multiclass_importance_defaults_to_all_classes_and_can_show_one(iris):
    from core import charts

    req, models = iris
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["Forest"], X_valid, X_train, max_rows=ROWS, target="species")
    overall = np.abs(expl.per_class).mean(axis=(0, 2))
    table = ce.importance_frame(expl)
    np.testing.assert_allclose(table["mean_abs"], np.sort(overall)[::-1])
    fig = charts.importance_bar(expl)
    assert fig.data[0].x[0] == pytest.approx(overall.max()) and "all classes" in fig.layout.xaxis.title.text
    assert "all classes" in ce.summarize_importance(expl) or "class probabilities" in ce.summarize_importance(expl)
    one = expl.for_class(2)
    np.testing.assert_allclose(
        ce.importance_frame(one)["mean_abs"], np.sort(np.abs(expl.per_class[:, :, 2]).mean(axis=0))[::-1]
    )
    assert "'virginica'" in charts.importance_bar(one).layout.title.text
    ranked = list(ce.importance_frame(expl)["column"])
    assert list(charts.beeswarm(expl).layout.yaxis.ticktext) == ranked, "the beeswarm follows the all-class order"


def test_binary_other_class_view_flips_the_sign(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["Forest"], X_valid, X_train, max_rows=5, target="failure")
    other = expl.for_class(0)
    np.testing.assert_allclose(other.values, -expl.values)
    np.testing.assert_allclose(other.predictions, models["Forest"].pipeline.predict_proba(expl.data)[:, 0], atol=1e-6)


@pytest.fixture(scope="module")
def fraud():
    """A minority class that sorts first ("fraud" < "ok"): scikit-learn's classes_[1] is the majority."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"amount": rng.gamma(2, 50, 150), "night": rng.integers(0, 2, 150).astype(float)})
    risk = 0.02 * frame["amount"] + 1.5 * frame["night"] - 3.5
    frame["label"] = np.where(rng.uniform(size=150) < 1 / (1 + np.exp(-risk)), "fraud", "ok")
    models = [
        ModelRun("logistic_regression", "LR"),
        ModelRun("hist_gradient_boosting_clf", "Boosting", {"max_iter": 10}),
        ModelRun("random_forest_clf", "Forest", {"n_estimators": 10}),
        ModelRun("knn_clf", "kNN"),
    ]
    req = frame_request(frame, "label", Task.BINARY, models)
    return req, trained_models(req)


@pytest.mark.parametrize("name", ["LR", "Boosting", "Forest", "kNN"])
def test_a_binary_explanation_is_about_the_positive_class_even_when_it_sorts_first(fraud, name):
    req, models = fraud
    model = models[name]
    assert req.positive == "fraud" and list(model.pipeline.classes_) == ["fraud", "ok"]
    X_valid, _, X_train = splits(req)
    _, y_train = req.xy(req.split.train)
    expl = ce.explain(model, X_valid, X_train, background_y=y_train, max_rows=10, target="label", positive=req.positive)
    assert expl.class_label == "fraud" and "'fraud'" in expl.output_name and "ok" not in expl.output_name
    if expl.output == "probability":  # forests and the model-agnostic method
        np.testing.assert_allclose(expl.predictions, model.pipeline.predict_proba(expl.data)[:, 0], atol=1e-6)
    else:  # log-odds of fraud = −(log-odds of ok)
        np.testing.assert_allclose(expl.predictions, -model.pipeline.decision_function(expl.data), atol=1e-6)
    row = int(np.argmax(expl.predictions))
    assert "'fraud'" in ce.summarize_row(expl, row) and "'fraud'" in ce.summarize_importance(expl)
    other = expl.for_class(1)
    assert other.output_name.endswith("'ok'")
    np.testing.assert_allclose(other.values, -expl.values)
    if expl.raw_values.ndim == 2:
        np.testing.assert_allclose(other.raw_for_class(), -expl.raw_for_class())


def test_the_person_can_choose_the_other_class(fraud):
    req, models = fraud
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["LR"], X_valid, X_train, max_rows=5, target="label", positive="ok")
    assert expl.output_name == "log-odds of 'ok'"
    np.testing.assert_allclose(expl.predictions, models["LR"].pipeline.decision_function(expl.data), atol=1e-6)
    row = ce.explain_row(models["LR"], X_valid.iloc[[0]], X_train, target="label", positive="ok").explanation
    assert row.class_label == "ok"


def test_without_a_choice_the_rule_picks_the_minority_class(fraud):
    req, models = fraud
    X_valid, _, X_train = splits(req)
    _, y_train = req.xy(req.split.train)
    assert ce.explain(models["Forest"], X_valid, X_train, background_y=y_train, max_rows=3).class_label == "fraud"


# --------------------------------------------------------------------------- budget, progress, Stop


def test_estimate_names_the_method_and_rows(maintenance, houses):
    _, models = maintenance
    req, house_models = houses
    tree = ce.estimate(models["Forest"], 500)
    assert tree.method.startswith("TreeSHAP") and tree.rows == 500 and tree.seconds_estimate > 0
    assert "not timed" in tree.note, "without rows to time, a rule of thumb says it is one"
    linear = ce.estimate(house_models["Ridge"], 1000)
    assert linear.method == "LinearSHAP" and linear.rows == 1000 and linear.rows_in_budget == 1000
    X_valid, _, X_train = splits(req)
    kernel = ce.estimate(house_models["kNN"], 1000, background_frame=X_train, rows_frame=X_valid)
    assert kernel.method == "Permutation SHAP" and kernel.seconds_per_row > 0 and "Timed" in kernel.note
    assert kernel.timed and f"Timed on {kernel.timing.main.timed_on} of this model" in kernel.note


def test_a_slow_exact_forest_defaults_to_the_approximate_mode(maintenance):
    _, models = maintenance
    assert ce.estimate(models["Forest"], 1000, budget=1e-6).approximate
    forced = ce.estimate(models["Forest"], 1000, approximate=False, budget=1e-6)
    assert forced.method == "TreeSHAP (exact)" and "fit in" in forced.note


def test_the_estimate_is_timed_on_the_model_a_slower_model_gets_a_larger_one(houses):
    """A model three times slower per prediction gets a three times larger estimate, and fewer default rows."""
    req, models = houses
    X_valid, _, X_train = splits(req)
    estimates = {}
    for cost in (1e-4, 3e-4):
        clock = FakeClock()
        slow = slowed(models["kNN"], clock, cost)
        estimates[cost] = ce.estimate(slow, 1000, background_frame=X_train, rows_frame=X_valid, clock=clock)
    fast, slower = estimates[1e-4], estimates[3e-4]
    assert slower.seconds_estimate == pytest.approx(3 * fast.seconds_estimate, rel=1e-6)
    assert slower.seconds_per_row == pytest.approx(3 * fast.seconds_per_row, rel=1e-6)
    assert slower.setup_seconds == pytest.approx(3 * fast.setup_seconds, rel=1e-6), "the background's predictions"
    for est in (fast, slower):  # the default rows: as many as fit the planned share of the budget, no more
        cost = est.timing.main
        assert cost.seconds(est.rows_in_budget) <= ce.BUDGET_SECONDS * ce.PLANNED_SHARE
        assert cost.seconds(est.rows_in_budget + 1) > ce.BUDGET_SECONDS * ce.PLANNED_SHARE
    assert slower.rows_in_budget < fast.rows_in_budget / 2
    assert "About" in slower.note and "fit in 10 s" in slower.note


def test_the_start_of_a_task_on_the_cluster_is_part_of_the_estimate(houses):
    """A run as a cluster task pays its start and its way back whatever the rows: the estimate counts them,
    keeps them for other row counts, and offers fewer rows in the budget."""
    req, models = houses
    X_valid, _, X_train = splits(req)
    clock = FakeClock()
    slow = slowed(models["kNN"], clock, 3e-4)
    bare = ce.estimate(slow, 1000, background_frame=X_train, rows_frame=X_valid, clock=clock)
    started = ce.estimate(slow, 1000, timing=bare.timing, start=2.0)
    assert started.seconds_estimate == pytest.approx(bare.seconds_estimate + 2.0)
    assert started.setup_seconds == pytest.approx(bare.setup_seconds + 2.0)
    assert started.rows_in_budget < bare.rows_in_budget
    again = ce.estimate(slow, 10, timing=started.timing)
    assert again.seconds_estimate == pytest.approx(2.0 + bare.timing.main.seconds(10)), "kept with the timing"


def test_the_estimate_is_what_the_run_then_takes(houses):
    """Set-up, then chunks: on the same (fake) clock the run takes exactly the estimated time."""
    req, models = houses
    X_valid, _, X_train = splits(req)
    clock = FakeClock()
    slow = slowed(models["kNN"], clock, 2e-4)
    est = ce.estimate(slow, ROWS, background_frame=X_train, rows_frame=X_valid, clock=clock)
    started = clock()
    expl = ce.explain(slow, X_valid, X_train, max_rows=ROWS, estimate=est, clock=clock)
    assert expl.rows == ROWS and clock() - started == pytest.approx(est.seconds_estimate, rel=1e-6)
    assert expl.seconds == pytest.approx(est.seconds_estimate, rel=1e-6)


def test_the_tree_mode_is_chosen_from_the_timed_estimate(maintenance, monkeypatch):
    """Exact TreeSHAP as long as its timed cost fits the budget, the approximate mode beyond (not a size rule)."""
    from core.explain.methods import TreeMethod

    req, models = maintenance
    X_valid, _, X_train = splits(req)
    clock = FakeClock()
    original = TreeMethod.__call__

    def timed(self, rows):
        clock.spend(len(rows) * (0.001 if self.approximate else 0.2))  # a slow exact mode: 0.2 s a row
        return original(self, rows)

    monkeypatch.setattr(TreeMethod, "__call__", timed)
    forest = models["Forest"]
    assert ce.explain(forest, X_valid, X_train, max_rows=ROWS, clock=clock).method == "TreeSHAP (exact)"  # 4 s
    assert ce.explain(forest, X_valid, X_train, max_rows=60, clock=clock).method == "TreeSHAP (approximate)"  # 12 s
    est = ce.estimate(forest, 60, background_frame=X_train, rows_frame=X_valid, clock=clock)
    assert est.approximate and "Exact TreeSHAP would take about 12 s" in est.note


def test_progress_events_carry_the_time_left_from_the_rows_done(houses):
    req, models = houses
    X_valid, _, X_train = splits(req)
    clock = FakeClock()
    slow = slowed(models["kNN"], clock, 1e-4)
    seen: list[ev.RowsExplained] = []
    expl = ce.explain(slow, X_valid, X_train, max_rows=ROWS, listener=seen.append, clock=clock)
    masked = (2 * len(expl.columns) - 2) * expl.background_rows  # masked rows × background rows, + the row itself
    per_row = (masked + 1) * 1e-4
    assert seen[0].rows == 0 and seen[0].seconds_left is None, "no estimate given: nothing known before a chunk"
    assert [e.rows for e in seen] == sorted({e.rows for e in seen}) and seen[-1].rows == ROWS
    assert len(seen) - 1 >= 4, "at least four chunks"
    for event in seen[1:]:
        assert event.rows_total == ROWS and event.model == "Explaining kNN"
        assert event.seconds_left == pytest.approx((ROWS - event.rows) * per_row, rel=1e-6)
    est = ce.estimate(slow, ROWS, background_frame=X_train, rows_frame=X_valid, clock=clock)
    first: list[ev.RowsExplained] = []
    ce.explain(slow, X_valid, X_train, max_rows=ROWS, listener=first.append, estimate=est, clock=clock)
    assert first[0].seconds_left == pytest.approx(est.seconds_estimate - est.setup_seconds, rel=1e-6)


def test_stop_gives_a_partial_result_that_says_how_many_rows(houses):
    req, models = houses
    X_valid, _, X_train = splits(req)
    seen: list[ev.RowsExplained] = []
    expl = ce.explain(
        models["kNN"],
        X_valid,
        X_train,
        max_rows=ROWS,
        listener=seen.append,
        should_stop=lambda: len(seen) >= 3,  # set up, then two chunks
    )
    assert expl.partial and 0 < expl.rows < ROWS and len(expl.data) == expl.rows == len(expl.values)
    assert [e.step for e in seen] == [0, 1, 2] and expl.rows == seen[-1].rows and expl.rows_requested == ROWS
    assert ce.cancelled_note(expl) == f"Explained {expl.rows} of {ROWS} rows; cancelled."


def test_a_cancelled_job_keeps_the_rows_already_explained(houses):
    """Cancel pressed once the first chunk is in: the job, a task on the cluster, ends with the rows done."""
    req, models = houses
    X_valid, _, X_train = splits(req)
    model = with_final(models["kNN"], pause_per_call)
    job = ce.ExplainJob(model, X_valid, X_train, max_rows=ROWS).start()
    deadline = time.monotonic() + 120
    while not any(getattr(e, "rows", 0) > 0 for e in job.snapshot().events):
        assert time.monotonic() < deadline and job.snapshot().status == "running"
        time.sleep(0.05)
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    expl = snap.results[0]
    chunks = [e for e in snap.events if isinstance(e, ev.RowsExplained) and e.rows]
    assert snap.status == "stopped" and expl.partial and chunks
    assert 0 < expl.rows == chunks[-1].rows < ROWS and expl.values.shape[0] == expl.rows
    assert ce.cancelled_note(expl) == f"Explained {expl.rows} of {ROWS} rows; cancelled."
    assert "of the 20 rows" in ce.summarize_importance(expl), "the summaries say they rest on part of the rows"


def test_time_left_in_words():
    assert ce.format_time_left(38) == "about 40 s left"
    assert ce.format_time_left(4.2) == "about 5 s left"
    assert ce.format_time_left(200) == "about 3 min left"
    assert ce.format_time_left(None) == "estimating the time left"


def test_chunks_take_about_a_second_so_cancel_answers_quickly():
    cost = ce.Cost("Permutation SHAP", setup=1.0, per_call=0.0, per_row=0.25)
    sizes = cost.chunks(1000)
    assert sum(sizes) == 1000 and set(sizes) == {4}, "4 rows of 0.25 s: one second a chunk"
    assert cost.seconds(1000) == pytest.approx(251.0)
    assert ce.Cost("TreeSHAP (exact)", 0.0, 0.0, 1e-5).chunks(1000) == [250] * 4, "at least four chunks"


def test_explain_job_runs_in_a_thread(houses):
    req, models = houses
    X_valid, _, X_train = splits(req)
    job = ce.ExplainJob(models["Ridge"], X_valid, X_train, max_rows=10).start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "finished" and isinstance(snap.results[0], ce.Explanation)
    assert any(isinstance(e, ev.StepEnded) for e in snap.events)


def test_clustering_models_are_refused_with_a_reason():
    req = request_for("iris", None, Task.CLUSTERING, [ModelRun("kmeans", "K-means")])
    model = trained_models(req)["K-means"]
    with pytest.raises(DashboardError, match="need a target"):
        ce.explain(model, req.frame[req.features], req.frame[req.features], max_rows=5)


# --------------------------------------------------------------------------- what-if, cross-checks, tokens


def test_explain_row_gives_prediction_probabilities_and_one_row(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    row = X_valid.iloc[[0]].copy()
    row["vibration_mm_s"] = 12.0
    result = ce.explain_row(models["Forest"], row, X_train, target="failure")
    assert result.prediction in (0, 1) and set(result.probabilities) == {0, 1}
    assert sum(result.probabilities.values()) == pytest.approx(1.0)
    assert result.explanation.rows == 1 and result.explanation.data["vibration_mm_s"].iloc[0] == 12.0
    assert result.explanation.predictions[0] == pytest.approx(result.probabilities[1], abs=1e-6)


def test_what_if_explains_a_row_as_the_main_explanation_does(houses):
    """Same background (size and rows), passes and seed: the same row, the same base value and contributions."""
    req, models = houses
    knn = models["kNN"]
    X_valid, _, X_train = splits(req)
    _, y_train = req.xy(req.split.train)
    expl = ce.explain(knn, X_valid, X_train, background_y=y_train, max_rows=ROWS, seed=3, target="price")
    explainer = ce.what_if_explainer(knn, X_train, background_y=y_train, seed=3, target="price")
    assert explainer.method.background_rows == expl.background_rows == 50
    for position in (0, 7):
        alone = ce.explain_row(knn, expl.data.iloc[[position]], X_train, explainer=explainer).explanation
        assert alone.base_value == pytest.approx(expl.base_value, rel=1e-12)
        np.testing.assert_allclose(alone.values[0], expl.values[position], rtol=1e-9, atol=1e-6)


def test_what_if_uses_the_tree_mode_of_the_main_explanation(maintenance):
    req, models = maintenance
    forest = models["Forest"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(forest, X_valid, X_train, max_rows=5, approximate=True, target="failure")
    assert expl.approximate
    explainer = ce.what_if_explainer(forest, X_train, approximate=expl.approximate, target="failure")
    alone = ce.explain_row(forest, expl.data.iloc[[2]], X_train, explainer=explainer).explanation
    assert alone.method == expl.method
    np.testing.assert_allclose(alone.values[0], expl.values[2], atol=1e-9)


def test_permutation_orders_follow_the_row_not_its_batch():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, np.nan, 2.0]})
    same = frame.astype({"a": float}).iloc[::-1].reset_index(drop=True)  # 3 → 3.0, another order
    assert set(row_keys(frame)) == set(row_keys(same)) and len(set(row_keys(frame))) == 3
    edited = frame.copy()
    edited.loc[0, "a"] = 9
    assert row_keys(edited)[0] != row_keys(frame)[0] and row_keys(edited)[1] == row_keys(frame)[1]


def test_edit_row_keeps_missing_values_missing_for_the_pipeline_to_impute(maintenance):
    req, models = maintenance
    forest = models["Forest"]
    X_valid, _, X_train = splits(req)
    gaps = X_valid[X_valid["vibration_mm_s"].isna()]
    assert len(gaps), "the sample has missing vibration values"
    original = gaps.iloc[[0]]
    unchanged = {c: original[c].iloc[0] for c in original.columns}
    row = ce.edit_row(original, {**unchanged, "vibration_mm_s": None, "machine_type": original["machine_type"].iloc[0]})
    assert row["vibration_mm_s"].isna().all() and row["vibration_mm_s"].dtype == float
    assert dict(row.dtypes) == dict(original.dtypes) and row.index.equals(original.index)
    answer = ce.explain_row(forest, row, X_train, target="failure")
    expected = forest.pipeline.predict_proba(original)[0, 1]
    assert answer.probabilities[1] == pytest.approx(expected, abs=1e-12)
    assert answer.explanation.data["vibration_mm_s"].isna().all()


def test_edit_row_keeps_dtypes_where_values_fit():
    row = pd.DataFrame(
        {"n": [3], "x": [1.5], "kind": pd.Series(["a"], dtype="str"), "when": pd.to_datetime(["2024-03-01"])}
    )
    edited = ce.edit_row(row, {"n": 4.0, "x": None, "kind": None, "when": None})
    assert edited["n"].dtype == row["n"].dtype and edited["n"].iloc[0] == 4
    assert edited["x"].isna().all() and edited["kind"].isna().all() and edited["when"].isna().all()
    assert edited["when"].dtype == row["when"].dtype and edited["kind"].dtype == row["kind"].dtype
    assert ce.edit_row(row, {"n": 4.5})["n"].iloc[0] == 4.5  # does not fit an integer: kept as it is


def test_the_method_is_described_in_plain_words(houses, maintenance):
    req, models = houses
    X_valid, _, X_train = splits(req)
    kernel = ce.explain(models["kNN"], X_valid, X_train, max_rows=5, target="price")
    text = ce.describe_method(kernel)
    assert text.startswith("Explained 5 rows in ") and "those of 50 training rows" in text
    assert "works for any model" in text and "predicted price" in text
    for jargon in ("SHAP", "k-means", "pass", "pipeline", "permutation"):
        assert jargon.lower() not in text.lower()
    linear = ce.explain(models["Ridge"], X_valid, X_train, max_rows=5, target="price")
    assert "model's weights" in ce.describe_method(linear) and linear.background_rows > 0
    mreq, mmodels = maintenance
    Xm, _, Xm_train = splits(mreq)
    tree = ce.explain(mmodels["Forest"], Xm, Xm_train, max_rows=1, approximate=False, target="failure")
    assert ce.describe_method(tree).startswith("Explained 1 row in ") and "every tree" in ce.describe_method(tree)


def test_permutation_importance_is_on_the_original_columns(houses):
    req, models = houses
    X_valid, y_valid, _ = splits(req)
    frame = ce.permutation_importance_frame(models["Ridge"], X_valid, y_valid, Task.REGRESSION, repeats=2)
    assert list(frame.columns) == ["column", "importance_mean", "importance_std"]
    assert set(frame["column"]) <= set(X_valid.columns) and frame.attrs["metric"] == "R²"
    assert frame["importance_mean"].is_monotonic_decreasing and "area_sqm" in set(frame["column"].head(2))


def test_top_tokens_come_from_the_text_column():
    req = request_for("spam", "label", Task.BINARY, [ModelRun("logistic_regression", "LR")])
    lr = trained_models(req)["LR"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(lr, X_valid, X_train, max_rows=ROWS, target="label")
    assert "message" in expl.columns and expl.output_name == "log-odds of 'spam'"
    tokens = ce.top_tokens(expl, "message", k=5)
    assert len(tokens) == 5 and tokens["mean"].abs().is_monotonic_decreasing, "the bars, largest push first"
    assert not tokens["token"].str.contains("__").any()
    assert ce.top_tokens(expl, "num_links").empty


def test_words_push_where_they_appear_in_the_direction_of_the_models_weights():
    """Mean SHAP over the rows that contain a word: a positive weight pushes toward the positive class.

    Averaged over all rows, a linear model's word mostly shows rows *without* it (−weight × its mean).
    """
    from core.schema import Role

    rng = np.random.default_rng(2)
    spammy, hammy, neutral = ["free", "win", "money", "prize"], ["meeting", "lunch", "report"], ["today", "please"]
    words, labels = [], []
    for _ in range(80):
        picked = list(rng.choice(spammy + hammy + neutral, size=4))
        score = sum(w in spammy for w in picked) - sum(w in hammy for w in picked) + rng.normal(0, 0.5)
        words.append(" ".join(picked))
        labels.append("spam" if score > 1 else "ham")
    frame = pd.DataFrame({"message": words, "label": labels})
    roles = {"message": Role.TEXT, "label": Role.CATEGORICAL}
    models = [ModelRun("logistic_regression", "LR")]
    req = make_training_request(frame, "label", Task.BINARY, models=models, features=["message"], roles=roles, seed=3)
    lr = trained_models(req)["LR"]
    assert req.positive == "spam" and list(lr.pipeline.classes_) == ["ham", "spam"]
    X_valid, _, X_train = splits(req)
    expl = ce.explain(lr, X_valid, X_train, max_rows=ROWS, target="label", positive="spam")
    weights = dict(
        zip([name.split("__", 1)[-1] for name, _ in lr.sources], lr.pipeline.steps[-1][1].coef_[0], strict=True)
    )
    tokens = ce.top_tokens(expl, "message", k=20)
    single = tokens[~tokens["token"].str.contains(" ")]
    assert {"free", "win", "meeting"} <= set(single["token"])
    for token, mean, rows in zip(single["token"], single["mean"], single["rows_with_token"], strict=True):
        assert rows > 0 and np.sign(mean) == np.sign(weights[token]), (token, mean, weights[token])
    texts = expl.data["message"].str.split()
    assert single.set_index("token")["rows_with_token"]["win"] == int(texts.map(lambda ws: "win" in ws).sum())


def test_words_are_found_in_the_text_when_the_model_inputs_are_not_kept():
    values = np.array([[0.5], [0.4], [-0.2], [-0.1]])
    expl = ce.Explanation(
        values=values,
        base_value=0.0,
        data=pd.DataFrame({"message": ["Free prize", "free money", "freedom", None]}),
        columns=["message"],
        output="log-odds",
        output_name="log-odds of 'spam'",
        classes=None,
        method="LinearSHAP",
        rows=4,
        seconds=0.0,
        raw_values=values,
        raw_names=["text_0__free"],
        raw_sources=[("message",)],
    )
    (row,) = ce.top_tokens(expl, "message").itertuples()
    assert row.token == "free" and row.rows_with_token == 2 and row.mean == pytest.approx(0.45)  # not "freedom"


# --------------------------------------------------------------------------- summaries


@pytest.fixture(scope="module")
def rising():
    """y rises with x until x = 5, then stays flat; z is noise."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 10, 400)
    frame = pd.DataFrame({"x": x, "z": rng.normal(0, 1, 400)})
    frame["y"] = 10 * np.minimum(x, 5) + rng.normal(0, 0.5, 400)
    req = frame_request(frame, "y", Task.REGRESSION, [ModelRun("decision_tree_reg", "Tree")])
    model = trained_models(req)["Tree"]
    X_valid, _, X_train = splits(req)
    return ce.explain(model, X_valid, X_train, target="y")


def test_summaries_name_the_direction_and_where_it_levels_off(rising):
    text = ce.summarize_dependence(rising, "x")
    assert text.startswith("Higher `x` pushes the predicted y up")
    assert "levels off" in text
    level = float(text.split("above ≈ ")[1].split(" ")[0].rstrip(";"))
    assert 4 <= level <= 6.5
    assert ce.summarize_importance(rising).startswith("The predicted y depends most on `x`")
    assert "almost no effect" in ce.summarize_dependence(rising, "z")


def test_row_summary_names_the_biggest_pushes(rising):
    top = int(np.argmax(rising.column_values("x")))
    text = ce.summarize_row(rising, top)
    value = ce.format_value(rising.data["x"].iloc[top])
    assert f"The biggest push up comes from `x` = {value} (+" in text
    assert "predicted y for this row is" in text


def test_categorical_summary_names_the_strongest_category(maintenance):
    req, models = maintenance
    X_valid, _, X_train = splits(req)
    expl = ce.explain(models["Boosting"], X_valid, X_train, max_rows=ROWS, target="failure")
    text = ce.summarize_dependence(expl, "machine_type")
    assert "`machine_type` = " in text and ("up most" in text or "down most" in text or "no effect" in text)


def test_summaries_show_text_values_and_class_names_literally(rising):
    import dataclasses

    from core.markdown import escape

    data = pd.DataFrame({"msg": ["visit www.evil.example **now**"] * 3, "n": [1.0, 2.0, 3.0]})
    expl = dataclasses.replace(
        rising,
        values=np.array([[0.4, -0.2], [0.4, -0.2], [0.4, -0.2]]),
        data=data,
        columns=["msg", "n"],
        rows=3,
        output_name="[spam](http://x) probability",
    )
    text = ce.summarize_row(expl, 0)
    assert "`visit www.evil.example **now**`" in text, text
    assert escape("[spam](http://x) probability") in text
    assert "`n` = 1 (" in text  # numbers stay plain


def test_a_pause_of_the_machine_during_the_probe_does_not_bend_the_estimate():
    """One call slowed by something else (another process, a pause) is timed again; the shorter time counts."""
    from core.explain.timing import probe

    clock, calls = FakeClock(), []

    def explain_rows(rows):
        calls.append(len(rows))
        clock.spend(0.02 + 0.01 * len(rows) + (1.0 if calls.count(len(rows)) == 1 and len(rows) == 8 else 0.0))

    cost = probe(explain_rows, pd.DataFrame({"x": range(100)}), method="m", setup=0.5, clock=clock)
    assert calls.count(8) == 2, "the paused call is timed again"
    assert cost.per_row == pytest.approx(0.01) and cost.per_call == pytest.approx(0.02) and cost.setup == 0.5
