"""Real-browser journeys: load data, read the profile, pick the target, plan cleaning.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import assert_clean, choose, full_page_screenshot, go_to, screenshot_path, wait_idle

SCREENSHOT = screenshot_path("screenshot-profile.png")
SCRIPT_COLUMN = "<script>alert(1)</script>"
BOLD_COLUMN = "**bold**"
N_ROWS = 60
SLOW = 45_000  # ms; a Streamlit rerun with profiling can take a while on a busy machine


# --------------------------------------------------------------------------- helpers


def messy_csv(n_rows: int = N_ROWS) -> bytes:
    """What people really upload: ';'-separated, decimal commas, Windows-1252,
    a repeated column name, an ``N/A`` marker, markup in column names."""
    rng = random.Random(7)
    cities = ["Zürich", "São Paulo", "Montréal", "Kraków", "Málaga"]
    header = ["client", "city", "age", "balance", "age", SCRIPT_COLUMN, BOLD_COLUMN, "churn"]
    lines = [";".join(header)]
    for i in range(n_rows):
        age = "N/A" if i % 11 == 0 else str(rng.randint(18, 80))
        balance = "999999,99" if i == 5 else f"{rng.uniform(10, 5000):.2f}".replace(".", ",")
        row = [
            f"C{i:03d}",
            cities[i % len(cities)],
            age,
            balance,
            str(rng.randint(1, 9)),
            f"{rng.uniform(0, 1):.3f}".replace(".", ","),
            rng.choice(["café", "naïve", "crème brûlée"]),
            "yes" if rng.random() < 0.4 else "no",
        ]
        lines.append(";".join(row))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def open_app(page: Page, path: str = "") -> None:
    page.goto(f"{page.base_url}/{path}")
    expect(page.locator(".st-key-data_upload").get_by_test_id("stFileUploaderDropzoneInput")).to_be_attached(
        timeout=SLOW
    )


def metric(page: Page, label: str) -> Locator:
    """The ``st.metric`` whose label is exactly ``label``."""
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


def assert_no_markup_injected(page: Page) -> None:
    assert page.locator("script", has_text="alert(1)").count() == 0, "a column name became a <script> element"
    assert page.locator("b, strong", has_text=re.compile(r"^\s*bold\s*$")).count() == 0, (
        "'**bold**' was rendered as bold"
    )
    assert page.dialogs == [], f"a JavaScript dialog opened: {page.dialogs}"


def wait_for_profile_rendered(page: Page) -> None:
    """Metrics, the grids' canvases and at least one drawn plotly chart."""
    expect(metric(page, "Rows")).to_be_visible(timeout=SLOW)
    expect(page.locator("[data-testid='stDataFrame'] canvas").first).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stPlotlyChart").locator(".main-svg").first).to_be_visible(timeout=SLOW)
    wait_idle(page)


# --------------------------------------------------------------------------- journeys


