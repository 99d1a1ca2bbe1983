"""A shared server on the pages: the memory refusal on Models, the queue on Train, the sidebar's Server box.

The server's queue is replaced by one with a single place, held by a stand-in run the test releases
(AppTest runs the app in this process, so the pages see that queue).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import admission
from core.admission import AdmissionQueue
from tests.test_pages_training import go, on_models, progress_texts
from ui import state


def errors(at: AppTest) -> list[str]:
    return [e.body.replace("\\", "") for e in at.error]


def infos(at: AppTest) -> list[str]:
    return [i.body.replace("\\", "") for i in at.info]


@pytest.fixture()
def one_place(monkeypatch):
    """The server's queue with one place, taken by a stand-in run estimated at 30 s."""
    queue = AdmissionQueue(limit=1)
    monkeypatch.setattr(admission, "_server", queue)
    blocker = queue.join(30)
    yield queue, blocker
    blocker.release()


def test_a_run_over_the_session_memory_limit_is_refused_and_a_smaller_one_trains(monkeypatch):
    monkeypatch.setenv("NOCODE_SESSION_MEMORY_MB", "1")  # 300 full-depth trees on iris: about 2 MB
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["random_forest_clf"]).run()
    at.button(key="models_train").click().run()
    assert not at.exception
    assert at.title[0].value == "4. Models", "refused: the page stays"
    assert at.session_state[state.JOB] is None, "nothing started"
    said = " ".join(errors(at))
    assert "This run would need about" in said and "each session may use 1 MB on this server" in said, said
    assert "Target page" in said and "NOCODE_SESSION_MEMORY_MB" in said
    assert "fewer models" not in said, "one model chosen: not offered as a fix"

    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    train = at.button(key="models_train")
    assert not train.disabled, "the button stays usable after the choices change"
    train.click().run()
    assert not at.exception and not errors(at)
    assert at.title[0].value == "5. Train"
    job = at.session_state[state.JOB]
    assert job is not None and job.snapshot().status == "running", "it started"
    job.stop()  # what it trains is not this test's subject
    assert job.wait(120)


def test_the_train_page_shows_the_queue_and_leaving_it_starts_nothing(one_place):
    queue, _ = one_place
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    assert at.title[0].value == "5. Train"
    job = at.session_state[state.JOB]
    assert job.snapshot().status == "running" and job.waiting() is not None

    waiting = " ".join(infos(at))
    assert "Waiting for a free place: Yours is next, about" in waiting, waiting
    assert not progress_texts(at), "no progress bar before the run has started"
    assert not any(b.key == "train_stop" for b in at.button)
    go(at, "data")
    demo = at.button(key="data_demo_run")
    said = demo.help.replace("\\", "")  # markdown-escaped
    assert demo.disabled and "a training run still waiting for a free place on the server (nothing trained yet)" in said
    go(at, "train")

    at.button(key="train_leave_queue").click().run()
    assert not at.exception
    assert job.wait(10)
    assert job.snapshot().status == "stopped" and job.outcome() == "stopped: cancelled while waiting in the queue"
    assert job.after_run().status == "skipped", "nothing recorded in the experiment log"
    go(at, "train")
    assert any("cancelled while waiting in the queue: nothing was trained" in i for i in infos(at))
    assert queue.status() == admission.QueueStatus(running=1, queued=0, limit=1)


def test_training_again_while_queued_keeps_the_place_in_the_line(one_place):
    queue, _ = one_place
    ahead = queue.join(30)  # someone else's run, waiting before this session's
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    first = at.session_state[state.JOB]
    behind = queue.join(30)  # a third person clicks Train after this session
    go(at, "models")
    at.multiselect(key="models_chosen").set_value(["decision_tree_clf"]).run()
    at.button(key="models_train").click().run()
    assert not at.exception
    second = at.session_state[state.JOB]
    assert second is not first and first.wait(10) and first.left_queue, "the replaced run never started"
    assert second.waiting().queued_ahead == 1, "still behind the run that was ahead, not behind the later click"
    assert queue.place(behind).queued_ahead == 2
    assert any("2 runs ahead of yours" in i for i in infos(at)), infos(at)
    second.stop()
    assert second.wait(10)
    ahead.release()
    behind.release()


def test_a_queued_run_starts_when_a_place_frees_up_and_the_progress_view_takes_over(one_place):
    queue, blocker = one_place
    at = on_models("iris")
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.waiting() is not None
    blocker.release()
    assert job.wait(120)
    assert job.snapshot().status == "finished"
    go(at, "train")
    assert progress_texts(at)[0].startswith("Finished 2 of 2 models")
    assert not any("Waiting for a free place" in i for i in infos(at))
    assert queue.status() == admission.QueueStatus(running=0, queued=0, limit=1), "its place was released"


def server_box() -> None:
    from ui import admission_views

    admission_views.server_box()


def test_the_server_box_shows_the_runs_the_limits_and_ignored_settings(one_place, monkeypatch):
    queue, _ = one_place
    queue.join(10)  # one waiting
    at = AppTest.from_function(server_box).run()
    assert [e.label for e in at.expander] == ["Server: 1 running, 1 waiting"]
    said = " ".join(c.value for c in at.caption)
    assert "At most 1 training run at once (NOCODE_MAX_RUNS)" in said and "4,096 MB" in said
    assert not at.warning

    monkeypatch.setenv("NOCODE_SESSION_MEMORY_MB", "lots")
    at.run()
    assert [w.body.replace("\\", "") for w in at.warning] == [
        "NOCODE_SESSION_MEMORY_MB='lots' is not a positive number; using the default, 4096 MB."
    ]


def test_the_server_box_says_nothing_when_nothing_runs(monkeypatch):
    monkeypatch.setattr(admission, "_server", AdmissionQueue(limit=2))
    at = AppTest.from_function(server_box).run()
    assert not at.expander


def test_the_demo_says_its_run_is_queued_and_stop_leaves_the_queue(one_place):
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.selectbox(key="data_demo_sample").set_value("iris")
    at.button(key="data_demo_run").click().run()
    for _ in range(10):  # one step per run, as the demo's own reruns do in a browser
        if at.session_state[state.JOB] is not None:
            break
        at.run()
    job = at.session_state[state.JOB]
    assert job is not None and job.waiting() is not None
    assert any("Waiting for a free place: Yours is next" in i for i in infos(at)), infos(at)
    assert not any(p.proto.text.startswith("Training") for p in at.get("progress")), "not a bar standing still"

    at.button(key="data_demo_stop").click().run()
    assert job.wait(10)
    assert job.outcome() == "stopped: cancelled while waiting in the queue (the demo was stopped)"
    assert at.session_state[state.DEMO].status == "stopped"
