"""Checks for the sample datasets in ``sample_data/`` and their generator."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
CATALOG: list[dict[str, str]] = json.loads((SAMPLE_DIR / "catalog.json").read_text("utf-8"))
EXPECTED_ORDER = [
    "house_prices",
    "spam",
    "predictive_maintenance",
    "iris",
    "wine",
    "breast_cancer",
    "diabetes",
    "electricity_demand",
]
SENSOR_COLUMNS = ["temperature_c", "vibration_mm_s", "current_a"]


def _load(key: str) -> pd.DataFrame:
    """Read one sample dataset by its catalog key."""
    return pd.read_csv(SAMPLE_DIR / f"{key}.csv")


def _generator() -> ModuleType:
    """Import ``sample_data/generate.py`` without making the folder a package."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tabular_preprocessor() -> ColumnTransformer:
    """Median-impute numbers, one-hot encode text columns."""
    return ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), make_column_selector(dtype_include="number")),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                make_column_selector(dtype_exclude="number"),
            ),
        ]
    )


# --------------------------------------------------------------------------- #
# Catalog and files
# --------------------------------------------------------------------------- #
def test_catalog_lists_every_dataset_in_order() -> None:
    assert [entry["key"] for entry in CATALOG] == EXPECTED_ORDER
    required = {"key", "file", "title", "description", "target", "task", "source"}
    for entry in CATALOG:
        assert set(entry) == required
        assert entry["task"] in {"regression", "binary", "multiclass"}
        assert entry["file"] == f"{entry['key']}.csv"
        assert entry["description"].strip() and entry["title"].strip()


@pytest.mark.parametrize("entry", CATALOG, ids=[e["key"] for e in CATALOG])
def test_file_loads_and_target_matches_task(entry: dict[str, str]) -> None:
    path = SAMPLE_DIR / entry["file"]
    assert path.is_file()
    df = pd.read_csv(path)
    assert len(df) > 100 and df.shape[1] >= 3
    assert entry["target"] in df.columns
    target = df[entry["target"]]
    assert target.notna().all()
    n_classes = target.nunique()
    if entry["task"] == "regression":
        assert pd.api.types.is_numeric_dtype(target)
        assert n_classes > 20
    elif entry["task"] == "binary":
        assert n_classes == 2
    else:
        assert 3 <= n_classes <= 20


def test_house_prices_shape_and_missing_values() -> None:
    df = _load("house_prices")
    assert 1400 <= len(df) <= 1600
    for col in ["lot_size_sqm", "year_built"]:
        assert 0.01 < df[col].isna().mean() < 0.05
    assert 6 <= df["neighbourhood"].nunique() <= 8
    assert set(df["condition"]) == {"poor", "fair", "good", "excellent"}
    assert set(df["garage"]) == {"yes", "no"}
    dates = pd.to_datetime(df["listing_date"], format="%Y-%m-%d")
    assert dates.min().year >= 2022 and dates.max().year <= 2024


def test_spam_has_realistic_text_and_balance() -> None:
    df = _load("spam")
    assert set(df["label"]) == {"spam", "ham"}
    assert 0.22 <= (df["label"] == "spam").mean() <= 0.33
    assert df["message"].str.len().mean() > 30
    assert df["hour_sent"].between(0, 23).all()
    assert set(df["has_attachment"]) == {"yes", "no"}


def test_maintenance_is_imbalanced_with_missing_sensor_readings() -> None:
    df = _load("predictive_maintenance")
    assert 0.03 <= df["failure"].mean() <= 0.08
    assert df["machine_id"].is_unique
    assert set(df["machine_type"]) == {"L", "M", "H"}
    for col in SENSOR_COLUMNS:
        assert 0.01 < df[col].isna().mean() < 0.06


def test_electricity_demand_is_one_row_per_day_and_region() -> None:
    df = _load("electricity_demand")
    dates = pd.to_datetime(df["date"], format="%Y-%m-%d")
    assert df["region"].nunique() == 6 and len(df) == 6 * dates.nunique()
    assert not df.duplicated(["date", "region"]).any()
    assert (dates.max() - dates.min()).days >= 700
    assert set(df["holiday"]) == {0, 1} and df.notna().all().all()


def test_bundled_datasets_use_class_names() -> None:
    assert set(_load("iris")["species"]) == {"setosa", "versicolor", "virginica"}
    assert set(_load("wine")["cultivar"]) == {"class_0", "class_1", "class_2"}
    assert set(_load("breast_cancer")["diagnosis"]) == {"malignant", "benign"}


# --------------------------------------------------------------------------- #
# Reproducibility
# --------------------------------------------------------------------------- #
def test_generator_reproduces_files_byte_for_byte(tmp_path: Path) -> None:
    written = _generator().main(tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted([e["file"] for e in CATALOG] + ["catalog.json"])
    for name in names:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


# --------------------------------------------------------------------------- #
# Learnability: the built-in relationships can be found by simple models
# --------------------------------------------------------------------------- #
def test_house_prices_are_learnable() -> None:
    df = _load("house_prices")
    df["listing_date"] = (pd.to_datetime(df["listing_date"]) - pd.Timestamp("2022-01-01")).dt.days
    X, y = df.drop(columns="price"), df["price"]
    model = Pipeline(
        [
            ("prep", _tabular_preprocessor()),
            ("rf", RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=-1)),
        ]
    )
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    r2 = cross_val_score(model, X, y, cv=cv, scoring="r2").mean()
    assert r2 > 0.7


def test_maintenance_failures_are_learnable() -> None:
    df = _load("predictive_maintenance")
    X, y = df.drop(columns=["failure", "machine_id"]), df["failure"]
    model = Pipeline(
        [
            ("prep", _tabular_preprocessor()),
            (
                "rf",
                RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=0, n_jobs=-1),
            ),
        ]
    )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    auc = cross_val_score(model, X, y, cv=cv, scoring="roc_auc").mean()
    assert auc > 0.8


def test_spam_is_learnable_but_not_trivial() -> None:
    df = _load("spam")
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    acc = cross_val_score(model, df["message"], df["label"], cv=cv).mean()
    assert 0.9 < acc < 0.995
