"""Each page through streamlit.testing.v1.AppTest: what a person would notice."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import state

APP = "../app.py"


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def texts(at: AppTest) -> list[str]:
    bodies = [e.value for e in at.markdown] + [e.body for e in [*at.error, *at.warning, *at.info, *at.success]]
    return bodies + [e.value for e in at.header] + [e.value for e in at.title] + [e.value for e in at.caption]


def load_sample(at: AppTest, key: str) -> AppTest:
    at.button(key=f"data_sample_{key}").click().run()
    assert not at.exception
    return at


# ------------------------------------------------------------------------ data


def test_first_visit_offers_upload_and_samples_and_locks_later_steps():
    at = fresh()
    assert at.title[0].value == "1. Data"
    assert len([b for b in at.button if b.key and b.key.startswith("data_sample_")]) >= 7
    assert at.session_state[state.DATASET] is None


def test_loading_a_sample_profiles_it():
    at = load_sample(fresh(), "predictive_maintenance")
    assert metric(at, "Rows") == "5,000"
    assert metric(at, "Columns") == "9"
    assert int(metric(at, "Missing cells").replace(",", "")) > 0
    assert any("Detected:" in t and "comma" in t for t in texts(at))
    assert at.get("plotly_chart"), "the one-column detail chart is shown"


def test_profile_views_switch_between_missing_values_and_correlations():
    at = load_sample(fresh(), "house_prices")
    at.segmented_control(key="data_view").set_value("Missing values").run()
    assert not at.exception
    assert "Missing values per column" in at.get("plotly_chart")[0].proto.spec
    at.segmented_control(key="data_view").set_value("Correlations").run()
    assert "Correlation between numeric columns" in at.get("plotly_chart")[0].proto.spec


def test_messy_upload_is_read_and_reported():
    data = "name;price;qty;qty\nCafé;1.234,5;3;1\nThé;12,75;N/A;2\nBière;3,0;?;3\n".encode("cp1252")
    at = upload(fresh(), "messy.csv", data)
    assert metric(at, "Rows") == "3"
    joined = " ".join(texts(at))
    assert "semicolon" in joined and "cp1252" in joined
    assert "Renamed" in joined


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b,c\n", "no data rows"),
        ("binary.csv", bytes(range(256)) * 40, "does not look like text"),
        ("fake.xlsx", b"a,b\n1,2\n", "not one"),
    ],
)
def test_bad_upload_shows_a_message_and_keeps_the_previous_data(name, data, message):
    at = load_sample(fresh(), "iris")
    at = upload(at, name, data)
    errors = " ".join(e.body for e in at.error)
    assert message in errors.replace("\\", "")
    assert "previous data is still loaded" in errors
    assert at.session_state[state.DATASET].name == "iris.csv"
    assert metric(at, "Rows") == "150"


def test_hostile_column_names_are_shown_literally_never_as_markup():
    at = upload(fresh(), "evil.csv", b"<script>alert(1)</script>,**bold**,label\n1,2,a\n3,4,b\n5,6,a\n")
    assert metric(at, "Columns") == "3"
    for body in texts(at):
        assert "**bold**" not in body, f"unescaped markdown in: {body!r}"
        assert "<script>" not in body, f"unescaped html in: {body!r}"
    assert at.selectbox(key=f"data_detail_{at.session_state[state.VERSION]}").options[0] == "<script>alert(1)</script>"


def test_excel_with_two_sheets_lets_the_person_choose():
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame({"a": [1, 2, 3]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"b": ["x", "y"], "c": [1.5, 2.5]}).to_excel(writer, sheet_name="second", index=False)
    at = upload(fresh(), "book.xlsx", buffer.getvalue())
    assert any("2 sheets" in w.body for w in at.warning)
    at.selectbox(key="data_reread_sheet").set_value("second")
    at.button(key="data_reread_submit").click().run()
    assert not at.exception
    assert list(at.session_state[state.DATASET].frame.columns) == ["b", "c"]


# ------------------------------------------------------------------------ target


def test_target_page_without_data_points_back_to_data():
    at = fresh()
    at.switch_page("pages/target.py").run()
    assert not at.exception
    assert any("Load a dataset first" in i.body for i in at.info)


def test_choose_target_detects_task_warns_and_saves():
    at = load_sample(fresh(), "predictive_maintenance")
    at.switch_page("pages/target.py").run()
    assert not at.exception
    column = at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}")
    assert column.value == "failure"
    assert any("binary classification" in m.value for m in at.markdown)
    assert any("imbalanced" in w.body for w in at.warning)
    at.button(key="target_confirm").click().run()
    choice = at.session_state[state.TARGET]
    assert choice.target == "failure" and choice.task.value == "binary classification"
    assert "machine_id" not in choice.features, "ID-like columns start unticked"
    assert "vibration_mm_s" in choice.features


def test_binary_target_offers_the_positive_class_and_keeps_the_plan_when_only_it_changes():
    at = load_sample(fresh(), "breast_cancer")
    at.switch_page("pages/target.py").run()
    version = at.session_state[state.VERSION]
    positive = at.selectbox(key=f"target_positive_{version}_diagnosis")
    assert positive.options == ["benign", "malignant"] and positive.value == "malignant", "the rarer class"
    assert "rarer" in positive.help
    at.button(key="target_confirm").click().run()
    assert at.session_state[state.TARGET].positive == "malignant"
    plan = object()
    at.session_state[state.PLAN] = plan
    at.selectbox(key=f"target_positive_{version}_diagnosis").set_value("benign").run()
    at.button(key="target_confirm").click().run()
    assert at.session_state[state.TARGET].positive == "benign"
    assert at.session_state[state.PLAN] is plan, "a new positive class keeps the cleaning plan"
    at.switch_page("pages/target.py").run()
    assert at.selectbox(key=f"target_positive_{version}_diagnosis").value == "benign", "the choice is kept"


def test_positive_class_is_asked_only_for_binary_targets():
    at = load_sample(fresh(), "iris")
    at.switch_page("pages/target.py").run()
    assert not any(s.key and s.key.startswith("target_positive") for s in at.selectbox)


def test_override_task_and_choose_clustering():
    at = load_sample(fresh(), "diabetes")
    at.switch_page("pages/target.py").run()
    version = at.session_state[state.VERSION]
    assert at.selectbox(key=f"target_column_{version}").value == "disease_progression"
    # 214 distinct numbers in 442 rows cannot be learned as classes: refused, regression suggested
    at.radio(key=f"target_task_{version}_disease_progression").set_value(at.radio[0].options[0]).run()
    assert at.button(key="target_confirm").disabled
    assert any("214 classes" in e.body and "regression" in e.body for e in at.error)
    at.radio(key=f"target_task_{version}_disease_progression").set_value(at.radio[0].options[1]).run()
    at.selectbox(key=f"target_column_{version}").set_value("sex").run()
    at.radio(key=f"target_task_{version}_sex").set_value("regression").run()
    at.button(key="target_confirm").click().run()
    assert "chosen by you" in at.session_state[state.TARGET].task_reason
    column = at.selectbox(key=f"target_column_{version}")
    column.set_value(column.options[0]).run()
    assert not at.exception
    assert any("clustering" in m.value for m in at.markdown)
    at.button(key="target_confirm").click().run()
    assert at.session_state[state.TARGET].target is None


# ------------------------------------------------------------------------ clean


def confirmed(sample: str) -> AppTest:
    at = load_sample(fresh(), sample)
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    assert not at.exception
    return at


def test_clean_page_is_locked_until_a_target_is_chosen():
    at = load_sample(fresh(), "iris")
    at.switch_page("pages/clean.py").run()
    assert any("Choose the target first" in i.body for i in at.info)


def test_clean_plan_updates_the_before_after_summary():
    at = confirmed("predictive_maintenance")
    version = at.session_state[state.VERSION]
    assert metric(at, "Missing cells") == "0"
    assert metric(at, "Rows with outliers") == "0"
    at.toggle(key=f"clean_{version}_out_on").set_value(True).run()
    assert not at.exception
    assert int(metric(at, "Rows with outliers").replace(",", "")) > 0
    plan = at.session_state[state.PLAN]
    assert plan.outliers is not None and plan.outliers.method == "iqr"
    steps = next(m.value for m in at.markdown if m.value.startswith("1. "))
    assert "Outliers" in steps and "training split" in steps


def test_clean_switches_change_the_plan():
    at = confirmed("spam")
    version = at.session_state[state.VERSION]
    before = int(metric(at, "Rows").replace(",", ""))
    at.checkbox(key=f"clean_{version}_dups").set_value(False).run()
    after = int(metric(at, "Rows").replace(",", ""))
    assert after > before, "keeping duplicates keeps more rows"
    assert at.session_state[state.PLAN].drop_duplicates is False


def test_invalid_fill_value_is_refused_with_a_message():
    at = confirmed("house_prices")
    version = at.session_state[state.VERSION]
    at.selectbox(key=f"clean_{version}_role_numeric").set_value("constant").run()
    at.text_input(key=f"clean_{version}_fill_numeric").set_value("lots").run()
    assert not at.exception
    assert any(
        "must be a number" in e.body.replace("\\", "") or "need a number" in e.body.replace("\\", "") for e in at.error
    )


def test_new_dataset_clears_target_and_plan():
    at = confirmed("iris")
    assert at.session_state[state.PLAN] is not None
    at.switch_page("pages/data.py").run()
    load_sample(at, "wine")
    assert at.session_state[state.TARGET] is None
    assert at.session_state[state.PLAN] is None


def test_loading_a_sample_after_an_upload_replaces_it_and_is_not_undone():
    at = upload(fresh(), "mine.csv", b"a,b\n1,x\n2,y\n3,x\n")
    assert at.session_state[state.DATASET].name == "mine.csv"
    at = load_sample(at, "wine")
    at.run()  # a later rerun must not re-read the file still in the uploader
    assert at.session_state[state.DATASET].name == "wine.csv"
    assert metric(at, "Rows") == "178"


def test_md_code_shows_any_text_literally_in_a_code_span():
    from ui.text import md_code

    assert md_code("house_prices.csv") == "`house_prices.csv`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    assert "\n" not in md_code("two\nlines")


def test_md_label_defuses_markdown_but_keeps_names_readable():
    from ui.text import md_label

    assert md_label("petal_length_cm") == "petal_length_cm"  # the accessible name stays clean
    assert md_label("[x](http://e.example)") == "\\[x\\](http\\://e.example)"
    assert md_label("_x_") == "\\_x\\_" and md_label("**b**") == "\\*\\*b\\*\\*"
    assert md_label("www.e.com") == "www\\.e.com" and md_label("1. a") == "1\\. a" and md_label("# h") == "\\# h"


def test_new_data_while_a_run_trains_asks_first_and_the_stop_is_recorded_as_such():
    at = load_sample(fresh(), "breast_cancer")
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["random_forest_clf"]).run()
    at.number_input(key="models_random_forest_clf_n_estimators").set_value(2000).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.snapshot().status == "running"
    at.switch_page("pages/data.py").run()
    load_sample(at, "iris")
    assert at.session_state[state.DATASET].name.startswith("breast_cancer"), "nothing is replaced yet"
    assert job.snapshot().status == "running" and not job.stopping, "the run goes on until the person decides"
    warning = next(w.body for w in at.warning if "still going" in w.body)
    assert "a training run" in warning and "recorded in the experiment log as stopped" in warning.replace("\\", "")
    at.button(key="data_pending_use").click().run()
    assert not at.exception
    assert at.session_state[state.DATASET].name.startswith("iris")
    assert job.stopping and job.stop_reason == "other data was loaded"
    assert job.wait(120) and job.outcome() == "stopped: other data was loaded"
