"""Real-browser journey: a session left idle has its data freed, and the next click says so.

The server here is the test's own: its idle limit is 6 seconds (``NOCODE_IDLE_MINUTES`` = 0.1)
and it records into its own throw-away experiment store. A person trains a model, leaves
the tab alone, then clicks: the page says the table and models were freed, links to the
Experiments page, and the run trained before is still recorded there.
Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core.server_settings import IDLE_MINUTES
from tests.e2e.conftest import open_page, serve_app
from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    go_to,
    keep_only_models,
    start_on_models,
    train_and_wait,
    wait_idle,
)

#: Shorter than a slow page takes to draw under load (7 s seen): idle time counts from the end of a page's run,
#: so a session whose page is still drawing is never freed (it was, with the time counted from the run's start).
IDLE_S = 6
FREED = re.compile(r"This session was idle for 6 seconds, so its table and models were freed")


@pytest.fixture(scope="module")
def short_idle_server(tmp_path_factory) -> Iterator[str]:
    """A server whose idle sessions are freed after 10 s; yields its base URL."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('idle-store') / 'mlflow.db'}"
    with serve_app(env={IDLE_MINUTES.env: str(IDLE_S / 60), "MLFLOW_TRACKING_URI": uri}) as server:
        yield server.url


def test_an_idle_session_is_freed_and_the_next_click_says_so(chromium_browser, short_idle_server) -> None:
    with open_page(chromium_browser, short_idle_server) as page:
        start_on_models(page, "iris", "species")
        keep_only_models(page, ["Decision tree"])
        train_and_wait(page, "Train 1 model + baseline")
        go_to(page, "6. Results")  # a page that draws once: nothing reruns it until the person clicks
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("iris.csv")
        # Nobody clicks: the session becomes idle after 6 s and is freed on the server's next look.
        page.wait_for_timeout(IDLE_S * 1000 + 5_000)  # the limit, then two of the server's looks (every 2 s)
        sidebar.get_by_test_id("stPageLink-NavLink").filter(has_text="1. Data").click()
        wait_idle(page)
        note = page.get_by_test_id("stAlert").filter(has_text="This session was idle")
        expect(note).to_contain_text(FREED, timeout=SLOW)
        expect(note).to_contain_text("Your recorded runs are on the Experiments page")
        expect(sidebar).not_to_contain_text("iris.csv")  # the table went with the session's data
        assert_clean(page)
        # The note points to the Experiments page, where the run trained before idling is still recorded.
        page.get_by_test_id("stMain").get_by_test_id("stPageLink-NavLink").filter(
            has_text="Open the Experiments page"
        ).click()
        expect(page.get_by_role("heading", name="9. Experiments")).to_be_visible(timeout=SLOW)
        wait_idle(page)
        expect(page.get_by_test_id("stMain")).to_contain_text("Decision tree", timeout=SLOW)
        expect(page.get_by_test_id("stAlert").filter(has_text="This session was idle")).to_have_count(0)  # said once
        assert_clean(page)
