"""Real-browser journey: the one-click demo from a fresh session, timed, then its run on the Results and Explain pages.

Run with ``pytest -m e2e -s tests/e2e/test_demo_journey.py`` to see the time it took (also in the
test's report as ``demo_seconds``). The goal is 30 s on two cores; a busy machine takes longer, so
the time is printed and recorded, not asserted (benchmarks print, tests do not time).
"""

from __future__ import annotations

import os
import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SLOW, assert_clean, choose, full_page_screenshot, go_to, screenshot_path, wait_idle

SCREENSHOT = screenshot_path("screenshot-demo.png")
SAMPLE = os.environ.get("NOCODE_DEMO_SAMPLE", "Iris flowers")  # the smallest sample; another by its title
JOURNEY = ["Data", "Target", "Clean", "Models", "Train", "Results", "Explain"]
DEMO_TIMEOUT = 240_000  # ms: the demo's goal is 30 s, but shared cores can be many times slower


def sidebar_link(page: Page, number: int, title: str):
    return page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").filter(has_text=f"{number}. {title}")


def test_one_click_demo_runs_every_step_and_every_page_shows_it(page_app, record_property):
    page = page_app
    page.goto(page.base_url)
    box = page.locator(".st-key-data_demo")
    expect(box).to_be_visible(timeout=SLOW)
    wait_idle(page)
    choose(box.get_by_test_id("stSelectbox"), SAMPLE)
    wait_idle(page)

    load_before = os.getloadavg()
    started = time.monotonic()
    box.get_by_role("button", name="Run the demo").click()
    expect(page.get_by_text("Training the models")).to_be_visible(timeout=SLOW)  # the steps are drawn as they go
    done = page.get_by_test_id("stAlert").filter(has_text="Demo finished in")
    expect(done).to_be_visible(timeout=DEMO_TIMEOUT)
    seen = time.monotonic() - started
    load_after = os.getloadavg()
    seconds = float(re.search(r"Demo finished in ([\d.]+) s", done.inner_text()).group(1))
    print(
        f"\nOne-click demo of {SAMPLE}: {seconds:.1f} s by the app's clock, {seen:.1f} s from the click to the "
        f"message in the browser; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)."
    )
    record_property("demo_seconds", seconds)
    record_property("demo_seconds_seen_by_browser", round(seen, 1))
    record_property("load_average_1min", f"{load_before[0]:.2f} → {load_after[0]:.2f}")
    assert_clean(page)
    wait_idle(page)

    # The sidebar ticked every step; the Data page is the one open.
    expect(sidebar_link(page, 1, "Data")).to_contain_text("▸")
    for number, title in enumerate(JOURNEY[1:], start=2):
        expect(sidebar_link(page, number, title)).to_contain_text("✓")
    full_page_screenshot(page, SCREENSHOT)

    tested = page.locator(".st-key-data_demo p").filter(has_text=re.compile(r"^Test score:"))
    chosen = re.match(r"Test score:\s*(.+?), ", tested.inner_text()).group(1)

    go_to(page, "6. Results")
    expect(page.locator(".st-key-results_model").get_by_role("combobox")).to_have_value(chosen)
    expect(page.get_by_text(f"Test numbers for {chosen}")).to_be_visible(timeout=SLOW)
    expect(sidebar_link(page, 1, "Data")).to_contain_text("✓")
    assert_clean(page)

    go_to(page, "7. Explain")
    expect(page.locator(".st-key-explain_model").get_by_role("combobox")).to_have_value(chosen)
    expect(page.locator(".st-key-explain_importance .js-plotly-plot")).to_be_visible(timeout=SLOW)
    expect(page.locator(".st-key-explain_start")).to_have_count(0)  # explained already, nothing to start
    assert_clean(page)
