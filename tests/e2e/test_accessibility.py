"""Every page in every theme passes axe-core's checks: no "serious" or "critical" violation.

One browser session per module: a bundled sample loaded, its suggested target and plan kept, a
logistic regression trained (seconds), so the pages show their content rather than their lock
message. Then each page of the journey and beside it (``ui.journey.STEPS + EXTRAS``: a new page is
checked without touching this file) is opened from the sidebar in each theme, chosen in the
sidebar's Theme box, and axe-core (bundled with axe-playwright-python, no network) runs on it.

What axe finds is fixed in the app (theme colours in ``.streamlit/config.toml``, labels, our
stylesheets in ``ui/``), not by switching rules off. :data:`EXCLUDED` names the few findings inside
Streamlit's own markup that the app cannot reach, each with why.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    keep_only_models,
    start_on_models,
    train_and_wait,
    wait_idle,
)
from ui.journey import EXTRAS, STEPS, Step
from ui.theme_views import KEY, THEMES

PAGES = STEPS + EXTRAS
BLOCKING = ("serious", "critical")

#: (axe rule, a piece of the node's selector): why the app cannot fix it. Keep this short.
EXCLUDED: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def trained_page(chromium_browser, streamlit_server) -> Iterator[Page]:
    """One session for the module: iris loaded, species kept as target, a logistic regression trained."""
    context = chromium_browser.new_context(viewport=VIEWPORT, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.base_url = streamlit_server
    try:
        start_on_models(page, "iris", "species")
        keep_only_models(page, ["Logistic regression"])
        train_and_wait(page, "Train 1 model + baseline")
        yield page
    finally:
        context.close()


def choose_theme(page: Page, theme: str) -> None:
    """Pick ``theme`` in the sidebar's Theme box, unless it shows it already."""
    box = page.locator(f".st-key-{KEY}").get_by_test_id("stSelectbox")
    combobox = box.get_by_role("combobox")
    expect(combobox).to_be_visible(timeout=SLOW)
    if combobox.input_value() == theme:
        return
    choose(box, theme)
    wait_idle(page)


def open_page(page: Page, step: Step) -> None:
    """Open a page with its sidebar link (a new address would start a new session) and wait for its title."""
    number = f"{STEPS.index(step) + 1}. " if step in STEPS else ""  # "▸ 1. Data", "✓ 2. Target"; "Present"
    label = re.compile(rf"(^|\s){re.escape(number + step.title)}$")
    links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink")
    links.filter(has=page.locator("p", has_text=label)).click()
    expect(page.get_by_role("heading", level=1).filter(has_text=step.title).first).to_be_visible(timeout=SLOW)
    wait_idle(page)
    page.wait_for_timeout(300)  # charts draw just after the script ends


def excluded(rule: str, target: str) -> bool:
    return any(rule == r and piece in target for r, piece in EXCLUDED)


def blocking(violations: list[dict]) -> list[str]:
    """The serious and critical violations not named in :data:`EXCLUDED`, each as lines to read."""
    lines = []
    for v in violations:
        if v["impact"] not in BLOCKING:
            continue
        nodes = [n for n in v["nodes"] if not excluded(v["id"], " ".join(map(str, n["target"])))]
        if not nodes:
            continue
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {len(nodes)} element(s)")
        for node in nodes[:3]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            lines.append(f"      {(node.get('html') or '')[:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {summary[:240]}")
    return lines


@pytest.mark.parametrize("step", PAGES, ids=[s.title for s in PAGES])
@pytest.mark.parametrize("theme", THEMES)
def test_page_has_no_serious_accessibility_violation(trained_page: Page, theme: str, step: Step) -> None:
    page = trained_page
    choose_theme(page, theme)
    open_page(page, step)
    assert_clean(page)
    found = blocking(Axe().run(page).response["violations"])
    assert not found, f"axe-core on {step.title} ({theme}):\n" + "\n".join(found)
