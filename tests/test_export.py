"""core.predict and core.export: schema, batch checks, safe CSVs, bundles that round-trip and refuse."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import core
from core.cleaning import CleaningPlan, OutlierRule
from core.export import (
    CARD_JSON,
    PIPELINE,
    BundleError,
    bundle_name,
    export_bundle,
    load_bundle,
    untrusted_types,
)
from core.features import FeatureOptions
from core.model_card import card_markdown, dataset_fingerprint, with_test_scores
from core.predict import (
    check_batch,
    neutralise_formulas,
    predict_frame,
    scored_frame,
    to_safe_csv,
    usable_from_training,
)
from core.schema import Role
from core.split import SplitConfig
from core.target import Task
from core.training import ModelRun, train_one
from core.usable import FeatureSchema
from tests.conftest import make_training_request


def trained(sample: str, target: str | None, task: Task, key: str, params=None, plan=None, **setup):
    request = make_training_request(sample, target, task, models=[(key, params or {})], plan=plan, seed=3, **setup)
    model = train_one(request, request.models[-1])
    return request, model, usable_from_training(model, request, f"{sample}.csv")


FAMILIES = [
    ("spam", "label", Task.BINARY, "logistic_regression", {}),
    ("house_prices", "price", Task.REGRESSION, "random_forest_reg", {"n_estimators": 10}),
    ("iris", "species", Task.MULTICLASS, "hist_gradient_boosting_clf", {"max_iter": 20}),
    ("spam", "label", Task.BINARY, "lightgbm_clf", {"n_estimators": 10}),
    ("house_prices", "price", Task.REGRESSION, "svr", {}),
    ("wine", "cultivar", Task.MULTICLASS, "knn_clf", {}),
    ("iris", None, Task.CLUSTERING, "kmeans", {}),
    ("house_prices", "price", Task.REGRESSION, "keras_mlp", {"epochs": 3}),
    ("iris", "species", Task.MULTICLASS, "keras_mlp", {"epochs": 3}),
]


@pytest.mark.parametrize(
    ("sample", "target", "task", "key", "params"), FAMILIES, ids=[f[3] + "-" + f[0] for f in FAMILIES]
)
def test_export_then_reload_gives_identical_predictions(sample, target, task, key, params):
    request, model, usable = trained(sample, target, task, key, params)
    bundle = export_bundle(usable)
    restored = load_bundle(bundle, file_name="model.zip")
    X, _ = request.xy(request.split.valid)
    aligned, report = check_batch(X, restored.schema)
    assert report.ok, report.problems()
    before, after = predict_frame(usable, X), predict_frame(restored, aligned)
    pd.testing.assert_frame_equal(before, after)
    assert restored.task == task and restored.target == target and restored.name == key
    assert restored.card["metrics"]["validation"] == pytest.approx(model.scores, nan_ok=True)
    assert restored.background is not None and list(restored.background.columns) == request.features


def test_the_card_names_the_positive_class_and_a_restored_model_explains_it():
    from core import explain as ce

    features = ["mean_radius", "mean_texture", "worst_area"]
    models = [ModelRun("logistic_regression", "LR")]
    request = make_training_request(
        "breast_cancer", "diagnosis", Task.BINARY, models=models, features=features, seed=3, positive="benign"
    )
    model = train_one(request, request.models[-1])
    usable = usable_from_training(model, request, "breast_cancer.csv")
    assert usable.card["positive_class"] == "benign" and usable.positive == "benign"
    assert "- **Positive class:** `benign`" in card_markdown(usable.card)
    restored = load_bundle(export_bundle(usable))
    assert restored.positive == "benign"
    X, _ = request.xy(request.split.valid)
    answer = ce.explain_row(restored, X.iloc[[0]], restored.background, target="diagnosis", positive=restored.positive)
    assert answer.explanation.output_name == "log-odds of 'benign'"
    old = dict(usable.card)
    old.pop("positive_class")
    usable.card = old  # a bundle written before the positive class was recorded: the rule on its labels
    assert usable.positive == "malignant"


def test_bundle_holds_a_readable_card_and_a_markdown_twin():
    request, model, usable = trained("house_prices", "price", Task.REGRESSION, "ridge")
    with zipfile.ZipFile(io.BytesIO(export_bundle(usable))) as archive:
        names = set(archive.namelist())
        card = json.loads(archive.read(CARD_JSON))
        markdown = archive.read("model_card.md").decode()
    assert {"model_card.json", "model_card.md", "pipeline.skops", "background.parquet"} <= names
    assert "network.keras" not in names
    assert card["task"] == "regression" and card["target"] == "price"
    assert card["dataset"]["rows"] == len(request.frame) and len(card["dataset"]["sha256"]) == 64
    assert card["split"]["seed"] == 3 and card["split"]["rows"]["train"] == len(request.split.train)
    assert card["metrics"]["validation"] == pytest.approx(model.scores)
    assert card["versions"]["scikit-learn"] and card["created"]
    assert card["versions"]["nocode-ml-dashboard"] == core.__version__, "the card says which app made it"
    area = next(c for c in card["features"] if c["name"] == "area_sqm")
    X_train, _ = request.xy(request.split.train)
    assert area["kind"] == "number" and area["minimum"] == pytest.approx(X_train["area_sqm"].min())
    hood = next(c for c in card["features"] if c["name"] == "neighbourhood")
    assert hood["kind"] == "category" and set(hood["categories"]) == set(X_train["neighbourhood"].dropna())
    assert "# Model card: ridge" in markdown and "| `area_sqm` | number |" in markdown


def test_the_schema_is_learned_from_training_rows_only():
    """Catches a schema (ranges, categories, dates a new row is checked against) learned from every row.

    Ordered by day, the newest 30 % of the rows are the validation and test rows, and only they hold
    areas above 10,000 m², the neighbourhood 'Atlantis' and days after 10 March: learned from more than
    the training rows, the schema would show them, every time.
    """
    n = 100
    rng = np.random.default_rng(0)
    newest = np.arange(n) >= 70
    area = np.where(newest, 10_000.0 + np.arange(n), 20.0 + np.arange(n) % 50)
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=n, freq="D"),
            "area": area,
            "hood": np.where(newest, "Atlantis", np.where(np.arange(n) % 2, "north", "south")),
            "price": 3 * area + rng.normal(size=n),
        }
    ).sample(frac=1, random_state=0)  # the file's rows in no particular order
    split = SplitConfig(time_column="day", cv_folds=0)
    request = make_training_request(frame, "price", Task.REGRESSION, models=["ridge"], split=split)
    train_days = request.frame["day"].iloc[request.split.train]
    assert train_days.max() == pd.Timestamp("2024-03-10") and len(train_days) == 70, "the oldest 70 rows train"
    usable = usable_from_training(train_one(request, request.models[-1]), request, "houses.csv")
    schema = usable.schema
    assert (schema["area"].minimum, schema["area"].maximum) == (20.0, 69.0), "not 10,099 m² of a test row"
    assert sorted(schema["hood"].categories) == ["north", "south"], "'Atlantis' is only in validation and test rows"
    assert (schema["day"].earliest, schema["day"].latest) == ("2024-01-01", "2024-03-10")
    card = {column["name"]: column for column in usable.card["features"]}
    assert card["area"]["maximum"] == 69.0 and "Atlantis" not in card["hood"]["categories"], "the card says the same"


def test_pipeline_with_cleaning_steps_and_sampling_round_trips():
    plan = CleaningPlan(outliers=OutlierRule("iqr", "clip", 1.5), type_fixes={"machine_type": "category"})
    request, _, usable = trained(
        "predictive_maintenance",
        "failure",
        Task.BINARY,
        "random_forest_clf",
        {"n_estimators": 5},
        plan=plan,
        imbalance="smote",
    )
    steps = [type(step).__name__ for _, step in usable.pipeline.steps]
    assert "TypeFixer" in steps and "SMOTE" in steps and "OutlierClipper" in steps, steps
    restored = load_bundle(export_bundle(usable))
    X, _ = request.xy(request.split.valid)
    pd.testing.assert_frame_equal(predict_frame(usable, X), predict_frame(restored, check_batch(X, restored.schema)[0]))


def as_saved_before_the_move(bundle: bytes) -> bytes:
    """The bundle as earlier versions wrote it: the app's transformers named in core.features, where they lived."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as outer:
        skops_bytes = outer.read(PIPELINE)
    with zipfile.ZipFile(io.BytesIO(skops_bytes)) as inner:
        schema = inner.read("schema.json").decode().replace('"core.transformers"', '"core.features"')
    old_skops = rezip(skops_bytes, {"schema.json": schema.encode()})
    return rezip(bundle, {PIPELINE: old_skops})


