"""The one place that defines session-state keys, with typed access.

Data lives under these non-widget keys (widget keys vanish when their page is
not shown). Setters invalidate what depends on them: a new dataset clears roles,
profile, target and plan; a new role override clears the profile, target and
plan; a new target clears the plan.

Per-person objects live only in ``st.session_state``; nothing here goes into
``st.cache_resource`` or module globals, which every visitor shares.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from core.experiment_store import LOOPBACK, experiments_shared
from core.load_options import LoadOptions
from ui import sessions

# The state module loads with the first page, before any table: the modules that work on tables
# (pandas) or train (scikit-learn) are imported where a dataset or a job already exists.
if TYPE_CHECKING:  # names for annotations only
    from collections.abc import Callable, Hashable

    from core.cleaning import CleaningPlan
    from core.demo import DemoProgress
    from core.loading import Dataset
    from core.profiling import Profile
    from core.schema import Role, RoleGuess
    from core.split import SplitConfig
    from core.target import TargetChoice
    from core.training import TrainingJob, TrainSetup
    from core.tuning import TuningJob

DATASET = "data.dataset"
RAW = "data.raw"  # the uploaded bytes, kept so the person can re-read with other options
SOURCE = "data.source"
LOAD_OPTIONS = "data.load_options"
ROLE_GUESSES = "data.role_guesses"
ROLE_OVERRIDES = "data.role_overrides"
PROFILE = "data.profile"
TARGET = "target.choice"
TARGET_DRAFT = "target.draft"  # (version, target, features): where the features table starts after a guard's "untick"
PLAN = "clean.plan"
TRAIN_SETUP = "models.setup"
OWN_SPLIT = "models.own_split"  # (the setup's split, the person's own split choice): see own_split()
JOB = "train.job"
TUNING_JOB = "models.tuning_job"
TEST_LOG = "results.test_log"  # every scoring of a test split in this session
EXPLAIN_JOBS = "explain.jobs"  # model name -> ExplainJob, for the current training job
LOAD_ERROR = "data.load_error"  # (file_id, message) of the last upload that failed
VERSION = "data.version"  # bumps with every new dataset; keys per-dataset widgets
UPLOAD_SEEN = "data.upload_seen"  # file_id of the last upload read (or refused)
LOADED_MODELS = "use.loaded_models"  # UsableModels restored from bundles or experiment runs
PREDICTED = "use.predicted"  # ((model label, file id), file name, scored frame, report, added columns): last batch
STREAM = "use.stream"  # (ScoringJob, model label, file name, spilled input path or None): the last whole file scored in chunks
STREAM_FOLDER = "use.stream_folder"  # this session's folder name for scored files (core.scoring.session_folder)
BUNDLE_UPLOAD = "use.bundle_upload"  # (file id, error message or None) of the last bundle upload read
FORM_ROWS = "use.form_rows"  # model label -> the values last submitted in the Predict form
PORTABLE = "use.portable"  # ((name, origin, id(pipeline)), [PortableExport | Unavailable]): the last model's files
PENDING = "data.pending"  # (Dataset, bytes, Source, LoadOptions) read while work was running: awaits a decision
WORKSPACE = "ui.workspace"  # this browser workspace's id (also in the address bar as ?ws=…)
RESTORE = "data.restore"  # (data version when asked, the recorded run, its settings): waits for the run's data
RESTORE_NOTE = "data.restore_note"  # ("success" | "error", message): how the last restore went, shown once
KEPT = "ui.kept"  # widget key -> (token, last value): view choices that survive a visit to another page
# Classroom and boardroom (issue 12)
GUIDED = "ui.guided"  # bool: guided mode (two sentences per step on why it matters and the classic mistake); on at first visit
REVEAL = "ui.reveal"  # bool: "predict before you reveal" (the class guesses before a leaderboard or a test score shows)
GUESSES = "ui.guesses"  # reveal key -> the guess the class entered ("" until revealed); see ui/reveal_views.py
THEME = "ui.theme"  # "Light" | "Dark" | "High contrast": the look of the pages and the charts' palette
DEMO = "ui.demo"  # the one-click demo's progress (ui/demo_views.py), None when no demo runs
PROJECT_NOTE = (
    "data.project_note"  # ("success" | "warning" | "error", message): how the last project file loaded, shown once
)
FAIRNESS = "results.fairness"  # (model name, group column) -> (id(job), FairnessReport): the current run's only
WORDS_JOB = "explain.words_job"  # (what it explains, WordsJob): the Explain page's last word explanation on the cluster
IDLE_FREED = "ui.idle_freed"  # minutes: this session's data was freed after that long without a click (ui/sessions.py)
#: What an idle session keeps when its data is freed: the person's light choices (workspace, teaching modes, look).
KEPT_WHEN_IDLE = (WORKSPACE, GUIDED, REVEAL, THEME)
SCRATCH = "data.scratch"  # core.big_files.ScratchDir: this session's big uploads on disk, removed with the session
RUN_MEMO = "results.run_memo"  # (job, {(name, key): (owners, value)}): what run_memo kept of that run

_DOWNSTREAM = {
    DATASET: [ROLE_GUESSES, ROLE_OVERRIDES, PROFILE, TARGET, PLAN, TRAIN_SETUP, JOB, TUNING_JOB],
    ROLE_OVERRIDES: [PROFILE, TARGET, PLAN, TRAIN_SETUP, JOB, TUNING_JOB],
    TARGET: [PLAN, TRAIN_SETUP, JOB, TUNING_JOB],
    PLAN: [JOB, TUNING_JOB],
}


@dataclass(frozen=True)
class Source:
    """Where the current dataset came from."""

    name: str
    kind: str  # "upload", "sample" or "server" (a file of the server's data folder)
    file_id: str  # identifies one upload, so reruns do not re-read it
    #: A file too big to read whole, on disk (the upload written to the session's scratch folder, or a server
    #: file): re-reading it reads this path lazily; ``None`` for tables read whole from their bytes.
    path: str | None = None


def init() -> None:
    """Create every key with its empty value (idempotent)."""
    defaults: dict[str, Any] = {
        DATASET: None, RAW: None, SOURCE: None, LOAD_OPTIONS: LoadOptions(),
        ROLE_GUESSES: None, ROLE_OVERRIDES: {}, PROFILE: None, TARGET: None, TARGET_DRAFT: None, PLAN: None,
        TRAIN_SETUP: None, JOB: None, TUNING_JOB: None, TEST_LOG: [], EXPLAIN_JOBS: {},
        LOAD_ERROR: None, VERSION: 0, UPLOAD_SEEN: None, LOADED_MODELS: [], PREDICTED: None,
        BUNDLE_UPLOAD: None, FORM_ROWS: {}, PENDING: None, RESTORE: None,
        GUIDED: True, REVEAL: False, GUESSES: {}, THEME: "Light", DEMO: None, FAIRNESS: {},
    }  # fmt: skip
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


#: Why work on data that changed is stopped, by what changed (recorded with the run).
_STOP_REASONS = {
    DATASET: "other data was loaded",
    ROLE_OVERRIDES: "a column's role was changed",
    TARGET: "the target or the features were changed",
    PLAN: "the cleaning plan was changed",
}


def _clear(key: str) -> None:
    for downstream in _DOWNSTREAM.get(key, []):
        if downstream in (JOB, TUNING_JOB) and st.session_state.get(downstream) is not None:
            st.session_state[downstream].stop(_STOP_REASONS[key])  # work on data that changed: stop it
        st.session_state[downstream] = {} if downstream == ROLE_OVERRIDES else None


# -- data -------------------------------------------------------------------


def dataset() -> Dataset | None:
    return st.session_state.get(DATASET)


def raw() -> bytes | None:
    return st.session_state.get(RAW)


def source() -> Source | None:
    return st.session_state.get(SOURCE)


def load_options() -> LoadOptions:
    return st.session_state.get(LOAD_OPTIONS) or LoadOptions()


def set_dataset(ds: Dataset, data: bytes | None, src: Source, options: LoadOptions) -> None:
    """Make ``ds`` the current dataset; everything downstream starts over."""
    st.session_state[DATASET] = ds
    st.session_state[RAW] = data
    st.session_state[SOURCE] = src
    st.session_state[LOAD_OPTIONS] = options
    st.session_state[LOAD_ERROR] = None
    st.session_state[VERSION] = version() + 1
    _clear(DATASET)
    _tidy_scratch()


def scratch():
    """This session's folder for big files (created at the first big file; removed when the session's state is
    cleared, at the latest when the server stops: see :class:`core.big_files.ScratchDir`)."""
    from core.big_files import ScratchDir

    held = st.session_state.get(SCRATCH)
    if held is None or held.closed:
        held = ScratchDir()
        st.session_state[SCRATCH] = held
    return held


def _tidy_scratch() -> None:
    """Let go of big files no table of this session reads any more (the current one, one held pending)."""
    held = st.session_state.get(SCRATCH)
    if held is None:
        return
    tables = [dataset(), (pending_dataset() or (None,))[0]]
    sources = [source(), (pending_dataset() or (None, None, None))[2]]
    paths = {t.big.path for t in tables if t is not None and t.big is not None}
    paths |= {src.path for src in sources if src is not None and src.path}
    held.keep_only(paths)


def set_training_table(ds: Dataset) -> None:
    """Make ``ds`` (a new sample of the same big file, drawn for the chosen target) the table, keeping the
    roles, the profile (of the whole file) and the target; per-dataset widgets and previews start over."""
    st.session_state[DATASET] = ds
    st.session_state[VERSION] = version() + 1


_WORKSPACE_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def workspace() -> str:
    """This browser's workspace: its runs in the experiment log, kept in the address (``?ws=…``) across reloads.

    A visitor without one gets a new random id; bookmarking or sharing the address shares the workspace.
    """
    ws = st.session_state.get(WORKSPACE)
    if ws is None:
        given = st.query_params.get("ws")
        ws = given if given and _WORKSPACE_ID.match(given) else secrets.token_urlsafe(9)
        st.session_state[WORKSPACE] = ws
    if st.query_params.get("ws") != ws:
        st.query_params["ws"] = ws
    return ws


def served_locally() -> bool:
    """Whether the app answers this computer only (so showing its file paths reveals nothing to others)."""
    return str(st.get_option("server.address") or "") in LOOPBACK


def visible_workspace() -> str | None:
    """The workspace whose runs this visitor sees, or ``None`` when every run is shared (see core.tracking)."""
    return None if experiments_shared(st.get_option("server.address")) else workspace()


def restore_pending():
    """A restore waiting for its data: (data version when asked, the recorded run, its settings), or ``None``."""
    return st.session_state.get(RESTORE)


def set_restore_pending(value) -> None:
    st.session_state[RESTORE] = value


def set_restore_note(kind: str, message: str) -> None:
    st.session_state[RESTORE_NOTE] = (kind, message)


def take_restore_note() -> tuple[str, str] | None:
    """How the last restore went, once (it is forgotten when read)."""
    return st.session_state.pop(RESTORE_NOTE, None)


def set_project_note(kind: str, message: str) -> None:
    """How opening a project file went: ``kind`` is "success", "warning" or "error"."""
    st.session_state[PROJECT_NOTE] = (kind, message)


def project_note() -> tuple[str, str] | None:
    """How the last project file opened, without forgetting it."""
    return st.session_state.get(PROJECT_NOTE)


def take_project_note() -> tuple[str, str] | None:
    """How the last project file opened, once (it is forgotten when read)."""
    return st.session_state.pop(PROJECT_NOTE, None)


def running_work() -> str | None:
    """The work new data would stop, in words ("a training run (2 of 5 models done)"), or ``None``."""
    current = job()
    if current is not None and current.snapshot().status == "running":
        if current.waiting() is not None:
            return "a training run still waiting for a free place on the server (nothing trained yet)"
        snap = current.snapshot()
        done = sum(1 for r in snap.results)
        total = len(current.request.models)
        return f"a training run ({done} of {total} models done)"
    search = tuning_job()
    if search is not None and search.snapshot().status == "running":
        return "a search for a model's best settings"
    return None


def work_in_progress() -> bool:
    """Whether closing the tab now would cut work short: a run, its checks or recording, a search, an explanation."""
    current = job()
    if current is not None and (
        current.snapshot().status == "running" or current.checking or current.after_run().pending
    ):
        return True
    if running_work() is not None:
        return True
    jobs = st.session_state.get(EXPLAIN_JOBS) or {}
    return any(entry[1].snapshot().status == "running" for entry in jobs.values())


def pending_dataset():
    """Data read while work was running, waiting for the person to decide: (Dataset, bytes, Source, LoadOptions)."""
    return st.session_state.get(PENDING)


def offer_dataset(ds: Dataset, data: bytes | None, src: Source, options: LoadOptions) -> bool:
    """Make ``ds`` the dataset now, or hold it while work is running; True if it was made current."""
    if running_work() is None:
        set_dataset(ds, data, src, options)
        return True
    st.session_state[PENDING] = (ds, data, src, options)
    _tidy_scratch()
    return False


def resolve_pending(use_it: bool) -> None:
    """Use the held data (stopping the running work, recorded as such) or forget it."""
    held = pending_dataset()
    st.session_state[PENDING] = None
    if use_it and held is not None:
        set_dataset(*held)
    _tidy_scratch()


def version() -> int:
    """A number that changes whenever the dataset does."""
    return int(st.session_state.get(VERSION) or 0)


def upload_seen() -> str | None:
    return st.session_state.get(UPLOAD_SEEN)


def set_upload_seen(file_id: str) -> None:
    """Remember that this upload was handled, so reruns do not read it again."""
    st.session_state[UPLOAD_SEEN] = file_id


def load_error() -> tuple[str, str] | None:
    return st.session_state.get(LOAD_ERROR)


def set_load_error(file_id: str, message: str) -> None:
    """Remember a failed upload so reruns show its message without re-reading it."""
    st.session_state[LOAD_ERROR] = (file_id, message)


def role_guesses() -> dict[str, RoleGuess]:
    """Inferred roles of the current dataset (computed once per dataset)."""
    guesses = st.session_state.get(ROLE_GUESSES)
    ds = dataset()
    if guesses is None and ds is not None:
        from core.schema import infer_roles  # pandas is loaded: there is a table (see the imports above)

        guesses = infer_roles(ds.frame)
        st.session_state[ROLE_GUESSES] = guesses
    return guesses or {}


def role_overrides() -> dict[str, str]:
    return dict(st.session_state.get(ROLE_OVERRIDES) or {})


def set_role_overrides(overrides: dict[str, str]) -> None:
    """Store the person's role choices; profile, target and plan start over."""
    if overrides == role_overrides():
        return
    st.session_state[ROLE_OVERRIDES] = dict(overrides)
    _clear(ROLE_OVERRIDES)


