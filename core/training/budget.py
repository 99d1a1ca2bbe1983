"""A time budget for a run: each model's estimated seconds, and what is shrunk or left out to fit.

Before training, :func:`estimate` times each model on a few training rows (a short
probe, doubled until the time grows with the rows) and extrapolates to the rows it
will train on, with the way its family's cost grows with rows (:data:`GROWTH`), the
trees or iterations it will grow, its cross-validation folds and its scoring. A
network is estimated from its size (TensorFlow is not loaded to plan a run).

:func:`plan` turns the estimates and a budget into a :class:`BudgetPlan`: when the run
would take longer than the budget, every model whose estimate is over a common cap is
shrunk to it: fewer trees or iterations, fewer epochs, or fewer rows for the others (a
kernel SVM's cost grows with the square of its rows). The cap is the largest one with
which the models, shared out over the cluster's workers, end within the budget. A model
that cannot be shrunk enough would be left out, with the reason: before that, a large
table trains on a stratified sample (never fewer than :data:`MIN_SAMPLE_ROWS` rows),
the largest with which no model is left out.

While training, a planned model also gets its seconds as a limit (``ModelRun.seconds``):
staged growth and a network's epochs end when it passes (:func:`deadline`), so a model
whose estimate was off cannot hold the run much past the budget.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from core.evaluation import score
from core.features import count_features
from core.keras_sequence import sequence_ops
from core.keras_text import text_network_ops
from core.network_layers import layer_table
from core.numbers import seconds_words
from core.registry import get_spec
from core.schema import Role
from core.split import sample_positions
from core.target import Task
from core.training.pipeline import build_model_pipeline
from core.training.request import ModelRun, TrainingRequest

#: A large table trains on a sample no smaller than this (fewer rows would cost more quality than time).
MIN_SAMPLE_ROWS = 20_000
#: How each family's fit (and scoring) time grows with its training rows: time ∝ rows ** growth.
GROWTH = {
    "baseline": 1.0,
    "linear": 1.0,
    "bayes": 1.0,
    "tree": 1.1,
    "ensemble": 1.1,
    "boosting": 1.1,
    "neural": 1.0,
    "neighbors": 2.0,  # scoring compares every validation row with every training row
    "svm": 2.0,  # a kernel SVM's fit grows with the square of its rows (or worse)
    "clustering": 1.2,
    # The isolation forest grows about linearly (trees on samples of fixed size), the local outlier factor
    # and the one-class SVM nearer the square of the rows: one family, between the two.
    "anomaly": 1.5,
}
#: An untimed first fit on this many rows; then probe rows start at PROBE_START_ROWS and double while a
#: probe takes under :data:`PROBE_SECONDS`.
PROBE_WARM_ROWS = 100
PROBE_START_ROWS = 500
PROBE_MAX_ROWS = 2_000
PROBE_SECONDS = 0.2
#: Staged models are probed with this many trees or iterations; the whole estimate is scaled to their count.
PROBE_STAGES = 30
#: Model keys whose first fit in this process (imports, caches) has run.
_warmed: set[str] = set()
#: The smallest a shrunk model may be: stages, epochs, rows.
MIN_STAGES = 20
MIN_EPOCHS = 5
MIN_ROWS = 2_000
#: A planned model may run this much longer than planned before its growth or epochs are ended.
DEADLINE_SLACK = 1.5
#: A network's cost per batch and per weight-row-epoch on the reference machine (2 cores), from
#: ``bench/bench_budget.py``: seconds = epochs × (batches × PER_BATCH + rows × weights × PER_WEIGHT_ROW).
KERAS_PER_BATCH = 0.0025
KERAS_PER_WEIGHT_ROW = 4e-9
KERAS_PER_EPOCH = 0.05
#: A text network's set-up (vocabulary, building, the first traced step), cost per batch, per embedding
#: weight and batch (the optimiser updates the whole table) and per multiply-add of a row
#: (:func:`core.keras_text.text_network_ops`): a least-squares fit to ``bench/bench_text_model.py``'s eight
#: fits (2 shared cores, busy), set-up rounded up.
TEXT_NETWORK_SETUP = 2.0
TEXT_NETWORK_PER_BATCH = 0.012
TEXT_NETWORK_PER_EMBEDDING_WEIGHT = 1.3e-7
TEXT_NETWORK_PER_OP = 2.1e-9
#: Texts read to guess a text network's vocabulary (distinct words grow about as rows ** 0.6 beyond them).
TEXT_SAMPLE_ROWS = 2_000

Clock = Callable[[], float]


@dataclass(frozen=True)
class Estimate:
    """A model's expected cost: ``seconds(rows)`` = ``fixed`` + ``per_unit`` × rows ** ``growth`` (× its repeats)."""

    name: str
    fixed: float
    per_unit: float
    growth: float
    #: Fits a training run makes of it (1 + cross-validation folds).
    repeats: int = 1
    #: Rows the probe timed, or 0 for an estimate from the model's size (networks).
    probed_rows: int = 0

    def seconds(self, rows: int) -> float:
        return self.repeats * (self.fixed + self.per_unit * max(rows, 1) ** self.growth)

    def rows_for(self, seconds: float) -> int:
        """The most rows that fit in ``seconds`` (0 when not even the fixed cost fits)."""
        per_fit = seconds / self.repeats - self.fixed
        if per_fit <= 0 or self.per_unit <= 0:
            return 0 if per_fit <= 0 else 10**12
        return int((per_fit / self.per_unit) ** (1 / self.growth))


