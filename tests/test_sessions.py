"""ui.sessions and core.memory: when a browser session ends, its work stops and its data goes."""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.events import ModelStarted
from core.jobs import BackgroundJob
from core.memory import release_memory
from core.training import ModelRun, TrainingJob
from tests.test_training import request_for
from ui import sessions, state
from ui.sessions import REASON, SessionWatch

ROOT = Path(__file__).resolve().parents[1]


class FakeSession:
    """Stands for Streamlit's AppSession (kept weakly by the watch)."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def endless_job() -> BackgroundJob:
    """A job that works until it is asked to stop (checking every 10 ms)."""

    def work(listen, should_stop, keep):
        while not should_stop():
            time.sleep(0.01)

    return BackgroundJob(work).start()


def test_a_job_of_a_session_no_longer_active_is_stopped_when_the_grace_period_is_over():
    active = {"s1": True}
    clock = FakeClock()
    ended: list[tuple] = []
    watch = SessionWatch(lambda sid: active[sid], grace=60, clock=clock, on_end=lambda *end: ended.append(end))
    job = endless_job()
    state_of_s1 = FakeSession()
    watch.watch("s1", job, state_of_s1)
    assert watch.check() == []
    active["s1"] = False  # the tab was closed
    clock.now += 1
    assert watch.check() == []  # gone from now on
    clock.now += 59.5
    assert watch.check() == [] and not job.stopping, "still within the grace period"
    clock.now += 0.5
    assert watch.check() == ["s1"]
    assert job.stopping and job.stop_reason == REASON == "the browser session ended"
    assert job.wait(5) and job.outcome() == "stopped: the browser session ended"
    assert ended == [("s1", state_of_s1)] and watch.sessions() == []


def test_a_session_that_reconnects_within_the_grace_period_keeps_its_work():
    active = {"s1": True}
    clock = FakeClock()
    watch = SessionWatch(lambda sid: active[sid], grace=60, clock=clock)
    job = endless_job()
    try:
        watch.watch("s1", job)
        active["s1"] = False
        watch.check()
        clock.now += 50
        watch.check()
        active["s1"] = True  # the network came back
        watch.check()
        active["s1"] = False
        clock.now += 50
        assert watch.check() == [], "the grace period starts again at the new disconnect"
        assert not job.stopping and job.snapshot().status == "running"
    finally:
        job.stop()
        job.wait(5)


def test_the_watch_thread_stops_a_training_run_that_is_then_recorded_as_stopped():
    """Real thread, real training run: ended within the grace period plus one check."""
    request = request_for(
        "breast_cancer", "diagnosis", sessions_task(), [ModelRun("random_forest_clf", "RF", {"n_estimators": 2000})]
    )
    recorded: list[str] = []
    job = TrainingJob(request, after_run=lambda req, results, seconds, outcome: recorded.append(outcome))
    connected = threading.Event()
    connected.set()
    released = threading.Event()
    watch = SessionWatch(lambda sid: connected.is_set(), grace=0.4, every=0.05, release=released.set)
    watch.watch("tab", job.start())
    watch.start()
    try:
        # the forest has begun on a worker (a cold cluster takes seconds to start): stopping it now keeps
        # the trees grown so far, so there is a run to record
        begun = time.monotonic()
        while not any(isinstance(e, ModelStarted) for e in job.snapshot().events):
            assert time.monotonic() - begun < 60, "the forest never started"
            time.sleep(0.05)
        assert job.snapshot().status == "running" and not job.stopping
        connected.clear()  # the browser went away
        gone = time.monotonic()
        while not job.stopping and time.monotonic() - gone < 5:
            time.sleep(0.01)
        assert job.stopping and 0.4 <= time.monotonic() - gone < 0.4 + 0.5
        assert job.wait(60)
        assert released.wait(5), "memory is released once the stopped run has finished"
        assert job.outcome() == "stopped: the browser session ended"
        assert recorded == ["stopped: the browser session ended"]
    finally:
        watch.halt()
        job.stop()
        job.wait(60)


def sessions_task():
    from core.target import Task

    return Task.BINARY


def test_the_watch_keeps_no_job_alive_and_leaves_finished_work_alone():
    clock = FakeClock()
    done = BackgroundJob(lambda listen, should_stop, keep: 42).start()
    assert done.wait(5)
    gone = BackgroundJob(lambda listen, should_stop, keep: None).start()
    assert gone.wait(5)
    session = FakeSession()
    ended: list = []
    watch = SessionWatch(lambda sid: False, grace=1, clock=clock, on_end=lambda sid, s: ended.append(s))
    watch.watch("s1", done, session)
    watch.watch("s1", gone)
    del gone, session
    gc.collect()
    assert watch.jobs("s1") == [done], "a weak reference: a job the session dropped is forgotten"
    assert not watch.watching("s1"), "nor does it keep the session object alive"
    watch.check()
    clock.now += 1
    assert watch.check() == ["s1"]
    assert ended == [None]
    assert not done.stopping and done.outcome() == "finished"


def test_memory_is_released_once_after_the_ended_sessions_jobs_finished():
    clock = FakeClock()
    releases: list[int] = []
    watch = SessionWatch(lambda sid: False, grace=1, clock=clock, release=lambda: releases.append(1))
    gate = threading.Event()

    def work(listen, should_stop, keep):  # the after-stop part (recording) still takes a moment
        while not should_stop():
            time.sleep(0.01)
        gate.wait(5)

    job = BackgroundJob(work).start()
    watch.watch("s1", job)
    watch.check()
    clock.now += 1
    assert watch.check() == ["s1"] and job.stopping
    assert watch.check() == [] and releases == [], "the run has not finished yet"
    gate.set()
    assert job.wait(5)
    watch.check()
    watch.check()
    assert releases == [1]
    watch.watch("s2")  # a session without work: released at the look after its end
    watch.check()
    clock.now += 1
    assert watch.check() == ["s2"] and releases == [1]
    watch.check()
    assert releases == [1, 1]


def test_sessions_ending_one_after_another_share_one_release():
    """A full garbage collection holds every page still: at the end of a class, not one per session."""
    clock = FakeClock()
    releases: list[float] = []
    watch = SessionWatch(
        lambda sid: False, grace=1, clock=clock, release=lambda: releases.append(clock.now), release_every=20
    )
    for n in range(1, 6):  # five sessions end four seconds apart
        watch.watch(f"s{n}")
        watch.check()
        clock.now += 1
        watch.check()  # ended
        watch.check()  # drained: released now or at the next due look
        clock.now += 3
    assert len(releases) == 1, "the first session's end released; the next four waited"
    clock.now += 20
    watch.check()
    assert len(releases) == 2, "the sessions ended meanwhile are released at the next due look"
    watch.check()
    assert len(releases) == 2, "nothing more to release"
    assert sessions.WATCH.release_every == sessions.RELEASE_EVERY_S > 0


def test_the_grace_period_comes_from_one_setting_and_stays_below_streamlits_session_ttl(monkeypatch):
    monkeypatch.delenv(sessions.GRACE_ENV, raising=False)
    assert sessions.grace_seconds(ttl=120) == sessions.DEFAULT_GRACE_S
    monkeypatch.setenv(sessions.GRACE_ENV, "3")
    assert sessions.grace_seconds(ttl=120) == 3
    monkeypatch.setenv(sessions.GRACE_ENV, "600")
    assert sessions.grace_seconds(ttl=120) == 120 - 2 * sessions.CHECK_EVERY_S
    monkeypatch.setenv(sessions.GRACE_ENV, "soon")
    assert sessions.grace_seconds(ttl=120) == sessions.DEFAULT_GRACE_S


def test_streamlit_still_offers_what_the_watch_uses():
    """A Streamlit upgrade that renames these is noticed here, not by a server that never frees memory."""
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    assert config.get_option("server.disconnectedSessionTTL") >= 2 * sessions.DEFAULT_GRACE_S
    for name in ("exists", "instance", "is_active_session", "clear_user_info_for_session", "uploaded_file_mgr"):
        assert hasattr(Runtime, name), name
    assert hasattr(MemoryUploadedFileManager, "remove_session_files")


def test_a_run_started_in_the_app_is_stopped_when_its_session_ends(monkeypatch):
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_breast_cancer").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["random_forest_clf"]).run()
    at.number_input(key="models_random_forest_clf_n_estimators").set_value(2000).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    try:
        assert job.snapshot().status == "running"
        mine = [sid for sid in sessions.WATCH.sessions() if job in sessions.WATCH.jobs(sid)]
        assert len(mine) == 1, "the job is followed under its session's id"
        ended: list[str] = []
        monkeypatch.setattr(sessions.WATCH, "_is_active", lambda sid: sid != mine[0])
        monkeypatch.setattr(sessions.WATCH, "_on_end", lambda sid, session: ended.append(sid))
        monkeypatch.setattr(sessions.WATCH, "grace", 0.0)
        sessions.WATCH.check()
        sessions.WATCH.check()
        assert ended == mine
        assert job.stopping and job.stop_reason == REASON
        assert job.wait(120) and job.outcome() == "stopped: the browser session ended"
    finally:
        job.stop()
        job.wait(120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_memory_collects_and_trims():
    import pyarrow  # noqa: F401  (loaded by the app; the pool is released only when it is)

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    import gc
    import time

    gc.disable()  # only an explicit collection may free the cycle
    try:
        cycle = Cycle()
        alive = weakref.ref(cycle)
        del cycle
        assert release_memory() == {"arrow": True, "malloc_trim": True}
        for _ in range(20):  # a collection already running in another thread (a Dask client's) makes gc.collect a no-op
            if alive() is None:
                break
            time.sleep(0.05)
            release_memory()
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("setting", "import_first", "expected"),
    [(None, False, "system"), (None, True, "system"), ("mimalloc", False, "mimalloc")],
)
def test_arrow_allocates_with_the_system_allocator_unless_the_operator_chose(setting, import_first, expected):
    """In a fresh interpreter: before or after pyarrow is loaded; ARROW_DEFAULT_MEMORY_POOL wins."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if setting:
        env["ARROW_DEFAULT_MEMORY_POOL"] = setting
    code = (
        ("import pyarrow\n" if import_first else "")
        + "from core import memory\nmemory.arrow_on_system_allocator()\n"
        + "import pyarrow\nprint(pyarrow.default_memory_pool().backend_name)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == expected


# --------------------------------------------------------------------------- idle sessions (issue 14)


def test_an_idle_session_is_freed_but_not_an_active_one_nor_one_with_a_running_job():
    clock = FakeClock()
    freed: list[str] = []
    releases: list[int] = []
    watch = SessionWatch(
        lambda sid: True,  # all three tabs stay open
        grace=60,
        clock=clock,
        idle=600,
        on_idle=lambda sid, session: freed.append(sid),
        release=lambda: releases.append(1),
    )
    busy = endless_job()
    try:
        for sid in ("idle", "clicking", "training"):
            watch.watch(sid)
        watch.watch("training", busy)
        clock.now += 599
        watch.watch("clicking")  # a click: a script run of that session
        assert watch.check() == [] and freed == []
        clock.now += 1
        watch.check()
        assert freed == ["idle"] and releases == [1], "idle 10 minutes: freed once, memory released"
        clock.now += 1000
        watch.check()
        assert freed == ["idle", "clicking"], "the running job keeps its session; a freed one is not freed again"
        assert watch.freed("idle") and not watch.freed("training")
        busy.stop()
        assert busy.wait(5)
        watch.check()  # the run has ended: the idle time counts from now
        clock.now += 599
        watch.check()
        assert "training" not in freed
        clock.now += 1
        watch.check()
        assert freed == ["idle", "clicking", "training"]
        watch.watch("idle")  # the person came back
        assert not watch.freed("idle") and watch.sessions() == ["idle", "clicking", "training"]
    finally:
        busy.stop()
        busy.wait(5)


def test_a_page_still_being_drawn_is_not_idle_and_idle_time_counts_from_its_end():
    clock = FakeClock()
    freed: list[str] = []
    watch = SessionWatch(lambda sid: True, grace=60, clock=clock, idle=6, on_idle=lambda sid, s: freed.append(sid))
    watch.watch("slow", running=True)  # a click: the Models page starts drawing
    clock.now += 7  # ... and takes 7 s under load
    watch.check()
    assert freed == [], "a page being drawn is not an idle session"
    watch.ran("slow")
    clock.now += 5
    watch.check()
    assert freed == [], "idle time counts from the end of the page's run"
    clock.now += 1
    watch.check()
    assert freed == ["slow"]


def test_the_idle_limit_comes_from_the_server_setting_in_fractional_minutes():
    assert sessions.idle_seconds({}) == 60 * 60
    assert sessions.idle_seconds({"NOCODE_IDLE_MINUTES": "0.5"}) == 30
    assert sessions.idle_seconds({"NOCODE_IDLE_MINUTES": "never"}) == 60 * 60


def test_an_idle_sessions_data_goes_but_a_note_the_persons_choices_and_widget_values_stay():
    held = {
        state.DATASET: object(),
        state.JOB: object(),
        "memo.explain_model": object(),
        state.WORKSPACE: "ws-12345678",
        state.THEME: "Dark",
        "sidebar_guided": True,  # a widget's value: its change callback must not run at the next click
    }
    state.free_idle_session(held, 60)
    assert held == {state.WORKSPACE: "ws-12345678", state.THEME: "Dark", "sidebar_guided": True, state.IDLE_FREED: 60}


def test_the_page_says_what_happened_to_an_idle_session_once():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.session_state[state.IDLE_FREED] = 60.0  # what the watch leaves in a freed session
    at.run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert (
        "This session was idle for 60 minutes, so its table and models were freed for others on this server. "
        "Your recorded runs are on the Experiments page: restore one, or load the data again."
    ) in text
    at.button(key="data_sample_breast_cancer").click().run()  # loading the data again
    assert not at.exception and at.session_state[state.DATASET] is not None
    assert "idle" not in " ".join(w.value for w in at.warning), "said once"


def test_a_fitted_network_keeps_predicting_after_keras_state_is_cleared():
    """The worker clears Keras' state after each task; a network fitted before (kept on the worker) still works."""
    import numpy as np

    from core.keras_net import KerasNetwork
    from core.memory import clear_keras

    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    layers = [{"type": "dense", "units": 4, "activation": "relu"}]
    first = KerasNetwork(layers=layers, epochs=2, seed=1).fit(X, y)
    before = first.predict_proba(X)
    assert clear_keras(collect=False)
    second = KerasNetwork(layers=layers, epochs=2, seed=2).fit(X, y)  # another session's network, then cleared
    from tensorflow.python.framework import ops

    assert any(name.startswith("CustomGradient-") for name in ops._gradient_registry._registry)
    assert clear_keras()
    assert not any(name.startswith("CustomGradient-") for name in ops._gradient_registry._registry), (
        "TensorFlow keeps what tracing registers here: the memory it held is freed"
    )
    np.testing.assert_allclose(first.predict_proba(X), before, rtol=1e-6)
    assert second.predict(X).shape == (32,)
    refitted = KerasNetwork(layers=layers, epochs=2, seed=1).fit(X, y)
    np.testing.assert_allclose(refitted.predict_proba(X), before, rtol=1e-5)


def _count(listen, should_stop, keep, rows):
    return len(rows)


def test_a_finished_cluster_job_kept_in_the_session_lets_go_of_its_inputs():
    """An explanation's inputs (rows, a model or its future on a worker) are not held while its result is shown."""
    from core.engine import ClusterJob

    rows = {1, 2, 3}  # a set can be followed by a weak reference
    alive = weakref.ref(rows)
    job = ClusterJob(_count, rows).start()
    del rows
    assert job.wait(120) and job.value == 3
    gc.collect()
    assert alive() is None
