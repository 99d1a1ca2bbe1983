"""Real-browser journey: a project file saved on the Models page opens in another browser with everything set.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    chosen_models,
    download,
    start_on_models,
    upload,
    wait_idle,
)


def test_a_project_file_takes_a_class_to_the_same_models_page(page_app: Page, chromium_browser, tmp_path: Path) -> None:
    teacher = page_app
    start_on_models(teacher, "iris", "species")
    expect(teacher.locator(".st-key-models_chosen [data-tag]").first).to_be_visible(timeout=SLOW)
    models = chosen_models(teacher)
    saved = download(
        teacher, teacher.locator(".st-key-models_project").get_by_role("button", name="Save as project file"), tmp_path
    )
    assert saved.name == "iris-project.json"
    content = json.loads(saved.read_text(encoding="utf-8"))
    assert content["format"] == "nocode-ml-project" and content["source"]["sample"] == "iris"

    # A student: a new browser context is a new Streamlit session with nothing loaded.
    context = chromium_browser.new_context(viewport=VIEWPORT)
    try:
        student = context.new_page()
        student.set_default_timeout(30_000)
        student.dialogs = []  # what assert_clean reads (the page_app fixture sets it up the same way)
        student.on("dialog", lambda dialog: (student.dialogs.append(dialog.message), dialog.dismiss()))
        student.goto(teacher.base_url)
        expect(student.get_by_role("heading", name="1. Data")).to_be_visible(timeout=SLOW)
        wait_idle(student)
        student.get_by_test_id("stExpander").filter(has_text="open a project file").locator("summary").click()
        upload(student, "data_project", saved)
        expect(student.get_by_role("heading", name="4. Models")).to_be_visible(timeout=SLOW)
        note = student.get_by_test_id("stAlert").filter(has_text="Opened the project")
        expect(note).to_contain_text("species", timeout=SLOW)
        expect(student.locator(".st-key-models_chosen [data-tag]").first).to_be_visible(timeout=SLOW)
        wait_idle(student)
        assert chosen_models(student) == models, "the same models, in the same order"
        sidebar = student.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("iris.csv")
        expect(sidebar).to_contain_text("Target: species")
        expect(student.locator(".st-key-models_train button")).to_be_enabled()
        assert_clean(student)
    finally:
        context.close()
