"""core.training: runs, events, stop, failures, the job thread, views of a run."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core import charts
from core import events as ev
from core.cleaning import CleaningPlan
from core.metrics import METRICS
from core.samples import load_sample
from core.schema import effective_roles, infer_roles
from core.split import SplitConfig
from core.target import Task
from core.training import (
    ModelFailure,
    ModelRun,
    TrainedModel,
    TrainingJob,
    TrainSetup,
    best_model,
    leaderboard,
    leaderboard_formats,
    live_history,
    make_request,
    progress,
    run_training,
    train_one,
    transform_only,
)
from tests.conftest import make_training_request


def request_for(sample: str, target: str | None, task: Task, models: list[ModelRun], **setup):
    split = setup.pop("split", SplitConfig(seed=7))
    return make_training_request(sample, target, task, models=models, split=split, **setup)


FAST_FOREST = {"n_estimators": 20}


def test_run_trains_each_model_scores_validation_and_adds_the_baseline():
    req = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [
            ModelRun("logistic_regression", "Logistic regression"),
            ModelRun("random_forest_clf", "Random forest", FAST_FOREST),
        ],
    )
    seen: list[ev.Event] = []
    results = run_training(req, seen.append)
    assert [r.name for r in results] == ["Baseline", "Logistic regression", "Random forest"]
    assert all(isinstance(r, TrainedModel) for r in results)
    baseline, logreg = results[0], results[1]
    assert baseline.scores["accuracy"] < 0.5 < logreg.scores["accuracy"]
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "TrainingStarted" and kinds[-1] == "TrainingFinished"
    assert kinds.count("ModelStarted") == kinds.count("ModelFinished") == 3
    table = leaderboard(results, Task.MULTICLASS)
    assert table["model"].iloc[-1] == "Baseline"
    assert best_model(results, Task.MULTICLASS).name != "Baseline"


def test_preprocessing_is_fitted_on_the_training_split_only():
    req = request_for("predictive_maintenance", "failure", Task.BINARY, [ModelRun("logistic_regression", "LR")])
    trained = run_training(req)[1].validated()  # as scored on validation (the chosen one is refitted afterwards)
    columns = trained.pipeline.named_steps["columns"]
    _, branch, cols = next(t for t in columns.transformers_ if "temperature_c" in list(t[2]))
    position = list(cols).index("temperature_c")
    train_rows = req.frame.iloc[req.split.train]
    assert branch.named_steps["impute"].statistics_[position] == pytest.approx(train_rows["temperature_c"].median())


def test_same_seed_gives_identical_scores():
    models = [ModelRun("random_forest_clf", "RF", FAST_FOREST), ModelRun("logistic_regression", "LR")]
    a = run_training(request_for("breast_cancer", "diagnosis", Task.BINARY, models))
    b = run_training(request_for("breast_cancer", "diagnosis", Task.BINARY, models))
    np.testing.assert_equal([r.scores for r in a], [r.scores for r in b])  # NaN (undefined precision) equals NaN


def test_a_failing_model_is_reported_and_the_run_goes_on():
    req = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("knn_clf", "Broken kNN", {"n_neighbors": 500}), ModelRun("logistic_regression", "LR")],
    )
    seen: list[ev.Event] = []
    results = run_training(req, seen.append)
    failure = next(r for r in results if r.name == "Broken kNN")
    assert isinstance(failure, ModelFailure) and failure.message
    assert isinstance(results[-1], TrainedModel)
    assert any(isinstance(e, ev.ModelFailed) for e in seen)
    assert "failed" in leaderboard(results, Task.MULTICLASS).set_index("model").loc["Broken kNN", "status"]


def test_stop_ends_the_run_and_keeps_finished_models():
    req = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("logistic_regression", "LR"), ModelRun("decision_tree_clf", "Tree")],
    )
    finished: list[str] = []

    def listen(event):
        if isinstance(event, ev.ModelFinished):
            finished.append(event.model)

    results = run_training(req, listen, should_stop=lambda: len(finished) >= 1)
    assert [r.name for r in results] == ["Baseline"]


def test_staged_models_report_a_validation_curve():
    req = request_for("breast_cancer", "diagnosis", Task.BINARY, [ModelRun("random_forest_clf", "RF", FAST_FOREST)])
    seen: list[ev.Event] = []
    run_training(req, seen.append)
    steps = [e for e in seen if isinstance(e, ev.StepEnded) and e.model == "RF"]
    assert len(steps) == 10 and steps[-1].metrics["n_estimators"] == 20
    assert all(0 <= next(iter(s.metrics.values())) <= 1 for s in steps)


def test_regression_and_clustering_runs():
    reg = run_training(request_for("diabetes", "disease_progression", Task.REGRESSION, [ModelRun("ridge", "Ridge")]))
    assert reg[1].scores["r2"] > reg[0].scores["r2"]
    clusters = run_training(
        request_for("iris", None, Task.CLUSTERING, [ModelRun("kmeans", "K-means", {"n_clusters": 3})])
    )
    assert len(clusters) == 1 and clusters[0].scores["silhouette"] > 0.2


def test_cross_validation_adds_mean_and_spread():
    req = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("logistic_regression", "LR")],
        split=SplitConfig(seed=1, cv_folds=3),
    )
    trained = run_training(req)[1]
    assert 0.8 < trained.cv_scores["cv_f1_macro_mean"] <= 1  # the ranking metric: macro F1 for several classes
    assert trained.cv_scores["cv_f1_macro_std"] >= 0


def test_job_runs_in_a_thread_and_reports_progress():
    req = request_for("iris", "species", Task.MULTICLASS, [ModelRun("random_forest_clf", "RF", FAST_FOREST)])
    job = TrainingJob(req).start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "finished" and len(snap.results) == 2
    prog = progress(snap)
    assert (prog.done, prog.total, prog.fraction) == (2, 2, 1.0)
    assert len(live_history(snap, "RF")["validation F1 (macro)"]) == 10


def test_job_stop_ends_a_growing_forest_on_its_worker_and_cancels_models_not_started():
    forests = [ModelRun("random_forest_clf", f"RF{i}", {"n_estimators": 400}) for i in range(engine_workers() + 1)]
    req = request_for("breast_cancer", "diagnosis", Task.BINARY, forests)
    job = TrainingJob(req).start()
    deadline = time.time() + 60
    while not any(isinstance(e, ev.StepEnded) for e in job.snapshot().events) and time.time() < deadline:
        time.sleep(0.05)
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "stopped"
    assert any(isinstance(e, ev.TrainingStopped) for e in snap.events)
    chosen = best_model(snap.results, req.task, req.metric)
    assert not chosen.refitted and chosen.refit.error == "the run was stopped", "Stop means no refit either"
    grown = [r for r in snap.results if r.name.startswith("RF")]
    assert grown, "the forests growing when Stop came are kept"
    assert all(r.pipeline[-1].n_estimators < 400 for r in grown), "Stop reached the workers: growth ended early"
    started = {e.model for e in snap.events if isinstance(e, ev.ModelStarted)}
    assert len(started) < len(req.models), "a model that had not started was cancelled, not trained"
    order = [m.name for m in req.models]
    assert [r.name for r in snap.results] == sorted((r.name for r in snap.results), key=order.index)


def test_models_of_one_run_train_side_by_side_and_come_back_in_the_order_chosen():
    models = [ModelRun("random_forest_clf", f"RF{i}", {"n_estimators": 150}) for i in range(2)]
    job = TrainingJob(request_for("breast_cancer", "diagnosis", Task.BINARY, models)).start()
    assert job.wait(120)
    snap = job.snapshot()
    assert [r.name for r in snap.results] == ["Baseline", "RF0", "RF1"]
    assert all(isinstance(r, TrainedModel) for r in snap.results)
    started = {e.model: e.at for e in snap.events if isinstance(e, ev.ModelStarted)}
    finished = {e.model: e.at for e in snap.events if isinstance(e, ev.ModelFinished)}
    if engine_workers() > 1:
        assert started["RF1"] < finished["RF0"], "with two workers free the second forest did not wait for the first"


def engine_workers() -> int:
    from core import engine

    return len(engine.client().scheduler_info(n_workers=-1)["workers"])


def test_progress_from_events_gives_an_eta():
    snap_events = [
        ev.TrainingStarted(models=("a", "b")),
        ev.ModelStarted(model="a", index=0, total=2, at=time.time() - 10),
        ev.EpochEnded(model="a", epoch=5, epochs=10, metrics={"loss": 1.0}),
    ]
    from core.jobs import JobSnapshot

    snap = JobSnapshot("running", snap_events, [], time.time() - 10, None, None)
    prog = progress(snap)
    assert prog.fraction == pytest.approx(0.25)
    assert prog.eta == pytest.approx(30, rel=0.1)
    assert prog.current_detail == "epoch 5 of 10"
    snap.events.append(ev.FoldEnded(model="a", fold=2, folds=5))
    assert progress(snap).current_detail == "cross-validation, fold 2 of 5"  # the bar says why it restarted


def test_keras_model_emits_started_epochs_finished():
    req = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [
            ModelRun(
                "keras_mlp",
                "Net",
                {
                    "epochs": 3,
                    "early_stopping": False,
                    "layers": ({"type": "dense", "units": 8, "activation": "relu"},),
                },
            )
        ],
    )
    seen: list[ev.Event] = []
    results = run_training(req, seen.append)
    net_events = [type(e).__name__ for e in seen if getattr(e, "model", None) == "Net"]
    folds = ["FoldEnded"] * req.split.cv_folds  # iris is small: the network is cross-validated after its own fit
    assert net_events == ["ModelStarted", "EpochEnded", "EpochEnded", "EpochEnded", *folds, "ModelFinished"]
    net = results[-1]
    assert isinstance(net, TrainedModel) and len(net.history["loss"]) == 3 and "val_loss" in net.history
    assert set(np.unique(net.pipeline.predict(req.frame.iloc[:5][req.features]))) <= set(req.frame["species"])


def test_imbalance_settings_reach_the_pipeline():
    req = request_for(
        "predictive_maintenance",
        "failure",
        Task.BINARY,
        [ModelRun("logistic_regression", "LR")],
        imbalance="class_weight",
    )
    trained = run_training(req)[1]
    assert trained.pipeline.named_steps["model"].get_params()["class_weight"] == "balanced"
    req = request_for(
        "predictive_maintenance", "failure", Task.BINARY, [ModelRun("logistic_regression", "LR")], imbalance="smote"
    )
    assert "resample" in run_training(req)[1].pipeline.named_steps


def test_make_request_applies_the_plans_row_steps():
    ds = load_sample("spam")
    roles = effective_roles(infer_roles(ds.frame), {})
    features = [c for c in ds.frame.columns if c != "label"]
    req = make_request(
        ds.frame,
        "label",
        Task.BINARY,
        features,
        roles,
        CleaningPlan(),
        TrainSetup(SplitConfig(), [ModelRun("logistic_regression", "LR")]),
    )
    assert len(req.frame) == len(ds.frame.drop_duplicates())
    assert isinstance(req.frame, pd.DataFrame) and req.models[0].key == "baseline"


def test_boosting_curve_comes_from_staged_predictions_after_one_fit():
    req = request_for(
        "breast_cancer",
        "diagnosis",
        Task.BINARY,
        [ModelRun("hist_gradient_boosting_clf", "HGB", {"max_iter": 50, "early_stopping": False})],
    )
    seen: list[ev.Event] = []
    results = run_training(req, seen.append)
    steps = [e for e in seen if isinstance(e, ev.StepEnded) and e.model == "HGB"]
    assert len(steps) == 10 and steps[-1].metrics["max_iter"] == 50
    assert steps[-1].metrics["validation ROC-AUC"] == pytest.approx(results[-1].scores["roc_auc"])


def test_a_drop_rows_rule_trains_and_new_rows_with_a_gap_still_predict():
    from core.cleaning import MissingRule

    ds = load_sample("house_prices")
    frame = ds.frame.copy()
    frame.loc[frame.index[:40], "area_sqm"] = np.nan
    plan = CleaningPlan(missing_by_column={"area_sqm": MissingRule("drop_rows")})
    request = make_training_request(
        frame, "price", Task.REGRESSION, models=[ModelRun("ridge", "Ridge")], plan=plan, seed=1
    )
    assert request.frame["area_sqm"].notna().all() and len(request.frame) == len(frame) - 40
    model = run_training(request)[-1]
    assert isinstance(model, TrainedModel), getattr(model, "message", model)
    new = frame.iloc[:3][request.features]  # rows with a missing area
    assert np.isfinite(model.pipeline.predict(new)).all()


@pytest.mark.parametrize(
    ("sample", "target", "task", "key"),
    [
        ("spam", "label", Task.BINARY, "logistic_regression"),
        ("house_prices", "price", Task.REGRESSION, "ridge"),
        ("iris", "species", Task.MULTICLASS, "keras_mlp"),
    ],
)
def test_training_scores_from_the_preprocessed_rows_equal_scoring_the_raw_rows(sample, target, task, key, monkeypatch):
    """Scored on a sample of the training rows (fewer than there are, here): the same rows either way."""
    from core.evaluation import score
    from core.training import fit, train_one

    monkeypatch.setattr(fit, "TRAIN_SCORE_ROWS", 60)
    params = {"epochs": 2} if key == "keras_mlp" else {}
    request = request_for(sample, target, task, [ModelRun(key, key, params)])
    model = train_one(request, request.models[-1])
    X, y = request.xy(request.split.train)
    pick = fit.score_rows(len(X), request.seed)
    assert len(pick) == 60 < len(X)
    expected = score(model.pipeline, X.iloc[pick], y.iloc[pick], task)
    assert model.train_scores == pytest.approx(expected, rel=1e-9, nan_ok=True)


# --------------------------------------------------------------------------- choosing the model


def scored(name: str, valid: float, cv: float | None = None, metric: str = "f1_macro") -> TrainedModel:
    """A trained model with only scores (enough for ranking)."""
    cv_scores = {} if cv is None else {f"cv_{metric}_mean": cv, f"cv_{metric}_std": 0.01}
    return TrainedModel(name, "logistic_regression", {}, None, Task.MULTICLASS, {metric: valid}, {}, 1.0, cv_scores)


def test_small_tables_are_chosen_by_five_fold_cross_validation_on_training_and_validation_rows():
    req = request_for("wine", "cultivar", Task.MULTICLASS, [ModelRun("logistic_regression", "LR")])
    assert req.split.cv_folds == 5, "178 rows: cross-validation is on without being asked"
    assert req.split.config.cv_folds == 5, "and recorded as such (run settings, experiment log)"
    lr = run_training(req)[1]
    assert 0.8 < lr.cv_scores["cv_f1_macro_mean"] <= 1 and lr.cv_scores["cv_f1_macro_std"] >= 0

    # A model that looks best on the one small validation split but worse across the folds is not chosen.
    lucky, steady = scored("Lucky", valid=0.97, cv=0.80), scored("Steady", valid=0.90, cv=0.88)
    results = [scored("Baseline", 0.2, 0.2), lucky, steady]
    assert best_model(results, Task.MULTICLASS) is steady
    table = leaderboard(results, Task.MULTICLASS)
    assert table["model"].tolist() == ["Steady", "Lucky", "Baseline"]
    assert table.attrs["ranked_by"] == "CV F1 (macro)" == table.columns[2]
    assert table.loc[0, "CV ±"] == pytest.approx(0.01)
    # Without cross-validation the validation score decides, as before.
    assert best_model([scored("Lucky", 0.97), scored("Steady", 0.90)], Task.MULTICLASS).name == "Lucky"


def test_larger_tables_keep_the_single_validation_split_and_the_person_can_override():
    from core.split import CV_AUTO_FOLDS, CV_AUTO_MAX_ROWS, make_split

    auto = SplitConfig()
    assert auto.folds_for(CV_AUTO_MAX_ROWS - 1) == CV_AUTO_FOLDS and auto.folds_for(CV_AUTO_MAX_ROWS) == 0
    assert SplitConfig(cv_folds=0).folds_for(100) == 0 and SplitConfig(cv_folds=3).folds_for(50_000) == 3
    big = pd.DataFrame({"x": np.arange(8_000.0), "y": np.arange(8_000.0) % 7})
    assert make_split(big, "y", Task.REGRESSION, auto).cv_folds == 0  # 6,800 training + validation rows
    assert make_split(big.iloc[:2_000], "y", Task.REGRESSION, auto).cv_folds == CV_AUTO_FOLDS
    assert make_split(big.iloc[:2_000], "y", Task.REGRESSION, SplitConfig(cv_folds=0)).cv_folds == 0


def test_the_chosen_model_is_refitted_on_training_and_validation_rows_and_never_sees_the_test_rows():
    req = request_for("diabetes", "disease_progression", Task.REGRESSION, [ModelRun("ridge", "Ridge")])
    first = run_training(req)
    ridge = first[1]
    assert best_model(first, Task.REGRESSION) is ridge and ridge.refitted
    seen = len(req.split.train) + len(req.split.valid)
    assert ridge.refit.rows == seen
    scaler = next(s for s in ridge.pipeline.named_steps["columns"].transformers_ if s[0].startswith("numeric"))[1]
    assert scaler.named_steps["scale"].n_samples_seen_ == seen, "the refit learned from training + validation rows"
    before = ridge.validated().pipeline.named_steps["columns"].transformers_
    assert next(s for s in before if s[0].startswith("numeric"))[1].named_steps["scale"].n_samples_seen_ == len(
        req.split.train
    )
    from core.evaluation import score

    assert ridge.scores == pytest.approx(score(ridge.validated().pipeline, *req.xy(req.split.valid), Task.REGRESSION))
    assert isinstance(first[0], TrainedModel) and first[0].refit is None, "only the chosen model is refitted"

    # Scrambling every test row (features and target) changes nothing the refit learned.
    scrambled = req.frame.copy()
    rng = np.random.default_rng(0)
    for column in [*req.features, req.target]:
        values = scrambled[column].to_numpy().copy()
        values[req.split.test] = rng.permutation(values[req.split.test]) * 3
        scrambled[column] = values
    again = run_training(replace(req, frame=scrambled))[1]
    X_valid, _ = req.xy(req.split.valid)
    np.testing.assert_allclose(again.pipeline.predict(X_valid), ridge.pipeline.predict(X_valid))


def test_the_fit_before_the_refit_keeps_its_own_features_for_checks_on_validation_rows():
    from core.guards.model_checks import validation_importance

    req = request_for("spam", "label", Task.BINARY, [ModelRun("logistic_regression", "LR")])
    lr = run_training(req)[1]
    assert lr.refitted, "chosen and refitted"
    before = lr.validated()
    X_valid, _ = req.xy(req.split.valid)
    width = transform_only(before.pipeline, X_valid).shape[1]
    assert len(before.sources) == width != len(lr.sources), "the refit learned a larger vocabulary"
    importance = validation_importance(lr, req)  # on validation rows, through the fit before the refit
    assert importance is not None and set(importance["column"]) <= set(req.features)


def test_a_network_is_refitted_for_its_best_epoch_without_early_stopping_and_a_failed_refit_says_so(monkeypatch):
    from core.training import choose as choosing  # the module (the package does not re-export its choose())

    req = request_for("iris", "species", Task.MULTICLASS, [ModelRun("keras_mlp", "Net", {"epochs": 40})])
    net = TrainedModel("Net", "keras_mlp", {"epochs": 40}, None, Task.MULTICLASS, {}, {}, 1.0, best_epoch=7)
    run = choosing.refit_run(net, req)
    assert (run.params["epochs"], run.params["early_stopping"], run.params["restore_best_weights"]) == (7, False, False)
    small = {"epochs": 4, "layers": ({"type": "dense", "units": 8, "activation": "relu"},)}
    net = train_one(req, ModelRun("keras_mlp", "Net", small))
    again = choosing.refit(net, req)
    assert again.refitted and again.refit.epochs == net.best_epoch
    network = again.pipeline.steps[-1][1]
    assert len(network.history_["loss"]) == net.best_epoch and "val_loss" not in network.history_, "no validation data"

    def broken(*_):
        raise ValueError("no memory left")

    lr = run_training(request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "LR")]))[1]
    monkeypatch.setattr(choosing, "build_model_pipeline", broken)
    kept = choosing.refit(lr.validated(), req)
    assert kept.pipeline is lr.validated().pipeline and not kept.refitted
    assert "no memory left" in kept.refit.error
    assert "refitting it on training + validation rows failed" in choosing.summary(kept, req)
    assert "keeps its fit on the" in choosing.summary(kept, req)


def test_the_choice_is_said_in_plain_words():
    from core.training.choose import choose, summary

    req = request_for(
        "house_prices", "price", Task.REGRESSION, [ModelRun("ridge", "Ridge"), ModelRun("lightgbm_reg", "LightGBM")]
    )
    results = run_training(req)
    choice = choose(results, req)
    rows = len(req.split.train) + len(req.split.valid)
    assert choice.folds == 5 and choice.model.refitted
    assert f"5-fold cross-validation on the {rows:,} training + validation rows" in choice.reason
    assert summary(choice.model, req, results) == (
        f"The chosen model, {choice.model.name}, was chosen by 5-fold cross-validation and then refitted on "
        f"training + validation rows ({rows:,} rows) before the test score."
    )


def test_a_job_refits_the_chosen_model_on_the_cluster_but_not_when_stopped():
    req = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "LR")])
    job = TrainingJob(req).start()
    assert job.wait(120)
    assert job.refitting is None and not job.checking
    chosen = best_model(job.snapshot().results, req.task, req.metric)
    assert chosen.name == "LR" and chosen.refitted and chosen.refit.rows == len(req.split.train) + len(req.split.valid)
    assert chosen.checks is not None, "checked on the validation rows as before"


def test_a_skewed_price_is_also_tried_on_its_log_and_scored_on_its_own_scale():
    from core.target import log_target_advice
    from core.training import suggested_setup
    from core.transformers import LogTarget

    ds = load_sample("house_prices")
    price = ds.frame["price"]
    assert "'price' has no negative values and a long tail" in log_target_advice(price)
    assert log_target_advice(load_sample("diabetes").frame["disease_progression"]) is None, "not skewed enough"
    assert log_target_advice(price - price.median()) is None, "negative values have no log"
    setup = suggested_setup(Task.REGRESSION, price)
    assert setup.options.log_target, "on by default for such a target"

    models = [ModelRun("ridge", "Ridge"), ModelRun("keras_mlp", "Net", {"epochs": 2})]
    req = request_for("house_prices", "price", Task.REGRESSION, models, options=setup.options)
    assert [(m.name, m.log_target) for m in req.models] == [
        ("Baseline", False),
        ("Ridge", False),
        ("Ridge (log target)", True),
        ("Net", False),
    ], "tree and linear models get a log-target twin, the baseline and the network do not"

    twin = train_one(req, req.models[2])
    model = twin.pipeline.steps[-1][1]
    assert isinstance(model.transformer_, LogTarget) and twin.log_target
    X_valid, y_valid = req.xy(req.split.valid)
    inner = model.regressor_.predict(transform_only(twin.pipeline, X_valid))
    assert 10 < np.median(inner) < 15, "the inner model learned log(1 + price)"
    predicted = twin.pipeline.predict(X_valid)
    assert predicted == pytest.approx(np.expm1(inner))
    from sklearn.metrics import mean_absolute_error, r2_score

    assert twin.scores["r2"] == pytest.approx(r2_score(y_valid, predicted)), "scored in euros, not in logs"
    assert twin.scores["mae"] == pytest.approx(mean_absolute_error(y_valid, predicted))


@pytest.mark.parametrize(
    ("dataset", "target", "task", "key", "metric"),
    [
        ("breast_cancer", "diagnosis", Task.BINARY, "lightgbm_clf", "validation ROC-AUC"),
        ("iris", "species", Task.MULTICLASS, "lightgbm_clf", None),
        ("diabetes", "disease_progression", Task.REGRESSION, "lightgbm_reg", "validation R²"),
    ],
)
def test_lightgbm_curve_ends_at_the_models_validation_score(dataset, target, task, key, metric):
    """The curve comes from the booster's own running validation predictions: its last point is the score."""
    req = request_for(dataset, target, task, [ModelRun(key, "LGBM", {"n_estimators": 40})])
    seen: list[ev.Event] = []
    results = run_training(req, seen.append)
    steps = [e for e in seen if isinstance(e, ev.StepEnded) and e.model == "LGBM"]
    assert len(steps) == 10 and steps[-1].metrics["n_estimators"] == 40
    label = metric or next(k for k in steps[-1].metrics if k.startswith("validation"))
    final = results[-1].scores[req.ranking.key]
    assert steps[-1].metrics[label] == pytest.approx(final)
    assert (
        not hasattr(results[-1].pipeline.steps[-1][1], "best_iteration_")
        or results[-1].pipeline.steps[-1][1].n_estimators_ == 40
    )  # watching the rows never stopped growth early