def roles() -> dict[str, Role]:
    """Effective roles: inferred, with overrides applied."""
    from core.schema import effective_roles  # with the table's modules (see the imports above)

    return effective_roles(role_guesses(), role_overrides())


def current_profile() -> Profile | None:
    """Profile of the current dataset under the current roles (computed once)."""
    prof = st.session_state.get(PROFILE)
    ds = dataset()
    if prof is None and ds is not None:
        from core.profiling import profile  # pandas is loaded: there is a table (see the imports above)

        prof = profile(ds.frame, roles(), big=ds.big)
        st.session_state[PROFILE] = prof
    return prof


# -- target and plan ----------------------------------------------------------


def target() -> TargetChoice | None:
    return st.session_state.get(TARGET)


def set_target(choice: TargetChoice) -> None:
    """Store the target decision; the cleaning plan starts over if it changed.

    A new positive class alone keeps the plan and the model settings: only the trained models
    (whose curves and explanations name it) are cleared.
    """
    previous = target()
    st.session_state[TARGET] = choice
    before, after = (previous.to_dict() if previous else None), choice.to_dict()
    if before is None or {**before, "positive": None} != {**after, "positive": None}:
        _clear(TARGET)
    elif before["positive"] != after["positive"]:
        _clear(PLAN)


def feature_draft(target_column: str | None) -> tuple[str, ...] | None:
    """The features a guard's "untick" left for this dataset and target, if any."""
    draft = st.session_state.get(TARGET_DRAFT)
    if draft is None or draft[0] != version() or draft[1] != target_column:
        return None
    return draft[2]


