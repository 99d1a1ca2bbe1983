"""core.evaluation and core.results: metrics and diagnostics against hand-computed cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core import evaluation as ev
from core import metrics, results
from core.cleaning import CleaningPlan
from core.errors import DashboardError
from core.split import Split, SplitConfig
from core.target import Task
from core.training import ModelFailure, TrainedModel, TrainingRequest

# A 2×2 case: tp=3, fn=1, fp=2, tn=4.
Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
Y_PRED = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])


# --------------------------------------------------------------------------- metrics


def test_every_task_metric_has_a_meaning_and_lower_is_better_is_marked():
    for keys in metrics.TASK_METRICS.values():
        for key in keys:
            assert metrics.METRICS[key].meaning.endswith(".")
    for key in ("davies_bouldin", "mape", "mae", "rmse", "log_loss"):
        assert not metrics.METRICS[key].higher_is_better
    assert metrics.METRICS["calinski_harabasz"].higher_is_better


def test_classification_scores_match_a_hand_computed_two_by_two():
    scores = ev.classification_scores(Y, Y_PRED, None, [0, 1])
    # class 1: precision 3/5, recall 3/4; class 0: precision 4/5, recall 4/6
    assert scores["precision_macro"] == pytest.approx((0.6 + 0.8) / 2)
    assert scores["recall_macro"] == pytest.approx((0.75 + 4 / 6) / 2)
    assert scores["precision_weighted"] == pytest.approx(0.8 * 0.6 + 0.6 * 0.4)
    assert scores["recall_weighted"] == pytest.approx(scores["accuracy"]) == pytest.approx(0.7)
    f1_pos, f1_neg = 2 * 0.6 * 0.75 / 1.35, 2 * 0.8 * (4 / 6) / (0.8 + 4 / 6)
    assert scores["f1_weighted"] == pytest.approx(0.4 * f1_pos + 0.6 * f1_neg)
    assert scores["f1_macro"] == pytest.approx((f1_pos + f1_neg) / 2)


def test_classification_report_has_per_class_and_average_rows():
    table = ev.classification_report_frame(Y, Y_PRED, [0, 1])
    assert list(table["class"]) == ["0", "1", "macro avg", "weighted avg"]
    assert list(table.columns) == ["class", "precision", "recall", "f1", "support"]
    assert table.loc[1, ["precision", "recall"]].tolist() == pytest.approx([0.6, 0.75])
    assert list(table["support"]) == [6, 4, 10, 10]
    assert table.loc[2, "precision"] == pytest.approx(0.7)
    assert table.loc[3, "recall"] == pytest.approx(0.7)


# Class "c" has two rows and is never predicted: its precision is undefined (0/0).
Y3 = np.array(["a", "a", "b", "b", "c", "c"])
Y3_PRED = np.array(["a", "a", "a", "b", "b", "b"])


def test_precision_of_a_class_never_predicted_is_undefined_not_zero():
    table = ev.classification_report_frame(Y3, Y3_PRED, ["a", "b", "c"])
    # a: 2 of 3 calls right; b: 1 of 3; c: never called
    assert table.loc[0, "precision"] == pytest.approx(2 / 3) and table.loc[1, "precision"] == pytest.approx(1 / 3)
    assert np.isnan(table.loc[2, "precision"])
    assert table.loc[2, "recall"] == 0.0 and table.loc[2, "f1"] == 0.0  # these stay defined
    assert table["precision"].dtype == float  # numeric (sortable), NaN for the undefined cell
    assert np.isnan(table.loc[3, "precision"]) and np.isnan(table.loc[4, "precision"])  # averages undefined too
    assert table.loc[3, "recall"] == pytest.approx(0.5)
    scores = ev.classification_scores(Y3, Y3_PRED, None, ["a", "b", "c"])
    assert np.isnan(scores["precision_macro"]) and np.isnan(scores["precision_weighted"])
    assert scores["recall_macro"] == pytest.approx(0.5) and scores["accuracy"] == pytest.approx(0.5)


def test_precision_average_leaves_out_only_classes_without_rows_or_calls():
    precision = np.array([0.5, 1.0, np.nan])
    assert ev.precision_average(precision, np.array([2, 2, 0])) == pytest.approx(0.75)
    assert ev.precision_average(precision, np.array([1, 3, 0]), weighted=True) == pytest.approx(0.875)
    assert np.isnan(ev.precision_average(precision, np.array([2, 2, 1])))


def test_confusion_frame_counts_and_row_shares():
    counts = ev.confusion_frame(Y, Y_PRED, [0, 1])
    assert counts.to_numpy().tolist() == [[4, 2], [1, 3]]
    assert counts.index.name == "actual" and counts.columns.name == "predicted"
    shares = ev.confusion_frame(Y, Y_PRED, [0, 1, 2], normalize=True)
    assert shares.to_numpy()[:2, :2] == pytest.approx(np.array([[4 / 6, 2 / 6], [0.25, 0.75]]))
    assert shares.loc["2"].tolist() == [0, 0, 0]  # a class with no rows: zeros, not NaN


def test_mape_skips_zero_targets_and_says_how_many():
    value, note = ev.mape(np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 5.0]))
    assert value == pytest.approx((0.5 + 0.25) / 2)
    assert "1 row" in note
    scores = ev.regression_scores(np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 5.0]))
    assert scores["mape"] == pytest.approx(0.375) and scores["mape_skipped_rows"] == 1
    value, note = ev.mape(np.zeros(3), np.ones(3))
    assert np.isnan(value) and "every true value is 0" in note
    assert ev.mape(np.array([1.0, 2.0]), np.array([1.0, 3.0])) == (pytest.approx(0.25), None)
    assert "mape_skipped_rows" not in ev.regression_scores(np.array([1.0, 2.0]), np.array([1.0, 3.0]))


def test_clustering_scores_add_calinski_harabasz_davies_bouldin_and_sizes():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2)), [[50.0, 50.0]]])
    labels = np.array([0] * 20 + [1] * 20 + [-1])
    scores = ev.clustering_scores(X, labels)
    assert scores["silhouette"] > 0.9 and scores["calinski_harabasz"] > 1000 and scores["davies_bouldin"] < 0.1
    assert scores["clusters"] == 2 and scores["noise_share"] == pytest.approx(1 / 41)
    assert ev.clustering_scores(sparse.csr_matrix(X), labels)["davies_bouldin"] == pytest.approx(
        scores["davies_bouldin"]
    )
    sizes = ev.cluster_sizes(labels)
    assert sizes["cluster"].tolist() == ["0", "1", "noise"] and sizes["rows"].tolist() == [20, 20, 1]
    assert sizes["share"].sum() == pytest.approx(1)


def test_overfitting_check_speaks_only_for_a_large_gap():
    words = ev.overfitting_check({"roc_auc": 0.99}, {"roc_auc": 0.81}, Task.BINARY)
    assert "0.99" in words and "0.81" in words and "simpler model" in words
    assert ev.overfitting_check({"roc_auc": 0.85}, {"roc_auc": 0.70}, Task.BINARY) is None  # training ≤ 0.9
    assert ev.overfitting_check({"f1_macro": 0.95}, {"f1_macro": 0.93}, Task.MULTICLASS) is None
    assert ev.overfitting_check({"r2": 0.95}, {"r2": 0.7}, Task.REGRESSION) is not None
    assert ev.overfitting_check({"r2": 0.75}, {"r2": 0.7}, Task.REGRESSION) is None
    assert ev.overfitting_check({"r2": 0.9}, {}, Task.REGRESSION) is None
    assert ev.overfitting_check({"silhouette": 0.9}, {"silhouette": 0.1}, Task.CLUSTERING) is None


# --------------------------------------------------------------------------- curves


def test_roc_auc_of_a_perfect_and_a_random_ranking():
    y = np.array(["no", "yes", "no", "yes"])
    perfect = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9]])
    curves = results.roc_curves(y, perfect, ["no", "yes"])
    assert list(curves) == ["yes"] and curves["yes"][2] == pytest.approx(1.0)
    # positives at 0.9 and 0.1, negatives at 0.8 and 0.2: half the pairs ordered right
    random = np.array([[0.1, 0.9], [0.2, 0.8], [0.8, 0.2], [0.9, 0.1]])
    fpr, tpr, auc = results.roc_curves(np.array(["yes", "no", "no", "yes"]), random, ["no", "yes"])["yes"]
    assert auc == pytest.approx(0.5)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert results.pr_curves(y, perfect, ["no", "yes"])["yes"][2] == pytest.approx(1.0)


def test_binary_curves_and_calibration_follow_the_positive_class_even_when_it_sorts_first():
    y = np.array(["fraud", "ok", "ok", "ok", "fraud", "ok"])
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6], [0.1, 0.9]])  # columns: fraud, ok
    roc = results.roc_curves(y, proba, ["fraud", "ok"], positive="fraud")
    assert list(roc) == ["fraud"]
    *_, auc = roc["fraud"]
    assert auc == pytest.approx(7 / 8)  # fraud rows at 0.9 and 0.4 against ok rows at 0.3, 0.2, 0.6, 0.1
    recall, precision, _ = results.pr_curves(y, proba, ["fraud", "ok"], positive="fraud")["fraud"]
    assert precision[recall == 0.5].max() == 1.0, "the top-ranked fraud row is a fraud"
    table = results.calibration_table(y, proba, ["fraud", "ok"], bins=2, positive="fraud")
    assert table["predicted"].tolist() == pytest.approx([(0.3 + 0.2 + 0.4 + 0.1) / 4, (0.9 + 0.6) / 2])
    assert table["observed"].tolist() == pytest.approx([1 / 4, 1 / 2])
    assert list(results.roc_curves(y, proba, ["fraud", "ok"])) == ["fraud"], "no choice: the minority class"


def test_predictions_name_the_requests_positive_class():
    request, trained = _request_and_model()
    assert results.predictions(trained, request).positive == "yes"  # the rule: yes-like
    request.positive = "no"
    pred = results.predictions(trained, request)
    assert pred.positive == "no" and results.positive_column(pred) == 0


def test_multiclass_curves_are_one_vs_rest_for_classes_present():
    y = np.array(["a", "b", "c", "a"])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    assert set(results.roc_curves(y, proba, ["a", "b", "c"])) == {"a", "b", "c"}
    recall, _precision, ap = results.pr_curves(y, proba, ["a", "b", "c"])["a"]
    assert ap == pytest.approx(1.0) and recall[0] == 1
    four = np.column_stack([proba, np.zeros(4)])
    assert "d" not in results.roc_curves(y, four, ["a", "b", "c", "d"])  # no rows of class d


def test_threshold_metrics_move_counts_as_computed_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.95, 0.7, 0.3, 0.8, 0.6, 0.1])
    low = results.threshold_metrics(y, p, 1, 0.5)
    assert (low["tn"], low["fp"], low["fn"], low["tp"]) == (1, 2, 1, 2)
    assert low["precision"] == pytest.approx(0.5) and low["recall"] == pytest.approx(2 / 3)
    assert low["f1"] == pytest.approx(4 / 7) and low["balanced_accuracy"] == pytest.approx(0.5)
    high = results.threshold_metrics(y, p, 1, 0.9)
    assert (high["tn"], high["fp"], high["fn"], high["tp"]) == (3, 0, 2, 1)
    assert high["accuracy"] == pytest.approx(4 / 6) and high["precision"] == 1.0
    assert high["balanced_accuracy"] == pytest.approx((1 / 3 + 1) / 2)
    none = results.threshold_metrics(y, p, 1, 1.0)
    assert none["tp"] == 0 and none["f1"] == 0.0
    assert np.isnan(none["precision"]), "nothing called positive: precision is undefined, not 0"


def test_calibration_bins_on_a_tiny_case():
    y = np.array([0, 1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    table = results.calibration_table(y, proba, [0, 1], bins=2)
    assert table["rows"].tolist() == [2, 2]
    assert table["predicted"].tolist() == pytest.approx([0.15, 0.85])
    assert table["observed"].tolist() == pytest.approx([0.5, 1.0])
    assert table[["bin_low", "bin_high"]].to_numpy().tolist() == [[0, 0.5], [0.5, 1]]
    # multiclass: confidence (top probability) vs whether the top class was right
    multi = np.array([[0.65, 0.2, 0.15], [0.75, 0.2, 0.05], [0.05, 0.05, 0.9]])
    conf = results.calibration_table(np.array(["a", "b", "c"]), multi, ["a", "b", "c"], bins=10)
    assert conf["bin_low"].tolist() == pytest.approx([0.6, 0.7, 0.9])
    assert conf["observed"].tolist() == [1.0, 0.0, 1.0]


def test_residuals_and_keras_history_tables():
    frame = results.residuals_frame(np.array([3.0, 5.0]), np.array([2.5, 6.0]))
    assert frame["residual"].tolist() == [0.5, -1.0] and list(frame.columns) == ["actual", "predicted", "residual"]
    assert len(results.residuals_frame(np.arange(100.0), np.arange(100.0), limit=10)) == 10
    history = results.keras_learning_curve({"loss": [1.0, 0.5, 0.4], "val_loss": [1.2, 0.7, 0.8]})
    assert history["epoch"].tolist() == [1, 2, 3] and history["val_loss"].tolist() == [1.2, 0.7, 0.8]


# --------------------------------------------------------------------------- learning curve


def _classification_rows(n: int = 60, offset: int = 1000) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)}, index=range(offset, offset + n))
    y = pd.Series(np.where(X["a"] + 0.3 * rng.normal(size=n) > 0, "yes", "no"), index=X.index)
    return X, y


def test_learning_curve_returns_the_requested_sizes_from_the_rows_given():
    X, y = _classification_rows()
    seen: set[int] = set()

    def record(frame: pd.DataFrame) -> pd.DataFrame:
        seen.update(frame.index)
        return frame

    def make():
        return Pipeline([("record", FunctionTransformer(record)), ("model", LogisticRegression())])

    table = results.learning_curve_table(make, X, y, Task.BINARY, sizes=(0.5, 1.0), folds=3)
    assert table["rows"].tolist() == [20, 40]  # shares of a fold's 40 fitting rows
    assert list(table.columns) == ["rows", "train_mean", "train_std", "valid_mean", "valid_std"]
    assert seen and seen <= set(X.index)
    assert 0.5 < table["valid_mean"].iloc[-1] <= 1  # ROC-AUC, the binary primary metric


def test_learning_curve_for_regression_and_refusal_for_clustering():
    X, _ = _classification_rows(45)
    y = 2 * X["a"] + X["b"]
    table = results.learning_curve_table(
        lambda: Pipeline([("scale", StandardScaler()), ("model", LinearRegression())]), X, y, Task.REGRESSION
    )
    assert len(table) == 5 and table["valid_mean"].iloc[-1] == pytest.approx(1.0)
    with pytest.raises(DashboardError):
        results.learning_curve_table(lambda: None, X, None, Task.CLUSTERING)


# --------------------------------------------------------------------------- clusters


def test_pca_projection_dense_and_sparse_with_a_row_limit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    labels = np.array([0, 1, -1] * 100)
    frame = results.pca_projection(X, labels, seed=0, limit=100)
    assert len(frame) == 100 and list(frame.columns) == ["pc1", "pc2", "cluster"]
    assert set(frame["cluster"]) <= {"0", "1", "noise"}
    assert len(frame.attrs["explained_variance"]) == 2
    sparse_frame = results.pca_projection(
        sparse.random(50, 20, density=0.2, random_state=0, format="csr"), np.zeros(50)
    )
    assert len(sparse_frame) == 50 and np.isfinite(sparse_frame[["pc1", "pc2"]].to_numpy()).all()
    one = results.pca_projection(np.arange(6.0).reshape(-1, 1), np.zeros(6))
    assert (one["pc2"] == 0).all()


def test_cluster_profiles_standardise_means_and_share_top_categories():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0, 11.0, 12.0], "colour": ["r", "r", "b", "g", "g", "g"]})
    table = results.cluster_profiles(X, np.array([0, 0, 0, 1, 1, 1]))
    numeric = table[table["kind"] == "numeric"].set_index("cluster")["value"]
    expected = (2.0 - X["x"].mean()) / X["x"].std(ddof=0)
    assert numeric["0"] == pytest.approx(expected) and numeric["1"] == pytest.approx(-expected)
    shares = table[table["kind"] == "categorical"].set_index("cluster")
    assert shares.loc["0", "value"] == pytest.approx(2 / 3) and "r" in shares.loc["0", "detail"]
    assert shares.loc["1", "value"] == 1.0
    with pytest.raises(DashboardError):
        results.cluster_profiles(X, np.array([0, 1]))


# --------------------------------------------------------------------------- models and the test split


def _request_and_model() -> tuple[TrainingRequest, TrainedModel]:
    X, y = _classification_rows(60, offset=0)
    frame = X.assign(target=y)
    frame.loc[50:, "target"] = np.where(frame.loc[50:, "target"] == "yes", "no", "yes")  # test rows: labels flipped
    split = Split(np.arange(0, 40), np.arange(40, 50), np.arange(50, 60), SplitConfig())
    request = TrainingRequest(frame, "target", Task.BINARY, ["a", "b"], {}, CleaningPlan(), split, [])
    pipeline = Pipeline([("model", LogisticRegression())]).fit(*request.xy(split.train))
    scores = ev.score(pipeline, *request.xy(split.valid), Task.BINARY)
    return request, TrainedModel("LR", "logistic_regression", {}, pipeline, Task.BINARY, scores, scores, 0.2)


def test_test_scores_use_the_test_rows_only():
    request, trained = _request_and_model()
    test = results.test_scores(trained, request)
    assert test == ev.score(trained.pipeline, *request.xy(request.split.test), Task.BINARY)
    assert test["accuracy"] < 0.5 < trained.scores["accuracy"]  # flipped labels live only in the test rows
    request.split = Split(request.split.train, request.split.valid, np.array([], dtype=int), SplitConfig())
    with pytest.raises(DashboardError, match="test"):
        results.test_scores(trained, request)


def test_predictions_of_the_validation_rows():
    request, trained = _request_and_model()
    pred = results.predictions(trained, request)
    assert len(pred.y) == 10 and pred.proba.shape == (10, 2) and pred.classes == ["no", "yes"]
    assert ev.classification_scores(pred.y, pred.y_pred, pred.proba, pred.classes) == trained.scores


def test_compare_table_leaves_out_failures_and_marks_the_baseline():
    _, trained = _request_and_model()
    baseline = TrainedModel("Baseline", "baseline", {}, None, Task.BINARY, {"roc_auc": 0.5}, {}, 0.01)
    failed = ModelFailure("SVM", "svm", "boom")
    table = results.compare_table([baseline, trained, failed], Task.BINARY)
    assert table["model"].tolist() == ["Baseline", "LR"]
    assert table["baseline"].tolist() == [True, False]
    assert table.loc[1, "score"] == trained.scores["roc_auc"] and table.loc[1, "seconds"] == 0.2


@pytest.mark.parametrize("seed", range(12))
def test_classification_scores_equal_scikit_learns_functions(seed):
    """The one-confusion-matrix implementation gives scikit-learn's numbers, odd cases included."""
    import sklearn.metrics as skm

    rng = np.random.default_rng(seed)
    k = [2, 3, 5][seed % 3]
    classes = [f"c{i}" for i in range(k)] if seed % 2 else list(range(10, 10 + k))
    n = int(rng.integers(5, 300))
    y = np.asarray(classes, dtype=object)[rng.integers(0, k, n)]
    y_pred = np.asarray(classes, dtype=object)[
        rng.integers(0, k - (seed % 4 == 0), n)
    ]  # sometimes a class never called
    if seed % 5 == 0:
        y[y == classes[-1]] = classes[0]  # a class with no rows
    if seed % 2 == 0:
        y, y_pred = y.astype(int), y_pred.astype(int)
    proba = rng.dirichlet(np.ones(k), n)
    got = ev.classification_scores(y, y_pred, proba, classes)
    want = {
        "accuracy": skm.accuracy_score(y, y_pred),
        "f1_macro": skm.f1_score(y, y_pred, average="macro", zero_division=0),
        "f1_weighted": skm.f1_score(y, y_pred, average="weighted", zero_division=0),
        "recall_macro": skm.recall_score(y, y_pred, average="macro", zero_division=0),
        "recall_weighted": skm.recall_score(y, y_pred, average="weighted", zero_division=0),
    }
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want["balanced_accuracy"] = skm.balanced_accuracy_score(y, y_pred)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    per_class, _, _, support = skm.precision_recall_fscore_support(y, y_pred, average=None, zero_division=np.nan)
    assert got["precision_macro"] == pytest.approx(ev.precision_average(per_class, support), nan_ok=True)
    if len(np.unique(y)) == k:
        positive = y == classes[1]
        auc = (
            skm.roc_auc_score(positive, proba[:, 1])
            if k == 2
            else skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        )
        assert got["roc_auc"] == pytest.approx(auc, abs=1e-12)
        assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=classes), abs=1e-12)


