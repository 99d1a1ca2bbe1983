"""Steps the browser journeys share: wait for Streamlit, move between pages, fill widgets."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SLOW = 45_000  # ms; a Streamlit rerun can take a while on a busy machine


def wait_idle(page: Page) -> None:
    """Wait until Streamlit is not running the script any more."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=SLOW)
    expect(page.get_by_test_id("stSpinner")).to_have_count(0, timeout=SLOW)


def go_to(page: Page, step: str) -> None:
    """Open a step with its sidebar link (a new URL would start a new session).

    A locked link carries a tooltip and is drawn twice, so one link means it is unlocked.
    """
    link = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").filter(has_text=step)
    expect(link).to_have_count(1, timeout=SLOW)
    expect(link).not_to_contain_text("🔒")
    link.click()
    expect(page.get_by_role("heading", name=step)).to_be_visible(timeout=SLOW)
    wait_idle(page)


def start_on_models(page: Page, sample: str, target: str) -> None:
    """Load a bundled sample, keep its suggested target and cleaning plan, and open the Models page."""
    page.goto(page.base_url)
    page.locator(f".st-key-data_sample_{sample} button").click()
    expect(page.get_by_role("heading", name=f"{sample}.csv")).to_be_visible(timeout=SLOW)
    wait_idle(page)
    go_to(page, "2. Target")
    page.locator(".st-key-target_confirm button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:")).to_contain_text(target, timeout=SLOW)
    wait_idle(page)
    go_to(page, "3. Clean")
    go_to(page, "4. Models")


def assert_clean(page: Page) -> None:
    """No Python exception on the page and no JavaScript dialog opened."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.dialogs == [], f"a JavaScript dialog opened: {page.dialogs}"


def chosen_models(page: Page) -> list[str]:
    """The labels of the tags in the ``models_chosen`` multiselect."""
    return page.locator(".st-key-models_chosen [data-tag]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )


def keep_only_models(page: Page, names: list[str]) -> None:
    """On the Models page, make the chosen models exactly ``names``."""
    chosen = page.locator(".st-key-models_chosen")
    expect(chosen).to_be_visible(timeout=SLOW)
    expect(chosen.locator("[data-tag]").first).to_be_visible(timeout=SLOW)
    wait_idle(page)
    for name in chosen_models(page):  # the recommended set is pre-selected
        if name not in names:
            chosen.get_by_role("button", name=f"Remove {name}", exact=True).click()
            wait_idle(page)
    for name in names:
        if name not in chosen_models(page):
            box = chosen.locator("input")
            box.click()
            box.fill(name)
            page.keyboard.press("Enter")
            wait_idle(page)
    page.keyboard.press("Escape")
    assert sorted(chosen_models(page)) == sorted(names), chosen_models(page)


def train_and_wait(page: Page, label: str, timeout: int = 120_000) -> None:
    """Press Train on the Models page (its label checked) and wait until every model has finished."""
    train = page.locator(".st-key-models_train button")
    expect(train).to_have_text(re.compile(rf"{re.escape(label)}$"))
    train.click()
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    status = page.get_by_test_id("stProgress").first
    expect(status).to_contain_text(re.compile(r"^Finished (\d+) of \1 models"), timeout=timeout)
    assert_clean(page)


def pick_view(page: Page, key: str, label: str) -> None:
    """Click one option of an ``st.segmented_control``."""
    page.locator(f".st-key-{key}").get_by_role("radio", name=label, exact=True).click()
    wait_idle(page)


#: Where the journeys' screenshots go: an ignored folder, unless ``make screenshots`` asks for the
#: README's pictures in ``docs/`` (``NOCODE_SCREENSHOTS=docs``), so a test run leaves the tree clean.
SCREENSHOT_DIR = (
    Path(__file__).resolve().parents[2] / "docs"
    if os.environ.get("NOCODE_SCREENSHOTS") == "docs"
    else Path(__file__).resolve().parent / ".screenshots"
)


def screenshot_path(name: str) -> Path:
    """Where the screenshot called ``name`` is written (see :data:`SCREENSHOT_DIR`)."""
    return SCREENSHOT_DIR / name


def full_page_screenshot(page: Page, path: Path) -> None:
    """Streamlit scrolls inside ``stMain``, not the document: grow the viewport to fit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    height = page.get_by_test_id("stMain").evaluate("el => el.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, viewport["height"]), 6000)})
    try:
        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no focus ring
        page.mouse.move(viewport["width"] - 10, 10)  # hover nothing: no toolbars, no tooltips
        page.wait_for_timeout(1000)  # let plotly re-layout for the new size
        with contextlib.suppress(AssertionError):  # not mid-redraw, faded
            expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=10_000)
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(viewport)


def upload(page: Page, key: str, path: Path) -> None:
    """Give a file to the ``st.file_uploader`` with ``key``."""
    page.locator(f".st-key-{key} input[type='file']").set_input_files(str(path))
    wait_idle(page)


def download(page: Page, button: Locator, folder: Path) -> Path:
    """Click a download button and return the saved file."""
    with page.expect_download(timeout=SLOW) as info:
        button.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(str(target))
    return target


def choose(selectbox: Locator, text: str) -> None:
    """Pick an option of an ``st.selectbox``: click it, type, Enter."""
    selectbox.click()
    selectbox.locator("input").fill(text)
    selectbox.page.keyboard.press("Enter")
    expect(selectbox.get_by_role("combobox")).to_have_value(text, timeout=SLOW)


def open_settings(page: Page, label: str) -> None:
    """Open the settings expander of one model on the Models page."""
    # Clicked while a rerun is still drawing, the expander would be replaced by a closed one.
    # Under load a rerun can still redraw it closed after the click: then wait and click once more.
    expander = page.get_by_test_id("stExpander").filter(has_text=f"{label} settings")
    details = expander.locator("details").first
    for attempt in range(3):
        wait_idle(page)
        if details.get_attribute("open") is None:
            expander.locator("summary").first.click()  # its own header, not the nested "Advanced settings" one
        try:
            expect(details).to_have_attribute("open", "", timeout=3_000)
            wait_idle(page)
            if details.get_attribute("open") is not None:
                return
        except AssertionError:
            if attempt == 2:
                raise
    expect(details).to_have_attribute("open", "")


def set_number(page: Page, key: str, value: int) -> None:
    """Type a value into the ``st.number_input`` with ``key`` and wait for the rerun."""
    box = page.locator(f".st-key-{key} input")
    expect(box).to_have_count(1, timeout=SLOW)  # a rerun may briefly keep a stale copy in the page
    expect(box).to_be_visible(timeout=SLOW)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)
    expect(box).to_have_value(str(value))


def set_setting(page: Page, label: str, key: str, value: int) -> None:
    """Set a number in one model's settings on the Models page, opening them (again) when a rerun closed them."""
    box = page.locator(f".st-key-{key} input")
    for attempt in range(3):
        open_settings(page, label)
        try:
            expect(box).to_have_count(1, timeout=SLOW)  # a rerun may briefly keep a stale copy in the page
            box.fill(str(value), timeout=5_000)
            box.press("Enter", timeout=5_000)
            wait_idle(page)
            expect(box).to_have_value(str(value), timeout=5_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == 2:
                raise


def run_status(page: Page) -> str:
    """The text of the first progress bar (the Train page's run status)."""
    texts = page.get_by_test_id("stProgress").all_inner_texts()
    return texts[0] if texts else ""
