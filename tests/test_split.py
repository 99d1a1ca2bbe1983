"""core.split: sizes, stratification, time order, seeds, refusals."""

import numpy as np
import pandas as pd
import pytest

from core.split import (
    SplitConfig,
    SplitError,
    cv_folds,
    make_split,
    split_summary,
    split_warnings,
    time_order_advice,
)
from core.target import Task


def frame(n=200, minority=0.1):
    rng = np.random.default_rng(0)
    y = np.where(rng.random(n) < minority, "rare", "common")
    return pd.DataFrame(
        {"x": rng.normal(size=n), "y": y, "when": pd.date_range("2024-01-01", periods=n, freq="D")[::-1]}
    )


def test_default_is_70_15_15_disjoint_and_complete():
    f = frame()
    split = make_split(f, "y", Task.BINARY, SplitConfig())
    assert split.sizes() == {"train": 140, "validation": 30, "test": 30}
    every = np.concatenate([split.train, split.valid, split.test])
    assert sorted(every) == list(range(len(f)))


def test_stratified_keeps_class_shares():
    f = frame(1000, 0.1)
    split = make_split(f, "y", Task.BINARY, SplitConfig())
    overall = (f["y"] == "rare").mean()
    for part in (split.train, split.valid, split.test):
        assert abs((f["y"].iloc[part] == "rare").mean() - overall) < 0.02


def test_same_seed_same_split_other_seed_other_split():
    f = frame()
    a = make_split(f, "y", Task.BINARY, SplitConfig(seed=1))
    b = make_split(f, "y", Task.BINARY, SplitConfig(seed=1))
    c = make_split(f, "y", Task.BINARY, SplitConfig(seed=2))
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)


def test_time_order_puts_newest_rows_in_test():
    f = frame()
    split = make_split(f, "y", Task.BINARY, SplitConfig(time_column="when"))
    assert f["when"].iloc[split.train].max() < f["when"].iloc[split.valid].min()
    assert f["when"].iloc[split.valid].max() < f["when"].iloc[split.test].min()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SplitConfig(train=0.5, valid=0.2, test=0.2), "add up to 100%"),
        (SplitConfig(train=0.9, valid=0.0, test=0.1), "need some rows"),
        (SplitConfig(cv_folds=50), "between 2 and 20"),
    ],
)
def test_bad_configs_are_refused(config, message):
    with pytest.raises(SplitError, match=message):
        make_split(frame(), "y", Task.BINARY, config)


def test_too_few_rows_is_refused():
    with pytest.raises(SplitError, match="at least 10"):
        make_split(frame(5), "y", Task.BINARY, SplitConfig())


def test_summary_and_cv_folds():
    f = frame()
    split = make_split(f, "y", Task.BINARY, SplitConfig())
    summary = split_summary(split, f["y"])
    assert set(summary["split"]) == {"train", "validation", "test"}
    assert summary.groupby("split")["rows"].sum().to_dict() == {"test": 30, "train": 140, "validation": 30}
    positions = np.concatenate([split.train, split.valid])
    folds = cv_folds(f["y"], positions, Task.BINARY, 5, 0)
    assert len(folds) == 5
    assert sorted(np.concatenate([b for _, b in folds])) == sorted(positions)


def test_cv_folds_in_time_order_never_fit_on_the_future():
    f = frame()
    positions = np.arange(len(f))  # oldest first, as a time-ordered split gives them
    folds = cv_folds(f["y"], positions, Task.BINARY, 4, 0, in_time_order=True)
    assert len(folds) == 4
    for fit_rows, score_rows in folds:
        assert fit_rows.max() < score_rows.min(), "every fitted row comes before every scored row"


# --------------------------------------------------------------------------- time order and missing classes


def drifting(n=100):
    """Five classes early on; the newest 40% of rows hold only 'a' and 'b'."""
    rng = np.random.default_rng(1)
    late = np.arange(n) >= 0.6 * n
    y = np.where(late, rng.choice(["a", "b"], n), rng.choice(["a", "b", "c", "d", "e"], n))
    when = pd.date_range("2018-01-01", periods=n, freq="MS")
    return pd.DataFrame({"x": rng.normal(size=n), "when": when, "y": y}).sample(frac=1, random_state=0)


def test_time_order_turns_stratification_off_in_the_config():
    config = SplitConfig(time_column="when")
    assert config.stratify is False and config.to_dict()["stratify"] is False
    assert SplitConfig(stratify=True).stratify is True
    f = drifting()
    assert make_split(f, "y", Task.MULTICLASS, SplitConfig(stratify=True, time_column="when")).config.stratify is False


def test_split_warnings_name_the_classes_missing_from_validation_and_test_with_a_fix():
    f = drifting()
    split = make_split(f, "y", Task.MULTICLASS, SplitConfig(time_column="when"))
    warnings = split_warnings(split, f["y"])
    assert len(warnings) == 2
    valid, test = warnings
    assert valid.startswith("The validation rows hold 2 of the 5 classes ('c', 'd', 'e' are missing)")
    assert test.startswith("The test rows hold 2 of the 5 classes ('c', 'd', 'e' are missing)")
    for message in warnings:
        assert "ROC-AUC and per-class precision cannot be computed for the missing classes" in message
        assert "shuffle instead of ordering by time" in message


def test_split_warnings_for_one_class_and_for_classes_training_never_saw():
    n = 100
    f = pd.DataFrame(
        {"when": pd.date_range("2020-01-01", periods=n, freq="D"), "y": ["a", "b"] * 35 + ["a"] * 15 + ["z"] * 15}
    )
    split = make_split(f, "y", Task.BINARY, SplitConfig(time_column="when"))
    valid, test = split_warnings(split, f["y"])
    assert valid.startswith("The validation rows hold only one class ('a')")
    assert "ROC-AUC" in valid
    assert test.startswith("The test rows hold only one class ('z')")
    assert "training rows never show ('z')" in test


def test_a_shuffled_stratified_split_or_regression_has_no_split_warnings():
    f = drifting(200)
    split = make_split(f, "y", Task.MULTICLASS, SplitConfig())
    assert split_warnings(split, f["y"]) == []
    assert split_warnings(split, None) == []


def test_time_order_advice_names_a_complete_date_column_and_says_why():
    f = drifting()
    f["gappy"] = f["when"].where(f["x"] > 0)
    column, message = time_order_advice(f, ["gappy", "when"])
    assert column == "when"
    assert "shuffling lets the model train on the future and be scored on the past" in message
    assert "order by 'when' to test on the newest rows" in message.lower()
    assert time_order_advice(f, []) is None


def test_stratified_split_of_thousands_of_classes_keeps_every_row_and_each_class_in_training():
    y = pd.Series([f"c{i % 5_000}" for i in range(20_000)] + [None] * 3)
    split = make_split(y.to_frame("y"), "y", Task.MULTICLASS, SplitConfig())
    together = np.sort(np.concatenate([split.train, split.valid, split.test]))
    assert np.array_equal(together, np.arange(len(y))), "rows without a label are not lost either"
    assert y.iloc[split.train].nunique() == 5_000
