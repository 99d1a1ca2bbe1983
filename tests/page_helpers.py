"""AppTest steps the page tests share: walk the journey up to a trained run."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui import state


def trained_app(sample: str, models: list[str], page: str) -> AppTest:
    """A session that loaded ``sample``, kept the suggested target and plan, trained ``models``, opened ``page``."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key=f"data_sample_{sample}").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(models).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    at.switch_page(page).run()
    assert not at.exception
    return at