def test_metric_label_reads_like_the_app():
    assert metrics.metric_label("r2") == "R²" and metrics.metric_label("f1_macro") == metrics.METRICS["f1_macro"].label
    assert metrics.metric_label("mape_skipped_rows") == "mape skipped rows"


# --------------------------------------------------------------------------- why a metric is undefined


FIVE = ["a", "b", "c", "d", "e"]


def _five_class_rows_holding_two():
    """Validation rows of a five-class model that hold only 'a' and 'b'; 'b' is never predicted."""
    y = np.array(["a", "b", "a", "b", "a", "b"])
    y_pred = np.array(["a", "a", "a", "c", "a", "a"])
    proba = np.full((6, 5), 0.2)
    return y, y_pred, proba


def test_every_undefined_metric_of_a_five_class_model_scored_on_two_classes_has_a_reason():
    y, y_pred, proba = _five_class_rows_holding_two()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ev.classification_scores(y, y_pred, proba, FIVE)
    undefined = {k for k in metrics.TASK_METRICS[Task.MULTICLASS] if not np.isfinite(scores.get(k, np.nan))}
    assert undefined == {"roc_auc", "precision_macro", "precision_weighted"}
    reasons = ev.undefined_reasons(scores, Task.MULTICLASS, y, y_pred, proba, FIVE)
    assert set(reasons) == undefined
    assert reasons["roc_auc"].startswith("These rows hold 2 of the 5 classes the model knows ('c', 'd', 'e' have none)")
    assert "The model never predicted 'b'" in reasons["precision_macro"]
    assert reasons["precision_weighted"] == reasons["precision_macro"]


