"""Benchmark: a class at once. N sessions do the whole journey on a bundled sample at the same time.

What it measures, for each N of ``--sessions`` (default 1, 5, 10, 30), on one server:

- **page reruns**: seconds from sending a rerun (a widget change, a page switch, or a plain
  rerun of the page, none of them starting work) to the end of the page's run
  (``script_finished``); several per session, most of them while the runs train or wait
  in the queue: the median, the 95th percentile and the largest, overall, for the Train page
  while runs train or queue, and by kind (which page, first visit or rerun); each one over
  5 s is listed with the runs that ended meanwhile (fragment runs, runs cut short by
  ``st.rerun()``), to tell a slow page from a page kept from finishing;
- **click to leaderboard**: seconds from the demo's button to the first run of the Train page
  that shows the finished run's leaderboard ("Finished n of n models" and the table under
  "Leaderboard"); and **click to demo end**: to "Demo finished" (test score and explanation
  done) on the Data page;
- **peak memory**: the server's resident memory (its process plus its children, the embedded
  Dask cluster's workers), sampled every 0.1 s in a thread while the N sessions run;
- **errors**: every exception element, ``st.error`` text, page not found or dropped connection
  any session saw, and every session that did not finish its journey (a page that has not
  finished a run 120 s after a rerun was sent counts as not answering);
- **the queue**: how many runs waited in the admission queue ("Waiting for a free place") and
  the most runs the sidebar's Server box showed waiting at once;
- **leaks**: each session checks that the column names it was shown (tables' columns and
  text cells, pickers' options, charts' data) belong to its own sample, never to another
  session's sample (the samples rotate between sessions, ``--sample``), and that its own
  target was shown at all (else the check would be blind).

The sessions are not browsers: each is a client of Streamlit's own websocket protocol
(``bench/st_client.py``), as the frontend speaks it, including the timers of
``st.fragment(run_every=…)``: thirty Chromium pages on two cores would measure the
browser more than the server. The journey per session:

1. open the app (the Data page); choose its sample in the one-click demo's picker (a rerun);
2. press "Run the demo" (sample → target → clean plan → models → training starts);
3. switch to the Train page, rerun it every ``--every`` seconds while the run trains or
   queues, until the leaderboard shows; switch back to the Data page and rerun it likewise
   until the demo ends (test score, explanation);
4. visit Results, Explain and Experiments, and come back to Data (page reruns).

The server is started as ``bench/bench_sessions.py`` starts it (``streamlit run app.py`` on a
free port, a throw-away experiment store, a short session grace period), with the admission
setting ``NOCODE_MAX_RUNS`` left as the environment has it (printed), and each session seeing its own
runs on the Experiments page as on a classroom server (``--experiments shared``: every run, as on a
laptop; the server here listens on 127.0.0.1, where sharing would be the default). One warm-up session
runs first (imports, the cluster's start), reported apart. The client's own CPU time is
printed too (a few per cent of a core at N = 10), so it is seen not to be the bottleneck.
Figures are printed, never asserted; timings on a shared machine are noisy.

Usage::

    python bench/bench_load_many.py [--sessions 1,5,10,30] [--sample iris,wine,breast_cancer,diabetes]
                                    [--timeout 1200] [--every 3] [--no-warmup] [--experiments workspace|shared]

Goal (issue 14), on 2 cores: page reruns under 1 s at N = 30 while runs queue; no session sees
another's data; no error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from st_client import (  # noqa: E402
    AppSession,
    Segment,
    WaitTimeout,
    dataframe_columns,
    widget_options,
)

DEFAULT_SAMPLES = ("iris", "wine", "breast_cancer", "diabetes")
GRACE_S = 5.0  # a closed session ends this soon (the app's NOCODE_SESSION_GRACE_S), so rounds start clean
#: The Train page once the run has ended: its status bar says every model finished.
RUN_FINISHED = re.compile(r"^Finished (\d+) of \1 models")
RUN_ENDED_BADLY = re.compile(r"^(Stopped|Failed) \d+ of \d+ models")
DEMO_FINISHED = re.compile(r"^Demo finished in")
#: A run waiting in the admission queue (ui/admission_views.py), and the sidebar's Server box.
QUEUED = re.compile(r"^Waiting for a free place")
SERVER_BOX = re.compile(r"^Server: (\d+) running, (\d+) waiting")
#: The Train page once the run is in the experiment log (ui/experiments_views.recording_note).
RECORDED = re.compile(r"^Recorded \d+ model runs in the experiment log")
#: The Experiments page while the session's run is still being recorded (ui/experiments_views.run_on_its_way).
ON_ITS_WAY = re.compile(r"^Your (last|current) run is (being recorded|still training)")
#: How long a session on the Experiments page waits for its run to be listed (the page looks every 2 s).
LISTED_S = 60.0
#: Reruns counted as "while runs train or queue" in the headline (the Train page while the run goes).
WHILE_TRAINING = ("→ Train (run going)", "Train: rerun while training")
LATER_PAGES = ("results", "explain", "experiments", "data")
#: A page rerun slower than this is listed with the runs that ended while it was awaited.
SLOW_S = 5.0
#: A page that has not finished a run this long after a rerun was sent did not answer: an error.
PAGE_TIMEOUT_S = 120.0
STATUS_WORDS: dict[int, str] = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "whole-page",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile-error",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "cut-short-for-rerun",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
}


@dataclass(frozen=True)
class SampleInfo:
    key: str
    title: str
    target: str
    columns: frozenset[str]


def samples(keys: list[str]) -> list[SampleInfo]:
    """The bundled samples ``keys`` with their titles, targets and column names (from the CSV header)."""
    from core.samples import list_samples

    known = {s.key: s for s in list_samples()}
    missing = [k for k in keys if k not in known]
    if missing:
        raise SystemExit(f"unknown sample(s) {missing}; bundled: {sorted(known)}")
    out = []
    for key in keys:
        entry = known[key]
        with entry.path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        out.append(SampleInfo(key, entry.title, entry.target, frozenset(header)))
    return out


@dataclass
class SessionResult:
    """What one session measured and saw."""

    number: int
    sample: str
    first_page: float | None = None
    reruns: list[tuple[str, float]] = field(default_factory=list)  # (what was rerun, seconds)
    leaderboard: float | None = None
    demo_end: float | None = None
    problems: list[str] = field(default_factory=list)
    leaks: set[str] = field(default_factory=set)
    own_seen: bool = False
    completed: bool = False
    queued: bool = False  # its run waited in the admission queue
    most_waiting: int = 0  # the most runs the sidebar's Server box showed waiting
    recorded: bool = False  # its run was said to be recorded, or listed on the Experiments page
    slow: list[str] = field(default_factory=list)  # page reruns over SLOW_S, with the runs that ended meanwhile


# --------------------------------------------------------------------------- what a session saw


def shown_names(segment: Segment) -> set[str]:
    """Names a person could read in a run: tables' columns and text cells, pickers' options, charts' strings."""
    names: set[str] = set()
    for element in segment.elements:
        kind = element.WhichOneof("type")
        names.update(widget_options(element))
        if kind in ("dataframe", "table"):
            names.update(dataframe_columns(element))
            names.update(_text_cells(getattr(element, kind).arrow_data.data))
        elif kind == "plotly_chart":
            names.update(_strings(element.plotly_chart.spec))
    return names


