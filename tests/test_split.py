"""core.split: sizes, stratification, time order, seeds, refusals."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.split import (
    SplitConfig,
    SplitError,
    cv_folds,
    make_split,
    size_warning,
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


def test_time_order_advice_mentions_features_from_earlier_rows():
    _, message = time_order_advice(drifting(), ["when"])
    assert "features from earlier rows (lags, moving averages" in message


# --------------------------------------------------------------------------- entities and row order


def shops(seed: int = 0) -> pd.DataFrame:
    """Three shops over different stretches of days (one starts late, one has few rows), rows shuffled."""
    parts = [
        pd.DataFrame({"day": pd.date_range("2024-01-01", periods=100), "shop": "a"}),
        pd.DataFrame({"day": pd.date_range("2024-03-01", periods=60), "shop": "b"}),
        pd.DataFrame({"day": pd.date_range("2024-01-20", periods=12), "shop": "c"}),
    ]
    rows = pd.concat(parts, ignore_index=True)
    rows["y"] = np.random.default_rng(seed).normal(size=len(rows))
    return rows.sample(frac=1, random_state=seed).reset_index(drop=True)


def test_a_split_per_entity_cuts_each_entitys_rows_in_time():
    f = shops()
    split = make_split(f, "y", Task.REGRESSION, SplitConfig(time_column="day", entity_column="shop"))
    for shop, rows in f.groupby("shop"):
        days = {name: f["day"].iloc[part][f["shop"].iloc[part] == shop] for name, part in
                (("train", split.train), ("valid", split.valid), ("test", split.test))}  # fmt: skip
        assert days["train"].max() < days["valid"].min() <= days["valid"].max() < days["test"].min(), shop
        assert len(days["train"]) == len(rows) - len(days["valid"]) - len(days["test"])
        assert len(days["valid"]) >= 1 and len(days["test"]) == round(len(rows) * 0.15)
    # Cut as a whole instead, the late shop 'b' would have no training rows at all.
    whole = make_split(f, "y", Task.REGRESSION, SplitConfig(time_column="day"))
    assert (f["shop"].iloc[whole.train] == "b").sum() < (f["shop"].iloc[split.train] == "b").sum()
    for part in (split.train, split.valid, split.test):
        assert f["day"].iloc[part].is_monotonic_increasing, "each part oldest first"


def test_an_entity_with_one_row_per_value_is_refused_in_words_with_a_fix():
    f = pd.DataFrame({"rowid": range(600), "day": np.arange(600) % 30, "y": np.arange(600.0)})
    with pytest.raises(SplitError) as err:
        make_split(f, "y", Task.REGRESSION, SplitConfig(time_column="day", entity_column="rowid"))
    words = err.value.user_message
    assert "Each 'rowid' value has only 1 row" in words and "no row is left for validation" in words
    assert "pick another entity column or none" in words
    # Two rows each: still no validation row; three rows each: validation, but the 15 % test share rounds to none.
    for per, part in ((2, "validation"), (3, "testing")):
        f["pair"] = np.arange(600) // per
        with pytest.raises(SplitError, match=f"No 'pair' value has more than {per} rows: .*left for {part}"):
            make_split(f, "y", Task.REGRESSION, SplitConfig(time_column="day", entity_column="pair"))
    f["pair"] = np.arange(600) // 3
    split = make_split(f, "y", Task.REGRESSION, SplitConfig(0.7, 0.3, 0.0, time_column="day", entity_column="pair"))
    assert len(split.test) == 0 and len(split.valid) == 200, "no test share asked: an empty test part is fine"


def test_the_size_warning_speaks_of_small_validation_parts_never_of_empty_ones():
    f = frame(60)
    split = make_split(f, "y", Task.BINARY, SplitConfig(cv_folds=0))
    assert "only 9 rows" in size_warning(split)
    assert size_warning(replace(split, valid=split.valid[:0])) is None


def test_rows_can_be_cut_in_their_order_as_loaded():
    f = shops()
    split = make_split(f, "y", Task.REGRESSION, SplitConfig(in_row_order=True, stratify=True))
    assert split.config.stratify is False
    assert split.train.tolist() == list(range(len(split.train)))
    assert split.test.tolist() == list(range(len(f) - len(split.test), len(f)))
    per_shop = make_split(f, "y", Task.REGRESSION, SplitConfig(in_row_order=True, entity_column="shop"))
    for shop in "abc":
        train = per_shop.train[f["shop"].iloc[per_shop.train].to_numpy() == shop]
        valid = per_shop.valid[f["shop"].iloc[per_shop.valid].to_numpy() == shop]
        assert train.max() < valid.min(), "each shop's earlier rows (in the file) train"


def test_expanding_window_folds_learn_only_from_earlier_rows_within_each_entity():
    f = shops(1)
    split = make_split(f, "y", Task.REGRESSION, SplitConfig(time_column="day", entity_column="shop"))
    positions = split.in_time_order(np.concatenate([split.train, split.valid]))
    assert f["day"].iloc[positions].is_monotonic_increasing
    folds = cv_folds(f["y"], positions, Task.REGRESSION, 4, 0, in_time_order=True)
    assert len(folds) == 4
    for fit_rows, score_rows in folds:
        assert f["day"].iloc[fit_rows].max() <= f["day"].iloc[score_rows].min()
    assert [len(fit) for fit, _ in folds] == sorted(len(fit) for fit, _ in folds), "each fold learns from more rows"


def test_older_split_settings_load_and_new_ones_are_written_only_when_used():
    old = {"train": 0.7, "valid": 0.15, "test": 0.15, "seed": 4, "stratify": True, "time_column": None, "cv_folds": 0}
    assert SplitConfig(**old).to_dict() == old, "a config from before entities reads and writes the same"
    config = SplitConfig(time_column="day", entity_column="shop")
    assert SplitConfig(**config.to_dict()) == config and config.to_dict()["entity_column"] == "shop"
    with pytest.raises(SplitError, match="only when they are ordered in time"):
        make_split(shops(), "y", Task.REGRESSION, SplitConfig(entity_column="shop"))
    with pytest.raises(SplitError, match="not both"):
        make_split(shops(), "y", Task.REGRESSION, SplitConfig(time_column="day", in_row_order=True))
