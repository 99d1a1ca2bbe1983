"""Features from earlier rows (core.time_features), their place in the pipeline, the guard and the Models page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core.time_features as tf
from core.errors import DashboardError
from core.export import export_bundle, load_bundle
from core.features import FeatureOptions, build_pipeline, count_features, feature_sources
from core.guards.findings import Level
from core.guards.time_leak import future_reads
from core.predict import check_batch, predict_frame, usable_from_training
from core.split import SplitConfig
from core.target import Task
from core.time_features import (
    MAX_NEW_COLUMNS,
    SINCE_PREVIOUS,
    TimeSetup,
    past_features,
    split_for,
)
from core.time_order import entity_columns, entity_note, order_keys, sequence_windows
from core.training import ModelRun, TrainSetup, train_one
from tests.conftest import make_training_request
from ui import state

# Two shops, rows in no order: shop a on days 1, 2, 3, 5, 6 (day 4 missing), shop b on days 1-3.
SMALL = pd.DataFrame(
    {
        "day": pd.to_datetime(
            [
                "2024-01-03",
                "2024-01-01",
                "2024-01-02",
                "2024-01-06",
                "2024-01-02",
                "2024-01-05",
                "2024-01-01",
                "2024-01-03",
            ]
        ),
        "shop": ["a", "a", "b", "a", "a", "a", "b", "b"],
        "sales": [3.0, 1.0, 20.0, 6.0, 2.0, 5.0, 10.0, 40.0],
    }
)
SETUP = TimeSetup(
    order="day", entity="shop", columns=("sales",), lags=(1, 2), windows=(2, 3), stats=("mean", "min", "max", "std")
)


def hand(rows: pd.DataFrame) -> pd.DataFrame:
    """The same features by hand: per shop, sorted by day, with pandas' groupby shift and rolling."""
    ordered = rows.sort_values(["shop", "day"], kind="stable")
    group = ordered.groupby("shop", sort=False)["sales"]
    out = pd.DataFrame(index=ordered.index)
    out["sales lag 1"], out["sales lag 2"] = group.shift(1), group.shift(2)
    for window in (2, 3):
        for stat in ("mean", "min", "max", "std"):
            rolled = group.rolling(window, min_periods=window).agg(stat).reset_index(level=0, drop=True)
            out[f"sales {stat} of last {window}"] = rolled
    out["sales change"] = ordered["sales"] - group.shift(1)
    out[SINCE_PREVIOUS] = ordered.groupby("shop", sort=False)["day"].diff().dt.days.astype(float)
    out["day (day of week)"] = ordered["day"].dt.day_of_week.astype(float)
    out["day (month)"] = ordered["day"].dt.month.astype(float)
    return out.loc[rows.index]


def test_features_equal_a_hand_computation_on_unsorted_rows_of_two_entities():
    out = past_features(SETUP, dates=True).fit_transform(SMALL)
    assert list(out.index) == list(SMALL.index), "the rows come back in the order given"
    expected = hand(SMALL)
    pd.testing.assert_frame_equal(out[list(expected.columns)], expected, check_dtype=False)
    first_a = out.loc[1]  # shop a's first day: no past at all
    assert first_a[["sales lag 1", "sales mean of last 2", "sales change", SINCE_PREVIOUS]].isna().all()
    assert out.loc[5, SINCE_PREVIOUS] == 2.0, "day 4 is missing from shop a: two days since the previous row"
    assert out.loc[7, "sales lag 1"] == 20.0 and out.loc[7, "sales mean of last 3"] == pytest.approx(70 / 3)


def test_the_rows_order_as_loaded_is_an_order_too():
    rows = pd.DataFrame({"machine": ["m1", "m2", "m1", "m1", "m2"], "heat": [1.0, 5.0, 2.0, 4.0, 7.0]})
    step = past_features(TimeSetup(entity="machine", columns=("heat",), lags=(1,), windows=(2,)), dates=False)
    out = step.fit_transform(rows)
    assert out["heat lag 1"].tolist()[2:] == [1.0, 2.0, 5.0] and np.isnan(out["heat lag 1"].iloc[:2]).all()
    assert out["heat change"].tolist()[2:] == [1.0, 2.0, 2.0]
    assert SINCE_PREVIOUS not in out, "no dates, no time since the previous row"