def test_upload_profile_target_clean(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    open_app(page)

    # A bundled sample gives the nicest picture of the profile for the docs.
    page.locator(".st-key-data_sample_house_prices button").click()
    expect(metric(page, "Rows").get_by_test_id("stMetricValue")).to_have_text("1,500", timeout=SLOW)
    wait_for_profile_rendered(page)
    chooser = page.locator("[class*='st-key-data_detail_'] [data-testid='stSelectbox']")
    choose(chooser, "price")
    wait_for_profile_rendered(page)
    full_page_screenshot(page, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 20_000

    # Now the messy upload.
    messy = tmp_path / "messy customers.csv"
    messy.write_bytes(messy_csv())
    page.locator(".st-key-data_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(messy))
    expect(page.get_by_role("heading", name="messy customers.csv")).to_be_visible(timeout=SLOW)
    expect(metric(page, "Rows").get_by_test_id("stMetricValue")).to_have_text(str(N_ROWS), timeout=SLOW)
    expect(metric(page, "Columns").get_by_test_id("stMetricValue")).to_have_text("8")
    detected = page.get_by_test_id("stMarkdownContainer").filter(has_text="Detected:")
    expect(detected).to_contain_text("semicolon")
    expect(detected).to_contain_text("cp1252")
    expect(page.get_by_text("'age' → 'age_2'")).to_be_visible()  # the repeated name was renamed
    wait_for_profile_rendered(page)

    # Column names with markup are shown literally (the grids are canvases, so use the column chooser).
    chooser = page.locator("[class*='st-key-data_detail_'] [data-testid='stSelectbox']")
    for name in (SCRIPT_COLUMN, BOLD_COLUMN):
        choose(chooser, name)  # also asserts the literal name is the shown value
        wait_idle(page)
        expect(page.get_by_test_id("stText").filter(has_text="role:")).to_be_visible()
    assert_no_markup_injected(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # Target: churn, detected as binary classification, then confirm.
    go_to(page, "2. Target")
    target_box = page.locator("[class*='st-key-target_column_'] [data-testid='stSelectbox']")
    choose(target_box, "churn")
    expect(page.get_by_text("Detected task:")).to_contain_text("binary classification", timeout=SLOW)
    wait_idle(page)
    confirm = page.locator(".st-key-target_confirm button")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:")).to_contain_text("churn", timeout=SLOW)

    # Clean: outliers on, the preview's metrics and the plan's steps.
    go_to(page, "3. Clean")  # waits until the link is unlocked (the sidebar is drawn after the page)
    toggle = page.locator("[class*='st-key-clean_'][class*='_out_on'] label")
    expect(toggle).to_be_visible(timeout=SLOW)
    toggle.click()
    expect(page.get_by_text("Find outliers by")).to_be_visible(timeout=SLOW)
    wait_idle(page)
    for label in ("Rows", "Columns", "Missing cells", "Rows with outliers"):
        expect(metric(page, label)).to_be_visible(timeout=SLOW)
    expect(metric(page, "Rows").get_by_test_id("stMetricValue")).to_have_text(str(N_ROWS))
    steps = page.get_by_test_id("stMarkdownContainer").locator("ol")
    expect(steps).to_contain_text("Drop exact duplicate rows")
    expect(steps).to_contain_text("Outliers in every numeric feature")
    assert_no_markup_injected(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_binary_file_gives_a_friendly_error_and_the_app_recovers(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    open_app(page)
    junk = tmp_path / "photo.csv"
    junk.write_bytes(bytes(range(256)) * 64)
    page.locator(".st-key-data_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(junk))
    error = page.get_by_test_id("stAlert").filter(has_text="binary")
    expect(error).to_be_visible(timeout=SLOW)
    expect(error).to_contain_text("does not look like text")
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # Still usable: a sample loads and is profiled, and the refused file is not read again.
    page.locator(".st-key-data_sample_iris button").click()
    expect(page.get_by_role("heading", name="iris.csv")).to_be_visible(timeout=SLOW)
    expect(metric(page, "Rows").get_by_test_id("stMetricValue")).to_have_text("150", timeout=SLOW)
    wait_idle(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("150 rows × 5 columns")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.dialogs == []


def test_the_journey_sidebar_shows_on_the_first_page_and_on_a_locked_page(page_app: Page) -> None:
    """A page that stops at its guard (st.stop) still has the journey beside it, with why each step is locked."""
    page = page_app
    for address, heading in ((page.base_url, "1. Data"), (f"{page.base_url}/results", "6. Results")):
        page.goto(address)
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=SLOW)
        wait_idle(page)
        links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink")
        for step in ("1. Data", "2. Target", "6. Results", "9. Experiments"):
            expect(links.filter(has_text=step).first).to_be_visible(timeout=SLOW)
        expect(links.filter(has_text="2. Target").first).to_contain_text("🔒")
    expect(page.get_by_test_id("stAlert").filter(has_text="Load a dataset first")).to_be_visible()
    assert_clean(page)