def test_a_bundle_saved_before_the_transformers_moved_loads_and_predicts_the_same():
    """Bundles name classes by module; a file saved before core.transformers existed still loads (MOVED_TYPES)."""
    plan = CleaningPlan(outliers=OutlierRule("iqr", "remove", 1.5), type_fixes={"bedrooms": "number"})
    request, _, usable = trained(
        "house_prices",
        "price",
        Task.REGRESSION,
        "ridge",
        plan=plan,
        options=FeatureOptions(ratios=(("area_sqm", "bedrooms"),)),
    )
    kinds = {type(step).__name__ for _, step in usable.pipeline.steps}
    assert {"TypeFixer", "RatioFeatures", "FunctionSampler"} <= kinds, kinds
    assert "DateParts" in repr(usable.pipeline)
    old = as_saved_before_the_move(export_bundle(usable))
    with zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(io.BytesIO(old)).read(PIPELINE))) as inner:
        assert '"core.features"' in inner.read("schema.json").decode()
    restored = load_bundle(old)
    X, _ = request.xy(request.split.valid)
    pd.testing.assert_frame_equal(predict_frame(usable, X), predict_frame(restored, check_batch(X, restored.schema)[0]))


def test_export_does_not_touch_the_live_keras_model():
    _, _, usable = trained("iris", "species", Task.MULTICLASS, "keras_mlp", {"epochs": 2})
    network = usable.pipeline.steps[-1][1]
    export_bundle(usable)
    assert hasattr(network, "model_")


