"""Sequence networks (core.keras_sequence): windows of the last rows per entity, training, bundles, SHAP, the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.errors import DashboardError
from core.explain import prepare_explainer
from core.export import export_bundle, load_bundle
from core.features import FeatureOptions
from core.network_layers import layer_table
from core.params import ParamError
from core.predict import check_batch, predict_frame, usable_from_training
from core.registry import get_spec
from core.sequence_windows import window_index
from core.split import SplitConfig
from core.target import Task
from core.time_features import TimeSetup, split_for
from core.training import ModelRun, TrainSetup, train_one, transform_only
from tests.conftest import make_training_request
from ui import state

#: Only the order and the entity: no lag features, so only a model reading earlier rows can see the past.
SETUP = TimeSetup(
    order="day", entity="shop", columns=(), lags=(), windows=(), changes=False, since_previous=False, calendar=()
)
FAST = {"epochs": 25, "batch_size": 16, "learning_rate": 0.01, "patience": 25}
LSTM = {"window": 5, "layers": [{"type": "lstm", "units": 8}], **FAST}
CONV = {"window": 5, "layers": [{"type": "conv1d", "filters": 8, "kernel_size": 3}], **FAST}
DENSE = {"layers": [{"type": "dense", "units": 8}], **FAST}


def sequences(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two shops, rows shuffled; y is x three rows back in the same shop (plus a little noise)."""
    rng = np.random.default_rng(seed)
    parts = []
    for shop in ("a", "b"):
        x = rng.normal(size=rows)
        y = np.r_[np.zeros(3), x[:-3]] + rng.normal(scale=0.05, size=rows)
        days = pd.date_range("2024-01-01", periods=rows)
        parts.append(pd.DataFrame({"day": days, "shop": shop, "x": x, "y": y, "up": (y > 0).astype(int)}))
    return pd.concat(parts).sample(frac=1, random_state=seed).reset_index(drop=True)


def request_for(target: str, task: Task, runs: list[ModelRun], frame: pd.DataFrame | None = None):
    frame = sequences() if frame is None else frame
    split = split_for(SETUP, SplitConfig(seed=0, cv_folds=0))
    return make_training_request(
        frame.drop(columns=["up" if target == "y" else "y"]),
        target,
        task,
        models=runs,
        features=["x"],
        split=split,
        options=FeatureOptions(time=SETUP),
    )


@pytest.fixture(scope="module")
def regression():
    runs = [
        ModelRun("keras_lstm", "LSTM", LSTM),
        ModelRun("keras_conv1d", "CNN", CONV),
        ModelRun("keras_mlp", "MLP", DENSE),
    ]
    request = request_for("y", Task.REGRESSION, runs)
    return request, {run.name: train_one(request, run) for run in runs}


def test_windows_per_entity_equal_a_hand_computation_on_unsorted_rows():
    entity = np.array([2.0, 1.0, 2.0, 1.0, 2.0, 1.0])
    order = np.array([3.0, 2.0, 1.0, 1.0, 2.0, np.nan])  # the row without a time comes last in its entity
    index = window_index(entity, order, 3)
    # entity 1 in time: rows 3 (t=1), 1 (t=2), 5 (no time); entity 2: rows 2, 4, 0
    expected = np.array([[2, 4, 0], [-1, 3, 1], [-1, -1, 2], [-1, -1, 3], [-1, 2, 4], [3, 1, 5]])
    np.testing.assert_array_equal(index, expected)


def test_a_rows_window_never_holds_a_later_row_and_history_gives_later_rows_their_past(regression):
    request, models = regression
    pipeline = models["LSTM"].pipeline
    network = pipeline.steps[-1][1]
    X, _ = request.xy(request.split.valid)
    ordered = X.sort_values(["shop", "day"]).reset_index(drop=True)
    before = pipeline.predict(ordered)
    altered = ordered.copy()
    late = altered["day"] > altered.groupby("shop")["day"].transform("median")
    altered.loc[late, "x"] = 99.0  # the future changes
    after = pipeline.predict(altered)
    np.testing.assert_allclose(after[~late.to_numpy()], before[~late.to_numpy()], rtol=1e-5, atol=1e-6)
    assert not np.allclose(after[late.to_numpy()], before[late.to_numpy()])
    # A validation row given alone reads the training rows before it: its window has no padding.
    first = ordered.iloc[[0]]
    window = network.windows(transform_only(pipeline, first))[0]
    assert window[:, -1].sum() == 0
    X_train, _ = request.xy(request.split.train)
    shop = X_train[X_train["shop"] == first["shop"].iloc[0]].sort_values("day")
    past = transform_only(pipeline, shop.tail(4))[:, 0]
    np.testing.assert_allclose(window[:-1, 0], past, rtol=1e-6)


def test_sequence_networks_beat_the_dense_network_when_the_pattern_needs_the_past(regression):
    _, models = regression
    r2 = {name: model.scores["r2"] for name, model in models.items()}
    assert r2["LSTM"] > r2["MLP"] + 0.4 and r2["CNN"] > r2["MLP"] + 0.4, r2
    assert len(models["LSTM"].history["val_loss"]) >= 1 and models["LSTM"].best_epoch >= 1