def test_changing_future_rows_leaves_earlier_rows_features_unchanged():
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=60)
    rows = pd.DataFrame({"day": days.repeat(3), "shop": np.tile(["a", "b", "c"], 60), "sales": rng.normal(size=180)})
    rows = rows.sample(frac=1, random_state=2).reset_index(drop=True)
    before = past_features(SETUP, dates=True).fit_transform(rows)
    future = rows["day"] > days[29]
    changed = rows.copy()
    changed.loc[future, "sales"] = rng.normal(100, 50, int(future.sum()))
    changed.loc[future, "day"] = rng.permutation(changed.loc[future, "day"].to_numpy())
    after = past_features(SETUP, dates=True).fit_transform(changed.sample(frac=1, random_state=5))
    pd.testing.assert_frame_equal(after.loc[rows.index[~future]], before.loc[~future])
    assert not after.loc[rows.index[future]].equals(before.loc[future]), "the later rows did change"


def test_history_from_fitting_gives_later_rows_their_past():
    rng = np.random.default_rng(1)
    days = pd.date_range("2024-01-01", periods=40)
    rows = pd.DataFrame({"day": days.repeat(2), "shop": np.tile(["a", "b"], 40), "sales": rng.normal(size=80)})
    train, valid = rows[rows["day"] <= days[29]], rows[rows["day"] > days[29]]
    step = past_features(SETUP, dates=True).fit(train)
    assert len(step.history_values_) == 2 * SETUP.depth, "the last rows each shop's features can read"
    whole = past_features(SETUP, dates=True).fit_transform(rows)
    later = step.transform(valid.iloc[::-1])  # in any order
    columns = step.new_columns()
    np.testing.assert_allclose(later.loc[valid.index, columns], whole.loc[valid.index, columns], rtol=1e-12)
    assert later.loc[valid.index, "sales lag 2"].notna().all(), "the first validation days read training days"
    pd.testing.assert_frame_equal(step.transform(train), step.fit_transform(train), "the fitted rows again")
    one = step.transform(valid.iloc[[0]])  # a single new row, as on the Predict page
    assert one["sales lag 1"].iloc[0] == train[train["shop"] == valid["shop"].iloc[0]]["sales"].iloc[-1]


def test_a_new_entity_and_rows_without_enough_past_get_missing_values():
    step = past_features(SETUP, dates=True).fit(SMALL)
    new = pd.DataFrame({"day": pd.to_datetime(["2024-02-01"]), "shop": ["z"], "sales": [1.0]})
    assert step.transform(new)[["sales lag 1", "sales mean of last 2"]].isna().all(axis=None)


def test_setups_round_trip_as_json_take_defaults_and_refuse_in_words():
    assert TimeSetup.from_dict(SETUP.to_dict()) == SETUP
    assert TimeSetup.from_dict({"order": "day"}) == TimeSetup(order="day")
    assert TimeSetup(lags=(3, 1, 1)).lags == (1, 3)
    with pytest.raises(DashboardError, match="Lags must be whole numbers from 1 to 60"):
        TimeSetup(columns=("x",), lags=(0,))
    with pytest.raises(DashboardError, match="Unknown time setting"):
        TimeSetup.from_dict({"lag": [1]})
    with pytest.raises(DashboardError, match=f"at most {MAX_NEW_COLUMNS} are allowed"):
        TimeSetup(columns=tuple(f"c{i}" for i in range(20)), lags=tuple(range(1, 11)), stats=tf.STATS)
    with pytest.raises(DashboardError, match="cannot both order the rows and name the entity"):
        TimeSetup(order="day", entity="day")
    old = FeatureOptions(interactions=True).to_dict()
    assert "time" not in old and FeatureOptions.from_dict(old).time is None, "older dicts load unchanged"
    with_time = FeatureOptions(time=SETUP)
    assert FeatureOptions.from_dict(with_time.to_dict()) == with_time