def test_without_background_no_training_rows_leave_the_app():
    _, _, usable = trained("iris", "species", Task.MULTICLASS, "logistic_regression")
    data = export_bundle(usable, include_background=False)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "background.parquet" not in archive.namelist()
        assert json.loads(archive.read(CARD_JSON))["contains_training_rows"] is False
    assert load_bundle(data).background is None


# --------------------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def iris_bundle() -> bytes:
    return export_bundle(trained("iris", "species", Task.MULTICLASS, "logistic_regression")[2])


def rezip(bundle: bytes, replace: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name in replace:
                continue
            dst.writestr(name, src.read(name))
        for name, data in replace.items():
            if data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def test_a_pickle_renamed_as_a_bundle_is_refused_without_being_opened(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with pytest.raises(BundleError, match="not a zip file"):
        load_bundle(pickle.dumps(Evil()), file_name="model.zip")
    assert not marker.exists()


def test_an_untrusted_type_inside_the_pipeline_is_refused(iris_bundle):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    evil = sio.dumps(make_pipeline(FunctionTransformer(os.system)))
    assert untrusted_types(evil)
    with pytest.raises(BundleError, match="does not trust"):
        load_bundle(rezip(iris_bundle, {PIPELINE: evil}))


def test_foreign_and_damaged_zips_are_refused(iris_bundle):
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(BundleError, match="never has"):
        load_bundle(foreign.getvalue())
    with pytest.raises(BundleError, match="never has"):
        load_bundle(rezip(iris_bundle, {"extra.pkl": b"x"}))
    with pytest.raises(BundleError, match=r"no pipeline\.skops"):
        load_bundle(rezip(iris_bundle, {PIPELINE: None}))
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(rezip(iris_bundle, {CARD_JSON: b"{nope"}))
    with pytest.raises(BundleError, match="not a model bundle of this app"):
        load_bundle(rezip(iris_bundle, {CARD_JSON: b'{"format": "other"}'}))
    with pytest.raises(BundleError, match=r"model file \(pipeline\.skops\) is not a zip archive"):
        load_bundle(rezip(iris_bundle, {PIPELINE: b"garbage"}))
    with pytest.raises(BundleError, match="empty"):
        load_bundle(b"")


def test_a_tampered_keras_file_is_refused():
    _, _, usable = trained("iris", "species", Task.MULTICLASS, "keras_mlp", {"epochs": 1})
    with pytest.raises(BundleError, match="Keras network"):
        load_bundle(rezip(export_bundle(usable), {"network.keras": b"not a keras file"}))


# --------------------------------------------------------------------------- batches


@pytest.fixture(scope="module")
def houses():
    return trained("house_prices", "price", Task.REGRESSION, "ridge")


def test_a_wrong_file_gets_a_report_and_what_can_be_handled_is_handled(houses):
    request, _, usable = houses
    X, _ = request.xy(request.split.valid[:20])
    wrong = X.drop(columns=["bedrooms"]).assign(shoe_size=42)
    wrong["area_sqm"] = wrong["area_sqm"].astype(object)
    wrong.loc[wrong.index[0], "area_sqm"] = "big"
    wrong.loc[wrong.index[1], "neighbourhood"] = "Atlantis"
    aligned, report = check_batch(wrong, usable.schema)
    assert not report.ok
    assert report.missing_columns == ["bedrooms"] and report.extra_columns == ["shoe_size"]
    assert report.bad_values == {"area_sqm": 1}
    said = " ".join(report.problems())
    assert "of 'area_sqm' are not of the expected type (e.g. 'big')" in said, "the value as written, to find it"
    assert report.unseen["neighbourhood"] == (["Atlantis"], 1)
    text = " ".join(report.problems())
    assert "'bedrooms'" in text and "'Atlantis'" in text and "'shoe_size'" in text
    assert list(aligned.columns) == usable.schema.names and aligned["bedrooms"].isna().all()
    predictions = predict_frame(usable, aligned)
    assert len(predictions) == 20 and predictions["prediction"].notna().all()


def test_a_huge_date_cell_is_not_handed_to_the_date_parser(houses, monkeypatch):
    """It is no date, and parsing megabytes of text as one took minutes (a REST request timed out on it)."""
    from core import predict

    request, _, usable = houses
    X, _ = request.xy(request.split.valid[:3])
    X["listing_date"] = X["listing_date"].astype(object)
    X.loc[X.index[0], "listing_date"] = "x" * 1_000_000
    X.loc[X.index[1], "listing_date"] = "2023-10-10"
    parsed = []
    real = pd.to_datetime

    def recording(values, **kwargs):
        parsed.extend(values)
        return real(values, **kwargs)

    monkeypatch.setattr(predict.pd, "to_datetime", recording)
    aligned, report = check_batch(X, usable.schema)
    assert max(len(v) for v in parsed if isinstance(v, str)) <= predict.MAX_DATE_CHARS
    assert report.bad_values == {"listing_date": 1}
    assert aligned["listing_date"].isna().tolist() == [True, False, False]


def test_files_the_model_cannot_use_at_all_are_refused_clearly(houses):
    _, _, usable = houses
    with pytest.raises(Exception, match="no rows"):
        check_batch(pd.DataFrame(), usable.schema)
    with pytest.raises(Exception, match="None of the file's columns"):
        check_batch(pd.DataFrame({"a": [1]}), usable.schema)


def test_classifier_predictions_carry_a_probability_per_class():
    request, _, usable = trained("iris", "species", Task.MULTICLASS, "logistic_regression")
    X, _ = request.xy(request.split.valid)
    out = predict_frame(usable, X)
    assert list(out.columns) == ["prediction"] + [f"probability of {c}" for c in usable.classes]
    assert np.allclose(out.iloc[:, 1:].sum(axis=1), 1)
    scored = scored_frame(X.assign(prediction=1), out)
    assert "prediction (model)" in scored.columns and len(scored) == len(X)


def test_clustering_models_that_cannot_assign_new_rows_say_so():
    request, _, usable = trained("iris", None, Task.CLUSTERING, "dbscan")
    with pytest.raises(Exception, match="cannot assign new rows"):
        predict_frame(usable, request.frame[request.features])


def test_formula_cells_are_neutralised_in_downloads():
    frame = pd.DataFrame({"=cmd": ["=1+1", "+SUM(A1)", "-2", "@x", "plain", None], "n": [-1, 2, 3, 4, 5, 6]})
    safe = neutralise_formulas(frame)
    assert list(safe.columns) == ["'=cmd", "n"]
    assert safe["'=cmd"].tolist()[:5] == ["'=1+1", "'+SUM(A1)", "'-2", "'@x", "plain"]
    assert safe["n"].tolist() == [-1, 2, 3, 4, 5, 6]
    text = to_safe_csv(frame).decode("utf-8-sig")
    assert "'=1+1" in text and "\n=1+1" not in text and ",-1" not in text.split("\n")[0]


def test_schema_and_card_helpers():
    frame = pd.DataFrame({"x": [1, 2, None], "c": ["a", "b", "a"], "when": ["2024-01-02", "2024-03-04", None]})
    schema = FeatureSchema.from_frame(frame, {"x": Role.NUMERIC, "c": Role.CATEGORICAL, "when": Role.DATETIME})
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    assert schema["x"].integer and schema["x"].missing_share == pytest.approx(1 / 3)
    assert schema["c"].categories == ("a", "b") and schema["when"].latest == "2024-03-04"
    assert dataset_fingerprint(frame) == dataset_fingerprint(frame.copy())
    assert dataset_fingerprint(frame)["sha256"] != dataset_fingerprint(frame.assign(x=[1, 2, 3]))["sha256"]
    card = with_test_scores({"model": {"name": "m"}, "metrics": {"validation": {"R²": 0.5}}}, {"R²": float("nan")})
    assert card["metrics"]["test"] == {"R²": None}
    assert "- **validation:** R² 0.5" in card_markdown(card)
    assert bundle_name(type("U", (), {"name": "Random forest / v2"})()) == "random-forest---v2-bundle.zip"


def test_the_card_markdown_shows_the_training_choices_and_keeps_user_text_literal():
    from core.model_card import card_markdown

    card = {
        "model": {"name": "**bold** model", "kind": "Ridge"},
        "task": "binary classification",
        "target": "y",
        "dataset": {"name": "St. *Paul* [link](http://x)", "rows": 10, "columns": 2, "sha256": "ab" * 32},
        "split": {"train": 0.7, "valid": 0.15, "test": 0.15, "time_column": "day", "rows": {"train": 7}},
        "ranking_metric": "balanced_accuracy",
        "imbalance": "class_weight",
        "warnings": ["'x' (likely leak): *it* gives the answer away."],
        "features": [{"name": "a|b", "kind": "number", "minimum": -2.681901571333781, "maximum": 1.0}],
    }
    text = card_markdown(card)
    assert "- **Ranked by:** Balanced accuracy" in text and "- **Imbalanced classes:** class_weight" in text
    assert "ordered by `day`" in text and "70/15/15 %" in text
    assert "St\\. \\*Paul\\* \\[link\\]" in text and "\\*\\*bold\\*\\* model" in text
    assert "\\*it\\*" in text and "| -2.6819 … 1 |" in text and "-2.681901571333781" not in text


def test_the_card_of_the_chosen_model_says_how_it_was_chosen_and_refitted():
    from core.training import run_training

    models, options = [ModelRun("ridge", "Ridge")], FeatureOptions(log_target=True)
    request = make_training_request("house_prices", "price", Task.REGRESSION, models=models, seed=2, options=options)
    results = run_training(request)
    chosen = next(r for r in results if r.refit is not None)
    card = usable_from_training(chosen, request, "houses.csv").card
    rows = len(request.split.train) + len(request.split.valid)
    assert card["choice"]["refitted"] and card["choice"]["refit_rows"] == rows and card["choice"]["folds"] == 5
    assert card["choice"]["validation_scores"] == "from the fit on the training rows, before the refit"
    text = card_markdown(card).replace("\\", "")  # Markdown escapes dropped
    assert "## How it was chosen" in text and f"refitted on training + validation rows ({rows:,} rows)" in text
    twin = next(r for r in results if r.name == "Ridge (log target)")
    twin_card = usable_from_training(twin, request, "houses.csv").card
    assert "choice" not in twin_card or twin is chosen
    assert twin_card["model"]["target_transform"] == "log(1 + target), predictions turned back"


def test_the_apps_version_is_defined_once():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert project["project"]["name"] == core.DISTRIBUTION
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "core.__version__"}


def test_akeras_network_is_recognised_by_its_type_not_its_name():
    from types import SimpleNamespace

    from core.export import keras_network
    from core.keras_net import KerasNetwork

    class Wider(KerasNetwork):
        pass

    net = Wider(task="regression")
    net.model_ = object()
    assert keras_network(SimpleNamespace(steps=[("model", net)])) is net, "a subclass is a network"
    impostor = type("KerasNetwork", (), {"model_": object()})()
    assert keras_network(SimpleNamespace(steps=[("model", impostor)])) is None, "a look-alike name is not"