@pytest.mark.parametrize(
    ("key", "y", "y_pred", "proba", "classes", "expected"),
    [
        ("roc_auc", ["a", "a"], ["a", "b"], [[0.6, 0.4], [0.3, 0.7]], ["a", "b"], "These rows hold only one class ('a')"),
        ("log_loss", ["a", "a"], ["a", "b"], [[0.6, 0.4], [0.3, 0.7]], ["a", "b"], "These rows hold only one class ('a')"),
        ("roc_auc", ["a", "b"], ["a", "b"], None, ["a", "b"], "This model gives no probabilities"),
        ("roc_auc", ["a", "x"], ["a", "b"], [[0.6, 0.4], [0.3, 0.7]], ["a", "b"], "These rows hold classes the model never saw in training ('x')"),
        ("precision_macro", ["a", "b"], ["a", "a"], None, ["a", "b"], "The model never predicted 'b' (1 row here)"),
        ("roc_auc", ["a", "b"], ["a", "b"], [[0.6, 0.4], [0.3, 0.7]], ["a", "b"], None),
        ("precision_macro", ["a", "b"], ["a", "b"], None, ["a", "b"], None),
    ],
)  # fmt: skip
def test_undefined_reason_for_classification(key, y, y_pred, proba, classes, expected):
    proba = None if proba is None else np.array(proba)
    reason = ev.undefined_reason(key, np.array(y), np.array(y_pred), proba, classes)
    assert reason is None if expected is None else reason.startswith(expected), reason


