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


def drifting_csv(rows: int = 200) -> bytes:
    """A table with a month column written 'Mar-2018' and a five-class target 'grade' (last column).

    Rows come in no particular order; by month, the newest 40% hold only the
    classes 'a' and 'b', so a split ordered by time leaves 'c', 'd', 'e' out of
    validation and test.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    month = pd.date_range("2010-01-01", periods=rows, freq="MS")
    late = np.arange(rows) >= 0.6 * rows
    grade = np.where(late, rng.choice(["a", "b"], rows), rng.choice(["a", "b", "c", "d", "e"], rows))
    score = rng.normal(size=rows) + (grade == "a") * 2.0
    frame = pd.DataFrame({"month": month.strftime("%b-%Y"), "score": score.round(3), "grade": grade})
    return frame.sample(frac=1, random_state=0).to_csv(index=False).encode()


def drifting_on_models(timeout: int = 120) -> AppTest:
    """:func:`drifting_csv` uploaded, 'grade' confirmed as target, the plan reviewed, on the Models page."""
    at = AppTest.from_file("../app.py", default_timeout=timeout)
    at.run()
    at.file_uploader(key="data_upload").set_value(("drifting.csv", drifting_csv(), "text/csv")).run()
    at.switch_page("pages/target.py").run()
    assert at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}").value == "grade"
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    assert not at.exception
    return at
