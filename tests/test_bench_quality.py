"""The generated tables of ``bench/bench_quality.py``'s suite carry the difficulties they promise."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def tables():
    spec = importlib.util.spec_from_file_location("quality_tables", BENCH / "quality_tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["quality_tables"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("quality_tables", None)


def test_suite_has_ten_tables_of_every_task(tables):
    assert len([t for t in tables.TABLES if not t.extra]) >= 10
    assert len({t.name for t in tables.TABLES}) == len(tables.TABLES)
    assert {t.task for t in tables.TABLES} == {"binary classification", "multiclass classification", "regression"}
    assert {t.metric for t in tables.TABLES} == {"roc_auc", "f1_macro", "r2"}


def test_churn_has_rare_minority_hundreds_of_levels_and_gaps(tables):
    frame = tables.make_churn(n=3000)
    features = frame.drop(columns=["customer_id", "churned"])
    assert 0.03 <= (frame["churned"] == "yes").mean() <= 0.07
    assert frame["city"].nunique() >= 200 and frame["product_code"].nunique() >= 300
    assert 0.27 <= features.isna().to_numpy().mean() <= 0.33
    assert frame["customer_id"].is_unique


def test_listings_price_is_skewed_and_positive_with_free_text(tables):
    frame = tables.make_listings(n=2000)
    assert (frame["price"] > 0).all() and frame["price"].skew() > 1
    assert frame["description"].str.split().str.len().mean() >= 6
    assert frame["neighbourhood"].nunique() >= 150


def test_wide_sensors_has_80_columns_and_imbalanced_classes(tables):
    frame = tables.make_wide_sensors(n=1500)
    shares = frame["outcome"].value_counts(normalize=True)
    assert frame.shape[1] - 1 >= 80
    assert len(shares) == 4 and shares.min() < 0.15 and shares.max() < 0.7


def test_generated_tables_are_seeded(tables):
    pd.testing.assert_frame_equal(tables.make_listings(n=300), tables.make_listings(n=300))
    assert not tables.make_churn(n=300, seed=1).equals(tables.make_churn(n=300, seed=2))


def test_signal_is_learnable_but_not_separable(tables):
    frame = tables.make_listings(n=1500)
    r = np.corrcoef(np.log(frame["area_sqm"]), np.log(frame["price"]))[0, 1]
    assert 0.3 < r < 0.95  # area carries part of the price, the other columns and noise the rest
    churn = tables.make_churn(n=3000)
    rates = churn.groupby("contract")["churned"].apply(lambda s: (s == "yes").mean())
    assert rates.max() < 0.5  # no group churns for sure