def test_undefined_reason_for_regression_and_clustering():
    assert ev.undefined_reason("r2", np.array([3.0]), np.array([2.0])).startswith("R² needs at least two rows")
    assert ev.undefined_reason("r2", np.array([3.0, 1.0]), np.array([2.0, 1.0])) is None
    mape_reason = ev.undefined_reason("mape", np.zeros(3), np.ones(3))
    assert mape_reason == ev.mape(np.zeros(3), np.ones(3))[1]
    assert ev.undefined_reason("silhouette", None, np.array([0, 0, 0, -1])).startswith("Only one cluster was found")
    assert ev.undefined_reason("davies_bouldin", None, np.array([0, 1, 2])).startswith("Every cluster holds one row")
    assert ev.undefined_reason("silhouette", None, np.array([0, 0, 1, 1])) is None


def test_undefined_reasons_of_nan_regression_scores_match_and_defined_ones_are_left_out():
    y, y_pred = np.zeros(4), np.array([1.0, 0.0, 2.0, 0.5])
    scores = ev.regression_scores(y, y_pred)
    assert ev.undefined_reasons(scores, Task.REGRESSION, y, y_pred) == {
        "mape": "MAPE is not defined here: every true value is 0, so no percentage error can be computed."
    }


def test_metric_reasons_of_a_trained_model_predict_only_when_something_is_undefined():
    request, trained = _request_and_model()
    assert results.metric_reasons(trained, request, trained.scores) == {}
    request.frame.loc[40:49, "target"] = "yes"  # now the validation rows hold one class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rescored = ev.score(trained.pipeline, *request.xy(request.split.valid), Task.BINARY)
    assert "roc_auc" not in rescored
    reasons = results.metric_reasons(trained, request, rescored)
    assert set(reasons) == {"roc_auc", "pr_auc", "log_loss"}
    assert reasons["roc_auc"].startswith("These rows hold only one class ('yes')")