def test_order_keys_and_sequence_windows_follow_each_entity_in_time():
    ordered = order_keys(SMALL, "day", "shop")
    assert SMALL["shop"].iloc[ordered.positions].tolist() == ["a"] * 5 + ["b"] * 3
    assert ordered.step.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    windows = sequence_windows(SMALL, ["sales"], "day", "shop", 3)
    assert windows.shape == (8, 3, 1)
    np.testing.assert_array_equal(windows[7, :, 0], [10.0, 20.0, 40.0])  # shop b, day 3: its whole past
    np.testing.assert_array_equal(windows[1, :, 0], [np.nan, np.nan, 1.0])


def test_the_pipeline_reads_time_features_as_numbers_and_names_their_sources():
    from sklearn.linear_model import Ridge

    from core.cleaning import CleaningPlan
    from core.schema import Role

    roles = {"day": Role.DATETIME, "shop": Role.CATEGORICAL, "sales": Role.NUMERIC}
    options = FeatureOptions(time=SETUP)
    pipeline = build_pipeline(CleaningPlan(), roles, ["sales"], Ridge(), options=options)
    assert [name for name, _ in pipeline.steps][:1] == ["past"]
    pipeline.fit(SMALL, np.arange(len(SMALL), dtype=float))
    sources = dict(feature_sources(pipeline))
    assert sources["numeric0__sales mean of last 3"] == ("sales",)
    assert sources["numeric0__day (day of week)"] == ("day",)
    assert not any(name.startswith(("categorical", "datetime")) for name in sources), "keys are not features"


def test_the_feature_count_includes_the_new_time_columns():
    from core.cleaning import CleaningPlan
    from core.schema import Role

    roles = {"day": Role.DATETIME, "shop": Role.CATEGORICAL, "sales": Role.NUMERIC}
    plain = count_features(CleaningPlan(), roles, ["sales"], SMALL)
    timed = count_features(CleaningPlan(), roles, ["sales"], SMALL, FeatureOptions(time=SETUP))
    assert plain == 1 and timed == 1 + len(SETUP.new_columns(dates=True)) == 15


def test_entities_leave_out_measurements_and_too_few_rows_per_value_are_named():
    f = pd.DataFrame(
        {"rowid": range(12), "machine": np.arange(12) % 3, "store": np.arange(12.0) % 2, "temp": np.linspace(0, 1, 12)}
    )
    assert entity_columns(f, ["rowid", "machine", "store", "temp"]) == ["rowid", "machine", "store"]
    assert entity_note(f, "machine") is None and entity_note(f, None) is None
    note = entity_note(f, "rowid")
    assert "Each 'rowid' value has 1 rows on average" in note and "at least 3" in note
    assert "pick another column or none" in note


def test_the_guard_flags_a_feature_that_reads_the_future_and_passes_the_real_one(monkeypatch):
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=50)
    rows = pd.DataFrame({"day": days.repeat(2), "shop": np.tile(["a", "b"], 50), "sales": rng.normal(size=100)})
    assert future_reads(rows, SETUP, dates=True) == []

    def peeking(values, step, lag):  # tomorrow's value instead of yesterday's
        out = np.full(len(values), np.nan)
        out[:-lag] = values[lag:]
        return out

    monkeypatch.setattr(tf, "_shifted", peeking)
    findings = future_reads(rows, SETUP, dates=True)
    assert findings and {f.level for f in findings} == {Level.LEAK} and {f.column for f in findings} == {"sales"}
    assert "'sales lag 1'" in findings[0].evidence and "Time and sequences" in findings[0].fix


def test_a_shuffled_split_is_refused_with_time_features():
    options = FeatureOptions(time=TimeSetup(order="date", entity="region", columns=("temperature_c",)))
    with pytest.raises(DashboardError, match="need the split ordered in time"):
        make_training_request("electricity_demand", "demand_mw", Task.REGRESSION, models=["ridge"], options=options)


