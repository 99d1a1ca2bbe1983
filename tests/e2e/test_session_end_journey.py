"""Real-browser journey: closing the browser stops the session's training run, recorded as stopped.

The server here is the test's own (not the shared one): its grace period is a few
seconds (``NOCODE_SESSION_GRACE_S``) and it records into its own throw-away
experiment store, so the journey neither waits a minute nor sees other tests' runs.
Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core import tracking
from tests.e2e.conftest import VIEWPORT, serve_app
from tests.e2e.helpers import SLOW, keep_only_models, set_setting, start_on_models
from ui.sessions import GRACE_ENV, REASON

GRACE_S = 3
FOREST = "Random forest"


@pytest.fixture(scope="module")
def short_grace_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A server whose sessions end 3 s after their browser goes; yields (base URL, tracking URI)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('session-end-store') / 'mlflow.db'}"
    with serve_app(env={GRACE_ENV: str(GRACE_S), "MLFLOW_TRACKING_URI": uri}) as server:
        yield server.url, uri


def recorded_outcomes(uri: str) -> list[str]:
    """How each recorded training run ended (the parent runs' outcome tags), read-only.

    Read with ``sqlite3`` in read-only mode: an ``MlflowClient`` here would create and
    migrate the store while the server does the same, and one of them would fail.
    """
    path = uri.removeprefix("sqlite:///")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute("SELECT value FROM tags WHERE key = ?", (tracking.OUTCOME,)).fetchall()
    except sqlite3.Error:  # no store or no table yet
        return []
    return [value for (value,) in rows]


def test_closing_the_browser_stops_the_run_and_records_it_as_stopped(chromium_browser, short_grace_server) -> None:
    base_url, uri = short_grace_server
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.base_url = base_url
    try:
        start_on_models(page, "breast_cancer", "diagnosis")
        keep_only_models(page, [FOREST])
        set_setting(page, FOREST, "models_random_forest_clf_n_estimators", 2000)
        page.locator(".st-key-models_train button").click()
        expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("stProgress").first).to_contain_text("Training", timeout=SLOW)
        # The forest is growing on a worker (the embedded cluster starts with the first run).
        expect(page.get_by_test_id("stProgress").filter(has_text="Random forest: stage").first).to_be_visible(
            timeout=SLOW
        )
    finally:
        context.close()  # the tab goes: no browser holds the session any more
    closed = time.monotonic()
    outcomes: list[str] = []
    while not outcomes and time.monotonic() - closed < 120:
        time.sleep(1)
        outcomes = recorded_outcomes(uri)
    # The parent run is written first, tagged with how the run ended; the forest's bundle follows.
    assert outcomes == [f"stopped: {REASON}"] == ["stopped: the browser session ended"]
    # Stopped at the first safe point after the grace period, long before 2,000 trees would have grown.
    assert time.monotonic() - closed < 60
