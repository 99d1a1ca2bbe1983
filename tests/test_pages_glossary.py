"""The Glossary page through AppTest, and the glossary links in the app's tooltips."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.network_rules import ACTIVATIONS
from core.teaching import glossary

APP = "../app.py"


def glossary_page(term: str | None = None) -> AppTest:
    """The Glossary page as a link opens it: ``glossary?term=<term>`` (the app's navigation, sidebar and all)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if term is not None:
        at.query_params[glossary.QUERY_PARAM] = term
    at.run()
    at.switch_page("pages/glossary.py").run()
    assert not at.exception
    assert at.title[0].value == "Glossary"
    return at


def entries(at: AppTest) -> list[tuple[str, bool]]:
    """Each entry shown: (name, whether it is open)."""
    return [(e.label, e.proto.expanded) for e in at.expander]


def test_the_page_lists_every_term_by_group_with_the_activation_table_and_curves():
    at = glossary_page()
    assert at.text_input(key="glossary_search").value == ""
    assert [name for name, _ in entries(at)] == [t.name for t in glossary.search("")]
    assert len(entries(at)) == len(glossary.terms())
    assert not any(opened for _, opened in entries(at))
    assert {s.value for s in at.subheader} >= {"Basics", "Metrics", "Activations"}
    assert [h.value for h in at.header] == ["Activation functions"]
    assert any(m.value.startswith("| Activation | Formula") and "| ReLU |" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == len({*ACTIVATIONS, "sigmoid", "softmax", "linear"})


def test_search_narrows_the_list_best_match_first():
    at = glossary_page()
    at.text_input(key="glossary_search").set_value("learning rate").run()
    assert not at.exception
    shown = [name for name, _ in entries(at)]
    assert shown[0] == "Learning rate"
    assert 1 < len(shown) < len(glossary.terms()) / 4
    assert any("terms match" in c.value for c in at.caption)


def test_a_link_opens_the_page_on_its_term_expanded():
    """What ``[overfitting](glossary?term=overfitting)`` in a guided-mode note or a tooltip opens."""
    at = glossary_page("overfitting")
    assert at.text_input(key="glossary_search").value == "Overfitting"
    shown = entries(at)
    assert shown[0] == ("Overfitting", True)
    assert all(not opened for _, opened in shown[1:])
    body = at.expander[0].markdown[0].value
    assert body == glossary.term("overfitting").markdown()
    assert "[regularisation](glossary?term=regularisation)" in body  # onwards to the next term


def test_a_metric_link_opens_its_formula():
    at = glossary_page("roc-auc")
    assert entries(at)[0] == ("ROC-AUC", True)
    assert "**Formula.** $\\text{AUC}" in at.expander[0].markdown[0].value


def test_an_unknown_term_says_so_kindly():
    at = glossary_page("quantum-zebra")
    assert entries(at) == []
    messages = [i.value for i in at.info]
    assert any("no entry called `quantum-zebra`" in m for m in messages)
    assert any("No term matches" in m and "clear the search" in m for m in messages)
    assert not at.error


def test_links_point_at_the_pages_address_and_the_page_is_never_locked():
    """``glossary?term=…`` resolves against the current page's address: the page's url_path must be ``glossary``."""
    from ui import journey

    step = journey.STEP[glossary.PAGE]
    assert (step.path, step.title) == ("pages/glossary.py", "Glossary")
    assert step in journey.EXTRAS  # listed in the sidebar under the steps
    assert journey.locked_reason(glossary.PAGE) is None


def _keras_form():
    from core import registry
    from ui import model_views

    spec = registry.get_spec("keras_mlp")
    model_views.param_form(spec, {p.name: p.default for p in spec.params}, "t")


def test_a_parameter_tooltip_on_the_models_form_links_the_glossary():
    at = AppTest.from_function(_keras_form, default_timeout=60).run()
    assert not at.exception
    rate = at.number_input(key="t_learning_rate")
    assert rate.help.endswith("[Learning rate in the glossary](glossary?term=learning-rate)")
    assert "(glossary?term=early-stopping)" in at.number_input(key="t_epochs").help  # a term its help mentions


def _metrics_row():
    from core.target import Task
    from ui import results_views

    results_views.metrics_row({"r2": 0.8, "mae": 1.2, "rmse": 1.5, "mape": 0.1}, Task.REGRESSION, rows=10)


def test_a_metric_tooltip_on_the_results_page_links_its_entry():
    at = AppTest.from_function(_metrics_row, default_timeout=60).run()
    assert not at.exception
    helps = {m.label: m.proto.help for m in at.metric}
    assert helps["R²"].endswith("[R² in the glossary](glossary?term=r2)")
    assert helps["MAE"].endswith("(glossary?term=mae)")