@pytest.fixture(scope="module")
def demand():
    """A small forest on the electricity sample, split in time per region, with and without time features."""
    setup = TimeSetup(order="date", entity="region", columns=("temperature_c",))
    split = split_for(setup, SplitConfig(seed=3, cv_folds=0))
    fast = ModelRun("random_forest_reg", "Forest", {"n_estimators": 30})
    out = {}
    for name, options in (("plain", FeatureOptions()), ("time", FeatureOptions(time=setup))):
        request = make_training_request(
            "electricity_demand", "demand_mw", Task.REGRESSION, models=[fast], split=split, options=options
        )
        out[name] = (request, train_one(request, request.models[-1]))
    return out


def test_time_features_raise_the_score_on_the_demand_sample(demand):
    plain, timed = demand["plain"][1], demand["time"][1]
    assert timed.scores["r2"] > plain.scores["r2"] + 0.15, (plain.scores, timed.scores)
    assert any("temperature_c mean of last 3" in name for name, _ in timed.sources)
    request = demand["time"][0]
    assert "region" in request.xy(request.split.valid)[0] and request.leakage.findings == []


def test_a_bundle_with_time_features_reloads_with_equal_predictions(demand):
    request, model = demand["time"]
    usable = usable_from_training(model, request, "electricity_demand.csv")
    restored = load_bundle(export_bundle(usable), file_name="model.zip")
    X, _ = request.xy(request.split.valid)
    aligned, report = check_batch(X, restored.schema)
    assert report.ok, report.problems()
    pd.testing.assert_frame_equal(predict_frame(usable, X), predict_frame(restored, aligned))
    restored_step = restored.pipeline.named_steps["past"]
    np.testing.assert_array_equal(restored_step.history_values_, model.pipeline.named_steps["past"].history_values_)


def test_the_models_page_previews_time_features_and_trains_with_them():
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_electricity_demand").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.session_state[state.TRAIN_SETUP] = TrainSetup(SplitConfig(), [ModelRun("ridge", "Ridge")])  # one quick model
    at.switch_page("pages/models.py").run()
    assert not at.exception
    assert at.multiselect(key="models_chosen").value == ["ridge"]
    assert any("Features from earlier rows need the split ordered in time" in c.value for c in at.caption)
    at.toggle(key="models_time_on").set_value(True).run()
    assert at.selectbox(key="models_time_order").value == "date"
    at.selectbox(key="models_time_entity").set_value("region").run()
    at.multiselect(key="models_time_lags").set_value([1, 7]).run()
    assert not at.exception, at.exception
    preview = next(d.value for d in at.dataframe if "temperature_c lag 7" in d.value.columns)
    assert {"temperature_c lag 7", "temperature_c mean of last 3", "date (day of week)"} <= set(preview.columns)
    assert (preview["region"] == preview["region"].iloc[0]).all() and preview["date"].is_monotonic_increasing
    assert preview["temperature_c lag 1"].iloc[1] == preview["temperature_c"].iloc[0]
    setup = at.session_state[state.TRAIN_SETUP]
    assert setup.options.time.entity == "region" and setup.split.entity_column == "region"
    assert setup.split.time_column == "date" and not setup.split.stratify
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.wait(120)
    trained = [r for r in job.snapshot().results if hasattr(r, "pipeline")]
    ridge = next(r for r in trained if r.key == "ridge")
    assert "past" in ridge.pipeline.named_steps and np.isfinite(ridge.scores["r2"])