def test_binary_sequence_network_beats_the_dense_network_and_seeds_repeat():
    runs = [ModelRun("keras_conv1d", "CNN", CONV), ModelRun("keras_mlp", "MLP", DENSE)]
    request = request_for("up", Task.BINARY, runs)
    cnn, mlp = (train_one(request, run) for run in runs)
    assert cnn.scores["accuracy"] > mlp.scores["accuracy"] + 0.2, (cnn.scores, mlp.scores)
    again = train_one(request, runs[0])
    X, _ = request.xy(request.split.valid)
    np.testing.assert_allclose(cnn.pipeline.predict_proba(X), again.pipeline.predict_proba(X), rtol=1e-5)


def test_a_bundle_round_trip_predicts_the_same(regression):
    request, models = regression
    usable = usable_from_training(models["CNN"], request, "sequences.csv")
    restored = load_bundle(export_bundle(usable), file_name="model.zip")
    X, _ = request.xy(request.split.valid)
    aligned, report = check_batch(X, restored.schema)
    assert report.ok, report.problems()
    pd.testing.assert_frame_equal(predict_frame(usable, X), predict_frame(restored, aligned))
    np.testing.assert_array_equal(
        restored.pipeline.steps[-1][1].history_values_, models["CNN"].pipeline.steps[-1][1].history_values_
    )


def test_shap_values_per_source_column_add_up_to_the_prediction(regression):
    request, models = regression
    trained = models["LSTM"]
    X_train, _ = request.xy(request.split.train)
    X_valid, _ = request.xy(request.split.valid)
    explainer = prepare_explainer(trained, X_train, background_rows=10, seed=1)
    rows = X_valid.iloc[:4]
    explanation = explainer.explain(rows)
    assert explanation.columns == ["x"] and explanation.method == "Permutation SHAP over the window"
    predicted = trained.pipeline.predict(rows)
    np.testing.assert_allclose(explanation.base_value + explanation.values.sum(axis=1), predicted, atol=1e-4)
    per_step = explainer.method.per_step[..., 0, 0]  # rows × steps of the window: x three rows back matters most
    assert np.abs(per_step).mean(axis=0).argmax() == 5 - 1 - 3


def test_layers_are_checked_in_words():
    spec = get_spec("keras_lstm")
    with pytest.raises(ParamError, match=r"Layer 2 \(lstm\) comes after dense layer 1"):
        spec.validate({"layers": [{"type": "dense", "units": 4}, {"type": "lstm", "units": 4}]})
    with pytest.raises(ParamError, match="needs at least one 'lstm' or 'conv1d' layer"):
        spec.validate({"layers": [{"type": "dense", "units": 4}]})
    with pytest.raises(ParamError, match="only the sequence networks"):
        get_spec("keras_mlp").validate({"layers": [{"type": "lstm", "units": 4}, {"type": "dense", "units": 4}]})
    with pytest.raises(ParamError, match=r"window.*\[2, 365\]"):
        spec.validate({"window": 1})
    table = layer_table(
        [
            {"type": "conv1d", "filters": 4, "kernel_size": 3},
            {"type": "pool", "size": 2},
            {"type": "dense", "units": 2},
        ],
        3,
        "regression",
        window=5,
    )
    shapes = [row["output shape"] for row in table]
    assert shapes == ["(None, 5, 4)", "(None, 5, 4)", "(None, 3, 4)", "(None, 12)", "(None, 2)", "(None, 1)"]
    assert table[1]["parameters"] == (3 * 4 + 1) * 4  # kernel 3 × (3 features + padding flag) + bias, per filter


def test_without_a_time_order_the_model_cannot_be_built():
    from core.training.pipeline import build_model_pipeline

    request = make_training_request(sequences(), "y", Task.REGRESSION, models=[ModelRun("keras_lstm", "L", LSTM)])
    with pytest.raises(DashboardError, match="how rows follow one another") as err:
        build_model_pipeline(request, request.models[-1])
    assert "Set a time order" in err.value.user_message


def test_the_models_page_offers_sequence_models_only_with_a_time_order():
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_electricity_demand").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.session_state[state.TRAIN_SETUP] = TrainSetup(SplitConfig(), [ModelRun("ridge", "Ridge")])
    at.switch_page("pages/models.py").run()
    assert not at.exception
    assert "LSTM over the last rows (Keras)" not in at.multiselect(key="models_chosen").options
    assert any("set a time order in the Time section first" in c.value for c in at.caption)
    at.toggle(key="models_time_on").set_value(True).run()
    picker = at.multiselect(key="models_chosen")
    assert "LSTM over the last rows (Keras)" in picker.options
    picker.set_value(["keras_lstm"]).run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "output shape" in getattr(d.value, "columns", []))
    assert table["type"].tolist()[:2] == ["input", "lstm"]
