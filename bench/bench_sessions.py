"""Benchmark: sessions training at once, a soak of many runs, and the server's memory when sessions end.

Starts the app (``streamlit run app.py`` on a free port bound to 127.0.0.1, its own
throw-away experiment store, a grace period of ``--grace`` seconds through
``NOCODE_SESSION_GRACE_S``), and drives Debian's Chromium with Playwright through
load sample → target → clean → models (``--models``, a fast set) → train:

1. one session alone: seconds from the Train click to "Finished" (the reference);
2. ``--sessions`` sessions at once (each set up in turn, then Train clicked in all
   of them): each session's seconds and its ratio to the reference, the server's
   peak RSS while they trained and its RSS at the end; then every tab is closed and,
   past the grace period, the RSS after the sessions ended;
3. a soak: ``--soak`` runs in a row in the same server, each in a new session that
   is closed once its run is recorded, the first and every ``--keras-every``-th also
   training a Keras network: RSS after the first session ended, at the end (the server's
   and its workers' apart), and whether the end is within 10 % of after-the-first (issue 14);
4. with ``--upload-rows N``: one session uploads a generated N-row CSV (1.8M rows are
   about 300 MB, see ``bench_load.make_csv``) and closes: RSS before, peak, after it ended;
5. a ``--long-run``-tree forest on the predictive-maintenance sample whose tab is closed
   2 s into the run: seconds until the server's CPU is idle again (the run stopped and
   recorded);
6. the server's RSS and CPU while idle after all sessions ended.

RSS is the server process's plus its children's (the embedded Dask cluster's worker
processes), sampled every 0.1 s with psutil; CPU likewise. Figures are printed,
never asserted. Needs the dev requirements (Playwright, psutil) and Chromium.

Usage: ``python bench/bench_sessions.py [--sessions 5] [--soak 20] [--keras-every 5] [--grace 5] [--upload-rows 0] [--long-run 2000]``
(``--sessions 0``, ``--soak 0``, ``--long-run 0`` skip a part.)
Goals (issue 9): five sessions finish; the soak ends within 10 % of after-the-first;
the RSS after sessions ended comes back near the reference session's.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ui.sessions import RELEASE_EVERY_S  # noqa: E402  (how often the app releases memory)

SAMPLE, TARGET = "breast_cancer", "diagnosis"
LONG_SAMPLE = ("predictive_maintenance", "failure")  # 5,000 rows: a 2,000-tree forest takes a while
FAST_MODELS = ["Logistic regression", "Decision tree", "Random forest"]
KERAS = "Neural network (Keras)"
TIMEOUT_MS = 600_000


class RssSampler:
    """The server's resident memory, sampled in a thread; ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self._peak = max(self._peak, self.now_bytes())

    def _processes(self) -> list:
        """The server and its children: the embedded Dask cluster's scheduler side and worker processes."""
        import psutil

        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return [self.process]

    def now_bytes(self) -> int:
        import psutil

        total = 0
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def now(self) -> float:
        return self.now_bytes() / 1e6

    def parts(self) -> str:
        """The server's RSS and its workers' (its children's), in words."""
        server = self.process.memory_info().rss / 1e6
        return f"server {server:.0f} MB + workers {self.now() - server:.0f} MB"

    def peak(self) -> float:
        return max(self._peak, self.now_bytes()) / 1e6

    def reset(self) -> None:
        self._peak = self.now_bytes()

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def new_page(browser, url: str):
    from tests.e2e.conftest import VIEWPORT

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.base_url = url
    return context, page


def set_up(page, models: list[str], sample: str = SAMPLE, target: str = TARGET) -> None:
    """Load the sample, keep its target and plan, choose ``models`` on the Models page."""
    from tests.e2e.helpers import keep_only_models, start_on_models

    start_on_models(page, sample, target)
    keep_only_models(page, models)


def click_train(page) -> float:
    page.locator(".st-key-models_train button").click()
    return time.perf_counter()


def finished(page) -> bool:
    from tests.e2e.helpers import run_status

    return bool(re.match(r"^Finished (\d+) of \1 models", run_status(page)))


