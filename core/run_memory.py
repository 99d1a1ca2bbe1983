"""The memory a training run will need, and the per-session limit it is checked against before it starts.

:func:`estimate` adds up, in bytes (a model's parts are :class:`ModelMemory`):

* **the rows**: the request's table (``frame.memory_usage(deep=True)``) once in the
  session and once on every worker (a run broadcasts its rows, :mod:`core.training.run`);
* **each model's working set while it fits**: the encoded training matrix
  (encoded width from :func:`core.features.count_features` × fit rows × 8 bytes)
  × :data:`FIT_COPIES` of its family (the imputed, scaled and encoded copies a
  pipeline makes, plus the estimator's own), plus what its kind needs besides: a
  kernel SVM's cache (:data:`SVM_CACHE_MB`), agglomerative clustering's condensed
  distance matrix (rows² / 2 × 8). Models fit side by side on the workers, so the
  W largest working sets count (W workers). (A k-NN finds neighbours in small
  blocks in scikit-learn ≥ 1.1: no distance matrix.)
* **each fitted model held until the run ends** (finished models stay on their
  workers): a forest's or tree's nodes (:data:`NODE_BYTES` + 8 bytes per class each;
  about 2 × rows ÷ min_samples_leaf nodes per tree, × 0.632 distinct rows when
  bootstrapped, × :data:`CLASS_LEAF_SHARE` for a classifier, at most 2^(depth + 1)),
  a k-NN's or SVM's stored rows (one encoded matrix);
* **TensorFlow** (:data:`TENSORFLOW_MB`) once when the run has a network.

Fit rows are training + validation rows for a run with a target (the chosen
model is refitted on both), a shrunk model's own rows when fewer.

Calibration (``bench/bench_run_memory.py``; 2 shared cores, busy, so rough): each
fit ran alone in a fresh process, built by :func:`core.training.build_model_pipeline`,
fitted on the training + validation rows of a table of 80,000 rows × 30 numeric + 2
categorical columns with a noisy yes/no target (68,000 fit rows, encoded width 41:
21.3 MB as float64), then predicting the validation rows. Peak resident memory above
the process just before the fit (``ru_maxrss``), against this module's estimate of the
same model (working set + held):

==========================================  ========  =========
model                                       measured  estimated
==========================================  ========  =========
Logistic regression                         53 MB     64 MB
Random forest (100 trees, full depth)       175 MB    370 MB
Histogram gradient boosting                 44 MB     53 MB
k-NN (5 neighbours)                         57 MB     64 MB
==========================================  ========  =========

At 20,000 rows the same fits measured 2.6, 8.3, 3.5 and 2.6 encoded matrices
(fixed costs weigh more on small tables). The estimate errs long, as a limit should;
most for forests, whose leaves depend on how noisy the labels are.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import server_settings
from core.errors import DashboardError
from core.features import count_features
from core.registry import get_spec
from core.training.request import BASELINE, ModelRun, TrainingRequest

MB = 1024**2
#: Bytes per encoded value: scikit-learn's preprocessing outputs float64.
VALUE_BYTES = 8
#: Working copies of the encoded training matrix a fit holds at its peak, by family (see the calibration above).
FIT_COPIES = {
    "baseline": 1.0,
    "linear": 3.0,
    "bayes": 2.0,
    "tree": 2.0,
    "ensemble": 2.0,
    "boosting": 2.5,
    "neural": 2.0,
    "neighbors": 2.0,
    "svm": 2.0,
    "clustering": 3.0,
    "anomaly": 2.0,
}
#: Bytes of one tree node besides its values (scikit-learn's ``Node``: seven 8-byte fields and padding).
NODE_BYTES = 64
#: Share of distinct rows in a bootstrap sample (1 - 1/e): a bootstrapped tree has about this many leaves per row.
BOOTSTRAP_SHARE = 0.632
#: A classifier's full-depth tree stops at pure leaves, which hold several rows of one class: at most about
#: half as many leaves as rows even with noisy labels (measured: a quarter, see the calibration above).
CLASS_LEAF_SHARE = 0.5
#: A kernel SVM's kernel cache (scikit-learn's ``cache_size`` default).
SVM_CACHE_MB = 200
#: TensorFlow and Keras once loaded in a worker (docs/GUIDE: about 700 MB).
TENSORFLOW_MB = 700


@dataclass(frozen=True)
class ModelMemory:
    """One model's bytes: while it fits (``working``) and once fitted, until the run ends (``held``)."""

    name: str
    working: float
    held: float


@dataclass(frozen=True)
class RunMemory:
    """A run's estimated memory, by part (bytes)."""

    rows: float  # the request's table: in the session and on every worker
    models: tuple[ModelMemory, ...]
    workers: int
    tensorflow: float = 0.0

    @property
    def total(self) -> float:
        working = sorted((m.working for m in self.models), reverse=True)[: max(1, self.workers)]
        return self.rows + sum(working) + sum(m.held for m in self.models) + self.tensorflow

    @property
    def total_mb(self) -> float:
        return self.total / MB

    def largest(self) -> ModelMemory | None:
        """The model that needs the most (working + held)."""
        return max(self.models, key=lambda m: m.working + m.held, default=None)


