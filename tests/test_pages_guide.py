"""Guided mode and "predict before you reveal" through AppTest.

Guided mode: every journey page shows its step's two sentences under the title (locked pages too),
and the sidebar's toggle hides them on every page until switched on again. Predict before you reveal:
the Train page's leaderboard and the Results page's test score stay hidden until the class has
guessed and pressed Reveal; then the guess shows beside the answer.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.teaching.guide import step_guide
from tests.conftest import opened, session_of
from tests.page_helpers import trained_app
from ui import state
from ui.journey import STEPS

RESULTS = "pages/results.py"
TRAIN = "pages/train.py"


def notes(at: AppTest) -> list[str]:
    """The guided-mode notes shown (their "Why it matters." text)."""
    return [m.value for m in at.markdown if "**Why it matters.**" in m.value]


def shows_note(at: AppTest, step: str) -> bool:
    guide = step_guide(step)
    return any(guide.why in text and guide.mistake in text for text in notes(at))


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.body.replace("\\", "") for e in getattr(at, kind)]


def new_session() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_every_journey_page_shows_its_own_note_at_a_first_visit_even_when_locked():
    at = new_session()
    assert at.toggle(key="sidebar_guided").value is True, "guided mode is on at a first visit"
    assert at.toggle(key="sidebar_reveal").value is False
    for step in STEPS:
        at.switch_page(step.path).run()
        assert not at.exception, step.key
        assert len(notes(at)) == 1, (step.key, notes(at))
        assert shows_note(at, step.key), step.key
    at.switch_page(RESULTS).run()
    assert any("Load a dataset first" in body for body in texts(at, "info")), "locked, and the note still shows"


def test_the_toggle_hides_the_notes_on_every_page_until_switched_on_again():
    at = new_session()
    assert shows_note(at, "data")

    at.toggle(key="sidebar_guided").set_value(False).run()
    assert notes(at) == [], "expert mode: no note on Data"
    assert at.session_state[state.GUIDED] is False

    at.switch_page("pages/target.py").run()
    assert at.title[0].value == "2. Target"
    assert notes(at) == [], "nor on Target: the choice holds across pages"

    # AppTest draws app.py's sidebar on a session's first run only: a new one holding this session's state.
    again = AppTest.from_file("../app.py", default_timeout=60)
    again.session_state[state.GUIDED] = at.session_state[state.GUIDED]
    again.run()
    assert again.toggle(key="sidebar_guided").value is False, "the toggle shows the kept choice"
    assert notes(again) == []
    again.toggle(key="sidebar_guided").set_value(True).run()
    assert shows_note(again, "data")
    again.switch_page("pages/target.py").run()
    assert shows_note(again, "target")


@pytest.fixture(scope="module")
def iris_run() -> dict:
    """Iris with a logistic regression (and the baseline), trained once: the session it left."""
    return session_of(trained_app("iris", ["logistic_regression"], RESULTS))


def revealing(run: dict, page: str) -> AppTest:
    """That run in a fresh session with "predict before you reveal" on, opened on ``page``."""
    return opened({**run, state.REVEAL: True}, page)


def reveal_button(at: AppTest):
    (button,) = [b for b in at.button if b.label == "Reveal"]
    return button


def test_results_and_present_name_no_winner_before_the_class_guessed(iris_run):
    """Seen in a walk: with the leaderboard hidden on Train, Results still named the chosen model and its scores."""
    for page in (RESULTS, "pages/present.py"):
        at = revealing(iris_run, page)
        assert not at.exception
        assert [s for s in at.selectbox if s.label.replace("\\", "") == "Which model will win?"], page
        assert not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.get("iframe"), page
        assert not [m for m in at.markdown if "Logistic regression" in m.value], page
    reveal_button(at).click().run()
    assert not at.exception and at.get("iframe"), "revealed: the slides show"
    at.switch_page(RESULTS).run()
    assert not [s for s in at.selectbox if "Which model will win?" in s.label], "revealed on one page, on all"
    assert at.metric, "the scores show"


def test_results_hides_the_test_score_until_reveal_then_shows_the_guess_beside_it(iris_run):
    at = revealing({**iris_run, state.GUESSES: {}}, RESULTS)
    job = at.session_state[state.JOB]
    at.session_state[state.GUESSES] = {f"winner_{id(job)}": ""}  # the winner was revealed on the Train page
    at.run()
    request = at.session_state[state.JOB].request
    (guess,) = [n for n in at.number_input if "What test score do you expect" in n.label]
    assert request.ranking.label in guess.label.replace("\\", "")
    assert not [b for b in at.button if b.key == "results_test"], "no way to the test score before the guess"
    assert not [m for m in at.markdown if "Test numbers" in m.value]

    guess.set_value(0.8).run()
    assert not [b for b in at.button if b.key == "results_test"], "typing the guess reveals nothing"
    reveal_button(at).click().run()
    assert not at.exception
    assert any("Your class guessed 0.8." in body for body in texts(at, "info"))
    assert not [b for b in at.button if b.label == "Reveal"]

    at.button(key="results_test").click().run()
    assert any("Test numbers" in m.value for m in at.markdown), "the test score shows"
    assert any("Your class guessed 0.8." in body for body in texts(at, "info")), "beside the class's guess"
    assert at.session_state[state.GUESSES][f"test_{id(at.session_state[state.JOB])}_Logistic regression"] == "0.8"


def test_results_shows_the_test_button_at_once_when_reveal_is_off(iris_run):
    at = opened(iris_run, RESULTS)
    assert at.button(key="results_test")
    assert not [b for b in at.button if b.label == "Reveal"]


def test_train_hides_the_leaderboard_until_the_class_guessed_the_winner(iris_run):
    at = revealing(iris_run, TRAIN)
    (question,) = [s for s in at.selectbox if s.label.replace("\\", "") == "Which model will win?"]
    names = [run.name for run in at.session_state[state.JOB].request.models]
    assert question.options == names and "Logistic regression" in names
    assert not at.dataframe, "no leaderboard yet"
    assert not [m for m in at.markdown if "**Chosen:" in m.value], "nor the chosen model"

    question.set_value("Logistic regression").run()
    reveal_button(at).click().run()
    assert not at.exception
    assert len(at.dataframe) == 1, "the leaderboard"
    assert any("Your class guessed Logistic regression." in body for body in texts(at, "info"))

    at.switch_page(RESULTS).run()
    at.switch_page(TRAIN).run()
    assert len(at.dataframe) == 1, "revealed once, revealed for the session"