def untick_feature(target_column: str | None, features: list[str], column: str) -> None:
    """Leave ``column`` out of the features (a guard's one-click fix).

    A saved choice for the same target keeps its plan, model choices and trained
    runs: only the features change (the runs keep the request they were trained on).
    """
    kept = tuple(c for c in features if c != column)
    st.session_state[TARGET_DRAFT] = (version(), target_column, kept)
    saved = target()
    if saved is not None and saved.target == target_column:
        st.session_state[TARGET] = dataclasses.replace(saved, features=list(kept))


def plan() -> CleaningPlan | None:
    return st.session_state.get(PLAN)


def set_plan(new_plan: CleaningPlan) -> None:
    """Store the plan; trained models go if it changed (they used the old plan)."""
    previous = plan()
    st.session_state[PLAN] = new_plan
    if previous is not None and previous.to_dict() != new_plan.to_dict():
        _clear(PLAN)


def train_setup() -> TrainSetup | None:
    return st.session_state.get(TRAIN_SETUP)


def set_train_setup(setup: TrainSetup) -> None:
    st.session_state[TRAIN_SETUP] = setup


def set_own_split(used: SplitConfig, own: SplitConfig) -> None:
    """The person's own split choice ``own``, from which the setup's split ``used`` was made (time features
    order it): switched off, the person's choice comes back (:func:`own_split`)."""
    st.session_state[OWN_SPLIT] = (used, own)