def _text_cells(data: bytes) -> set[str]:
    if not data:
        return set()
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(data).read_all()
    except pa.ArrowInvalid:
        return set()
    cells: set[str] = set()
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            cells.update(str(v) for v in column.to_pylist() if v is not None)
    return cells


def _strings(spec: str) -> set[str]:
    """Every string in a plotly figure's JSON (axis titles, category names, hover texts)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    if spec:
        with contextlib.suppress(ValueError):
            walk(json.loads(spec))
    return found


def check_isolation(result: SessionResult, session: AppSession, own: SampleInfo, others: list[SampleInfo]) -> None:
    """Another sample's column names in what this session was shown are leaks; its own target must show."""
    foreign = set().union(*(o.columns for o in others)) - own.columns if others else set()
    seen: set[str] = set()
    for segment in session.segments:
        seen |= shown_names(segment)
    result.leaks = seen & foreign
    result.own_seen = own.target in seen


# --------------------------------------------------------------------------- one session's journey


class JourneyFailed(Exception):
    """The app showed that the journey cannot go on (the run stopped or failed, a page did not answer)."""


async def timed_rerun(result: SessionResult, session: AppSession, what: str, action) -> Segment:
    """Run ``action`` (a coroutine making one whole-page rerun) and record its seconds as a page rerun.

    A slow one (over :data:`SLOW_S`) also records which runs ended while it was awaited (fragment
    runs, runs cut short by a rerun), to tell a slow page from a page kept from finishing.
    """
    seen = len(session.segments)
    started = time.perf_counter()

    def meanwhile() -> str:
        counts = Counter(STATUS_WORDS.get(s.status or 0, str(s.status)) for s in session.segments[seen:])
        return ", ".join(f"{n} {word}" for word, n in counts.items()) or "none"

    try:
        segment = await action
    except WaitTimeout as exc:
        raise JourneyFailed(
            f"{what}: the page did not finish a run ({exc}; runs ended meanwhile: {meanwhile()})"
        ) from exc
    took = segment.finished_at - max(started, session.sent_at)  # from the request to the run's end, as received
    result.reruns.append((what, took))
    if took > SLOW_S:
        result.slow.append(f"{what}: {took:.1f} s (runs ended meanwhile: {meanwhile()})")
    return segment