def wait_all(pages: list, started: list[float]) -> list[float]:
    """Poll the pages in turn until each run has finished; seconds from each click to its finish."""
    from playwright.sync_api import expect

    from tests.e2e.helpers import SLOW

    for page in pages:
        expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    took: list[float | None] = [None] * len(pages)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while any(t is None for t in took):
        if time.monotonic() > deadline:
            raise TimeoutError("training did not finish in time")
        for i, page in enumerate(pages):
            if took[i] is None and finished(page):
                took[i] = time.perf_counter() - started[i]
        time.sleep(0.1)
    for page in pages:  # the run is in the experiment log before its session is closed
        expect(page.get_by_text(re.compile(r"^Recorded")).first).to_be_visible(timeout=TIMEOUT_MS)
    return [float(t) for t in took]


def wait_sessions_ended(rss: RssSampler, grace: float, release_every: float = 0.0) -> float:
    """Wait past the grace period (plus two checks and the release, which comes at most every
    ``release_every`` seconds), then let memory settle; RSS in MB."""
    time.sleep(grace + 2 * min(2.0, grace / 2) + 3 + release_every)
    last = rss.now()
    for _ in range(20):  # settled: no change over a second
        time.sleep(1)
        now = rss.now()
        if abs(now - last) < 1:
            break
        last = now
    return rss.now()


def cpu_busy_after(rss: RssSampler, idle_share: float = 0.1, quiet_s: float = 5.0, limit_s: float = 900.0) -> float:
    """Seconds until the server's CPU use stays under ``idle_share`` of a core for ``quiet_s`` seconds."""
    start = last_busy = time.monotonic()
    cpu = rss.cpu_seconds()
    while time.monotonic() - last_busy < quiet_s and time.monotonic() - start < limit_s:
        time.sleep(0.5)
        now_cpu = rss.cpu_seconds()
        if (now_cpu - cpu) / 0.5 > idle_share:
            last_busy = time.monotonic()
        cpu = now_cpu
    return last_busy - start


def one_run(browser, url: str, models: list[str]) -> float:
    context, page = new_page(browser, url)
    try:
        set_up(page, models)
        started = click_train(page)
        return wait_all([page], [started])[0]
    finally:
        context.close()


def several(browser, url: str, models: list[str], count: int, alone: float, rss: RssSampler, grace: float) -> None:
    """``count`` sessions set up in turn, Train clicked in each, then all waited for; tabs closed."""
    opened = [new_page(browser, url) for _ in range(count)]
    for _, page in opened:
        set_up(page, models)
    rss.reset()
    started = [click_train(page) for _, page in opened]
    took = wait_all([page for _, page in opened], started)
    print(f"{count} sessions at once (click → finished):")
    for i, seconds in enumerate(took, 1):
        print(f"  session {i}: {seconds:6.1f} s   {seconds / alone:4.1f}x alone")
    print(f"  peak RSS while training              {rss.peak():7.0f} MB")
    print(f"  RSS at the end (tabs still open)     {rss.now():7.0f} MB")
    for context, _ in opened:
        context.close()
    print(f"  RSS after the sessions ended         {wait_sessions_ended(rss, grace):7.0f} MB")


