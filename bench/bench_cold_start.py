"""Benchmark: how long the first page takes to appear, against a bare one-line Streamlit app.

Starts, alternately and ``--runs`` times each, a bare app (``import streamlit as st;
st.write("hi")``, in a temporary folder of its own) and this app (``streamlit run app.py``
from the project folder), each on a free port bound to 127.0.0.1, headless. For each start
it measures, in Debian's Chromium driven by Playwright, the seconds from the moment the
process is started to the moment the first page's content is visible: for the bare app its
text; for this app the Data page's title, its upload box and its samples, with the journey in
the sidebar.
The browser is started once beforehand (its start is neither app's cost); each visit has a
fresh browser context (no cache), as a first visit would.

The app uses a throw-away experiment store: empty (a first visit) by default, or with one
recorded training run with ``--with-run`` (a returning person: the Data page offers to
restore it, last; the seconds until that offer shows are printed too).

Prints each run's seconds, the medians and the ratio app / bare. Figures are printed, never
asserted; the two cores of a shared machine make single runs noisy, so read the medians.

Usage: ``python bench/bench_cold_start.py [--runs 5] [--with-run] [--root DIR]``
(``--root``: another checkout of the app to measure, e.g. the commit before a change.)
Goal (issue 10): the app's median <= 1.2x the bare app's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE_APP = 'import streamlit as st\n\nst.write("hi")\n'
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
TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str, proc: subprocess.Popen, started: float) -> None:
    """Wait until the server answers its health check (polled every 20 ms)."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.perf_counter() - started > TIMEOUT_S:
            raise RuntimeError("streamlit was not healthy in time")
        time.sleep(0.02)


def first_page_seconds(browser, script: str, cwd: Path, waits, env: dict[str, str]) -> list[float]:
    """Seconds from starting ``streamlit run script`` in ``cwd`` to each of ``waits`` (in turn) returning."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _healthy(url, proc, started)
        page.goto(url, wait_until="commit")
        seconds = []
        for wait in waits:
            wait(page)
            seconds.append(time.perf_counter() - started)
        return seconds
    finally:
        context.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def bare_visible(page) -> None:
    page.get_by_text("hi", exact=True).wait_for(state="visible")


def app_visible(page) -> None:
    page.get_by_role("heading", name="1. Data").wait_for(state="visible")
    page.get_by_test_id("stFileUploaderDropzone").wait_for(state="visible")
    page.get_by_text("…or pick a sample dataset").wait_for(state="visible")
    page.get_by_test_id("stSidebar").get_by_text("1. Data").wait_for(state="visible")


def offer_visible(page) -> None:
    page.get_by_text("Pick up where you left off?").wait_for(state="visible")


def record_a_run(root: Path, env: dict[str, str]) -> None:
    """Train one model on the iris sample through the app (AppTest), so the store holds a run to restore."""
    code = f"""
from streamlit.testing.v1 import AppTest
from ui import state

at = AppTest.from_file({str(root / "app.py")!r}, default_timeout=120).run()
at.button(key="data_sample_iris").click().run()
for page in ("target", "clean", "models"):
    at.switch_page(f"pages/{{page}}.py").run()
    if page == "target":
        at.button(key="target_confirm").click().run()
at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
at.button(key="models_train").click().run()
job = at.session_state[state.JOB]
assert job.wait(120)
while job.after_run().pending or job.checking:
    job.wait(0.1)
assert job.after_run().value.ok, job.after_run().value.message
"""
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts of each app (interleaved)")
    parser.add_argument("--with-run", action="store_true", help="the store holds one recorded run to restore")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout of the app to measure")
    args = parser.parse_args()

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Chromium not found on PATH: sudo apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    root = args.root.resolve()
    times: dict[str, list[float]] = {"bare": [], "app": [], "offer": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        (folder / "bare.py").write_text(BARE_APP)
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        if args.with_run:
            record_a_run(root, env)
        apps = {
            "bare": ("bare.py", folder, [bare_visible]),
            "app": ("app.py", root, [app_visible, offer_visible] if args.with_run else [app_visible]),
        }
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            first_page_seconds(browser, *apps["bare"], env)  # warm-up: disk caches for Python and Streamlit
            for i in range(args.runs):
                order = ("bare", "app") if i % 2 == 0 else ("app", "bare")  # interleaved, neither always first
                for name in order:
                    seconds = first_page_seconds(browser, *apps[name], env)
                    times[name].append(seconds[0])
                    if len(seconds) > 1:
                        times["offer"].append(seconds[1])
                    shown = " ".join(f"{s:6.2f} s" for s in seconds)
                    print(f"  run {i + 1} {name:4s} {shown}", flush=True)
        finally:
            browser.close()

    bare, app = statistics.median(times["bare"]), statistics.median(times["app"])
    store = "one recorded run (restore offered)" if args.with_run else "empty store (first visit)"
    print(f"First page visible, from process start (median of {args.runs}; {store}; {root}):")
    print(f"  bare one-line app  {bare:6.2f} s")
    print(f"  this app (Data)    {app:6.2f} s")
    if times["offer"]:
        print(
            f"  its restore offer  {statistics.median(times['offer']):6.2f} s   (drawn last: reading the store loads MLflow)"
        )
    print(f"Ratio app / bare: {app / bare:.2f}x   (goal <= 1.2x)")


if __name__ == "__main__":
    main()