def own_split(setup: TrainSetup) -> SplitConfig:
    """The person's own split choice for ``setup``: its split unless time features derived it (then the one
    they derived it from, or, for a setup from a project or a run, the same split without the time order)."""
    held = st.session_state.get(OWN_SPLIT)
    if held is not None and held[0] == setup.split:
        return held[1]
    if setup.options.time is None:
        return setup.split
    from core.split import SplitConfig

    unordered = {"time_column": None, "in_row_order": False, "entity_column": None}
    return dataclasses.replace(setup.split, **unordered, stratify=SplitConfig.stratify)


def job() -> TrainingJob | None:
    """This session's training job (running or done), if any."""
    return st.session_state.get(JOB)


def set_job(new_job: TrainingJob) -> None:
    """Keep a new job; an older one still running is stopped."""
    old = job()
    if old is not None and old is not new_job:
        old.stop("a new run was started")
        _forget_runs()
    st.session_state[JOB] = new_job
    sessions.watch(new_job)  # stopped if the browser session ends


def _forget_runs() -> None:
    """Let go of what belonged to earlier runs: explanations (stopped if running), fairness reports,
    the word explanation, and the model sent to a worker for them (each held its model, some on a worker)."""
    for _, held in (st.session_state.get(EXPLAIN_JOBS) or {}).values():
        held.stop("a new run was started")
    words = st.session_state.get(WORDS_JOB)
    if words is not None:
        words[1].stop("a new run was started")
    st.session_state[EXPLAIN_JOBS], st.session_state[FAIRNESS], st.session_state[WORDS_JOB] = {}, {}, None
    st.session_state.pop("memo.explain_model", None)  # a future keeping an earlier run's model on a worker
    st.session_state.pop(RUN_MEMO, None)  # predictions, curves and figures of the earlier run


