"""The glossary (core.teaching.glossary) and its activation charts (core.charts.glossary)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.charts.glossary import activation_plot, activation_values
from core.metrics import METRICS
from core.network_rules import ACTIVATIONS
from core.registry import REGISTRY
from core.teaching import glossary
from core.teaching.glossary import GlossaryError, link_terms, metric_slug, parse, search, term, term_link, tooltip

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(glossary\?term=([^)\s]*)\)")

# ------------------------------------------------------------------------------ coverage


def test_every_metric_the_app_shows_has_an_entry_with_formula_use_and_caveat():
    """Adding a metric to core/metrics.py without a glossary entry fails here."""
    for key in METRICS:
        entry = term(metric_slug(key))
        assert entry is not None, f"metric '{key}' has no glossary term '{metric_slug(key)}' in glossary.toml"
        assert entry.metric == key
        assert "$" in entry.formula and entry.use and entry.caveat, key
    assert {t.metric for t in glossary.terms() if t.metric} == set(METRICS)


def test_every_activation_a_network_may_use_has_an_entry_and_a_row_in_the_table():
    """The hidden layers' activations (core/network_rules.py) and the output layers' (sigmoid, softmax, linear)."""
    offered = {*ACTIVATIONS, "sigmoid", "softmax", "linear"}
    for name in offered:
        entry = next((t for t in glossary.activation_terms() if t.activation == name), None)
        assert entry is not None, f"activation '{name}' has no glossary term"
        assert entry.formula.startswith("$") and entry.output_range and entry.use
    table = glossary.activation_table()
    assert {row["key"] for row in table} == offered
    lines = glossary.activation_markdown().splitlines()
    assert lines[0].startswith("| Activation | Formula") and len(lines) == 2 + len(offered)
    assert "| ReLU | $\\max(0,\\, x)$ | $[0, \\infty)$ |" in glossary.activation_markdown()


def test_the_basic_terms_are_there():
    wanted = [
        "supervised-learning",
        "unsupervised-learning",
        "feature",
        "label",
        "target",
        "split",
        "training-set",
        "validation-set",
        "test-set",
        "cross-validation",
        "baseline",
        "loss",
        "epoch",
        "batch-size",
        "learning-rate",
        "early-stopping",
        "overfitting",
        "underfitting",
        "regularisation",
        "leakage",
        "imbalance",
        "imputation",
        "scaling",
        "one-hot-encoding",
        "hyperparameter",
        "pipeline",
        "shap-values",
        "permutation-importance",
        "clustering",
        "silhouette",
    ]
    assert [slug for slug in wanted if term(slug) is None] == []


def test_every_glossary_link_written_in_the_app_names_a_term():
    """Guided-mode notes, help texts, pages: a link to a slug that does not exist would open "no match"."""
    broken = {}
    for path in [*ROOT.glob("core/**/*"), *ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]:
        if path.suffix in (".py", ".toml", ".md") and path.is_file():
            slugs = [
                s
                for s in LINK.findall(path.read_text(encoding="utf-8"))
                if term(s) is None and s not in ("slug", "<slug>")
            ]
            if slugs:
                broken[str(path.relative_to(ROOT))] = slugs
    assert broken == {}


def test_entries_link_other_entries_never_themselves():
    for entry in glossary.terms():
        linked = LINK.findall(entry.markdown())
        assert entry.slug not in linked, entry.slug
        assert all(term(s) is not None for s in linked), (entry.slug, linked)
    assert "[regularisation](glossary?term=regularisation)" in term("overfitting").markdown()


# ------------------------------------------------------------------------------ look-up and search


def test_term_link_is_a_relative_link_to_the_page_and_refuses_unknown_slugs():
    assert term_link("overfitting") == "glossary?term=overfitting"
    assert term("learning-rate").name == "Learning rate"
    assert term("no-such-term") is None
    with pytest.raises(KeyError, match="No glossary term 'overfiting'"):
        term_link("overfiting")


def test_search_is_case_insensitive_and_puts_the_name_match_first():
    found = [t.slug for t in search("LOSS")]
    assert found[:2] == ["loss", "log-loss"]  # the name is the query, then a name containing it
    assert {"overfitting", "epoch"} <= set(found[2:])  # then entries that only mention it
    assert search("roc auc")[0].slug == "roc-auc"  # '-' and spaces alike
    assert search("R squared")[0].slug == "r2"  # an alias
    assert search("Balanced-Accuracy")[0].slug == "balanced-accuracy"  # a slug, as a link passes it
    assert [t.slug for t in search("memorised")] == ["training-set"]  # words of the text only
    assert search("learning   RATE")[0].slug == "learning-rate"


def test_search_without_words_lists_everything_and_nonsense_nothing():
    everything = search("  ")
    assert sorted(everything, key=lambda t: t.slug) == sorted(glossary.terms(), key=lambda t: t.slug)
    groups = [t.group for t in everything]
    assert groups == sorted(groups, key=glossary.GROUPS.index)  # one heading per group on the page
    assert search("zebra crossing") == []


# ------------------------------------------------------------------------------ links in help texts


def test_link_terms_links_the_first_mention_of_each_term_keeping_its_words():
    text = "Stop when the validation score stops improving, so the network does not overfit. Overfitting is bad."
    linked = link_terms(text)
    assert "does not [overfit](glossary?term=overfitting)." in linked
    assert linked.endswith("Overfitting is bad.")  # only the first mention
    assert (
        link_terms("The Learning Rate of the model") == "The [Learning Rate](glossary?term=learning-rate) of the model"
    )
    assert link_terms("early-stopping and early stopping").count("](glossary?term=early-stopping)") == 1


def test_link_terms_matches_whole_words_only():
    assert (
        link_terms("A lossy glossy crossfit: Epochsy and targeted") == "A lossy glossy crossfit: Epochsy and targeted"
    )
    assert link_terms("three epochs") == "three [epochs](glossary?term=epoch)"
    assert link_terms("k-fold") == "[k-fold](glossary?term=cross-validation)"


def test_link_terms_leaves_links_code_maths_and_urls_alone():
    text = "[the loss](https://example.org/loss) `loss` $loss$ https://example.org/loss <b>loss</b>"
    assert link_terms(text) == text.replace("<b>loss</b>", "<b>[loss](glossary?term=loss)</b>")
    guided = "Watch [overfitting](glossary?term=overfitting): overfitting shows as a gap."
    assert link_terms(guided) == guided  # already linked there: not again
    assert link_terms("overfitting and loss", exclude=("overfitting",)) == "overfitting and [loss](glossary?term=loss)"
    assert link_terms("Split the rows; each split of a tree") == "Split the rows; each split of a tree"  # autolink off


def test_a_parameters_help_links_the_term_it_sets_and_the_terms_it_mentions():
    """What the Models page's form shows on hover (ui.model_views._param_widget)."""
    params = {(s.key, p.name): p for s in REGISTRY.values() for p in s.params}
    rate = params[("keras_mlp", "learning_rate")]
    help_text = tooltip(rate.help, about=rate.label)
    assert help_text.startswith(rate.help)
    assert help_text.endswith("[Learning rate in the glossary](glossary?term=learning-rate)")
    l2 = next(p for (key, name), p in params.items() if p.label == "L2 regularisation")
    help_text = tooltip(l2.help, about=l2.label)
    assert "[overfits](glossary?term=overfitting)" in help_text
    assert help_text.endswith("[Regularisation in the glossary](glossary?term=regularisation)")
    assert tooltip("Rows per weight update.", about="Patience").endswith("(glossary?term=early-stopping)")
    assert tooltip("How many groups.", about="Number of groups") == "How many groups."


