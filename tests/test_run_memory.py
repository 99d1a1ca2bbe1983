"""The memory a run needs (core.run_memory) and its refusal over the per-session limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import run_memory
from core.errors import DashboardError
from core.training import ModelRun
from tests.conftest import make_training_request


def table(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"x{i}" for i in range(6)])
    frame["colour"] = rng.choice(["red", "green", "blue"], rows)
    frame["y"] = np.where(frame["x0"] + rng.normal(size=rows) > 0, "yes", "no")
    return frame


def test_the_estimate_adds_the_rows_on_every_worker_and_each_models_encoded_copies():
    request = make_training_request(table(), "y", models=["logistic_regression"])
    need = run_memory.estimate(request, workers=2)
    frame_bytes = request.frame.memory_usage(index=True, deep=True).sum()
    assert need.rows == frame_bytes * 3, "once in the session, once on each of the two workers"
    width = 6 + 3  # six numbers, three colours one-hot
    rows = len(request.split.train) + len(request.split.valid)  # the chosen model is refitted on both
    logistic = next(m for m in need.models if m.name == "logistic_regression")
    assert logistic.working == rows * width * 8 * run_memory.FIT_COPIES["linear"]
    assert logistic.held == 0
    assert need.total == pytest.approx(need.rows + sum(m.working for m in need.models))


def test_forests_grow_with_their_trees_knn_keeps_its_rows_and_networks_bring_tensorflow():
    def need(*models, workers=1):
        return run_memory.estimate(make_training_request(table(), "y", models=list(models)), workers=workers)

    small, large = (
        need(("random_forest_clf", {"n_estimators": 10})),
        need(("random_forest_clf", {"n_estimators": 1000})),
    )
    assert large.models[-1].held == pytest.approx(100 * small.models[-1].held)
    shallow = need(("random_forest_clf", {"n_estimators": 1000, "max_depth": 2}))
    assert shallow.models[-1].held < large.models[-1].held / 10, "a depth limit caps the nodes"
    knn = need("knn_clf").models[-1]
    assert knn.held == knn.working / run_memory.FIT_COPIES["neighbors"], "k-NN holds one encoded copy"
    assert need("keras_mlp").tensorflow == run_memory.TENSORFLOW_MB * run_memory.MB
    assert need("logistic_regression").tensorflow == 0


def test_only_as_many_working_sets_count_as_models_fit_side_by_side():
    request = make_training_request(table(), "y", models=["logistic_regression", "naive_bayes", "decision_tree_clf"])
    assert len(request.models) == 4, "with the baseline"
    one, four = run_memory.estimate(request, workers=1), run_memory.estimate(request, workers=4)
    largest = max(m.working for m in one.models)
    assert one.total == pytest.approx(one.rows + largest + sum(m.held for m in one.models))
    assert four.total - four.rows == pytest.approx(sum(m.working + m.held for m in four.models))


def test_a_shrunk_model_is_estimated_on_its_own_rows():
    request = make_training_request(table(), "y", models=["logistic_regression"])
    run = next(r for r in request.models if r.key == "logistic_regression")
    fewer = ModelRun(run.key, run.name, run.params, max_rows=100)
    assert run_memory.fit_rows(request, fewer) == 100 + len(request.split.valid)


def test_a_run_over_the_session_limit_is_refused_with_the_estimate_the_limit_and_a_fix(monkeypatch):
    request = make_training_request(table(), "y", models=[("random_forest_clf", {"n_estimators": 2000})])
    assert run_memory.check(request, workers=2).total_mb < 4096, "the default limit lets a small run through"
    monkeypatch.setenv("NOCODE_SESSION_MEMORY_MB", "1")
    need = run_memory.estimate(request, workers=2).total_mb
    with pytest.raises(DashboardError) as refused:
        run_memory.check(request, workers=2)
    words = refused.value.user_message
    assert f"about {run_memory.megabytes_words(need)}" in words
    assert "each session may use 1 MB on this server, so it was not started" in words
    assert "Untick the columns that become many on the Target page (wide text" in words
    assert "fewer models" not in words and "needs the most" not in words, "one model (and the baseline): no such fix"
    assert "time budget" not in words, "a time budget shrinks slow models, not a fast model's memory"
    two = make_training_request(
        table(), "y", models=[("random_forest_clf", {"n_estimators": 2000}), ("logistic_regression", {})]
    )
    with pytest.raises(DashboardError) as both:
        run_memory.check(two, workers=2)
    assert "needs the most" in both.value.user_message and "Choose fewer models or untick" in both.value.user_message
    assert "NOCODE_SESSION_MEMORY_MB" in words


def test_megabytes_in_words():
    assert run_memory.megabytes_words(850.4) == "850 MB"
    assert run_memory.megabytes_words(3174) == "3.1 GB"
    assert run_memory.megabytes_words(0.2) == "1 MB"