@contextlib.contextmanager
def running_app(grace: float, extra_env: dict[str, str] | None = None):
    from tests.e2e.conftest import serve_app

    store = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    env = {
        "NOCODE_SESSION_GRACE_S": str(grace),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **(extra_env or {}),
    }
    try:
        with serve_app(env=env) as server:
            yield server
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--soak", type=int, default=20)
    parser.add_argument(
        "--keras-every", type=int, default=5, help="soak runs 1, 1+N, 1+2N… also train a Keras network (0: never)"
    )
    parser.add_argument("--grace", type=float, default=5.0, help="seconds a closed session is kept (the app's setting)")
    parser.add_argument("--models", default=",".join(FAST_MODELS), help="comma-separated model labels")
    parser.add_argument("--upload-rows", type=int, default=0, help="also upload a generated CSV of this many rows")
    parser.add_argument("--long-run", type=int, default=2000, help="trees of the forest whose tab is closed (0: skip)")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    chromium = shutil.which("chromium")
    if chromium is None:
        print("Chromium not found on PATH (Debian: apt-get install -y chromium); nothing measured.")
        return 1
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    print(f"sample {SAMPLE} → {TARGET}; models: {', '.join(models)} (+ baseline); grace period {args.grace:g} s")
    with running_app(args.grace) as server, sync_playwright() as pw:
        rss = RssSampler(server.pid)
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            print(f"server started                         RSS {rss.now():7.0f} MB")

            # 1. the reference: one session alone (also loads the libraries the runs need)
            one_run(browser, server.url, models)  # warm-up: imports, store creation
            alone = one_run(browser, server.url, models)
            ended_alone = wait_sessions_ended(rss, args.grace)
            print(f"one session alone: {alone:6.1f} s          RSS after it ended {ended_alone:7.0f} MB")

            # 2. several sessions at once
            if args.sessions:
                several(browser, server.url, models, args.sessions, alone, rss, args.grace)

            # 3. the soak: runs in a row, each in a new session closed once its run is recorded
            if args.soak:
                print(f"soak: {args.soak} runs, a new session each, closed after its run")
                times, after_first = [], None
                rss.reset()
                for n in range(1, args.soak + 1):
                    keras = args.keras_every > 0 and (n - 1) % args.keras_every == 0
                    times.append(one_run(browser, server.url, [*models, KERAS] if keras else models))
                    if n == 1:
                        after_first = wait_sessions_ended(rss, args.grace)
                        print(f"  RSS after the first run's session ended {after_first:7.0f} MB ({rss.parts()})")
                    elif n % 10 == 0:
                        print(f"  after run {n}: RSS {rss.now():7.0f} MB ({rss.parts()})", flush=True)
                # Sessions ending one after another share one release, at most every RELEASE_EVERY_S.
                end = wait_sessions_ended(rss, args.grace, RELEASE_EVERY_S)
                growth = end / after_first - 1
                print(
                    f"  runs: first {times[0]:.1f} s, median {sorted(times)[len(times) // 2]:.1f} s, last {times[-1]:.1f} s"
                )
                print(f"  peak RSS during the soak              {rss.peak():7.0f} MB")
                print(f"  RSS at the end (all ended)            {end:7.0f} MB   {growth:+.1%} vs after the first")
                print(f"  at the end: {rss.parts()}")
                print(f"  end within 10 % of after-the-first:   {'yes' if abs(growth) <= 0.10 else 'NO'}")

            # 4. a large upload
            if args.upload_rows:
                from bench_load import make_csv

                path = make_csv(args.upload_rows)
                before = rss.now()
                rss.reset()
                context, page = new_page(browser, server.url)
                page.goto(server.url)
                page.locator(".st-key-data_upload input[type='file']").set_input_files(str(path))
                page.get_by_role("heading", name=path.name).wait_for(timeout=TIMEOUT_MS)
                held = rss.now()
                context.close()
                after = wait_sessions_ended(rss, args.grace)
                size = path.stat().st_size / 1e6
                print(f"upload of a {size:.0f} MB CSV ({args.upload_rows:,} rows), then the tab closed:")
                print(f"  RSS before {before:.0f} MB, peak {rss.peak():.0f} MB, while open {held:.0f} MB")
                print(f"  RSS after the session ended {after:.0f} MB ({after - before:+.0f} MB vs before)")

            # 5. a long run whose tab is closed: how long the server keeps working for nobody
            if args.long_run:
                from tests.e2e.helpers import open_settings, set_number

                context, page = new_page(browser, server.url)
                set_up(page, ["Random forest"], *LONG_SAMPLE)
                open_settings(page, "Random forest")
                set_number(page, "models_random_forest_clf_n_estimators", args.long_run)
                click_train(page)
                page.get_by_test_id("stProgress").first.wait_for(timeout=TIMEOUT_MS)
                time.sleep(2)
                context.close()
                busy = cpu_busy_after(rss)
                print(
                    f"a {args.long_run:,}-tree forest on {LONG_SAMPLE[0]}, tab closed 2 s into the run:"
                    f" server CPU busy for {busy:.1f} s after"
                )

            # 6. idle: nothing may keep working for a session that ended
            cpu = rss.cpu_seconds()
            time.sleep(10)
            idle = (rss.cpu_seconds() - cpu) / 10
            print(f"all sessions ended: RSS {rss.now():.0f} MB, server CPU while idle {idle:.1%} of a core")
        finally:
            rss.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