def test_boosting_one_hot_encodes_a_few_levels_and_splits_on_many():
    """Native categories only where one-hot would spread a column thin (core.features.NATIVE_MIN_LEVELS)."""
    hgb = [ModelRun("hist_gradient_boosting_reg", "HGB", {"max_iter": 10})]
    few = run_training(request_for("house_prices", "price", Task.REGRESSION, hgb))[-1].pipeline.steps[-1][1]
    assert few.is_categorical_ is None or not few.is_categorical_.any(), "8 neighbourhoods: one-hot"
    frame = load_sample("house_prices").frame.copy()
    frame["street"] = [f"street_{i % 80}" for i in range(len(frame))]
    request = make_training_request(frame, "price", Task.REGRESSION, models=hgb, seed=1)
    flags = run_training(request)[-1].pipeline.steps[-1][1].is_categorical_
    categorical = sum(request.roles[c].value == "categorical" for c in request.features)
    assert flags is not None and flags.sum() == categorical


def test_the_leaderboard_tells_early_stopping_from_the_persons_stop():
    layers = ({"type": "dense", "units": 4, "activation": "relu"},)
    # patience 1 at the largest learning rate: the loss jumps about (seeded), early stopping ends it.
    early = ModelRun("keras_mlp", "Early", {"epochs": 30, "patience": 1, "learning_rate": 1.0, "layers": layers})
    req = request_for("iris", "species", Task.MULTICLASS, [early])
    net = train_one(req, early)
    assert net.ended_by == "early stopping"
    board = leaderboard([net], req.task).set_index("model")
    assert board.loc["Early", "status"].startswith("early stopping after ")
    assert "stopped by you" not in board.loc["Early", "status"]

    stopped = ModelRun("keras_mlp", "Stopped", {"epochs": 30, "early_stopping": False, "layers": layers})
    calls = []
    net = train_one(req, stopped, should_stop=lambda: calls.append(1) or len(calls) > 2)
    board = leaderboard([net], req.task).set_index("model")
    assert net.ended_by == "stop" and board.loc["Stopped", "status"].startswith("stopped by you after ")

    forest = ModelRun("random_forest_clf", "Forest", FAST_FOREST)
    grown = train_one(req, forest, should_stop=lambda: True)
    assert leaderboard([grown], req.task).set_index("model").loc["Forest", "status"] == "stopped by you"
    assert (
        train_one(req, forest).ended_by == "" and leaderboard([train_one(req, forest)], req.task)["status"][0] == "ok"
    )