@dataclass(frozen=True)
class ModelPlan:
    """One model in a budget: its estimate, what it will train as, and the change in words."""

    name: str
    seconds: float  # estimated, as planned
    run: ModelRun | None  # None: left out
    change: str = ""  # "" (as chosen), "shrunk: …", "left out: …"

    @property
    def left_out(self) -> bool:
        return self.run is None


@dataclass(frozen=True)
class BudgetPlan:
    """What a run will train within its budget (``budget`` 0: no limit)."""

    budget: float
    workers: int
    #: Training rows the models learn from, and the training rows there are.
    rows: int
    of_rows: int
    models: tuple[ModelPlan, ...] = field(default_factory=tuple)
    #: Expected wall seconds of the run (models shared out over the workers).
    seconds: float = 0.0
    #: A sample keeps the most recent training rows (rows cut in time order; :func:`training_sample`).
    recent: bool = False

    @property
    def sampled(self) -> bool:
        return self.rows < self.of_rows

    @property
    def runs(self) -> list[ModelRun]:
        return [m.run for m in self.models if m.run is not None]

    def sample_note(self) -> str:
        """The sample in words ("" when the models learn from every training row)."""
        if not self.sampled:
            return ""
        which = "the most recent" if self.recent else "a stratified sample of"
        return (
            f"Trained on {which} {self.rows:,} of the {self.of_rows:,} training rows, so the run "
            f"fits its {budget_words(self.budget)} time budget. Validation and test rows are all used."
        )

    def notes(self) -> list[str]:
        """What the budget changed, in words, for every page, the report and the model card."""
        out = [self.sample_note()] if self.sampled else []
        changed = [f"{m.name}: {m.change}" for m in self.models if m.change]
        if changed:
            out.append(f"To fit the {budget_words(self.budget)} time budget: " + "; ".join(changed) + ".")
        return out

    def apply(self, request: TrainingRequest) -> TrainingRequest:
        """``request`` with the planned models and (when sampled) the sampled training rows."""
        split = request.split
        if self.sampled:
            split = dataclasses.replace(split, train=training_sample(request, split.train, self.rows))
        return dataclasses.replace(request, models=self.runs, split=split, budget=self)


def budget_words(seconds: float) -> str:
    """ "1-minute", "30-second", "no" for a budget."""
    if not seconds:
        return "no"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}-minute"
    return f"{int(seconds)}-second"


# --------------------------------------------------------------------------- estimating


def _size_param(estimator) -> str | None:
    names = estimator.get_params()
    return next((p for p in ("n_estimators", "max_iter") if p in names), None)


def _final(pipeline):
    model = pipeline.steps[-1][1]
    return getattr(model, "regressor", model)


def _probe_once(request: TrainingRequest, run: ModelRun, rows: int, clock: Clock) -> float:
    """Seconds to fit ``run`` on ``rows`` sampled training rows and score a proportional share of validation rows."""

    split = request.split
    train = sample_positions(None, split.train, min(rows, len(split.train)), request.seed, False)
    share = max(1, round(rows * len(split.valid) / max(len(split.train), 1)))
    valid = split.valid[: min(share, len(split.valid))]
    pipeline = build_model_pipeline(request, run)
    final = _final(pipeline)
    if "n_jobs" in final.get_params():
        final.set_params(n_jobs=1)  # one thread (see estimate); LightGBM sets its own OpenMP threads from it
    started = clock()
    pipeline.fit(*request.xy(train))
    if request.target is not None and len(valid):
        score(pipeline, *request.xy(valid), request.task, request.positive)
    return clock() - started