def test_a_metrics_tooltip_links_its_entry():
    help_text = glossary.metric_tooltip("roc_auc", METRICS["roc_auc"].meaning)
    assert help_text.endswith("[ROC-AUC in the glossary](glossary?term=roc-auc)")
    assert "](glossary?term=roc-auc)" not in help_text.split("\n\n")[0]  # not twice


# ------------------------------------------------------------------------------ the content file is checked

GOOD = """
[[term]]
slug = "loss"
name = "Loss"
group = "Training"
text = "What training minimises."
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[term]\nslug = 'x'", "not valid TOML"),
        ("title = 'glossary'", r"one \[\[term\]\] table per term"),
        (GOOD.replace('text = "What training minimises."', ""), "needs a non-empty text"),
        (GOOD + "colour = 'red'\n", r"unknown fields \['colour'\]"),
        (GOOD.replace('"loss"', '"Loss Function"', 1), "lower-case words joined by '-'"),
        (GOOD.replace('"Training"', '"Other"'), "group must be one of"),
        (GOOD + GOOD, "'loss' appears twice"),
        (GOOD + GOOD.replace('slug = "loss"', 'slug = "cost"'), "'Loss' already means 'loss'"),
        (GOOD + "aliases = 'cost'\n", "aliases and forms must be lists of words"),
        (GOOD + "metric = 'log_loss'\n", "a metric's slug is its key with '-' for '_': 'log-loss'"),
        (GOOD + "metric = 'loss'\nformula = '$x$'\n", "a metric needs a formula, a use"),
        (GOOD + "activation = 'relu'\n", "activation terms"),
        (
            GOOD.replace('"Training"', '"Activations"') + "activation = 'relu'\nformula = '$|x|$'\n"
            "range = 'all'\nuse = 'hidden layers'\n",
            "without '\\|'",
        ),
    ],
)
def test_a_malformed_glossary_is_refused_with_a_message_that_says_what_to_write(content, message):
    with pytest.raises(GlossaryError, match=message):
        parse(content)


def test_a_good_entry_parses():
    (entry,) = parse(GOOD + "forms = ['losses']\n")
    assert (entry.slug, entry.name, entry.group, entry.forms, entry.autolink) == (
        "loss",
        "Loss",
        "Training",
        ("losses",),
        True,
    )


def test_the_glossary_loads_no_heavy_library():
    """Help texts and guided-mode notes on the first page link terms: that must not load numpy or pandas."""
    code = (
        "import sys, json\n"
        "from core.teaching import glossary\n"
        "glossary.link_terms('overfitting'); glossary.search('loss'); glossary.activation_markdown()\n"
        "print(json.dumps(sorted(m for m in ('numpy', 'pandas', 'streamlit', 'plotly') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# ------------------------------------------------------------------------------ activation charts

#: Values worked out by hand from the formulas (Keras's definitions: leaky slope 0.2, exact GELU).
EXPECTED = {
    "relu": {-2.0: 0.0, 0.0: 0.0, 1.5: 1.5},
    "leaky_relu": {-2.0: -0.4, 3.0: 3.0},
    "elu": {-1.0: math.exp(-1) - 1, 2.0: 2.0},
    "selu": {1.0: 1.0507009873554805, -1.0: 1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1)},
    "gelu": {1.0: 0.8413447460685429, -1.0: -0.15865525393145707, 0.0: 0.0},
    "swish": {1.0: 0.7310585786300049, -2.0: -2 / (1 + math.exp(2))},
    "tanh": {1.0: 0.7615941559557649, -4.0: math.tanh(-4.0)},
    "sigmoid": {0.0: 0.5, 2.0: 1 / (1 + math.exp(-2))},
    "softmax": {0.0: 0.5, 2.0: math.exp(2) / (math.exp(2) + 1)},
    "linear": {-3.0: -3.0, 2.5: 2.5},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_activation_plot_draws_its_formula_over_minus_4_to_4(name):
    fig = activation_plot(name)
    (trace,) = fig.data
    x, y = np.asarray(trace.x), np.asarray(trace.y)
    assert (x.min(), x.max()) == (-4.0, 4.0)
    for point, value in EXPECTED[name].items():
        assert y[np.argmin(abs(x - point))] == pytest.approx(value, abs=1e-9), (name, point)
    entry = next(t for t in glossary.activation_terms() if t.activation == name)
    assert fig.layout.title.text == entry.name
    assert list(fig.layout.xaxis.range) == [-4.0, 4.0]


def test_every_activation_in_the_glossary_has_a_curve():
    assert set(EXPECTED) == {t.activation for t in glossary.activation_terms()}
    with pytest.raises(KeyError, match="No curve for activation 'mish'"):
        activation_values("mish", np.zeros(3))


@pytest.mark.slow
def test_the_curves_are_what_keras_computes():
    """The glossary draws what the network really applies (one import of Keras, a few seconds)."""
    import keras

    x = np.linspace(-4, 4, 33).astype("float32")
    for name in [*ACTIVATIONS, "sigmoid"]:
        ours = activation_values(name, x)
        theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(keras.ops.convert_to_tensor(x)))
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=name)
    scores = np.stack([x, np.zeros_like(x)], axis=1)
    softmax = keras.ops.convert_to_numpy(keras.activations.softmax(keras.ops.convert_to_tensor(scores)))
    np.testing.assert_allclose(activation_values("softmax", x), softmax[:, 0], atol=1e-6)