def free_idle_session(session_state, minutes: float) -> None:
    """Drop an idle session's data from outside its script runs (``ui.sessions``), with a note that says so
    (:func:`take_idle_note`). Its jobs and tables go with the keys of this module (memos included), except
    :data:`KEPT_WHEN_IDLE`. Widget values stay: the tab is still open, and a widget whose state vanished
    would have its change callback run on the next click."""
    ours = {value for name, value in globals().items() if name.isupper() and isinstance(value, str)}
    for key in list(session_state):
        mine = key in ours or key.startswith(("memo.", "editor_base."))
        if mine and key not in KEPT_WHEN_IDLE:
            del session_state[key]
    session_state[IDLE_FREED] = minutes


def take_idle_note() -> float | None:
    """The minutes after which this session's data was freed for being idle, once (forgotten when read)."""
    return st.session_state.pop(IDLE_FREED, None)


def memo(name: str, token: object, compute, still_good=lambda value: True):
    """Keep the last result of ``compute`` per session until ``token`` changes.

    For costly previews recomputed on every rerun otherwise (per person, so it
    is not a shared cache). ``still_good(value)`` false computes it again (a
    model kept on a worker that has gone).
    """
    key = f"memo.{name}"
    held = st.session_state.get(key)
    if held is not None and held[0] == token and still_good(held[1]):
        return held[1]
    value = compute()
    st.session_state[key] = (token, value)
    return value