def _text_network_estimate(request: TrainingRequest, run: ModelRun, repeats: int) -> Estimate:
    """A text network from its size: set-up, then per epoch its batches (with the embedding table the optimiser
    updates at each) and each row's multiply-adds. TensorFlow is not loaded to plan.

    The vocabulary is guessed from the distinct words of a sample of the training texts (at most
    ``vocabulary_size``); the other columns' width is left out (a dense layer's worth per row).
    """
    params = get_spec(run.key).validate(run.params)
    epochs, batch = int(params["epochs"]), int(params["batch_size"])
    rows = len(request.split.train)
    words = _distinct_words(request, request.split.train[:TEXT_SAMPLE_ROWS])
    words *= (rows / max(1, min(rows, TEXT_SAMPLE_ROWS))) ** 0.6
    table = min(int(params["vocabulary_size"]), int(words) + 2) * int(params["embedding_dim"])
    per_batch = TEXT_NETWORK_PER_BATCH + table * TEXT_NETWORK_PER_EMBEDDING_WEIGHT
    per_row = epochs * (per_batch / batch + text_network_ops(params) * TEXT_NETWORK_PER_OP)
    return Estimate(run.name, TEXT_NETWORK_SETUP + epochs * KERAS_PER_EPOCH, per_row, 1.0, repeats)


def _distinct_words(request: TrainingRequest, positions: np.ndarray) -> int:
    """Distinct lower-case words in the text columns of the rows at ``positions``."""
    roles = request.plan.roles_after(request.roles)
    columns = [c for c in request.features if roles.get(c) == Role.TEXT and c in request.frame.columns]
    words: set[str] = set()
    for column in columns:
        for text in request.frame[column].iloc[positions].dropna().astype(str):
            words.update(text.lower().split())
    return len(words)


def _network_estimate(request: TrainingRequest, run: ModelRun, repeats: int, sequence: bool = False) -> Estimate:
    """A network from its size; a sequence network's LSTM and convolution weights count once per row of its
    window (:func:`core.keras_sequence.sequence_ops`)."""
    params = get_spec(run.key).validate(run.params) if sequence else run.params
    features = count_features(
        request.plan, request.roles, request.features, request.frame.iloc[request.split.train], request.options
    )
    classes = int(request.frame[request.target].nunique()) if request.task == Task.MULTICLASS else 2
    if sequence:
        weights = sequence_ops(params["layers"], features, int(params["window"]))
    else:
        table = layer_table(params["layers"], features, request.task.value, classes)
        weights = sum(int(row.get("parameters", 0) or 0) for row in table)
    epochs = int(params["epochs"])
    batch = int(params["batch_size"])
    # seconds(rows) = epochs × (per epoch + rows / batch × per batch + rows × weights × per weight-row)
    per_row = epochs * (KERAS_PER_BATCH / batch + weights * KERAS_PER_WEIGHT_ROW)
    return Estimate(run.name, epochs * KERAS_PER_EPOCH, per_row, 1.0, repeats)


def estimate(request: TrainingRequest, run: ModelRun, clock: Clock = time.perf_counter) -> Estimate:
    """How long ``run`` will take on the request's training rows: a short timed probe, extrapolated.

    Probes run on one thread: they run in the app's own process, beside other people's pages, and
    OpenMP libraries (LightGBM's, scikit-learn's) in one busy process stalled for tens of seconds
    on two cores; the run itself uses every core, so the estimate errs long.
    One untimed fit on a few rows first, once per model in the process (imports and caches would
    count as the model's time); staged models grow :data:`PROBE_STAGES` trees or iterations and the
    estimate is scaled to their count (set-up included, so it errs long);
    then the probe starts at :data:`PROBE_START_ROWS` rows and doubles at least once, and while it
    takes under :data:`PROBE_SECONDS` (per-call costs hide the rows on tiny samples). The last two
    probes split the time into a fixed part and a part that grows with rows (:data:`GROWTH`).
    """

    spec = get_spec(run.key)
    folds = request.split.cv_folds if request.task.has_target else 0
    repeats = 1 + folds
    if spec.raw_text:
        return _text_network_estimate(request, run, repeats)
    if spec.needs_time_order:
        return _network_estimate(request, run, repeats, sequence=True)
    if spec.needs_tensorflow:
        return _network_estimate(request, run, repeats)
    growth = GROWTH.get(spec.family, 1.0)
    available = len(request.split.train)
    run, scale = _fewer_stages(request, run)
    with threadpool_limits(1):
        if run.key not in _warmed:
            _probe_once(request, run, min(PROBE_WARM_ROWS, available), clock)
            _warmed.add(run.key)
        rows, previous = min(PROBE_START_ROWS, available), None
        while True:
            seconds = _probe_once(request, run, rows, clock)
            enough = seconds >= PROBE_SECONDS and previous is not None  # two points at least, to split the time
            if enough or rows >= min(available, PROBE_MAX_ROWS):
                break
            previous = (rows, seconds)
            rows = min(rows * 2, available, PROBE_MAX_ROWS)
    per_unit = seconds / rows**growth
    fixed = 0.0
    if previous is not None and seconds > previous[1]:
        # Two points: the part that grows with rows and a fixed part (set-up, per-call costs).
        grown = (seconds - previous[1]) / (rows**growth - previous[0] ** growth)
        per_unit = max(grown, per_unit / 4)
        fixed = max(0.0, seconds - per_unit * rows**growth)
    return Estimate(run.name, fixed * scale, per_unit * scale, growth, repeats, rows)


