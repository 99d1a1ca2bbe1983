"""core.features: one pipeline per model, fitted on training rows only."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from core.cleaning import CleaningPlan, MissingRule, OutlierRule
from core.features import FeatureOptions, build_pipeline, feature_sources
from core.schema import Role
from core.transformers import ratio_name

ROLES = {
    "num": Role.NUMERIC,
    "other": Role.NUMERIC,
    "cat": Role.CATEGORICAL,
    "text": Role.TEXT,
    "when": Role.DATETIME,
    "price": Role.CATEGORICAL,
}
FEATURES = ["num", "other", "cat", "text", "when", "price"]


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num": rng.normal(10, 2, n),
            "other": rng.uniform(1, 5, n),
            "cat": rng.choice(["a", "b", "c"], n),
            "text": rng.choice(["free prize now", "meeting at noon", "call me later", "win cash today"], n),
            "when": pd.date_range("2024-01-01", periods=n, freq="12h"),
            "price": rng.choice(["$10", "$20", "$1,000"], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "num"] = np.nan
    frame.loc[rng.random(n) < 0.1, "cat"] = None
    y = (frame["num"].fillna(10) + (frame["cat"] == "a") * 3 > 11).map({True: "yes", False: "no"})
    return frame, y


def test_pipeline_fits_all_roles_and_predicts_new_raw_rows():
    frame, y = data()
    plan = CleaningPlan(type_fixes={"price": "number"})
    pipe = build_pipeline(plan, ROLES, FEATURES, LogisticRegression(max_iter=500))
    pipe.fit(frame.iloc[:100], y.iloc[:100])
    assert set(pipe.predict(frame.iloc[100:])) <= {"yes", "no"}
    one = pd.DataFrame(
        [{"num": None, "other": 2.0, "cat": "never seen", "text": None, "when": "2025-05-01", "price": "$15"}]
    )
    assert pipe.predict(one)[0] in {"yes", "no"}, "unseen categories, missing values and raw text types are handled"


def test_imputer_and_scaler_statistics_come_from_the_training_rows_only():
    frame, y = data()
    train = frame.iloc[:60]
    pipe = build_pipeline(CleaningPlan(), ROLES, ["num", "other"], LogisticRegression())
    pipe.fit(train[["num", "other"]], y.iloc[:60])
    numeric = pipe.named_steps["columns"].named_transformers_["numeric0"]
    assert numeric.named_steps["impute"].statistics_[0] == pytest.approx(train["num"].median())
    assert numeric.named_steps["scale"].mean_[0] == pytest.approx(train["num"].fillna(train["num"].median()).mean())
    assert numeric.named_steps["scale"].mean_[0] != pytest.approx(frame["num"].fillna(frame["num"].median()).mean())


def test_outlier_clipping_bounds_are_learned_on_training_rows():
    frame, y = data()
    frame.loc[5, "other"] = 1_000.0
    plan = CleaningPlan(outliers=OutlierRule("iqr", "clip", 1.5), outlier_columns=["other"])
    pipe = build_pipeline(plan, ROLES, ["num", "other"], LogisticRegression())
    pipe.fit(frame.iloc[:60][["num", "other"]], y.iloc[:60])
    _low, high = pipe.named_steps["outliers"].bounds_["other"]
    q1, q3 = frame["other"].iloc[:60].quantile([0.25, 0.75])
    assert high == pytest.approx(q3 + 1.5 * (q3 - q1))


def test_outlier_removal_drops_training_rows_but_never_prediction_rows():
    frame, _y = data()
    frame.loc[[3, 70], "other"] = 1_000.0
    plan = CleaningPlan(outliers=OutlierRule("iqr", "remove", 1.5), outlier_columns=["other"])
    pipe = build_pipeline(plan, ROLES, ["num", "other"], LinearRegression())
    target = frame["num"].fillna(0) * 2
    pipe.fit(frame.iloc[:60][["num", "other"]], target.iloc[:60])
    assert len(pipe.predict(frame.iloc[60:][["num", "other"]])) == 60


def test_smote_only_resamples_training_rows():
    frame, y = data(200)
    y = pd.Series(np.where(np.arange(200) % 10 == 0, "rare", "common"))
    pipe = build_pipeline(CleaningPlan(), ROLES, ["num", "other"], LogisticRegression(), imbalance="smote", seed=0)
    pipe.fit(frame.iloc[:150][["num", "other"]], y.iloc[:150])
    assert len(pipe.predict(frame.iloc[150:][["num", "other"]])) == 50
    _X_res, y_res = pipe.named_steps["resample"].fit_resample(np.random.rand(150, 2), y.iloc[:150])
    assert (y_res == "rare").sum() == (y_res == "common").sum()


def test_high_cardinality_categories_do_not_explode():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"city": [f"city_{i}" for i in rng.integers(0, 500, 2000)]})
    pipe = build_pipeline(
        CleaningPlan(),
        {"city": Role.CATEGORICAL},
        ["city"],
        LogisticRegression(),
        options=FeatureOptions(max_categories=20),
    )
    pipe.fit(frame, rng.choice(["a", "b"], 2000))
    assert len(feature_sources(pipe)) <= 20


def test_feature_sources_map_back_to_the_persons_columns():
    frame, y = data()
    options = FeatureOptions(interactions=True, ratios=(("num", "other"),))
    pipe = build_pipeline(
        CleaningPlan(type_fixes={"price": "number"}), ROLES, FEATURES, LogisticRegression(max_iter=500), options=options
    )
    pipe.fit(frame, y)
    sources = {src for _, srcs in feature_sources(pipe) for src in srcs}
    assert sources == set(FEATURES)
    pairs = [srcs for _, srcs in feature_sources(pipe) if len(srcs) == 2]
    assert ("num", "other") in pairs, "interaction and ratio terms name both columns"
    assert ratio_name("num", "other") not in sources


def test_dense_output_for_models_that_need_it():
    frame, y = data()
    pipe = build_pipeline(CleaningPlan(), ROLES, ["text", "cat"], LogisticRegression(), dense=True)
    Xt = pipe[:-1].fit_transform(frame[["text", "cat"]], y)
    assert isinstance(Xt, np.ndarray)


def test_no_usable_feature_is_a_clear_error():
    from core.errors import DashboardError

    with pytest.raises(DashboardError, match="No usable feature"):
        build_pipeline(CleaningPlan(drop_columns=["num"]), ROLES, ["num"], LogisticRegression())


def test_constant_fill_reaches_the_imputer():
    frame, y = data()
    plan = CleaningPlan(missing_by_column={"num": MissingRule("constant", -1.0)})
    pipe = build_pipeline(plan, ROLES, ["num"], LogisticRegression())
    pipe.fit(frame[["num"]], y)
    branch = next(t for n, t, c in pipe.named_steps["columns"].transformers_ if c == ["num"])
    assert branch.named_steps["impute"].statistics_[0] == -1.0


def test_date_feature_note_names_every_part_the_model_gets_and_the_risk():
    from core.transformers import DateParts, date_feature_note

    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=10, freq="7h")})
    parts = [name.split(" (", 1)[1].rstrip(")") for name in DateParts().fit(frame).get_feature_names_out()]
    assert parts == ["year", "month", "day of week", "hour", "days"]
    note = date_feature_note(["when"])
    assert note.startswith("'when' goes into the model as year, month, day of week")
    assert all(part in note for part in parts)
    assert "learn the period rather than the pattern" in note
    assert date_feature_note(["a", "b"]).startswith("'a', 'b' go into")
    assert date_feature_note([]) is None


def test_native_categories_reach_the_model_as_leading_codes_it_splits_on():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    n = 1500
    levels = rng.integers(0, 300, n)  # more levels than the model's 255 bins: the rarest share a code
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "hood": [f"h{v}" for v in levels], "kind": rng.choice(["a", "b"], n)}
    )
    y = pd.Series(rng.normal(0, 1, 300)[levels] + frame["x"])
    roles = {"x": Role.NUMERIC, "hood": Role.CATEGORICAL, "kind": Role.CATEGORICAL}
    pipe = build_pipeline(
        CleaningPlan(), roles, ["x", "hood", "kind"], HistGradientBoostingRegressor(max_iter=20), native_categories=True
    )
    pipe.fit(frame.iloc[:1200], y.iloc[:1200])
    model = pipe.steps[-1][1]
    assert model.categorical_features == [0, 1] and list(model.is_categorical_) == [True, True, False]
    assert [cols for _, cols in feature_sources(pipe)] == [("hood",), ("kind",), ("x",)]
    unseen = frame.iloc[1200:].assign(hood="a neighbourhood never seen")
    assert np.isfinite(pipe.predict(unseen)).all(), "an unseen category is read as missing"
    smote = build_pipeline(
        CleaningPlan(), roles, ["x", "kind"], HistGradientBoostingRegressor(), native_categories=True, imbalance="smote"
    )
    assert smote.steps[-1][1].categorical_features == "from_dtype", "synthetic rows would get codes between two"
    assert "onehot" in str(smote.named_steps["columns"].transformers)


def test_native_categories_are_worth_it_only_for_many_levels():
    from core.features import NATIVE_MIN_LEVELS, many_levels

    roles = {"x": Role.NUMERIC, "kind": Role.CATEGORICAL, "city": Role.CATEGORICAL}
    few = pd.DataFrame({"x": range(200), "kind": ["a", "b"] * 100, "city": [f"c{i % 10}" for i in range(200)]})
    assert not many_levels(few, CleaningPlan(), roles, ["x", "kind", "city"])
    many = few.assign(city=[f"c{i % NATIVE_MIN_LEVELS}" for i in range(200)])
    assert many_levels(many, CleaningPlan(), roles, ["x", "kind", "city"])
    assert not many_levels(many, CleaningPlan(drop_columns=["city"]), roles, ["x", "kind", "city"]), "a dropped column"
