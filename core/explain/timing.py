"""How long an explanation takes: a short timed probe, chunks of about a second, time left.

An explanation costs ``set-up + chunks × per-call + rows × per-row``:

* set-up: preparing the method once (shap reading a forest's trees, the background
  rows' predictions for Permutation SHAP, LinearSHAP's background mean) and assembling
  the result at the end;
* per-call: what every chunk of rows pays whatever its size (the preprocessing, a
  Keras call);
* per-row: the rest, in proportion to the rows.

:func:`probe` measures the last two on the model and rows that will be explained:
after a one-row warm-up it explains 1, 2, 4, … rows with the prepared method until the
times have grown with the rows and a call took :data:`PROBE_CALL_SECONDS` (or the calls
:data:`PROBE_SECONDS`; :data:`PROBE_MAX_SECONDS` at most), and fits a line through the
times: one row's time is not the time per row when every call pays for preprocessing a
wide table. For Permutation SHAP the model's own time per prediction
(:meth:`core.explain.permutation.PermutationMethod.seconds_per_evaluation`) gives a floor
per row, and alone the estimate of a model so slow that one row would take longer than a call.
Rule-of-thumb figures, when there are no rows to time, are in :func:`core.explain.budget.rule_timing`.

A run explains its rows in chunks of about :data:`CHUNK_SECONDS` (at least
:data:`MIN_CHUNKS`), sized from the pace so far (:class:`Pace`): Cancel answers within
about a second, keeps every finished chunk, and the time left is re-estimated after each
chunk from the rows done.

Nothing here imports shap, scikit-learn or TensorFlow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A call this long ends the doubling once the times have grown with the rows (twice the first call);
#: one call of twice this long ends it at once (the rows are what costs).
PROBE_CALL_SECONDS = 0.3
#: Calls taking this long together end the doubling once the times have grown with the rows.
PROBE_SECONDS = 0.8
#: Calls taking this long together end the doubling in any case (per-call costs and noise hid the rows').
PROBE_MAX_SECONDS = 2.0
#: A time that grew more than this many times faster than its size is timed again (the machine paused).
JUMP = 1.5
#: The probe never explains more rows than this in one call.
PROBE_MAX_ROWS = 256
#: A chunk of rows should take about this long (Cancel waits at most about one chunk).
CHUNK_SECONDS = 1.0
#: Every run has at least this many chunks (when it has as many rows), so progress moves.
MIN_CHUNKS = 4
#: Rows in the first chunk when nothing is known about the pace yet.
FIRST_CHUNK_ROWS = 8
#: A chunk is at most this many times the previous one (one noisy fast chunk cannot make a huge next one).
GROWTH = 4

Clock = Callable[[], float]


def chunk_rows(done: int, total: int, previous: int, per_row: float | None) -> int:
    """Rows in the next chunk: about :data:`CHUNK_SECONDS` at ``per_row`` seconds a row.

    At most a :data:`MIN_CHUNKS`-th of all rows and :data:`GROWTH` times the previous
    chunk; :data:`FIRST_CHUNK_ROWS` when the pace is unknown.
    """
    left = total - done
    if left <= 0:
        return 0
    if per_row is None or per_row <= 0:
        size = FIRST_CHUNK_ROWS if per_row is None else left
    else:
        size = int(CHUNK_SECONDS / per_row)
    if previous:
        size = min(size, GROWTH * previous)
    return max(1, min(size, math.ceil(total / MIN_CHUNKS), left))


@dataclass(frozen=True)
class Cost:
    """What explaining rows with one method on one model costs: set-up + chunks × per-call + rows × per-row.

    Attributes:
        method: The method's label, e.g. ``"TreeSHAP (exact)"``.
        setup: Seconds spent once per run before the first row.
        per_call: Seconds every chunk pays whatever its size.
        per_row: Seconds per explained row.
        timed_on: What the figures were measured on, e.g. ``"31 rows"`` or ``"4,096 predictions"``;
            empty for a rule of thumb (not timed).
        probe_seconds: Wall time the probe took (set-up included).
    """

    method: str
    setup: float
    per_call: float
    per_row: float
    timed_on: str = ""
    probe_seconds: float = 0.0

    @property
    def timed(self) -> bool:
        """Whether the figures were measured on this model and data (else a rule of thumb)."""
        return bool(self.timed_on)

    def chunks(self, rows: int) -> list[int]:
        """The chunk sizes a run of ``rows`` rows will use if it goes at this cost (as :class:`Pace` plans them)."""
        sizes: list[int] = []
        done, spent, per_row = 0, 0.0, self.per_row
        while done < rows:
            size = chunk_rows(done, rows, sizes[-1] if sizes else 0, per_row)
            sizes.append(size)
            done += size
            spent += self.per_call + size * self.per_row
            per_row = spent / done
        return sizes

    def rows_seconds(self, rows: int) -> float:
        """Seconds to explain ``rows`` rows once the method is set up."""
        return len(self.chunks(rows)) * self.per_call + rows * self.per_row if rows > 0 else 0.0

    def seconds(self, rows: int) -> float:
        """Seconds for a whole run of ``rows`` rows, set-up included."""
        return self.setup + self.rows_seconds(rows)

    def rows_within(self, seconds: float, most: int) -> int:
        """The most rows (≤ ``most``) a run can explain in ``seconds``; 0 when even one does not fit."""
        if self.seconds(most) <= seconds:
            return most
        low, high = 0, most  # seconds(low) fits (or low == 0), seconds(high) does not
        while high - low > 1:
            middle = (low + high) // 2
            if self.seconds(middle) <= seconds:
                low = middle
            else:
                high = middle
        return low


@dataclass(frozen=True)
class Timing:
    """The measured (or ruled) cost of explaining one model: its method and, for trees, the approximate mode.

    Attributes:
        main: The method the model's spec declares (exact TreeSHAP, LinearSHAP, Permutation SHAP).
        approximate: Approximate (Saabas) TreeSHAP where the model allows it, else None.
        start: Seconds the run pays besides the method, whatever the rows: starting its task on
            the cluster and bringing the result back (:func:`core.engine.job_seconds`).
    """

    main: Cost
    approximate: Cost | None = None
    start: float = 0.0

    def cost(self, approximate: bool) -> Cost:
        """The cost of the mode that will run."""
        return self.approximate if approximate and self.approximate is not None else self.main

    @property
    def timed(self) -> bool:
        return self.main.timed


def fit_line(points: list[tuple[int, float]], least_per_row: float = 0.0) -> tuple[float, float]:
    """(per-call, per-row) seconds from (rows, seconds) measurements: a least-squares line, never negative.

    ``least_per_row`` is a floor known otherwise (Permutation SHAP: the model's own time for a
    row's predictions); when the line is flatter, the per-call cost is refitted under it.
    """
    rows = np.asarray([p[0] for p in points], dtype=float)
    seconds = np.asarray([p[1] for p in points], dtype=float)
    if len(np.unique(rows)) < 2:  # one size: all of it per row (the rows are what made it long)
        return 0.0, max(float(seconds[-1] / rows[-1]), least_per_row)
    slope, intercept = np.polyfit(rows, seconds, 1)
    if slope >= least_per_row and intercept >= 0:
        return float(intercept), float(slope)
    if slope >= least_per_row:  # the line crosses zero before the first row: through the origin
        return 0.0, float((rows * seconds).sum() / (rows * rows).sum())
    per_row = least_per_row
    return max(0.0, float(np.median(seconds - rows * per_row))), per_row


def retimed(timed: Callable[[int], float], size: int, points: list[tuple[int, float]]) -> float:
    """``timed(size)``, timed again when it grew faster than the size did (a pause of the machine, not
    the work: costs grow at most in proportion to rows); the shorter of the two counts."""
    took = timed(size)
    if points and took > JUMP * points[-1][1] * size / points[-1][0]:
        took = min(took, timed(size))
    return took


def probe(
    explain_rows: Callable[[Any], Any],
    rows: Any,
    *,
    method: str,
    setup: float,
    warm_up: bool = True,
    least_per_row: float = 0.0,
    clock: Clock = time.perf_counter,
) -> Cost:
    """Time ``explain_rows`` on the first 1, 2, 4, … of ``rows`` and return the fitted :class:`Cost`.

    A one-row warm-up first pays what only a first call pays (a Keras network tracing its
    graph, shap loading its code), which the run, in the same process, does not pay again.
    The doubling goes on until the times have grown with the rows (the last call twice the
    first) and a call took :data:`PROBE_CALL_SECONDS` or the calls :data:`PROBE_SECONDS`; or
    until one first call took twice :data:`PROBE_CALL_SECONDS`; or the calls took
    :data:`PROBE_MAX_SECONDS`; or the rows ran out.

    Args:
        explain_rows: Explains a frame of rows with the prepared method, as a run's chunk does.
        rows: Rows to time on (a frame; the rows that will be explained, or like them).
        method: The method's label.
        setup: Seconds the preparation took.
        warm_up: Whether to explain one row untimed first (False when the model was already called).
        least_per_row: A floor for the per-row seconds (see :func:`fit_line`).
        clock: Seconds now (tests pass a fake clock).
    """
    available = min(len(rows), PROBE_MAX_ROWS)
    if available == 0:
        return Cost(method, setup, 0.0, 0.0)
    started = clock()
    if warm_up:
        explain_rows(rows.iloc[:1])
    timed_from = clock()
    points: list[tuple[int, float]] = []

    def timed(k: int) -> float:
        t0 = clock()
        explain_rows(rows.iloc[:k])
        return clock() - t0

    k = 1
    while True:
        took = retimed(timed, k, points)
        points.append((k, took))
        spent = clock() - timed_from
        grew = len(points) > 1 and took >= 2 * points[0][1]  # the rows' share shows above per-call cost and noise
        if (
            k >= available
            or spent >= PROBE_MAX_SECONDS
            or (grew and (took >= PROBE_CALL_SECONDS or spent >= PROBE_SECONDS))
            or (len(points) == 1 and took >= 2 * PROBE_CALL_SECONDS)
        ):
            break
        k = min(2 * k, available)
    per_call, per_row = fit_line(points, least_per_row)
    explained = int(warm_up) + sum(k for k, _ in points)
    return Cost(method, setup, per_call, per_row, f"{explained:,} rows", setup + clock() - started)


class Pace:
    """Chunk sizes and time left for one run, from its expected cost (if known) and the rows done so far.

    Args:
        total: Rows the run will explain.
        cost: The expected cost (sizes the first chunk, gives the time left before any row is done).
        clock: Seconds now.
    """

    def __init__(self, total: int, cost: Cost | None = None, clock: Clock = time.perf_counter) -> None:
        self.total = int(total)
        self.cost = cost
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.chunks_done = 0
        self.previous = 0
        self.elapsed = 0.0

    @property
    def per_row(self) -> float | None:
        """Seconds per row so far (chunk overheads included); the expected figure before any row."""
        if self.done:
            return self.elapsed / self.done
        return self.cost.per_row if self.cost is not None else None

    def next_rows(self) -> int:
        """Rows in the next chunk."""
        return chunk_rows(self.done, self.total, self.previous, self.per_row)

    def record(self, rows: int) -> None:
        """A chunk of ``rows`` rows is done."""
        self.done += rows
        self.chunks_done += 1
        self.previous = rows
        self.elapsed = self.clock() - self.started

    @property
    def seconds_left(self) -> float | None:
        """Expected seconds until the last row: the pace of the rows done so far over the rows left."""
        if self.done:
            return self.elapsed / self.done * (self.total - self.done)
        return self.cost.rows_seconds(self.total) if self.cost is not None else None

    @property
    def chunks_expected(self) -> int:
        """Chunks done plus the chunks the rows left will probably take."""
        left = self.total - self.done
        return self.chunks_done + (math.ceil(left / max(1, self.next_rows())) if left else 0)