def _fewer_stages(request: TrainingRequest, run: ModelRun) -> tuple[ModelRun, float]:
    """A staged model with at most :data:`PROBE_STAGES` trees or iterations, and how much longer the real one is."""

    spec = get_spec(run.key)
    size_param = _size_param(spec.build_estimator(request.task, run.params, seed=request.seed)) if spec.staged else None
    total = int(spec.validate(run.params).get(size_param) or 0) if size_param else 0
    if total <= PROBE_STAGES:
        return run, 1.0
    return dataclasses.replace(run, params={**run.params, size_param: PROBE_STAGES}), total / PROBE_STAGES


def estimate_all(request: TrainingRequest, clock: Clock = time.perf_counter) -> dict[str, Estimate]:
    """:func:`estimate` for every model of the request, by name; a model whose probe fails gets none."""
    out = {}
    for run in request.models:
        try:
            out[run.name] = estimate(request, run, clock)
        except Exception:  # the run itself will say what is wrong with it
            continue
    return out


# --------------------------------------------------------------------------- planning


def parallel_workers(info) -> int:
    """Workers whose models finish sooner side by side (a :class:`core.engine.EngineInfo`).

    The embedded cluster's workers share this machine's cores and most models use every core, so
    models side by side do not end sooner in total: 1. A cluster at an address: its workers.
    """
    return 1 if info.embedded or not info.started else max(1, info.workers)


def wall_seconds(seconds: Sequence[float], workers: int) -> float:
    """The run's wall time with ``seconds`` shared out over ``workers`` (longest first, to the least busy)."""
    loads = [0.0] * max(1, workers)
    for value in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += value
    return max(loads)


def _shrunk(request: TrainingRequest, run: ModelRun, est: Estimate, rows: int, cap: float) -> ModelPlan:
    """``run`` made to fit ``cap`` seconds on ``rows`` rows, or left out with the reason."""

    spec = get_spec(run.key)
    full = est.seconds(rows)
    if full <= cap or spec.family == "baseline":  # the yardstick every model is judged against stays
        return ModelPlan(run.name, full, dataclasses.replace(run, seconds=full))
    over = f"{seconds_words(full)} as chosen"
    share = cap / full
    if spec.needs_tensorflow:
        epochs = int(run.params["epochs"] * share)
        if epochs >= MIN_EPOCHS:
            params = {**run.params, "epochs": epochs}
            note = f"shrunk: {epochs} of {run.params['epochs']} epochs ({over})"
            return ModelPlan(run.name, cap, dataclasses.replace(run, params=params, seconds=cap), note)
    elif spec.staged:
        size_param = _size_param(spec.build_estimator(request.task, run.params, seed=request.seed))
        total = int(run.params.get(size_param, 0) or 0) if size_param else 0
        # Staged cost is fixed + per tree: shrink the trees in proportion to their share of the time.
        stages = int(total * share)
        if size_param and stages >= MIN_STAGES:
            params = {**run.params, size_param: stages}
            word = "trees" if size_param == "n_estimators" else "iterations"
            note = f"shrunk: {stages} of {total} {word} ({over})"
            return ModelPlan(run.name, cap, dataclasses.replace(run, params=params, seconds=cap), note)
    elif spec.family != "baseline":
        fits = min(rows, est.rows_for(cap))
        if fits >= MIN_ROWS:
            note = f"shrunk: learns from {fits:,} of {rows:,} rows ({over})"
            return ModelPlan(run.name, cap, dataclasses.replace(run, max_rows=fits, seconds=cap), note)
    return ModelPlan(run.name, full, None, f"left out: {over}, more than its share of the budget")