def _workers() -> int:
    """Workers that hold the run's rows and fit side by side: the cluster's, or those the embedded one will have."""
    from core import cluster_setup, engine  # distributed loads with it; asked only when a run is checked

    info = engine.info()
    if info.started:
        return max(1, info.workers)
    return cluster_setup.embedded_size() if info.embedded else 1


def fit_rows(request: TrainingRequest, run: ModelRun) -> int:
    """Rows ``run`` fits on at most: its share of the training rows, plus validation rows for the refit."""
    train = len(request.split.train)
    rows = min(train, run.max_rows) if run.max_rows else train
    return rows + (len(request.split.valid) if request.task.has_target else 0)


def model_memory(request: TrainingRequest, run: ModelRun, width: int) -> ModelMemory:
    """``run``'s working and held bytes with ``width`` encoded columns."""
    spec = get_spec(run.key)
    rows = fit_rows(request, run)
    encoded = float(rows) * width * VALUE_BYTES
    working = encoded * FIT_COPIES.get(spec.family, 2.0)
    held = 0.0
    params = spec.validate(run.params)
    if run.key == BASELINE:
        return ModelMemory(run.name, working, 0.0)
    if spec.family in ("tree", "ensemble") or run.key == "isolation_forest":
        held = _tree_bytes(request, params, rows, bootstrap=spec.family == "ensemble")
    elif spec.family == "neighbors" or run.key == "local_outlier_factor":
        held = encoded  # it keeps its training rows; scikit-learn finds neighbours in small blocks (ArgKmin)
    elif spec.family == "svm" or run.key == "one_class_svm":
        held = encoded  # support vectors: at most every row
        working += SVM_CACHE_MB * MB
    elif run.key == "agglomerative":
        working += rows * (rows - 1) / 2 * VALUE_BYTES  # the condensed distance matrix
    return ModelMemory(run.name, working, held)


def _tree_bytes(request: TrainingRequest, params: dict, rows: int, bootstrap: bool) -> float:
    trees = int(params.get("n_estimators") or 1)
    leaf = max(1, int(params.get("min_samples_leaf") or 1))
    depth = params.get("max_depth")
    nodes = 2 * rows * (BOOTSTRAP_SHARE if bootstrap else 1.0) / leaf
    values = 1
    if request.task.is_classification and request.target is not None:
        values = max(2, int(request.frame[request.target].nunique()))
        nodes *= CLASS_LEAF_SHARE
    if depth:
        nodes = min(nodes, 2.0 ** (int(depth) + 1))
    return trees * nodes * (NODE_BYTES + VALUE_BYTES * values)


def estimate(request: TrainingRequest, workers: int | None = None) -> RunMemory:
    """The memory ``request``'s run will need (see the module's docstring), on ``workers`` workers."""
    workers = _workers() if workers is None else max(1, workers)
    train = request.frame.iloc[request.split.train]
    width = max(1, count_features(request.plan, request.roles, request.features, train, request.options))
    rows_bytes = float(request.frame.memory_usage(index=True, deep=True).sum()) * (1 + workers)
    models = tuple(model_memory(request, run, width) for run in request.models)
    networks = any(get_spec(run.key).needs_tensorflow for run in request.models)
    return RunMemory(rows_bytes, models, workers, TENSORFLOW_MB * MB if networks else 0.0)


def limit_mb() -> float:
    """The per-session limit (:data:`core.server_settings.SESSION_MEMORY_MB`)."""
    return server_settings.SESSION_MEMORY_MB.value()


def megabytes_words(mb: float) -> str:
    """ "850 MB", "3.1 GB"."""
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else f"{max(1, round(mb)):,} MB"


def check(request: TrainingRequest, workers: int | None = None) -> RunMemory:
    """The run's estimate when it fits the per-session limit.

    Raises:
        DashboardError: The run is estimated to need more than the limit: the estimate, the limit, the model
            that needs most, and what to do.
    """
    need = estimate(request, workers)
    limit = limit_mb()
    if need.total_mb <= limit:
        return need
    largest = need.largest()
    chosen = [run for run in request.models if run.key != BASELINE]
    most = f" {largest.name} needs the most." if largest is not None and len(chosen) > 1 else ""
    fixes = ["choose fewer models"] if len(chosen) > 1 else []
    fixes.append("untick the columns that become many on the Target page (wide text, categories with many values)")
    raise DashboardError(
        f"This run would need about {megabytes_words(need.total_mb)} of memory; each session may use "
        f"{megabytes_words(limit)} on this server, so it was not started.{most}",
        hint=f"{(said := ' or '.join(fixes))[0].upper()}{said[1:]}. Or ask whoever runs this server to raise "
        f"{server_settings.SESSION_MEMORY_MB.env}.",
    )