def leaderboard_shown(segment: Segment) -> bool:
    """A Train page run showing the finished run's status and the table under the "Leaderboard" heading."""
    texts = segment.texts()
    if not any(RUN_FINISHED.match(t) for t in texts):
        return False
    after_heading = False
    for element in segment.elements:
        kind = element.WhichOneof("type")
        if kind == "heading" and element.heading.body == "Leaderboard":
            after_heading = True
        elif kind == "dataframe" and after_heading:
            return True
    return False


async def poll_until(
    session: AppSession, result: SessionResult, what: str, done, every: float, timeout: float
) -> Segment:
    """Rerun the page every ``every`` seconds (timed) until a run (any, fragments too) satisfies ``done``.

    The page's last run counts too (the one that brought the session here).
    """
    deadline = time.monotonic() + timeout
    index = max(0, len(session.segments) - 1)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise JourneyFailed(f"{what}: not done after {timeout:.0f} s")
        try:
            return await session.wait_for(done, timeout=min(every, left), after=index)
        except WaitTimeout:
            pass
        index = len(session.segments)  # every run before the next one has been looked at
        left = max(1.0, min(PAGE_TIMEOUT_S, deadline - time.monotonic()))
        await timed_rerun(result, session, what, session.rerun(timeout=left))


async def journey(
    url: str, number: int, own: SampleInfo, others: list[SampleInfo], every: float, timeout: float
) -> SessionResult:
    result = SessionResult(number, own.key)
    session = AppSession(url)
    page_s = min(timeout, PAGE_TIMEOUT_S)
    started = time.perf_counter()
    try:
        began = time.perf_counter()
        page = await session.open(timeout=timeout)
        result.first_page = time.perf_counter() - began
        page = await timed_rerun(
            result, session, "Data: sample picked", session.select(page, "data_demo_sample", own.title, timeout=page_s)
        )
        click = time.perf_counter()
        try:  # runs the demo's steps up to the training
            await session.click(page, "data_demo_run", timeout=timeout)
        except WaitTimeout as exc:
            raise JourneyFailed(f"Run the demo: the page did not finish a run ({exc})") from exc
        await timed_rerun(result, session, "→ Train (run going)", session.switch_page("train", timeout=page_s))

        def ended(segment: Segment) -> bool:
            if any(RUN_ENDED_BADLY.match(t) for t in segment.texts()):
                raise JourneyFailed("the training run stopped or failed")
            return leaderboard_shown(segment)

        board = await poll_until(
            session, result, "Train: rerun while training", ended, every, timeout - (time.perf_counter() - started)
        )
        result.leaderboard = board.finished_at - click
        await timed_rerun(result, session, "→ Data (demo going)", session.switch_page("data", timeout=page_s))
        demo = await poll_until(
            session,
            result,
            "Data: rerun while the demo works",
            lambda s: s.has_text(DEMO_FINISHED.pattern) or s.has_text(r"^The demo could not finish"),
            every,
            timeout - (time.perf_counter() - started),
        )
        if not demo.has_text(DEMO_FINISHED.pattern):
            raise JourneyFailed("the demo did not finish")
        result.demo_end = demo.finished_at - click
        for path in LATER_PAGES:  # the first visit, then a rerun of the same page (a click that starts nothing)
            await timed_rerun(
                result, session, f"→ {path.title()} (after the demo)", session.switch_page(path, timeout=page_s)
            )
            await timed_rerun(result, session, f"{path.title()}: rerun", session.rerun(timeout=page_s))
            if path == "experiments" and session.segments[-1].has_text(ON_ITS_WAY.pattern):
                with contextlib.suppress(WaitTimeout):  # the page runs again by itself once the run is in the log
                    await session.wait_for(
                        lambda s: f"{own.key}.csv" in shown_names(s), timeout=LISTED_S, after=len(session.segments) - 1
                    )
        result.completed = True
    except Exception as exc:  # recorded as the session's error; the other sessions go on
        result.problems.append(f"journey stopped: {exc}")
    finally:
        await session.close()
    result.problems = session.problems + result.problems
    check_isolation(result, session, own, others)
    result.queued = any(segment.has_text(QUEUED.pattern) for segment in session.segments)
    result.recorded = any(segment.has_text(RECORDED.pattern) for segment in session.segments) or any(
        f"{own.key}.csv" in shown_names(segment) for segment in session.segments
    )
    for segment in session.segments:
        for label in segment.labels:
            if found := SERVER_BOX.match(label):
                result.most_waiting = max(result.most_waiting, int(found.group(2)))
    return result


