"""core.training.budget: estimates from a probe, what a budget shrinks or leaves out, the sample, deadlines."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.split import SplitConfig, sample_positions
from core.target import Task
from core.training import ModelRun, TrainedModel, run_training
from core.training import budget as B
from core.training.fit import train_model
from tests.conftest import make_training_request


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Two classes (20 % minority) that depend on three of eight columns, plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 8))
    signal = X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + rng.normal(scale=0.8, size=rows)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["y"] = np.where(signal > np.quantile(signal, 0.8), "yes", "no")
    return frame


def request_of(frame: pd.DataFrame, models: list[ModelRun], **split):
    features = [c for c in frame.columns if c != "y"]
    split = SplitConfig(seed=3, **{"cv_folds": 0, **split})
    return make_training_request(frame, "y", Task.BINARY, models=models, features=features, split=split)


FOREST = ModelRun("random_forest_clf", "Forest", {"n_estimators": 300})
SVM = ModelRun("svm_clf", "SVM", {})
LINEAR = ModelRun("logistic_regression", "Linear", {})


def fake_probe(monkeypatch, cost):
    """Probes that take ``cost(name, rows)`` seconds instead of fitting."""
    monkeypatch.setattr(B, "_probe_once", lambda request, run, rows, clock: cost(run.name, rows))


def test_the_probe_splits_a_fixed_cost_from_the_cost_of_rows(monkeypatch):
    """0.2 s to set up + 1 ms per row: the estimate at 70,000 rows is 70.2 s, not the 350 s of 'all per row'."""
    req = request_of(table(100_000), [LINEAR])
    fake_probe(monkeypatch, lambda name, rows: 0.2 + 0.001 * rows)
    est = B.estimate(req, LINEAR)
    assert est.probed_rows == B.PROBE_START_ROWS * 2, "two sizes at least, even when the first is slow enough"
    assert est.seconds(len(req.split.train)) == pytest.approx(0.2 + 0.001 * len(req.split.train), rel=1e-6)


def test_the_probe_doubles_its_rows_until_the_time_grows_with_them(monkeypatch):
    seen = []

    def cost(name, rows):
        seen.append(rows)
        return 0.01 + 1e-5 * rows

    req = request_of(table(20_000), [LINEAR])
    fake_probe(monkeypatch, cost)
    monkeypatch.setattr(B, "_warmed", set())
    B.estimate(req, LINEAR)
    assert seen == [B.PROBE_WARM_ROWS, 500, 1000, 2000], "warm-up, then doubling up to the cap"
    seen.clear()
    B.estimate(req, LINEAR)
    assert seen == [500, 1000, 2000], "the model's first fit in this process is warmed up once"


def test_cross_validation_counts_each_fold(monkeypatch):
    req = request_of(table(2_000), [LINEAR], cv_folds=5)
    fake_probe(monkeypatch, lambda name, rows: 0.001 * rows)
    assert B.estimate(req, LINEAR).repeats == 6, "the model's own fit and 5 folds"


def test_within_the_budget_nothing_changes():
    req = request_of(table(5_000), [LINEAR, FOREST])
    estimates = {r.name: B.Estimate(r.name, 0.1, 1e-4, 1.0) for r in req.models}
    planned = B.plan(req, estimates, 60, workers=1)
    assert not planned.sampled and all(m.change == "" for m in planned.models)
    assert planned.apply(req).models == [dataclasses.replace(r, seconds=None) for r in req.models]


def test_a_large_table_trains_on_a_stratified_sample_when_a_model_would_be_left_out():
    req = request_of(table(200_000), [FOREST])  # 140,000 training rows
    # The forest: 0.01 s a row for its 300 trees, 1,400 s; 20 trees (the fewest) fit a minute below 90,000 rows.
    estimates = {"Baseline": B.Estimate("Baseline", 0.0, 1e-7, 1.0), "Forest": B.Estimate("Forest", 0.0, 0.01, 1.0)}
    planned = B.plan(req, estimates, 60, workers=1)
    assert 85_000 < planned.rows <= 90_000 and planned.of_rows == 140_000
    forest = next(m for m in planned.models if m.name == "Forest")
    assert not forest.left_out and forest.run.params["n_estimators"] >= B.MIN_STAGES
    assert planned.seconds <= 60
    applied = planned.apply(req)
    assert len(applied.split.train) == planned.rows and applied.budget is planned
    assert set(applied.split.train) <= set(req.split.train), "only training rows; validation and test untouched"
    np.testing.assert_array_equal(applied.split.valid, req.split.valid)
    np.testing.assert_array_equal(applied.split.test, req.split.test)
    share = (req.frame["y"].iloc[applied.split.train] == "yes").mean()
    assert share == pytest.approx((req.frame["y"].iloc[req.split.train] == "yes").mean(), abs=0.002)
    note, shrunk = B.notes(applied)
    assert f"{planned.rows:,} of the 140,000 training rows" in note and "1-minute" in note
    assert shrunk.startswith("To fit the 1-minute time budget: Forest: shrunk: ")


def test_rows_in_time_order_train_on_the_most_recent_rows_not_a_sample_with_gaps():
    frame = table(200_000)
    frame["day"] = pd.Timestamp("2000-01-01") + pd.to_timedelta(np.random.default_rng(1).permutation(200_000), "h")
    req = request_of(frame, [FOREST], time_column="day")
    estimates = {"Baseline": B.Estimate("Baseline", 0.0, 1e-7, 1.0), "Forest": B.Estimate("Forest", 0.0, 0.01, 1.0)}
    planned = B.plan(req, estimates, 60, workers=1)
    assert planned.sampled and planned.recent
    train = planned.apply(req).split.train
    days = req.frame["day"].iloc[train]
    every = req.frame["day"].iloc[req.split.train].sort_values()
    # A run of consecutive hours ending at the last training hour: no sequence has a gap.
    assert days.is_monotonic_increasing and days.iloc[-1] == every.iloc[-1]
    assert list(days) == list(every.iloc[-len(train) :])
    assert f"the most recent {planned.rows:,} of the 140,000 training rows" in planned.sample_note()


def test_over_the_budget_a_forest_grows_fewer_trees_an_svm_learns_from_fewer_rows():
    req = request_of(table(10_000), [LINEAR, FOREST, SVM])
    estimates = {
        "Baseline": B.Estimate("Baseline", 0.0, 1e-6, 1.0),
        "Linear": B.Estimate("Linear", 0.0, 1e-4, 1.0),  # under 1 s
        "Forest": B.Estimate("Forest", 1.0, 0.01, 1.0),  # 71 s
        "SVM": B.Estimate("SVM", 0.0, 2e-6, 2.0),  # 98 s
    }
    planned = B.plan(req, estimates, 60, workers=1)
    by_name = {m.name: m for m in planned.models}
    assert by_name["Linear"].change == "" and by_name["Baseline"].change == ""
    forest = by_name["Forest"].run
    assert by_name["Forest"].change.startswith("shrunk: ") and " of 300 trees" in by_name["Forest"].change
    assert B.MIN_STAGES <= forest.params["n_estimators"] < 300 and forest.seconds == pytest.approx(
        by_name["Forest"].seconds
    )
    svm = by_name["SVM"].run
    assert "rows" in by_name["SVM"].change and B.MIN_ROWS <= svm.max_rows < len(req.split.train)
    assert planned.seconds <= 60 * 1.001


def test_a_model_that_cannot_shrink_enough_is_left_out_with_the_reason():
    req = request_of(table(10_000), [LINEAR, SVM])
    estimates = {
        "Baseline": B.Estimate("Baseline", 0.0, 1e-6, 1.0),
        "Linear": B.Estimate("Linear", 50.0, 1e-4, 1.0),  # 50 s of set-up: rows cannot help
        "SVM": B.Estimate("SVM", 40.0, 2e-6, 2.0),
    }
    planned = B.plan(req, estimates, 60, workers=1)
    left = [m for m in planned.models if m.left_out]
    assert left and all(m.change.startswith("left out: ") and "budget" in m.change for m in left)
    assert "Baseline" not in {m.name for m in left}
    assert {m.name for m in left}.isdisjoint(r.name for r in planned.apply(req).models)


def test_workers_at_an_address_share_the_run():
    assert B.wall_seconds([30, 30, 20, 10], 2) == 50
    assert B.wall_seconds([30, 30, 20, 10], 1) == 90


def test_sample_positions_keep_every_class_share_and_the_order():
    y = pd.Series(["a"] * 900 + ["b"] * 95 + ["c"] * 5)
    positions = np.arange(1000)[::-1]  # a time order that is not sorted by position
    picked = sample_positions(y, positions, 100, seed=1, stratify=True)
    assert len(picked) == 100 and y.iloc[picked].value_counts().to_dict() == {"a": 90, "b": 9, "c": 1}
    order = {p: i for i, p in enumerate(positions)}
    assert [order[p] for p in picked] == sorted(order[p] for p in picked), "the original order is kept"


def test_a_forest_past_its_time_keeps_the_trees_grown_and_says_so():
    req = request_of(table(3_000), [])
    run = ModelRun("random_forest_clf", "Forest", {"n_estimators": 400}, seconds=1e-4)
    trained = train_model(req, run)
    assert isinstance(trained, TrainedModel)
    grown = trained.params["n_estimators"]
    assert grown < 400 and len(trained.pipeline.steps[-1][1].estimators_) == grown
    assert trained.budget_note == f"grew {grown} of 400 trees before its time in the budget ran out"


def test_a_planned_run_refits_the_chosen_model_as_it_was_fitted():
    req = request_of(table(3_000), [])
    req = dataclasses.replace(
        req, models=[ModelRun("random_forest_clf", "Forest", {"n_estimators": 400}, seconds=1e-4)]
    )
    results = run_training(req)
    forest = next(r for r in results if r.name == "Forest")
    assert forest.refitted, "the chosen forest is refitted on training + validation rows"
    assert len(forest.pipeline.steps[-1][1].estimators_) == forest.params["n_estimators"] < 400


def test_a_model_shrunk_to_fewer_rows_learns_from_its_own_sample():
    req = request_of(table(6_000), [])
    run = ModelRun("knn_clf", "Neighbours", {}, max_rows=2_000)
    trained = train_model(req, run)
    assert trained.pipeline.steps[-1][1].n_samples_fit_ == 2_000 < len(req.split.train)