def test_the_leaderboard_numbers_read_like_every_other_score_and_labels_read_mid_sentence():
    req = request_for("diabetes", "disease_progression", Task.REGRESSION, [ModelRun("ridge", "Ridge")])
    table = leaderboard(run_training(req), req.task).set_index("model")
    formats = leaderboard_formats(req.ranking)
    # each printed 6 decimals once (0.093796, 12.394634); the cells stay numbers, sorted as numbers
    assert {c: formats[c] for c in ("train R²", "gap", "seconds", "MAE")} == {
        "train R²": "%.4f",
        "gap": "%.4f",
        "seconds": "%.2f",
        "MAE": "localized",
    }
    assert all(pd.api.types.is_float_dtype(table[c]) for c in ("train R²", "gap", "seconds", "MAE"))

    flagged = METRICS["flagged_share"]  # a share reads as a percentage in every column of its board
    shares = leaderboard_formats(flagged)
    assert shares["Flagged share"] == shares["train flagged share"] == shares["gap"] == "percent"
    board = pd.DataFrame({"model": ["Isolation forest", "LOF"], "Flagged share": [0.035, 0.059]})
    fig = charts.leaderboard_chart(board, "Flagged share")
    assert fig.layout.title.text == "Validation flagged share by model" and "%" in fig.data[0].hovertemplate
    assert charts.leaderboard_chart(board.rename(columns={"Flagged share": "R²"}), "R²").layout.title.text == (
        "Validation R² by model"
    )