#: The most results :func:`run_memo` keeps per session (the oldest go first): views × models × choices × themes.
RUN_MEMO_SIZE = 64


def run_memo(name: str, key: Hashable, compute: Callable[[], Any], owners: tuple = ()) -> Any:
    """The result of ``compute`` for ``(name, key)`` of this session's current run, computed once.

    For what a page shows from a fitted run that does not change between reruns (predictions per
    split, curves, tables, the figures drawn from them). Per session, never shared: kept in this
    session's state with the run (the job object itself, not its id) and let go of when another
    run takes its place. ``owners`` are the objects the result was computed from (a model, the
    models compared): a model replaced by its refit computes again, even under the same name.
    """
    current = job()
    held = st.session_state.get(RUN_MEMO)
    if held is None or held[0] is not current:
        held = (current, {})
        st.session_state[RUN_MEMO] = held
    kept = held[1]
    entry = kept.get((name, key))
    same = entry is not None and len(entry[0]) == len(owners)
    if same and all(a is b for a, b in zip(entry[0], owners, strict=True)):
        return entry[1]
    value = compute()
    kept.pop((name, key), None)
    while len(kept) >= RUN_MEMO_SIZE:
        kept.pop(next(iter(kept)))
    kept[(name, key)] = (owners, value)
    return value


def tuning_job() -> TuningJob | None:
    """This session's tuning search (running or done), if any."""
    return st.session_state.get(TUNING_JOB)


def set_tuning_job(new_job: TuningJob) -> None:
    old = tuning_job()
    if old is not None and old is not new_job:
        old.stop("a new search was started")
    st.session_state[TUNING_JOB] = new_job
    sessions.watch(new_job)


def trained_models() -> list:
    """Models the current job has finished (empty while none has)."""
    current = job()
    if current is None:
        return []
    from core.training import TrainedModel  # a job exists: core.training is loaded (see the imports above)

    return [r for r in current.snapshot().results if isinstance(r, TrainedModel)]


def test_log() -> list[dict]:
    """Every scoring of a test split in this session (kept across new runs on purpose)."""
    return list(st.session_state.get(TEST_LOG) or [])


def test_scores(model: str) -> dict[str, float] | None:
    """The test scores of ``model`` of the current run, if the person asked for them."""
    key = (id(job()), model)
    return next((entry["scores"] for entry in test_log() if entry["key"] == key), None)


def log_test(key: tuple, model: str, scores: dict[str, float]) -> dict:
    """Record one look at the test split and return the entry."""
    entry = {"key": key, "model": model, "scores": scores}
    st.session_state[TEST_LOG] = [*test_log(), entry]
    return entry


def editor_base(widget_key: str, build):
    """The table a dynamic ``st.data_editor`` starts from, kept stable while it is shown.

    With ``num_rows="dynamic"`` Streamlit ties the editor's identity to its data, so
    feeding it a table rebuilt from the latest edits each rerun recreated it and
    dropped every other edit. The base is rebuilt only when the editor is drawn
    afresh (first time, or after a visit to another page).
    """
    store = f"editor_base.{widget_key}"
    if widget_key not in st.session_state or store not in st.session_state:
        st.session_state[store] = build()
    return st.session_state[store]


