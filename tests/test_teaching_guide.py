"""Guided mode's content (core/teaching/guide.toml): every step has its two sentences and links only into the glossary."""

from __future__ import annotations

import re

import pytest

from core.teaching import guide
from core.teaching.guide import GuideError, parse, plain_text, step_guide
from ui.journey import STEPS

#: The glossary's slugs, as the brief fixed them (used only if the glossary module is not there).
SLUGS = (
    "supervised-learning", "unsupervised-learning", "feature", "label", "target", "split", "training-set",
    "validation-set", "test-set", "cross-validation", "baseline", "loss", "epoch", "overfitting", "underfitting",
    "regularisation", "leakage", "imbalance", "imputation", "scaling", "one-hot-encoding", "hyperparameter",
    "pipeline", "shap-values", "permutation-importance", "clustering",
)  # fmt: skip


def glossary_slugs() -> set[str]:
    """The slugs the glossary defines: from core.teaching.glossary when it exists, else :data:`SLUGS`."""
    try:
        from core.teaching.glossary import terms
    except ImportError:
        return set(SLUGS)
    return {term.slug for term in terms()}


def sentences(text: str) -> int:
    """How many sentences ``text`` holds, its links read as their words."""
    return len(re.findall(r"[.!?](?=\s|$)", plain_text(text)))


@pytest.mark.parametrize("step", [s.key for s in STEPS])
def test_every_step_has_why_and_the_classic_mistake_one_sentence_each(step):
    found = step_guide(step)
    assert found.why and found.mistake
    assert (sentences(found.why), sentences(found.mistake)) == (1, 1), found
    assert found.why != found.mistake


def test_the_file_holds_exactly_the_journey_steps():
    assert list(guide.guides()) == [s.key for s in STEPS], "one table per step, in journey order"


def test_every_link_points_to_a_glossary_term():
    slugs = glossary_slugs()
    linked = {slug: step for step, g in guide.guides().items() for slug in g.links}
    assert linked, "the notes link into the glossary"
    assert {slug: step for slug, step in linked.items() if slug not in slugs} == {}
    # Every Markdown link in the text is a glossary link (parse refuses others; this checks the file as shipped).
    for g in guide.guides().values():
        for text in (g.why, g.mistake):
            assert re.findall(r"\]\(([^)]*)\)", text) == [f"glossary?term={s}" for s in guide._links(text)]


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("data", "bad data"),
        ("target", "leakage"),
        ("clean", "split"),
        ("models", "baseline"),
        ("models", "accuracy on imbalanced"),
        ("train", "overfitting"),
        ("results", "test set again"),
    ],
)
def test_the_classic_mistakes_are_where_they_happen(step, words):
    found = step_guide(step)
    assert words in plain_text(f"{found.why} {found.mistake}").lower()


def test_unknown_step_names_the_steps_that_have_a_guide():
    with pytest.raises(KeyError, match="steps with one"):
        step_guide("nowhere")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('[data]\nwhy = "Look first."\n', "needs a non-empty mistake"),
        ('[data]\nwhy = " "\nmistake = "Bad data."\n', "needs a non-empty why"),
        ('[data]\nwhy = "A."\nmistake = "B."\nextra = "C."\n', "unknown fields"),
        ('[data]\nwhy = "See [this](http://example.com)."\nmistake = "B."\n', "link only into the glossary"),
        ("data = 3\n", "should be a table"),
        ("[data\n", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_refused_with_what_to_write(content, says):
    with pytest.raises(GuideError, match=says):
        parse(content)


def test_links_are_listed_once_in_order():
    content = (
        '[train]\nwhy = "[Loss](glossary?term=loss) per [epoch](glossary?term=epoch)."\n'
        'mistake = "[Overfitting](glossary?term=overfitting) hides [loss](glossary?term=loss)."\n'
    )
    assert parse(content)["train"].links == ("loss", "epoch", "overfitting")