def test_undefined_reason_agrees_with_the_scores_on_random_labels():
    """A reason exactly when the scoring functions leave a metric out or NaN (one set of rules)."""
    for seed in range(120):
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 5))
        classes = list("abcd"[:k])
        pool = classes + (["x"] if rng.random() < 0.3 else [])  # sometimes a class the model never saw
        y = rng.choice(pool[: int(rng.integers(1, len(pool) + 1))], int(rng.integers(1, 8)))
        y_pred = rng.choice(classes, len(y))
        proba = None if rng.random() < 0.2 else rng.dirichlet(np.ones(k), len(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = ev.classification_scores(y, y_pred, proba, classes)
        for key in metrics.TASK_METRICS[Task.BINARY if k == 2 else Task.MULTICLASS]:
            undefined = not np.isfinite(scores.get(key, np.nan))
            reason = ev.undefined_reason(key, y, y_pred, proba, classes)
            assert undefined == (reason is not None), (seed, key, list(y), list(y_pred), reason)


def test_leaderboard_reasons_group_models_by_metric_and_reason():
    request, trained = _request_and_model()
    other = TrainedModel("Other", "logistic_regression", {}, trained.pipeline, Task.BINARY, {}, {}, 0.1)
    assert results.leaderboard_reasons([trained, ModelFailure("SVM", "svm", "boom")], request) == []
    request.frame.loc[40:49, "target"] = "yes"  # the validation rows hold one class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rescored = ev.score(trained.pipeline, *request.xy(request.split.valid), Task.BINARY)
    one = TrainedModel("LR", "logistic_regression", {}, trained.pipeline, Task.BINARY, rescored, rescored, 0.2)
    two = TrainedModel("LR 2", "logistic_regression", {}, other.pipeline, Task.BINARY, rescored, rescored, 0.2)
    lines = results.leaderboard_reasons([one, two], request)
    assert lines == [
        "ROC-AUC (every model): These rows hold only one class ('yes'): ROC-AUC needs rows of at least two classes "
        "to tell apart.",
        "PR-AUC (every model): These rows hold only one class ('yes'): PR-AUC needs rows of at least two classes "
        "to tell apart.",
        "Log loss (every model): These rows hold only one class ('yes'): Log loss needs rows of at least two "
        "classes to tell apart.",
    ]


def test_pr_auc_is_about_the_positive_class_and_ranking_follows_imbalance():
    rng = np.random.default_rng(7)
    y = np.where(rng.random(200) < 0.15, "fraud", "ok")  # 'fraud' sorts first: classes_[0]
    p_fraud = np.clip((y == "fraud") * 0.5 + rng.random(200) * 0.6, 0, 1)
    proba = np.column_stack([p_fraud, 1 - p_fraud])
    y_pred = np.where(p_fraud > 0.5, "fraud", "ok")
    scores = ev.classification_scores(y, y_pred, proba, ["fraud", "ok"], positive="fraud")
    assert scores["pr_auc"] == pytest.approx(skm.average_precision_score(y == "fraud", p_fraud))
    default = ev.classification_scores(y, y_pred, proba, ["fraud", "ok"])
    assert default["pr_auc"] == pytest.approx(skm.average_precision_score(y == "ok", 1 - p_fraud))
    key, reason = metrics.default_ranking(Task.BINARY, pd.Series(y))
    assert key == "balanced_accuracy" and "'fraud'" in reason and "balanced accuracy" in reason
    assert metrics.default_ranking(Task.BINARY, pd.Series(["a", "b"] * 50))[0] == "roc_auc"
    assert metrics.default_ranking(Task.REGRESSION, pd.Series(np.arange(10.0)))[0] == "r2"


def test_several_balanced_classes_rank_by_macro_f1_and_imbalanced_ones_by_balanced_accuracy():
    key, reason = metrics.default_ranking(Task.MULTICLASS, pd.Series(["a", "b", "c"] * 40))
    assert key == "f1_macro" and "every class the same" in reason
    assert metrics.primary_metric(Task.MULTICLASS).key == "f1_macro"  # what an unchosen metric means everywhere
    assert metrics.RANKING_CHOICES[Task.MULTICLASS][0] == "f1_macro"  # the Models page lists the default first
    skewed = pd.Series(["a"] * 100 + ["b"] * 40 + ["c"] * 5)
    assert metrics.default_ranking(Task.MULTICLASS, skewed)[0] == "balanced_accuracy"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("mae", 12964.3, "12,964"),  # on a projector: not 1.296e+04
        ("rmse", 35.2749, "35.27"),
        ("rmse", 1.28, "1.280"),  # beside an MAE of 0.9165: the same precision, not 1.28
        ("mae", 0.12341, "0.1234"),
        ("calinski_harabasz", 1523.9, "1,524"),
        ("r2", 0.93771, "0.9377"),
        ("accuracy", 1.0, "1.0000"),
        ("mape", 0.125, "12.5%"),
        ("noise_share", 0.0, "0.0%"),
        ("clusters", 3.0, "3"),
        ("roc_auc", float("nan"), "—"),
        ("f1_macro", None, "—"),
        ("cv_r2_mean", 0.5, "0.5000"),  # not a catalogue key: read as a score
        ("", 41234.5, "41,234"),  # a table's number
        ("r2", -0.00001, "0.0000"),  # a baseline's R² on a slide read -0.0000
        ("r2", -0.1234, "-0.1234"),
        ("mae", 0.0000123, "0.0000123"),  # never 1.230e-05
        ("mae", 0.0, "0.000"),
    ],
)
def test_a_score_reads_the_same_everywhere(key, value, shown):
    assert metrics.format_score(key, value) == shown