async def round_of(url: str, count: int, pool: list[SampleInfo], every: float, timeout: float, stagger: float):
    """``count`` sessions at once (started ``stagger`` seconds apart), samples rotating through ``pool``."""

    async def one(i: int) -> SessionResult:
        await asyncio.sleep(i * stagger)
        own = pool[i % len(pool)]
        others = [s for s in pool if s.key != own.key]
        return await journey(url, i + 1, own, others, every, timeout)

    return await asyncio.gather(*(one(i) for i in range(count)))


# --------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank), or NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(count: int, results: list[SessionResult], peak_mb: float, seconds: float) -> None:
    reruns = [seconds for res in results for _, seconds in res.reruns]
    boards = [res.leaderboard for res in results if res.leaderboard is not None]
    demos = [res.demo_end for res in results if res.demo_end is not None]
    firsts = [res.first_page for res in results if res.first_page is not None]
    errors = [(res.number, p) for res in results for p in res.problems]
    leaks = [(res.number, sorted(res.leaks)) for res in results if res.leaks]
    blind = [res.number for res in results if not res.own_seen]
    done = sum(res.completed for res in results)
    under = sum(r < 1.0 for r in reruns)
    print(f"\nN = {count}: {done}/{count} journeys completed in {seconds:.0f} s")
    print(f"  {'':34}{'n':>5}{'median':>9}{'p95':>9}{'max':>9}")
    training = [seconds for res in results for what, seconds in res.reruns if what in WHILE_TRAINING]
    rows = [
        ("page rerun (s)", reruns),
        ("  of which while runs train/queue", training),
        ("click → leaderboard (s)", boards),
        ("click → demo finished (s)", demos),
        ("first page on opening (s)", firsts),
    ]
    for label, values in rows:
        print(
            f"  {label:34}{len(values):5d}{med(values):9.2f}{pct(values, 95):9.2f}{max(values, default=float('nan')):9.2f}"
        )
    share = f"{under / len(reruns):.0%}" if reruns else "n/a"
    print(f"  page reruns under 1 s: {share}; by kind:")
    kinds: dict[str, list[float]] = {}
    for res in results:
        for what, seconds in res.reruns:
            kinds.setdefault(what, []).append(seconds)
    for what, values in kinds.items():
        print(f"    {what:32}{len(values):5d}{med(values):9.2f}{pct(values, 95):9.2f}{max(values):9.2f}")
    print(f"  server peak RSS (process + Dask workers): {peak_mb:,.0f} MB")
    queued = sum(res.queued for res in results)
    most = max((res.most_waiting for res in results), default=0)
    print(
        f"  runs that waited in the admission queue: {queued}/{count}; most runs waiting at once (Server box): {most}"
    )
    recorded = sum(res.recorded for res in results)
    print(f"  runs recorded in the experiment log (said on Train, or listed on Experiments): {recorded}/{count}")
    print(f"  errors: {len(errors)}   sessions seeing another's data: {len(leaks)}   blind checks: {len(blind)}")
    for number, text in errors[:20]:
        print(f"    session {number}: {text[:200]}")
    for number, names in leaks:
        print(f"    session {number} was shown another sample's columns: {names[:8]}")
    slow = [(res.number, line) for res in results for line in res.slow]
    if slow:
        print(f"  page reruns over {SLOW_S:g} s: {len(slow)}; the first ones:")
        for number, line in slow[:8]:
            print(f"    session {number}: {line}")
    if blind:
        print(f"    sessions never shown their own target (check blind): {blind}")