def explain_job(model: str):
    """The explanation job of one model of the current run (kept: revisiting is instant)."""
    jobs = st.session_state.get(EXPLAIN_JOBS) or {}
    entry = jobs.get(model)
    return entry[1] if entry and entry[0] == id(job()) else None


def fairness_report(model: str, column: str):
    """The fairness report of one model of the current run by one column (a ``core.fairness.FairnessReport``)."""
    entry = (st.session_state.get(FAIRNESS) or {}).get((model, column))
    return entry[1] if entry and entry[0] == id(job()) else None


def fairness_reports(model: str) -> list:
    """Every fairness report of one model of the current run, in the order they were made."""
    held = st.session_state.get(FAIRNESS) or {}
    return [entry[1] for (name, _), entry in held.items() if name == model and entry[0] == id(job())]


def set_fairness_report(model: str, column: str, report) -> None:
    """Keep a fairness report for the current run; those of earlier runs go."""
    run = id(job())
    held = {key: entry for key, entry in (st.session_state.get(FAIRNESS) or {}).items() if entry[0] == run}
    held.pop((model, column), None)  # the newest last
    held[(model, column)] = (run, report)
    st.session_state[FAIRNESS] = held


def words_job(token: object):
    """The word explanation running or done on the cluster for ``token`` (run, model, column, class), if any."""
    held = st.session_state.get(WORDS_JOB)
    return held[1] if held is not None and held[0] == token else None


def stream_job():
    """The last whole file scored in chunks: (ScoringJob, model label, file name, spilled input or None), or None."""
    return st.session_state.get(STREAM)


def set_stream_job(held) -> None:
    """Keep a file's scoring job; one still running is stopped (one at a time per session)."""
    old = st.session_state.get(STREAM)
    if old is not None and old[0] is not held[0]:
        old[0].stop("another file was scored")
    st.session_state[STREAM] = held
    sessions.watch(held[0])


def stream_folder() -> str:
    """This session's name for its folder of scored files (random, made once per session)."""
    name = st.session_state.get(STREAM_FOLDER)
    if name is None:
        name = st.session_state[STREAM_FOLDER] = f"session-{secrets.token_hex(8)}"
    return name


def set_words_job(token: object, new_job) -> None:
    """Keep ``new_job`` for ``token``; an earlier one still running is stopped (one at a time per session)."""
    held = st.session_state.get(WORDS_JOB)
    if held is not None and held[1] is not new_job:
        held[1].stop("another word explanation was started")
    st.session_state[WORDS_JOB] = (token, new_job)
    sessions.watch(new_job)


def set_explain_job(model: str, new_job) -> None:
    jobs = dict(st.session_state.get(EXPLAIN_JOBS) or {})
    old = jobs.get(model)
    if old is not None:
        old[1].stop()
    jobs[model] = (id(job()), new_job)
    st.session_state[EXPLAIN_JOBS] = jobs
    sessions.watch(new_job)


def demo() -> DemoProgress | None:
    """The one-click demo of this session (running or ended), if one was started."""
    return st.session_state.get(DEMO)


def set_demo(progress: DemoProgress | None) -> None:
    """Keep the demo's progress (``None`` forgets it); what it made is kept by the setters above."""
    st.session_state[DEMO] = progress


def kept(widget_key: str, default, *, token: object = None, allowed=None):
    """The value a keyed widget should start from: the person's last choice, else ``default``.

    Streamlit forgets a widget's value when its page is not shown. Pass this as
    the widget's default and give what the widget returns to :func:`keep`. The
    last choice is dropped when ``token`` changed (e.g. a new training run) or
    when it is no longer one of ``allowed`` (a list keeps its allowed items).
    """
    held = (st.session_state.get(KEPT) or {}).get(widget_key)
    if held is None or held[0] != token:
        return default
    value = held[1]
    if allowed is not None and isinstance(value, list):
        return [v for v in value if v in allowed]
    return value if allowed is None or value in allowed else default


def keep(widget_key: str, value, *, token: object = None) -> None:
    """Remember a widget's current value for :func:`kept` (per person, in the session)."""
    held = dict(st.session_state.get(KEPT) or {})
    held[widget_key] = (token, value)
    st.session_state[KEPT] = held


