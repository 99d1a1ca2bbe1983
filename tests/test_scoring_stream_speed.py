"""Scoring a file in chunks does each chunk's work once: one transform per chunk, formula checks per chunk."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from core.loading import load_file
from core.predict import check_batch, predict_frame, usable_from_training
from core.scoring import score_file
from core.training import run_training
from tests.conftest import make_training_request


def _train(model: str):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        }
    )
    frame["churn"] = np.where(frame["income"] + rng.normal(0, 5, n) > 50, "yes", "no")
    data = load_file(frame.to_csv(index=False).encode(), "train.csv")
    request = make_training_request(data.frame, "churn", models=[model], features=["income", "city"])
    trained = next(m for m in run_training(request) if m.name != "Baseline")
    return usable_from_training(trained, request, "train.csv")


@pytest.fixture(scope="module")
def classifier():
    return _train("logistic_regression")


def _expected(model, path) -> pd.DataFrame:
    with open(path, "rb") as fh:
        aligned, _ = check_batch(load_file(fh.read(), "new.csv").frame, model.schema)
    return predict_frame(model, aligned)


def _rows(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "note": ["ok"] * n,
            "delta": rng.integers(-5, 5, n),
        }
    )
    frame.loc[n - 3, "note"] = "=HYPERLINK(1)"  # only in the last chunk
    frame.loc[n - 2, "note"] = "-cmd"
    return frame


def test_each_chunk_is_transformed_once_with_the_same_predictions(classifier, tmp_path):
    model = copy.deepcopy(classifier)
    columns = model.pipeline.steps[0][1]
    calls: list[int] = []
    transform = columns.transform

    def counting(X, *args, **kwargs):
        calls.append(len(X))
        return transform(X, *args, **kwargs)

    columns.transform = counting  # this copy only
    path = tmp_path / "new.csv"
    _rows(1_000).to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    report = score_file(model, str(path), str(out), chunk_rows=100)
    assert report.rows == 1_000
    chunks = len(calls)
    assert chunks >= 5 and sum(calls) == 1_000  # labels and probabilities of a chunk share one transform
    got = pd.read_csv(out, encoding="utf-8-sig")
    expected = _expected(classifier, path)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(got["probability of yes"], expected["probability of yes"], rtol=1e-9)


def test_formulas_found_in_a_later_chunk_are_neutralised_and_numbers_left_alone(classifier, tmp_path):
    path = tmp_path / "new.csv"
    _rows(1_000).to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    score_file(classifier, str(path), str(out), chunk_rows=100)
    got = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert got["note"].iloc[-3] == "'=HYPERLINK(1)"
    assert got["note"].iloc[-2] == "'-cmd"
    assert (got["note"].iloc[:-3] == "ok").all()
    assert got["delta"].str.startswith("'").sum() == 0  # '-3' stays a number
    assert got["delta"].str.startswith("-").any()


def test_a_forest_runs_its_trees_once_per_chunk_and_the_model_is_left_as_it_was(tmp_path):
    forest = _train("random_forest_clf")
    trees = forest.pipeline.steps[-1][1]
    calls: list[int] = []
    proba = type(trees).predict_proba

    class Counting(type(trees)):  # the same forest, counting the rows its trees score
        def predict_proba(self, X):
            calls.append(len(X))
            return proba(self, X)

    trees.__class__ = Counting
    path = tmp_path / "new.csv"
    _rows(600).to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    score_file(forest, str(path), str(out), chunk_rows=100)
    assert sum(calls) == 600  # labels (argmax of the probabilities) and probabilities from one pass
    assert not any(name in vars(trees) for name in ("predict_proba", "decision_function", "_raw_predict"))
    got = pd.read_csv(out, encoding="utf-8-sig")
    expected = _expected(forest, path)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(got["probability of yes"], expected["probability of yes"], rtol=1e-9)
