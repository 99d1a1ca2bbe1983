"""Fixtures for the real-browser journeys: a live Streamlit server and Chromium.

The server is started once per session from the repository root on a free
port; the browser is Debian's Chromium driven through Playwright's sync API
(never ``playwright install``, which downloads browsers and fails here).

Fixture names avoid pytest-playwright's own ``browser``/``page`` fixtures so
its download logic is never triggered.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
STARTUP_TIMEOUT_S = 60.0
NO_CHROMIUM = "Chromium not found on PATH: install Debian's chromium: sudo apt-get install -y chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an ``e2e`` test."""
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _python() -> str:
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", errors="replace")[-5000:]


@dataclass(frozen=True)
class AppServer:
    """A running ``streamlit run app.py``: its base URL and process id."""

    url: str
    pid: int


@contextlib.contextmanager
def serve_app(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Iterator[AppServer]:
    """Run ``streamlit run app.py`` on a free port (``env`` added to ours, extra ``args``) until the block ends."""
    port = _free_port()
    cmd = [
        _python(), "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        *args,
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"Streamlit exited with code {proc.returncode} before it was healthy:\n{_read(log)}")
                try:
                    with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"Streamlit was not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{_read(log)}")
                time.sleep(0.25)
            yield AppServer(base_url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="session")
def streamlit_server() -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port; yield its base URL."""
    with serve_app() as server:
        yield server.url


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's Chromium, headless; fails under CI and skips elsewhere when it is missing."""
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(f"{NO_CHROMIUM} (CI is set, so the browser tests must not be skipped).")
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(browser, base_url: str, **context_options):
    """A fresh page (own context, so its own Streamlit session) on the app at ``base_url``, closed after.

    ``page.dialogs`` collects any JavaScript dialog that opens (and dismisses it).
    """
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.dialogs = dialogs
    page.base_url = base_url
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page_app(chromium_browser, streamlit_server):
    """A fresh page on the app (:func:`open_page`)."""
    with open_page(chromium_browser, streamlit_server) as page:
        yield page
