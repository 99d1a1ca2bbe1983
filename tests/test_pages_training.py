"""Pages 4 (Models) and 5 (Train) through streamlit.testing.v1.AppTest.

No Keras here (TensorFlow is slow to import); the browser journey covers it.
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from core import events as ev
from core import registry
from core.target import Task
from core.training import TrainedModel, TrainingJob
from tests.page_helpers import drifting_on_models
from ui import state

APP = "../app.py"
FAST = ["logistic_regression", "decision_tree_clf"]


# --------------------------------------------------------------------------- helpers


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def through_target(sample: str) -> AppTest:
    """A sample loaded and its detected target confirmed (Clean not visited yet)."""
    at = fresh()
    at.button(key=f"data_sample_{sample}").click().run()
    go(at, "target")
    at.button(key="target_confirm").click().run()
    assert not at.exception
    return at


def on_models(sample: str) -> AppTest:
    at = through_target(sample)
    go(at, "clean")
    return go(at, "models")


def setup(at: AppTest):
    return at.session_state[state.TRAIN_SETUP]


def params_of(at: AppTest, key: str) -> dict:
    return next(m.params for m in setup(at).models if m.key == key)


def infos(at: AppTest) -> list[str]:
    return [i.body.replace("\\", "") for i in at.info]


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text.replace("\\", "") for p in at.get("progress")]


def chart(at: AppTest, key: str) -> dict:
    """The plotly spec of the chart keyed ``key``."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert found, f"no chart {key!r} among {[c.proto.id for c in at.get('plotly_chart')]}"
    return json.loads(found[0].proto.spec)


