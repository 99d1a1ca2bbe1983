"""Anomaly detection: scores ranked as scikit-learn ranks them, the threshold and its count, the most unusual
rows, SHAP of the score, the check against a known column, and the plan learned on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

from core import anomaly, anomaly_results
from core import explain as ce
from core.errors import DashboardError
from core.export import export_bundle, load_bundle
from core.model_card import card_markdown
from core.predict import check_batch, predict_frame, usable_from_training
from core.presentation import build_slides
from core.registry import recommended, specs_for
from core.report import run_report
from core.samples import load_sample
from core.schema import effective_roles, infer_roles
from core.target import KNOWN_ANSWER_REASON, Task, allowed_tasks, default_features
from core.training import ModelRun, best_model, leaderboard, run_training, transform_only
from core.training.choose import choose
from tests.conftest import make_training_request

DETECTORS = {
    "isolation_forest": {"n_estimators": 50},
    "local_outlier_factor": {},
    "one_class_svm": {},
}
NAMES = {"isolation_forest": "Isolation forest", "local_outlier_factor": "LOF", "one_class_svm": "One-class SVM"}


@pytest.fixture(scope="module")
def maintenance():
    """The maintenance sample with the features the Target page ticks for anomaly detection."""
    frame = load_sample("predictive_maintenance").frame
    roles = effective_roles(infer_roles(frame), {})
    ticked = default_features(list(frame.columns), roles, None, task=Task.ANOMALY)
    features = [c for c, (use, _) in ticked.items() if use]
    return frame, roles, features, ticked


@pytest.fixture(scope="module")
def run(maintenance):
    """The three detectors trained on the maintenance sample, as the app trains them."""
    frame, roles, features, _ = maintenance
    models = [ModelRun(key, NAMES[key], params) for key, params in DETECTORS.items()]
    request = make_training_request(frame, None, Task.ANOMALY, models=models, features=features, roles=roles)
    return request, run_training(request)


def _model(run, key: str):
    return next(m for m in run[1] if m.key == key)


# --------------------------------------------------------------------------- the task and its models


def test_no_target_offers_clustering_and_anomaly_detection_and_leaves_a_known_answer_out(maintenance):
    frame, _, features, ticked = maintenance
    assert allowed_tasks(frame, None) == [Task.CLUSTERING, Task.ANOMALY]
    assert not Task.ANOMALY.has_target and Task.ANOMALY.explained and not Task.CLUSTERING.explained
    assert ticked["failure"] == (False, KNOWN_ANSWER_REASON), "a detector seeing failure would flag its rare value"
    assert "temperature_c" in features and "machine_id" not in features
    clustering = default_features(list(frame.columns), maintenance[1], None, task=Task.CLUSTERING)
    assert clustering["failure"][0], "only anomaly detection leaves it out"
    assert [s.key for s in specs_for(Task.ANOMALY)] == list(DETECTORS)
    assert recommended(Task.ANOMALY) == ["isolation_forest"]


# --------------------------------------------------------------------------- the score and the threshold


@pytest.mark.parametrize("key", list(DETECTORS))
def test_scores_are_ranked_as_scikit_learn_ranks_them_and_flag_what_predict_calls_outliers(run, key):
    request, _ = run
    model = _model(run, key)
    X, _ = request.xy(request.split.valid)
    estimator = model.pipeline[-1]
    own = estimator.score_samples(transform_only(model.pipeline, X))  # scikit-learn: higher = more usual
    scores = anomaly.anomaly_scores(model.pipeline, X)
    np.testing.assert_array_equal(np.argsort(scores, kind="stable"), np.argsort(-own, kind="stable"))
    np.testing.assert_allclose(scores, -own)
    flagged = anomaly.flagged(scores, anomaly.threshold(model.pipeline))
    np.testing.assert_array_equal(flagged, model.pipeline.predict(X) == -1)


@pytest.mark.parametrize("key", ["isolation_forest", "local_outlier_factor"])
def test_the_threshold_flags_the_expected_share_of_the_training_rows(run, key):
    request, _ = run
    model = _model(run, key)
    X_train, _ = request.xy(request.split.train)
    Xt = transform_only(model.pipeline, X_train)
    scores = anomaly.training_scores(model.pipeline[-1], Xt)
    at = anomaly.threshold(model.pipeline)
    assert np.quantile(scores, 1 - 0.05) == pytest.approx(at)  # the default expected share, 5%
    count = int(anomaly.flagged(scores, at).sum())
    assert count == round(0.05 * len(X_train)), count
    assert model.train_scores["flagged_share"] == pytest.approx(count / len(X_train))
    words = anomaly.threshold_words(scores, at)
    assert words == f"{count:,} of {len(X_train):,} rows above the threshold ({count / len(X_train):.1%})"


def test_the_local_outlier_factor_judges_its_training_rows_without_themselves():
    """Scored again as new rows, each training row would find itself at distance 0 and look more usual."""
    from sklearn.neighbors import LocalOutlierFactor

    X = np.random.default_rng(0).normal(size=(200, 3))
    lof = LocalOutlierFactor(n_neighbors=10, novelty=True).fit(X)
    np.testing.assert_allclose(anomaly.training_scores(lof, X), -lof.negative_outlier_factor_)
    assert anomaly.training_scores(lof, X).mean() > anomaly.anomaly_scores(lof, X).mean()


def test_separation_agreement_and_their_reasons_on_a_hand_made_case():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    # flagged above 3.5: 4 and 10 (median 7) against 1, 2, 3 (median 2); IQR 4 − 2 = 2
    assert anomaly.separation(scores, 3.5) == pytest.approx((7 - 2) / 2)
    assert anomaly.summary(scores, 3.5) == {"flagged_share": 0.4, "separation": pytest.approx(2.5)}
    assert np.isnan(anomaly.separation(scores, 100)) and "No row scores above" in anomaly.undefined_reason(
        "separation", scores, 100
    )
    assert "train two or more" in anomaly.undefined_reason("agreement", scores, 3.5, detectors=1)
    agreed = anomaly.agreement({"a": scores, "b": scores * 3, "c": -scores})
    assert agreed == {"a": pytest.approx(0.0), "b": pytest.approx(0.0), "c": pytest.approx(-1.0)}
    assert anomaly.agreement({"a": scores}) == {}


def test_the_most_unusual_rows_come_first_above_the_threshold_only():
    X = pd.DataFrame({"x": [10, 20, 30, 40, 50]}, index=[7, 3, 9, 1, 5])
    scores = np.array([0.2, 0.9, 0.5, 0.9, 0.1])
    table = anomaly.top_rows(X, scores, 0.3, limit=2)
    assert list(table["row"]) == [3, 1] and list(table[anomaly.SCORE_COLUMN]) == [0.9, 0.9]  # ties keep row order
    assert table.attrs["above"] == 3 and table.attrs["positions"] == [1, 3]
    assert list(table.columns) == ["row", anomaly.SCORE_COLUMN, "x"]
    assert anomaly.top_rows(X, scores, 1.0).empty


# --------------------------------------------------------------------------- training and choosing


def test_the_plan_is_learned_on_the_training_rows_only(run):
    request, _ = run
    model = _model(run, "isolation_forest")
    columns = model.pipeline.named_steps["columns"]
    _, branch, cols = next(t for t in columns.transformers_ if "temperature_c" in list(t[2]))
    position = list(cols).index("temperature_c")
    train_rows = request.frame.iloc[request.split.train]
    assert train_rows["temperature_c"].isna().any(), "the sample has gaps to fill"
    assert branch.named_steps["impute"].statistics_[position] == pytest.approx(train_rows["temperature_c"].median())
    lof = _model(run, "local_outlier_factor").pipeline[-1]
    assert lof.n_samples_fit_ == len(request.split.train), "the detector knows the training rows only"
    assert model.refit is None, "a detector keeps its fit on the training rows"


def test_without_labels_the_first_detector_picked_is_chosen_and_the_board_keeps_the_order(run):
    request, results = run
    assert [m.name for m in results] == list(NAMES.values()), "no baseline without a target"
    assert best_model(results, Task.ANOMALY).name == "Isolation forest"
    board = leaderboard(results, Task.ANOMALY)
    assert list(board["model"]) == list(NAMES.values())
    assert {"Flagged share", "Separation", "Agreement"} <= set(board.columns)
    choice = choose(results, request)
    assert choice.model.name == "Isolation forest" and anomaly.NO_LABELS in choice.reason
    assert all(-1 <= m.scores["agreement"] <= 1 for m in results)
    X, _ = request.xy(request.split.valid)
    expected = anomaly.agreement({m.name: anomaly.anomaly_scores(m.pipeline, X) for m in results})
    assert {m.name: m.scores["agreement"] for m in results} == pytest.approx(expected)


# --------------------------------------------------------------------------- what makes a row unusual


@pytest.mark.parametrize("key", ["isolation_forest", "one_class_svm"])
def test_shap_of_the_score_adds_up_to_the_score_minus_the_base_value(run, key):
    request, _ = run
    model = _model(run, key)
    X_train, _ = request.xy(request.split.train)
    rows = anomaly_results.scored_rows(model, request).top(limit=4)
    picked = request.frame.iloc[request.split.valid].iloc[rows.attrs["positions"]][request.features]
    expl = ce.explain(model, picked, X_train, max_rows=4, seed=request.seed)
    assert expl.output_name == "anomaly score" and expl.method == "Permutation SHAP"
    scores = anomaly.anomaly_scores(model.pipeline, expl.data)
    np.testing.assert_allclose(expl.base_value + expl.values.sum(axis=1), scores, atol=1e-9)
    assert "The anomaly score for this row is" in ce.summarize_row(expl, 0)
    one = ce.explain_row(model, picked.iloc[[0]], X_train, seed=request.seed)
    assert one.prediction == pytest.approx(anomaly.anomaly_scores(model.pipeline, picked.iloc[[0]])[0])


def test_the_base_value_is_the_mean_score_of_the_background_training_rows(run):
    request, _ = run
    model = _model(run, "isolation_forest")
    X_train, _ = request.xy(request.split.train)
    explainer = ce.what_if_explainer(model, X_train, seed=request.seed)
    background = explainer.method.background
    assert len(background) == 50
    assert explainer.method.base[0] == pytest.approx(anomaly.anomaly_scores(model.pipeline, background).mean())


# --------------------------------------------------------------------------- a known answer


def test_the_known_column_check_matches_scikit_learn_and_counts_by_hand():
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.3])
    values = pd.Series(["yes", "no", "yes", "no", "no", None])
    check = anomaly.known_check(scores, values, 0.75, "failed")
    hit = np.array([1, 0, 1, 0, 0])
    assert check.positive == "yes" and check.rows == 5 and check.positives == 2
    assert (check.flagged, check.hits) == (2, 1)  # 0.9 (yes) and 0.8 (no) are above 0.75
    assert (check.precision, check.recall) == (0.5, 0.5)
    assert check.roc_auc == pytest.approx(roc_auc_score(hit, scores[:5]))
    assert check.pr_auc == pytest.approx(average_precision_score(hit, scores[:5]))
    assert "precision 50%" in check.words() and "failed = yes" in check.words()
    with pytest.raises(DashboardError, match="holds 3 different values"):
        anomaly.known_check(scores, pd.Series(list("abcabc")), 0.5, "letters")


def test_the_unusual_value_is_the_rarer_one_even_when_coded_0_and_a_reversed_pick_is_said_in_words():
    # As in scikit-learn's breast cancer table: 1 is the common, usual kind (benign), 0 the rare unusual one.
    rng = np.random.default_rng(0)
    usual, odd = rng.normal(0, 1, (270, 4)), rng.normal(4, 1, (30, 4))
    X = np.vstack([usual, odd])
    known = pd.Series([1] * 270 + [0] * 30)
    detector = IsolationForest(random_state=0).fit(X)
    scores, at = anomaly.anomaly_scores(detector, X), anomaly.threshold(detector)
    assert anomaly.unusual_value(known) == 0 and anomaly.known_values_offered(known) == [0, 1]

    check = anomaly.known_check(scores, known, at, "benign")
    assert check.positive == 0 and check.roc_auc > 0.8 and check.recall > 0.5
    assert "Below 0.5" not in check.words()

    other = anomaly.known_check(scores, known, at, "benign", positive=1)
    assert other.positive == 1 and other.roc_auc < 0.5
    assert "the higher scores point at benign = 0, not at benign = 1" in other.words()


def test_a_column_left_out_of_the_features_checks_the_detector_on_the_validation_rows(run, maintenance):
    request, _ = run
    source = maintenance[0]
    model = _model(run, "isolation_forest")
    rows = anomaly_results.scored_rows(model, request)
    assert anomaly_results.known_candidates(request, source)[0] == "failure"
    values = anomaly_results.known_values(request, source, "failure")
    assert values.tolist() == source.loc[rows.X.index, "failure"].tolist(), "the row steps replayed: the same rows"
    assert anomaly_results.known_options(request, source, "failure") == ([0, 1], 1), "failures are the rarer value"
    check = anomaly_results.check_known(rows, request, source, "failure")
    assert check.positive == 1 and check.rows == len(request.split.valid)
    assert check.roc_auc > 0.7, "the sample's failures are unusual machines"
    looser = anomaly_results.check_known(rows, request, source, "failure", at=float(np.quantile(rows.scores, 0.5)))
    assert looser.flagged > check.flagged and looser.recall >= check.recall


# --------------------------------------------------------------------------- using, exporting, reporting


def test_predict_scores_new_rows_and_a_bundle_keeps_the_scores(run, maintenance):
    request, _ = run
    model = _model(run, "isolation_forest")
    usable = usable_from_training(model, request, "predictive_maintenance")
    aligned, _ = check_batch(maintenance[0].head(30), usable.schema)
    out = predict_frame(usable, aligned)
    assert list(out.columns) == [anomaly.SCORE_COLUMN, anomaly.FLAG_COLUMN]
    flagged = model.pipeline.predict(aligned[usable.schema.names]) == -1
    assert (out[anomaly.FLAG_COLUMN] == "yes").tolist() == flagged.tolist()
    restored = load_bundle(export_bundle(usable, include_background=True))
    pd.testing.assert_frame_equal(predict_frame(restored, aligned), out)
    assert usable.card["anomaly"]["threshold"] == pytest.approx(anomaly.threshold(model.pipeline))
    assert "an anomaly score per row (higher = more unusual)" in card_markdown(usable.card)


def test_the_report_and_the_slides_show_the_unusual_rows(run):
    request, results = run
    chosen = results[0]
    html = run_report(request, results, chosen, "predictive_maintenance")
    assert "Isolation forest flagging unusual rows" in html and "The most unusual rows" in html
    assert anomaly.NO_LABELS.split(":")[0] in html
    slides = build_slides(request, results, chosen, source_name="predictive_maintenance")
    kinds = {s.kind: s for s in slides}
    assert kinds["diagnostic"].title == "The unusual rows"
    assert "validation rows above the threshold" in kinds["diagnostic"].bullets[0]