def admission_line() -> str:
    import importlib.util

    from core.server_settings import MAX_RUNS

    raw = os.environ.get(MAX_RUNS.env)
    queue = "present" if importlib.util.find_spec("core.admission") else "absent"
    given = f"{raw!r} in the environment" if raw is not None else "not set, the default"
    return f"{MAX_RUNS.env} = {MAX_RUNS.value():g} ({given}); admission queue (core/admission.py): {queue}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,5,10,30", help="comma-separated session counts, one round each")
    parser.add_argument("--sample", default=",".join(DEFAULT_SAMPLES), help="samples the sessions rotate through")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds one session's journey may take")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between a session's timed reruns")
    parser.add_argument("--stagger", type=float, default=0.2, help="seconds between the sessions' starts")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up session")
    parser.add_argument(
        "--experiments",
        choices=("workspace", "shared"),
        default="workspace",
        help="whose runs each session sees: its own (a classroom server's default) or every run (a laptop's)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    pool = samples([k.strip() for k in args.sample.split(",") if k.strip()])

    from bench_sessions import RssSampler, running_app

    print(f"sessions {counts}; samples {[s.key for s in pool]}; a timed rerun every {args.every:g} s")
    print(admission_line())
    print(
        f"machine: {os.cpu_count()} cores; each journey: the one-click demo, Train page, Results, Explain, Experiments"
    )
    from core.experiment_store import EXPERIMENTS_SETTING

    # The server listens on 127.0.0.1 only, where the app would share every run; a classroom server
    # (0.0.0.0) gives each browser its own workspace, so that is what the class here gets by default.
    print(
        f"{EXPERIMENTS_SETTING} = {args.experiments} (each session sees {'its own runs' if args.experiments == 'workspace' else 'every run'})"
    )
    with running_app(GRACE_S, {EXPERIMENTS_SETTING: args.experiments}) as server:
        rss = RssSampler(server.pid)
        try:
            print(f"server started: RSS {rss.now():,.0f} MB")
            if not args.no_warmup:
                began = time.perf_counter()
                (warm,) = asyncio.run(round_of(server.url, 1, pool, args.every, args.timeout, 0))
                print(
                    f"warm-up session ({warm.sample}): {time.perf_counter() - began:.0f} s,"
                    f" click → leaderboard {warm.leaderboard or float('nan'):.1f} s, errors {len(warm.problems)}"
                    + (f" ({warm.problems[0][:160]})" if warm.problems else "")
                )
            for count in counts:
                time.sleep(GRACE_S + 5)  # the last round's sessions have ended and let their data go
                rss.reset()
                began, client_cpu = time.perf_counter(), time.process_time()
                results = asyncio.run(round_of(server.url, count, pool, args.every, args.timeout, args.stagger))
                wall = time.perf_counter() - began
                report(count, results, rss.peak(), wall)
                spent = time.process_time() - client_cpu  # this process only: the server is a child
                print(f"  this client's own CPU: {spent:.0f} s over {wall:.0f} s ({spent / wall:.0%} of a core)")
        finally:
            rss.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