def values(array) -> list:
    """A plotly data array: a plain list or a typed ``{"dtype", "bdata"}`` one."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def split_rows(at: AppTest) -> dict[str, int]:
    """Rows per split, summed over the stacked class bars of the split chart."""
    totals: dict[str, int] = {}
    for trace in chart(at, "models_split_chart")["data"]:
        for split, rows in zip(values(trace["x"]), values(trace["y"]), strict=True):
            totals[split] = totals.get(split, 0) + int(rows)
    return totals


def press_train(at: AppTest, models: list[str]) -> AppTest:
    at.multiselect(key="models_chosen").set_value(models).run()
    at.button(key="models_train").click().run()
    assert not at.exception
    assert at.title[0].value == "5. Train", "Train switches to the Train page"
    return at


def leaderboard_models(at: AppTest) -> list[str]:
    assert len(at.dataframe) == 1, "one leaderboard"
    return list(at.dataframe[0].value["model"])


# --------------------------------------------------------------------------- models page


def test_models_page_is_locked_until_clean_was_visited_then_shows_split_and_recommended_models():
    at = through_target("iris")
    go(at, "models")
    assert any("Review the cleaning plan first" in i for i in infos(at))
    assert not at.get("plotly_chart") and not at.multiselect

    go(at, "clean")
    go(at, "models")
    assert at.title[0].value == "4. Models"
    assert not at.info
    # 70 / 15 / 15 % of iris's 149 rows left after the plan drops its one duplicate
    assert split_rows(at) == {"train": 103, "validation": 23, "test": 23}
    recommended = registry.recommended(Task.MULTICLASS)
    assert "logistic_regression" in recommended and "keras_mlp" in recommended
    assert at.multiselect(key="models_chosen").value == recommended
    assert [m.key for m in setup(at).models] == recommended
    assert at.button(key="models_train").label == f"Train {len(recommended)} models"
    assert not at.button(key="models_train").disabled


def test_split_and_seed_changes_reach_the_setup_and_the_chart():
    at = on_models("iris")
    assert at.slider(key="models_split_range").value == (70, 85)
    at.slider(key="models_split_range").set_value((60, 80)).run()
    assert not at.exception
    split = setup(at).split
    assert (split.train, split.valid, split.test) == (0.6, 0.2, 0.2)
    assert split_rows(at) == {"train": 89, "validation": 30, "test": 30}
    assert any("train 60% · validation 20% · test 20%" in c.value for c in at.caption)

    at.number_input(key="models_seed").set_value(7).run()
    at.checkbox(key="models_stratify").set_value(False).run()
    at.selectbox(key="models_cv").set_value(5).run()
    assert not at.exception
    split = setup(at).split
    assert (split.seed, split.stratify, split.cv_folds) == (7, False, 5)
    assert split_rows(at) == {"train": 89, "validation": 30, "test": 30}

    # The choices survive a visit elsewhere: the page is rebuilt from the saved setup.
    go(at, "clean")
    go(at, "models")
    assert at.slider(key="models_split_range").value == (60, 80)
    assert at.number_input(key="models_seed").value == 7
    assert setup(at).split.seed == 7


def test_a_skewed_price_suggests_log_target_twins_and_small_tables_say_they_choose_by_cross_validation():
    at = on_models("house_prices")
    box = at.checkbox(key="models_log_target")
    assert box.value is True and setup(at).options.log_target, "on by default for a skewed price"
    assert any("'price' has no negative values and a long tail" in c for c in captions_of(at)), "with the reason"
    assert any(
        "Models are chosen by 5-fold cross-validation on the 1,275 training + validation rows (automatic" in c
        for c in captions_of(at)
    )
    at.multiselect(key="models_chosen").set_value(["ridge", "lightgbm_reg", "keras_mlp"]).run()
    assert at.button(key="models_train").label == "Train 3 models + 2 on the log of the target + baseline"
    at.checkbox(key="models_log_target").set_value(False).run()
    assert not setup(at).options.log_target
    assert at.button(key="models_train").label == "Train 3 models + baseline"
    at.selectbox(key="models_cv").set_value(0).run()
    assert setup(at).split.cv_folds == 0
    assert any("Models are chosen by their score on the 225 validation rows;" in c for c in captions_of(at))


def test_several_classes_are_ranked_by_macro_f1_by_default():
    at = on_models("iris")
    assert at.selectbox(key="models_metric").value == "f1_macro"
    assert setup(at).metric == "f1_macro"


def test_model_forms_reach_the_setup_and_no_models_disables_train():
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["logistic_regression", "random_forest_clf"]).run()
    numbers = {n.key for n in at.number_input}
    assert {"models_logistic_regression_C", "models_random_forest_clf_n_estimators"} <= numbers
    assert not any(k.startswith("models_lightgbm_clf_") for k in numbers), "forms only for chosen models"

    at.number_input(key="models_logistic_regression_C").set_value(0.25).run()
    at.selectbox(key="models_logistic_regression_penalty").set_value("l1").run()
    at.toggle(key="models_logistic_regression_advanced").set_value(True).run()
    at.number_input(key="models_logistic_regression_max_iter").set_value(500).run()
    at.number_input(key="models_random_forest_clf_n_estimators").set_value(40).run()
    at.checkbox(key="models_random_forest_clf_max_depth_none").set_value(False).run()
    at.number_input(key="models_random_forest_clf_max_depth").set_value(4).run()
    at.radio(key="models_imbalance").set_value("class_weight").run()
    at.checkbox(key="models_interactions").set_value(True).run()
    assert not at.exception
    assert not at.error

    logreg = params_of(at, "logistic_regression")
    assert (logreg["C"], logreg["penalty"], logreg["max_iter"]) == (0.25, "l1", 500)
    forest = params_of(at, "random_forest_clf")
    assert (forest["n_estimators"], forest["max_depth"]) == (40, 4)
    assert setup(at).imbalance == "class_weight"
    assert setup(at).options.interactions is True
    assert at.button(key="models_train").label == "Train 2 models + baseline"

    at.multiselect(key="models_chosen").set_value([]).run()
    assert not at.exception
    assert setup(at).models == []
    assert at.button(key="models_train").disabled

    at.button(key="models_recommended").click().run()
    assert at.multiselect(key="models_chosen").value == registry.recommended(Task.MULTICLASS)
    assert not at.button(key="models_train").disabled


# --------------------------------------------------------------------------- train page


def test_train_page_without_a_run_says_what_to_do():
    at = through_target("iris")
    go(at, "clean")
    go(at, "train")
    assert any("Choose the models first" in i for i in infos(at))
    go(at, "models")
    go(at, "train")
    assert any("No training run yet" in i for i in infos(at))
    assert not at.get("progress")


def test_train_runs_the_chosen_models_and_shows_the_leaderboard():
    at = press_train(on_models("iris"), FAST)
    job = at.session_state[state.JOB]
    assert job is not None
    assert [m.name for m in job.request.models] == ["Baseline", "Logistic regression", "Decision tree"]
    assert job.wait(120), "the run ended"

    go(at, "train")  # AppTest stays on the page it was last switched to
    assert job.snapshot().status == "finished"
    texts = progress_texts(at)
    assert texts and texts[0].startswith("Finished 3 of 3 models"), texts
    assert not any(b.key == "train_stop" for b in at.button), "no Stop once the run is over"
    assert set(leaderboard_models(at)) == {"Baseline", "Logistic regression", "Decision tree"}
    board = at.dataframe[0].value
    assert (board["status"] == "ok").all()
    baseline = board.loc[board["model"] == "Baseline", "Accuracy"].item()
    assert board["Accuracy"].max() > 0.8 > baseline
    bars = chart(at, "train_leaderboard_chart")["data"][0]
    assert "Baseline" in values(bars["y"])
    assert not at.warning and not at.error
    assert not at.exception

    # 126 training + validation rows: chosen by 5-fold cross-validation of macro F1, then refitted.
    rows = len(job.request.split.train) + len(job.request.split.valid)
    assert list(board.columns[:5]) == ["model", "best", "status", "CV F1 (macro)", "CV ±"]
    assert list(board["best"]) == ["★", "", ""], "the best model marked, first"
    assert board["CV F1 (macro)"].is_monotonic_decreasing, "ranked by the cross-validated mean"
    assert any(f"5-fold cross-validation on the {rows:,} training + validation rows" in c for c in captions_of(at))
    chosen = board.loc[0, "model"]
    assert any(f"**Chosen: {chosen}.**" in m.value.replace("\\", "") for m in at.markdown)
    said = [s.body.replace("\\", "") for s in at.success]
    assert (
        f"The chosen model, {chosen}, was chosen by 5-fold cross-validation and then refitted on training + "
        f"validation rows ({rows:,} rows) before the test score." in said
    )


def test_stop_ends_the_growing_forest_and_keeps_what_finished():
    at = on_models("breast_cancer")
    at.multiselect(key="models_chosen").set_value(["random_forest_clf", "logistic_regression"]).run()
    at.number_input(key="models_random_forest_clf_n_estimators").set_value(2000).run()
    at = press_train(at, ["random_forest_clf", "logistic_regression"])
    job = at.session_state[state.JOB]
    deadline = time.monotonic() + 60
    while not any(isinstance(e, ev.StepEnded) and e.model == "Random forest" for e in job.snapshot().events):
        assert time.monotonic() < deadline, "the forest never reported a stage"
        assert job.snapshot().status == "running"
        time.sleep(0.05)

    go(at, "train")
    assert progress_texts(at)[0].startswith("Training…")
    assert "Random forest: stage" in " ".join(progress_texts(at)), "the forest's own bar"
    stop = at.button(key="train_stop")
    assert not stop.disabled
    stop.click().run()
    assert not at.exception
    assert job.stopping
    assert at.button(key="train_stop").disabled, "Stop can be pressed once"
    assert job.wait(60)

    snap = job.snapshot()
    assert snap.status == "stopped"
    started = [e.model for e in snap.events if isinstance(e, ev.ModelStarted)]
    kept = [r.name for r in snap.results]
    assert "Random forest" in kept and set(kept) == set(started), "every model that started is kept, no other"
    assert all(isinstance(r, TrainedModel) for r in snap.results)
    stages = [e for e in snap.events if isinstance(e, ev.StepEnded) and e.model == "Random forest"]
    assert len(stages) < stages[0].steps, "the forest stopped before growing all its trees"
    assert isinstance(snap.events[-1], ev.TrainingStopped)

    at.run()
    assert progress_texts(at)[0].startswith(f"Stopped {len(kept)} of 3 models")
    assert set(leaderboard_models(at)) == set(kept)
    assert not at.exception


def test_a_run_on_the_cluster_survives_a_storm_of_reruns_and_page_visits():
    at = on_models("breast_cancer")
    at.multiselect(key="models_chosen").set_value(["random_forest_clf", "logistic_regression"]).run()
    at.number_input(key="models_random_forest_clf_n_estimators").set_value(600).run()
    at = press_train(at, ["random_forest_clf", "logistic_regression"])
    job = at.session_state[state.JOB]
    assert "Dask cluster" in " ".join(c.value for c in at.caption), "the page says where models train"
    reruns = 0
    while job.snapshot().status == "running" and reruns < 200:
        go(at, ["train", "models", "data", "train"][reruns % 4])  # reruns and page visits while it trains
        assert not at.exception
        reruns += 1
    assert reruns >= 5, "the run ended before the storm began; nothing was tested"
    assert job.wait(120)
    assert at.session_state[state.JOB] is job, "the same run, not restarted by a rerun"
    snap = job.snapshot()
    assert snap.status == "finished", snap.error
    assert [r.name for r in snap.results] == ["Baseline", "Random forest", "Logistic regression"]
    assert all(isinstance(r, TrainedModel) for r in snap.results)
    assert snap.results[1].pipeline[-1].n_estimators == 600, "the forest grew all its trees"
    go(at, "train")
    assert set(leaderboard_models(at)) == {"Baseline", "Random forest", "Logistic regression"}


# --------------------------------------------------------------------------- dates and time order


def warnings_of(at: AppTest) -> list[str]:
    return [w.body.replace("\\", "") for w in at.warning]


def captions_of(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


def test_dates_among_the_features_suggest_time_order_with_a_one_click_fix_and_a_note():
    at = on_models("house_prices")
    advice = [i for i in infos(at) if "shuffling lets the model train on the future" in i]
    assert advice and "order by 'listing_date' to test on the newest rows" in advice[0]
    assert at.selectbox(key="models_time").value is None, "never switched on silently"
    assert setup(at).split.time_column is None
    assert any(
        "'listing_date' goes into the model" in c and "period rather than the pattern" in c for c in captions_of(at)
    )

    at.button(key="models_time_suggested").click().run()
    assert not at.exception
    assert at.selectbox(key="models_time").value == "listing_date"
    assert setup(at).split.time_column == "listing_date"
    assert not [i for i in infos(at) if "shuffling" in i], "the advice is done"
    assert not any(b.key == "models_time_suggested" for b in at.button)


def test_a_month_column_offers_time_order_which_unticks_stratify_and_warns_of_missing_classes():
    at = drifting_on_models()
    assert "month" in at.selectbox(key="models_time").options
    stratify = at.checkbox(key="models_stratify")
    assert stratify.value is True and not stratify.disabled
    assert not [w for w in warnings_of(at) if "classes" in w], "a shuffled, stratified split holds every class"

    at.button(key="models_time_suggested").click().run()
    assert not at.exception
    assert setup(at).split.time_column == "month"
    assert setup(at).split.stratify is False
    shown = [c for c in at.checkbox if c.label == "Stratify by class"]
    assert len(shown) == 1 and shown[0].value is False and shown[0].disabled
    found = warnings_of(at)
    assert any(w.startswith("The test rows hold 2 of the 5 classes ('c', 'd', 'e' are missing)") for w in found)
    assert any(w.startswith("The validation rows hold 2 of the 5 classes") for w in found)
    assert all("shuffle instead of ordering by time" in w for w in found if "classes" in w)

    at.selectbox(key="models_time").set_value(None).run()
    assert not at.exception
    stratify = at.checkbox(key="models_stratify")
    assert stratify.value is True and not stratify.disabled, "shuffling again brings stratification back"
    assert setup(at).split.stratify is True
    assert not [w for w in warnings_of(at) if "classes" in w]


# --------------------------------------------------------------------------- time budget


def budget_table(at: AppTest):
    (table,) = [d.value for d in at.dataframe if "Estimated time" in d.value.columns]
    return table.set_index("Model")


def test_each_model_shows_its_estimated_time_within_a_one_minute_budget():
    at = on_models("iris")
    assert at.selectbox(key="models_budget").value == 60, "one minute by default"
    table = budget_table(at)
    request = at.session_state["memo.models_request"][1]
    assert list(table.index) == [m.name for m in request.models] and "Baseline" in table.index
    assert all(t.startswith(("under", "about")) for t in table["Estimated time"])
    assert (table["In the budget"] == "as chosen").all(), "iris fits a minute as it is"
    assert any("within its 1-minute budget" in c for c in captions_of(at))


def test_a_model_over_the_budget_is_shrunk_and_the_run_says_so_on_every_page(monkeypatch):
    from core.training import budget

    def slow_forest(request, run, clock=None):
        if run.key == "random_forest_clf":  # 2 s a tree on this table: far over a minute
            return budget.Estimate(run.name, 0.0, 2.0 * run.params["n_estimators"] / len(request.split.train), 1.0)
        return budget.Estimate(run.name, 0.0, 1e-6, 1.0)

    monkeypatch.setattr(budget, "estimate", slow_forest)
    at = on_models("breast_cancer")
    at.multiselect(key="models_chosen").set_value(["random_forest_clf", "logistic_regression"]).run()
    change = budget_table(at).loc["Random forest", "In the budget"]
    assert change.startswith("shrunk: ") and "of 300 trees" in change, change
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    forest = next(m for m in job.request.models if m.name == "Random forest")
    assert forest.params["n_estimators"] < 300 and forest.seconds is not None
    assert job.wait(120)
    for page in ("train", "results", "explain"):
        go(at, page)
        assert any("To fit the 1-minute time budget: Random forest: shrunk" in i for i in infos(at)), page


# --------------------------------------------------------------------------- a finished network's curves


def finished_network_run(request) -> TrainingJob:
    """A finished run of the baseline and a Keras network, with the epoch events a real run leaves.

    Built with ``TrainingJob.restored`` (scores and history by hand, no TensorFlow); the network's epochs
    are then reported as the run reported them while it trained, so the page also has live curves to draw.
    """
    scores = {"accuracy": 0.9, "balanced_accuracy": 0.9, "f1_macro": 0.9, "roc_auc": 0.95, "log_loss": 0.3}
    history = {
        "loss": [1.1, 0.8, 0.6],
        "val_loss": [1.0, 0.7, 0.75],
        "accuracy": [0.5, 0.8, 0.9],
        "val_accuracy": [0.6, 0.85, 0.9],
    }
    baseline, network = request.models
    guess = {key: 0.33 for key in scores} | {"roc_auc": 0.5, "log_loss": 1.1}
    results = [
        TrainedModel(baseline.name, baseline.key, {}, None, Task.MULTICLASS, guess, guess, 0.01),
        TrainedModel(
            network.name, network.key, {"epochs": 3}, None, Task.MULTICLASS, scores, scores, 2.0,
            history=history, best_epoch=2,
        ),
    ]  # fmt: skip
    job = TrainingJob.restored(request, results)
    for epoch in range(3):
        metrics = {key: values[epoch] for key, values in history.items()}
        job._listen(ev.EpochEnded(model=network.name, epoch=epoch + 1, epochs=3, metrics=metrics))
    return job


def test_a_finished_network_draws_its_curves_once_in_its_leaderboard_colour():
    """Catches the live chart of a network drawn again beside its final curves once the run has ended."""
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["keras_mlp"]).run()
    request = at.session_state["memo.models_request"][1]
    assert [run.key for run in request.models] == ["baseline", "keras_mlp"]
    at.session_state[state.JOB] = finished_network_run(request)
    go(at, "train")

    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curves = [s for s in specs if any(t.get("name") == "training loss" for t in s["data"])]
    assert len(curves) == 1, f"{len(curves)} charts of the network's curves"
    assert len(specs) == 2, "the leaderboard chart and the network's curves"
    bars = chart(at, "train_leaderboard_chart")["data"][0]
    colour = dict(zip(values(bars["y"]), bars["marker"]["color"], strict=True))[request.models[1].name]
    lines = [t["line"]["color"] for t in curves[0]["data"] if t["name"].startswith(("training", "validation"))]
    assert set(lines) == {colour}, "the network has one colour on the Train page"
    assert not at.exception
