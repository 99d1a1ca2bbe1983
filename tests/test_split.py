"""core.split: sizes, stratification, time order, seeds, refusals."""

import numpy as np
import pandas as pd
import pytest

from core.split import SplitConfig, SplitError, cv_folds, make_split, split_summary
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