def plan(request: TrainingRequest, estimates: dict[str, Estimate], budget: float, workers: int) -> BudgetPlan:
    """What the request's models train as within ``budget`` seconds on ``workers`` workers (0: no limit).

    A model without an estimate (its probe failed) is kept as chosen; the baseline is never left out.
    """
    of_rows = len(request.split.train)
    runs = request.models

    def cost(run: ModelRun, rows: int) -> float:
        est = estimates.get(run.name)
        return est.seconds(rows) if est is not None else 0.0

    def total(rows: int, cap: float = math.inf) -> float:
        return wall_seconds([min(cost(r, rows), cap) for r in runs], workers)

    if not budget or total(of_rows) <= budget:
        models = tuple(ModelPlan(r.name, cost(r, of_rows), dataclasses.replace(r, seconds=None)) for r in runs)
        return BudgetPlan(budget, workers, of_rows, of_rows, models, total(of_rows))

    def at(rows: int) -> tuple[ModelPlan, ...]:
        cap = math.inf
        if total(rows) > budget:
            highest = max(cost(r, rows) for r in runs)
            cap = _largest_float(0.0, highest, lambda c: total(rows, c) <= budget)
        return tuple(
            _shrunk(request, run, estimates[run.name], rows, cap)
            if run.name in estimates
            else ModelPlan(run.name, 0.0, dataclasses.replace(run, seconds=None))
            for run in runs
        )

    # Shrinking the slow models comes first; a sample of the table only when a model would be left out.
    rows, models = of_rows, at(of_rows)

    def complete(n: int) -> bool:
        return not any(m.left_out for m in at(n))

    if not complete(of_rows) and of_rows > MIN_SAMPLE_ROWS and complete(MIN_SAMPLE_ROWS):
        rows = _largest(MIN_SAMPLE_ROWS, of_rows, complete)
        models = at(rows)
    planned = [m.seconds for m in models if not m.left_out]
    return BudgetPlan(
        budget, workers, rows, of_rows, models, wall_seconds(planned, workers), recent=request.split.config.ordered
    )


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int:
    """The largest integer in [low, high] for which ``fits`` holds (``low`` when none does); ``fits`` is monotone."""
    if not fits(low):
        return low
    if fits(high):
        return high
    while high - low > max(1, low // 100):
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _largest_float(low: float, high: float, fits: Callable[[float], bool]) -> float:
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


# --------------------------------------------------------------------------- while training


class Deadline:
    """``should_stop`` for one model: the run's Stop, or the model's planned seconds (with slack) passed.

    :attr:`passed` tells afterwards whether the time limit ended it, :attr:`stopped` whether Stop did.
    """

    def __init__(self, should_stop: Callable[[], bool], seconds: float | None, clock: Clock = time.perf_counter):
        self._should_stop = should_stop
        self._clock = clock
        self._ends = None if seconds is None else clock() + seconds * DEADLINE_SLACK
        self.passed = False
        self.stopped = False

    def __call__(self) -> bool:
        if self._should_stop():
            self.stopped = True
            return True
        if self._ends is not None and self._clock() > self._ends:
            self.passed = True
        return self.passed


def training_sample(request: TrainingRequest, positions: np.ndarray, rows: int | None) -> np.ndarray:
    """At most ``rows`` of ``positions`` (the run's or a shrunk model's sample); all of them when ``rows`` is None.

    Rows cut in time order keep their most recent ``rows``, oldest first: a random sample would leave gaps in
    every sequence, and lags and windows (:mod:`core.time_features`) would read rows days apart as neighbours.
    Otherwise a seeded sample, stratified when the split is.
    """
    if rows is None or rows >= len(positions):
        return positions
    split = request.split
    if split.config.ordered:
        return split.in_time_order(positions)[-rows:]
    labels = request.frame[request.target] if request.task.is_classification else None
    return sample_positions(labels, positions, rows, request.seed, split.config.stratify)


def notes(request: TrainingRequest) -> list[str]:
    """What the run's budget changed, in words (:meth:`BudgetPlan.notes`); none for a run without a plan."""
    return request.budget.notes() if request.budget is not None else []
