"""core.project: a project file brings back every setting, refuses hostile files in words, and says how data differs."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from core import limits, project
from core.cleaning import CleaningPlan, MissingRule, OutlierRule
from core.features import FeatureOptions
from core.load_options import LoadOptions
from core.loading import load_file
from core.project import ProjectError, project_json, read_project
from core.project_fit import data_differences, load_table, rebuild
from core.registry import get_spec
from core.restore import settings_from
from core.samples import SAMPLE_DIR, load_sample
from core.split import SplitConfig
from core.target import TargetChoice, Task
from core.training import ModelRun, TrainSetup, make_request, run_training
from core.training.request import BUDGET_SECONDS

HOUSE_FEATURES = ["area_sqm", "bedrooms", "year_built", "neighbourhood", "garage", "condition", "listing_date"]


def house_settings() -> tuple[TargetChoice, CleaningPlan, TrainSetup]:
    """Settings away from every default, so a setting lost on the way shows."""
    choice = TargetChoice("price", Task.REGRESSION, "a number", HOUSE_FEATURES)
    plan = CleaningPlan(
        drop_duplicates=False,
        drop_columns=["lot_size_sqm"],
        type_fixes={"bedrooms": "category"},
        missing_by_column={"area_sqm": MissingRule("mean")},
        outliers=OutlierRule("zscore", "clip", 2.5),
        outlier_columns=["area_sqm"],
        confirmed_row_loss=3,
    )
    setup = TrainSetup(
        SplitConfig(0.6, 0.2, 0.2, seed=7, cv_folds=3),
        [
            ModelRun("ridge", "Ridge", {**get_spec("ridge").defaults(), "alpha": 3.5}),
            ModelRun(
                "decision_tree_reg", "Decision tree", {**get_spec("decision_tree_reg").defaults(), "max_depth": 4}
            ),
            ModelRun("keras_mlp", "Neural network", {**get_spec("keras_mlp").defaults(), "epochs": 7}),
        ],
        FeatureOptions(interactions=True, ratios=(("area_sqm", "bedrooms"),), min_frequency=3, log_target=True),
        "none",
        "mae",
        120,
    )
    return choice, plan, setup


def small_table(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows).round(3), "b": rng.normal(size=rows).round(3)})
    frame["colour"] = rng.choice(["red", "green", "blue"], rows)
    frame["y"] = np.where(frame["a"] + rng.normal(scale=0.5, size=rows) > 0, "yes", "no")
    return frame


def upload_settings(ds) -> tuple[TargetChoice, CleaningPlan, TrainSetup]:
    choice = TargetChoice("y", Task.BINARY, "two classes", ["a", "b", "colour"], positive="no")
    setup = TrainSetup(
        SplitConfig(seed=11, cv_folds=0),
        [
            ModelRun(
                "logistic_regression", "Logistic regression", {**get_spec("logistic_regression").defaults(), "C": 0.5}
            )
        ],
        imbalance="class_weight",
        metric="balanced_accuracy",
    )
    return choice, CleaningPlan(missing_by_column={"colour": MissingRule("constant", "none")}), setup


@pytest.fixture(scope="module")
def house():
    return load_sample("house_prices")


@pytest.fixture(scope="module")
def upload():
    data = small_table().to_csv(index=False, sep=";").encode()
    options = LoadOptions(delimiter=";", missing=("unknown",))
    return load_file(data, "class.csv", options), data, options


def house_file(house, **changes) -> dict:
    choice, plan, setup = house_settings()
    return json.loads(project_json(house, choice, plan, setup, sample="house_prices", **changes))


def refused(doc_or_bytes) -> str:
    data = doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes).encode()
    with pytest.raises(ProjectError) as caught:
        read_project(data)
    return caught.value.user_message


# --------------------------------------------------------------------------- round trips


def test_a_sample_project_brings_back_every_setting(house):
    choice, plan, setup = house_settings()
    data = project_json(house, choice, plan, setup, sample="house_prices", role_overrides={"garage": "categorical"})
    assert len(data) < 10_000, "a sample is named, not embedded"
    opened = read_project(data)
    assert opened.table.kind == "sample" and opened.table.sample == "house_prices" and opened.table.content is None
    assert opened.setup == setup, "split, seed, models and their settings, options, metric and budget"
    assert opened.plan.to_dict() == plan.to_dict()
    assert (opened.choice.target, opened.choice.task, opened.choice.features) == (
        "price",
        Task.REGRESSION,
        HOUSE_FEATURES,
    )
    assert opened.role_overrides == {"garage": "categorical"}

    table, raw = load_table(opened)
    assert raw == (SAMPLE_DIR / "house_prices.csv").read_bytes() and table.frame.equals(house.frame)
    rebuilt = rebuild(opened, table)
    assert rebuilt.differences == []
    assert rebuilt.setup == setup and rebuilt.plan.to_dict() == plan.to_dict()
    assert rebuilt.choice.features == HOUSE_FEATURES and rebuilt.role_overrides == {"garage": "categorical"}


def test_an_uploaded_file_travels_inside_the_project_with_how_it_was_read(upload):
    ds, data, options = upload
    choice, plan, setup = upload_settings(ds)
    opened = read_project(project_json(ds, choice, plan, setup, raw=data, load_options=options))
    assert opened.table.content == data and opened.table.kind == "upload" and opened.table.name == "class.csv"
    assert opened.load_options == options
    assert opened.setup == setup and opened.plan.to_dict() == plan.to_dict()
    assert opened.choice.positive == "no"
    table, raw = load_table(opened)
    assert raw == data and table.frame.equals(ds.frame), "read again with its delimiter and missing-value markers"
    rebuilt = rebuild(opened, table)
    assert rebuilt.differences == [] and rebuilt.choice.positive == "no" and rebuilt.setup == setup


def test_a_file_over_the_limit_is_named_and_fingerprinted_only(upload, monkeypatch):
    ds, data, options = upload
    monkeypatch.setattr(project, "MAX_PROJECT_EMBED_BYTES", len(data) - 1)
    opened = read_project(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    assert opened.table.content is None and opened.table.size == len(data)
    assert load_table(opened) is None, "the person uploads it"
    assert rebuild(opened, ds).differences == [], "the same file uploaded again fits without a difference"


def test_the_project_file_is_a_recorded_runs_settings_layout(house):
    """One layout: the experiments' restore reads a project file's settings as its own."""
    choice, plan, setup = house_settings()
    restored = settings_from(json.loads(project_json(house, choice, plan, setup, sample="house_prices")))
    assert restored.choice.target == "price" and restored.plan.to_dict() == plan.to_dict()
    assert [(m.key, m.name) for m in restored.setup.models] == [(m.key, m.name) for m in setup.models]
    assert restored.setup.models[0] == setup.models[0] and restored.setup.split == setup.split


def test_the_rebuilt_settings_train_to_the_same_scores(upload):
    ds, data, options = upload
    choice, plan, setup = upload_settings(ds)
    opened = read_project(project_json(ds, choice, plan, setup, raw=data, load_options=options))
    table, _ = load_table(opened)
    rebuilt = rebuild(opened, table)
    from core.schema import effective_roles, infer_roles

    def scores(frame, choice, plan, setup) -> dict:
        roles = effective_roles(infer_roles(frame), {})
        request = make_request(frame, choice.target, choice.task, choice.features, roles, plan, setup, choice.positive)
        return {m.name: m.validated().scores for m in run_training(request)}

    before = scores(ds.frame, choice, plan, setup)
    after = scores(table.frame, rebuilt.choice, rebuilt.plan, rebuilt.setup)
    assert before.keys() == {"Baseline", "Logistic regression"}
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == pytest.approx(before[name], nan_ok=True), name


def test_the_download_is_named_after_the_table():
    assert project.file_name("house_prices.csv") == "house-prices-project.json"
    assert project.file_name("Sales 2024 (final).xlsx") == "sales-2024--final-project.json"


# --------------------------------------------------------------------------- hostile files


def test_a_file_that_is_not_json_or_not_ours_is_refused_in_words(house):
    assert "not valid JSON" in refused(b"name,price\nx,1\n")
    assert "not a text (JSON) file" in refused(b"\x80\x81\xfe\xff")
    assert "not a project file of this app" in refused({"hello": "world"})
    assert "not a project file of this app" in refused([1, 2, 3])
    newer = house_file(house)
    newer["format_version"] = 2
    message = refused(newer)
    assert "a newer version of the app" in message and "format 2" in message


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed():
    message = refused(b" " * (limits.MAX_PROJECT_BYTES + 1))
    assert "is at most 4 MB" in message


def test_a_pickle_is_never_unpickled():
    import pickle

    assert "not" in refused(pickle.dumps({"format": project.FORMAT}))


def test_deep_nesting_and_huge_numbers_are_refused(house):
    assert "nested more than" in refused(b"[" * 200_000 + b"]" * 200_000)
    deep = house_file(house)
    nested: list = ["x"]
    for _ in range(40):
        nested = [nested]
    deep["plan"]["drop_columns"] = nested
    assert "nested more than 32 levels" in refused(deep)
    text = json.dumps(house_file(house))
    assert "more than 20 digits" in refused(text.replace('"seed": 7', '"seed": ' + "9" * 5000).encode())
    assert "too large" in refused(text.replace('"alpha": 3.5', '"alpha": 1e999').encode())
    assert "NaN is not a number" in refused(text.replace('"alpha": 3.5', '"alpha": NaN').encode())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["setup"]["models"][0].update(key="rm -rf"),
            "There is no model called 'rm -rf' in this version of the app. It offers:",
        ),
        (
            lambda d: d["setup"]["models"][1]["params"].update(max_depth=0),
            "The 'max_depth' parameter of Decision tree must be an int in the range [1, 100] or None (no limit). Got 0.",
        ),
        (lambda d: d["setup"]["models"][0]["params"].update(kernel="rbf"), "Invalid parameter 'kernel' for Ridge"),
        (lambda d: d["setup"]["models"][0].update(key="logistic_regression"), "one that can do regression"),
        (lambda d: d["setup"]["split"].update(seed=-1), "its seed must be a whole number"),
        (lambda d: d["setup"]["split"].update(train=0.9), "must add up to 100%"),
        (lambda d: d["setup"].update(metric="accuracy"), "its ranking metric must be one of"),
        (lambda d: d["setup"].update(budget=10**9), "its time budget must be one of"),
        (lambda d: d["plan"]["missing_by_role"]["numeric"].update(strategy="eval"), "Unknown missing-value strategy"),
        (lambda d: d["plan"].update(drop_columns="price"), "its plan's columns to drop must be a list of names"),
        (lambda d: d["plan"].update(sneaky=True), "Unknown cleaning plan field(s): sneaky"),
        (lambda d: d["target"].update(task="astrology"), "its task must be one of"),
        (lambda d: d["target"].update(features=[1, 2]), "its features must be a list of names"),
        (lambda d: d["source"].update(sample="../../etc/passwd"), "its sample must be one of this app's samples"),
        (lambda d: d["load_options"].update(encoding="rot13"), "its load option 'encoding'"),
        (lambda d: d["role_overrides"].update(price="secret"), "the role of column 'price' must be one of"),
        (lambda d: d.update(fingerprint="abc"), "its fingerprint must be 64 hex digits"),
        (lambda d: d.pop("setup"), "its model settings must be a JSON object ('setup')"),
    ],
)
def test_every_field_is_checked_with_a_message_that_says_what_is_wrong(house, change, expected):
    doc = house_file(house)
    change(doc)
    message = refused(doc)
    assert expected in message, message
    assert message.startswith("This project file cannot be opened") or "another version" in message
    assert project.FIX in message, "and what to do"


def test_an_embedded_file_that_is_not_base64_or_too_large_is_refused(upload, monkeypatch):
    ds, data, options = upload
    doc = json.loads(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    doc["table"]["file"]["base64"] = "not base64!"
    assert "not valid base64" in refused(doc)
    doc["table"]["file"]["base64"] = base64.b64encode(data).decode()
    monkeypatch.setattr(project, "MAX_PROJECT_EMBED_BYTES", 10)
    assert "embedded file is larger than" in refused(doc)


# --------------------------------------------------------------------------- other data


def test_a_target_absent_from_the_data_is_refused_before_anything_changes(upload):
    ds, data, options = upload
    opened = read_project(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    other = load_file(small_table().drop(columns="y").to_csv(index=False).encode(), "other.csv")
    with pytest.raises(ProjectError, match=r"The project's target 'y' is not a column of 'other.csv'"):
        rebuild(opened, other)


def test_data_differences_are_said_in_plain_words(upload):
    ds, data, options = upload
    opened = read_project(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    fewer = small_table().head(100).drop(columns="colour").assign(extra=1)
    other = load_file(fewer.to_csv(index=False).encode(), "class.csv")
    assert data_differences(opened, other) == [
        "The project was made on a table of 120 rows; this one has 100.",
        "Column 'colour' is missing.",
        "This table has 1 column the project does not know: 'extra'.",
    ]
    rebuilt = rebuild(opened, other)
    assert rebuilt.choice.features == ["a", "b"], "a missing feature is left out"
    assert "colour" not in rebuilt.plan.missing_by_column, "and the plan's rule for it"

    changed = load_file(small_table().assign(a=lambda f: f["a"] + 1).to_csv(index=False).encode(), "mine.csv")
    assert data_differences(opened, changed) == [
        "The project was made on 'class.csv'; this table is 'mine.csv'.",
        "Its values differ from the project's table (same rows and columns), so the scores will too.",
    ]


def test_a_positive_class_the_data_lacks_is_said(upload):
    ds, data, options = upload
    opened = read_project(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    relabelled = small_table().replace({"y": {"no": "nope"}})
    rebuilt = rebuild(opened, load_file(relabelled.to_csv(index=False).encode(), "class.csv"))
    assert rebuilt.choice.positive is None
    assert "The positive class 'no' is not a value of 'y': the app picks one." in rebuilt.differences


def test_a_default_budget_round_trips(upload):
    ds, data, _ = upload
    choice, plan, setup = upload_settings(ds)
    assert read_project(project_json(ds, choice, plan, setup, raw=data)).setup.budget == BUDGET_SECONDS


def _paths(value, path=()):
    """Every place in a JSON document: (path, value)."""
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*path, key))


def test_any_field_of_any_kind_is_opened_or_refused_never_crashes(upload):
    """Every field of a real project file replaced by values of every JSON kind: a ProjectError or a project."""
    ds, data, options = upload
    doc = json.loads(project_json(ds, *upload_settings(ds), raw=data, load_options=options))
    strange = [None, [], {}, "x", -1, 0, 10**15, 2.5, True, [["a", 1]], {"k": []}]
    tried = 0
    for path, _ in list(_paths(doc)):
        if not path or path == ("table", "file", "base64"):
            continue
        for value in strange:
            changed = json.loads(json.dumps(doc))
            parent = changed
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = value
            try:
                read_project(json.dumps(changed).encode())
            except ProjectError as err:
                assert err.user_message.startswith(("This project file", "This file")), (path, value)
            tried += 1
    assert tried > 500