def test_an_unticked_entity_is_read_but_not_encoded_and_the_exported_script_reproduces_the_model(tmp_path):
    import shutil
    import subprocess
    import sys

    from core.codegen import training_script
    from core.samples import SAMPLE_DIR

    setup = TimeSetup(order="date", entity="region", columns=("temperature_c",), lags=(1,), windows=(3,))
    request = make_training_request(
        "electricity_demand", "demand_mw", Task.REGRESSION, models=["ridge"],
        features=["date", "temperature_c", "holiday"], split=split_for(setup, SplitConfig(seed=2, cv_folds=0)),
        options=FeatureOptions(time=setup),
    )  # fmt: skip
    assert request.features == ["date", "temperature_c", "holiday"]
    assert list(request.xy(request.split.train)[0].columns) == ["date", "temperature_c", "holiday", "region"]
    model = train_one(request, request.models[-1])
    assert not any("region" in sources for _, sources in model.sources), "read by the time features only"
    shutil.copy(SAMPLE_DIR / "electricity_demand.csv", tmp_path)
    (tmp_path / "train.py").write_text(training_script(request, request.models[-1], "electricity_demand.csv"))
    done = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = dict(line.split(": ") for line in done.stdout.splitlines() if line.startswith("r2: "))
    assert float(printed["r2"]) == pytest.approx(model.scores["r2"], rel=1e-9)


def page_inputs(at: AppTest) -> tuple:
    """The plan, roles, features and keyed rows the Models page counts input features with."""
    from core.cleaning import apply_row_steps
    from core.features import pipeline_inputs
    from core.schema import effective_roles

    ds, choice, plan = (at.session_state[k] for k in (state.DATASET, state.TARGET, state.PLAN))
    roles = effective_roles(at.session_state[state.ROLE_GUESSES], at.session_state[state.ROLE_OVERRIDES] or {})
    options = at.session_state[state.TRAIN_SETUP].options
    rows = apply_row_steps(ds.frame, plan, choice.target, pipeline_inputs(choice.features, options))[0]
    return plan, roles, choice.features, rows


def test_an_id_like_entity_keeps_train_disabled_in_words_and_time_off_gives_back_the_persons_split():
    rng = np.random.default_rng(0)
    n = 240  # 20 machines × 12 days
    table = pd.DataFrame(
        {
            "date": np.repeat(pd.date_range("2024-01-01", periods=12).strftime("%Y-%m-%d"), 20),
            "machine": np.tile([f"m{i}" for i in range(20)], 12),
            "rowid": np.arange(n),
            "temp": rng.normal(20, 3, n).round(2),
            "load": rng.normal(50, 5, n).round(1),
        }
    )
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").set_value(("plant.csv", table.to_csv(index=False).encode(), "text/csv")).run()
    at.switch_page("pages/target.py").run()
    at.selectbox[0].set_value("load").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.session_state[state.TRAIN_SETUP] = TrainSetup(SplitConfig(), [ModelRun("ridge", "Ridge")])
    at.switch_page("pages/models.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="models_time").value is None, "the person's split: shuffled"
    at.toggle(key="models_time_on").set_value(True).run()
    assert at.selectbox(key="models_time_order").value == "date"
    assert "temp" not in at.selectbox(key="models_time_entity").options, "a measurement is no entity"
    at.selectbox(key="models_time_entity").set_value("rowid").run()
    assert not at.exception, at.exception
    errors = [e.body for e in at.error]
    assert any("Each 'rowid' value has only 1 row" in e and "pick another entity column or none" in e for e in errors)
    assert any("'rowid' value has 1 rows on average" in w.body for w in at.warning)
    assert not any("only 0 rows" in w.body for w in at.warning)
    assert at.button(key="models_train").disabled
    at.selectbox(key="models_time_entity").set_value("machine").run()
    assert not at.error and not at.button(key="models_train").disabled
    assert at.session_state[state.TRAIN_SETUP].split.time_column == "date"
    at.multiselect(key="models_chosen").set_value(["ridge", "keras_lstm"]).run()  # its layer table counts inputs
    plain = count_features(*page_inputs(at), FeatureOptions())
    timed = count_features(*page_inputs(at), at.session_state[state.TRAIN_SETUP].options)
    counted = [c.value for c in at.caption if "input features" in c.value]
    assert timed == plain + 9 and counted[0].endswith(f"from {timed} input features."), counted
    at.switch_page("pages/clean.py").run()  # widgets forget their values on another page
    at.switch_page("pages/models.py").run()
    at.toggle(key="models_time_on").set_value(False).run()
    assert at.selectbox(key="models_time").value is None, "time features off: the split is shuffled again"
    assert at.session_state[state.TRAIN_SETUP].split.time_column is None