# -- teaching: guided mode, predict before you reveal --------------------------


def guided() -> bool:
    """Whether guided mode is on (the two sentences per step); on at a first visit."""
    return bool(st.session_state.get(GUIDED, True))


def set_guided(on: bool) -> None:
    st.session_state[GUIDED] = bool(on)


def reveal_on() -> bool:
    """Whether "predict before you reveal" is on (the class guesses before a leaderboard or a test score shows)."""
    return bool(st.session_state.get(REVEAL, False))


def set_reveal(on: bool) -> None:
    st.session_state[REVEAL] = bool(on)


def theme() -> str:
    """The person's theme: "Light", "Dark" or "High contrast" (see ui/theme_views.py)."""
    return str(st.session_state.get(THEME) or "Light")


def set_theme(name: str) -> None:
    st.session_state[THEME] = name


def guess(key: str) -> str | None:
    """What the class guessed at the reveal ``key`` ("" for no guess), or ``None`` while it is not revealed."""
    return (st.session_state.get(GUESSES) or {}).get(key)


def set_guess(key: str, value: str) -> None:
    """Record the class's guess at ``key``: the hidden thing is revealed from now on."""
    st.session_state[GUESSES] = {**(st.session_state.get(GUESSES) or {}), key: value}


# -- using models -------------------------------------------------------------


def loaded_models() -> list:
    """Models restored from bundles or experiment runs in this session (kept across new data)."""
    return list(st.session_state.get(LOADED_MODELS) or [])


def add_loaded_model(usable) -> None:
    """Keep a restored model; one with the same name and origin replaces the older copy."""
    others = [m for m in loaded_models() if (m.name, m.origin) != (usable.name, usable.origin)]
    st.session_state[LOADED_MODELS] = [*others, usable]


def bundle_upload() -> tuple[str, str | None] | None:
    """``(file id, error message or None)`` of the last bundle upload read."""
    return st.session_state.get(BUNDLE_UPLOAD)


def set_bundle_upload(file_id: str, error: str | None) -> None:
    """Remember a bundle upload was read (and why it was refused), so reruns do not read it again."""
    st.session_state[BUNDLE_UPLOAD] = (file_id, error)


def portable_formats(token: tuple) -> list | None:
    """The portable files built for the model ``token`` names (``None`` until built); one model's are kept."""
    held = st.session_state.get(PORTABLE)
    return held[1] if held is not None and held[0] == token else None


def set_portable_formats(token: tuple, results: list) -> None:
    """Keep the portable files of one model (a model's replace another's: they may be large)."""
    st.session_state[PORTABLE] = (token, results)


def form_row(label: str) -> dict | None:
    """The values last submitted in the Predict form for the model called ``label``."""
    return (st.session_state.get(FORM_ROWS) or {}).get(label)


def set_form_row(label: str, values: dict) -> None:
    st.session_state[FORM_ROWS] = {**(st.session_state.get(FORM_ROWS) or {}), label: values}


def predicted_batch():
    """The last scored file: ``((model label, file id), file name, scored frame, report, added columns)``."""
    return st.session_state.get(PREDICTED)


def set_predicted_batch(held) -> None:
    st.session_state[PREDICTED] = held


def usable_models() -> dict[str, Any]:
    """Every model the person can use now, by a label that names where it came from.

    Models of the current training run are wrapped once per run (the schema is
    learned from its training split); restored ones follow.
    """
    current = job()
    models: dict[str, Any] = {}
    if current is not None:
        from core.predict import usable_from_training  # a job exists: its modules are loaded (see the imports above)

        trained = trained_models()
        name = source().name if source() is not None else "data"
        token = (id(current), tuple(m.name for m in trained))
        wrapped = memo(
            "usable_models", token, lambda: [usable_from_training(m, current.request, name) for m in trained]
        )
        models.update({f"{u.name} (trained now)": u for u in wrapped})
    for usable in loaded_models():
        models[f"{usable.name} ({usable.origin})"] = usable
    return models
