"""Text through AppTest: the Models page offers the text network only for a text feature and shows its layers;
the Explain page's Words section shows the words that pushed predictions, overall and for one row.

The spam sample is trained once (a TF-IDF logistic regression, fast) and its session reopened per test.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.explain import words as cw
from tests.conftest import opened, session_of
from tests.page_helpers import trained_app
from ui import state

EXPLAIN = "pages/explain.py"
TEXT_NETWORK, TEXT_LABEL = "keras_text", "Text network (Keras)"


def on_models(sample: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key=f"data_sample_{sample}").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    assert not at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """The page's plotly figures by their title."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def test_the_text_network_is_offered_for_a_text_column_only_and_shows_its_layers():
    iris = on_models("iris")
    assert TEXT_LABEL not in iris.multiselect(key="models_chosen").options
    spam = on_models("spam")
    assert TEXT_LABEL in spam.multiselect(key="models_chosen").options
    spam.multiselect(key="models_chosen").set_value([TEXT_NETWORK]).run()
    assert not spam.exception
    layers = [d for d in spam.dataframe if "embedding" in list(d.value.get("type", []))]
    assert layers, "the text network's own layer table"
    table = layers[0].value
    assert list(table["layer"])[:3] == ["Words", "Embedding", "Average"] and "Other columns" in list(table["layer"])
    assert not any("Hidden layers" in m.value for m in spam.markdown), "not the dense network's layer editor"


@pytest.fixture(scope="module")
def spam_run() -> dict:
    return session_of(trained_app("spam", ["logistic_regression"], EXPLAIN))


def test_the_words_section_shows_the_words_overall_and_one_rows_marked_text(spam_run):
    at = opened(spam_run, EXPLAIN)
    assert any(h.value == "Words" for h in at.subheader)
    assert not at.get("plotly_chart"), "nothing is computed before it is asked for"
    at.toggle(key="explain_words_on").set_value(True).run()
    assert not at.exception, at.exception
    figures = charts(at)
    overall = next(spec for title, spec in figures.items() if title.startswith("Words in message"))
    assert overall["data"][0]["orientation"] == "h" and len(overall["data"][0]["y"]) > 3
    assert any(title.startswith("Words of this row") for title in figures)
    assert any("-background[" in m.value for m in at.markdown), "the row's pushing words are marked"
    first = at.selectbox(key="explain_words_row").value
    at.selectbox(key="explain_words_row").set_value(first + 1).run()
    assert not at.exception
    assert any("with this text" in c.value for c in at.caption)


def test_slow_word_explanations_run_on_the_cluster_with_progress(spam_run, monkeypatch):
    monkeypatch.setattr(cw, "IN_PROCESS_SECONDS", 0.0)  # every estimate is over it: the cluster path
    at = opened(spam_run, EXPLAIN)
    at.toggle(key="explain_words_on").set_value(True).run()
    assert not at.exception, at.exception
    _, job = at.session_state[state.WORDS_JOB]
    assert isinstance(job, cw.WordsJob)
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    at.run()
    assert any(title.startswith("Words in message") for title in charts(at))
