"""A project file: the table, the target, the cleaning plan and the model settings as one JSON download.

A teacher saves one on the Models page and hands it out; opening it on the Data page rebuilds the
session up to the Models page (the person only presses Train). The file is the ``session.json`` a
recorded run keeps for restoring it, written by the same function (:func:`core.restore.run_settings`:
the target and features, the cleaning plan, the split and its seed, the models and their settings,
the imbalance treatment, the ranking metric, a fingerprint: here of the table as loaded, where a
recorded run's is of the rows it trained on), with what the app adds to it (where the table came
from, how it was read, role changes) and three more things:

* a marker and a version (``"format": "nocode-ml-project"``, ``"format_version"``);
* the time budget (``setup.budget``), which a recorded run does not need;
* ``table``: its rows and column names (so differences can be said in words), and an uploaded file
  itself (base64) when it is at most :data:`core.limits.MAX_PROJECT_EMBED_BYTES`; a bundled sample is
  named by its key; a larger upload only by its name and fingerprint.

:func:`read_project` treats the file as hostile: a size limit and a nesting limit
(:mod:`core.limits`), JSON only (never pickle), no NaN or overlong numbers, every field checked
(models by the catalogue's own parameter validation) before any object is built, and a
:class:`ProjectError` that says what is wrong and what to do. :func:`load_table` reads the
project's own table (the sample, or the embedded file); :func:`rebuild` fits a project onto a
loaded table (the target must be a column of it; settings naming columns it lacks are left out)
and :func:`data_differences` says in plain words how that table differs from the project's.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

import core
from core.cleaning import CleaningPlan
from core.errors import DashboardError
from core.features import IMBALANCE_METHODS, FeatureOptions
from core.limits import (
    MAX_PROJECT_BYTES,
    MAX_PROJECT_DEPTH,
    MAX_PROJECT_DIGITS,
    MAX_PROJECT_EMBED_BYTES,
    MAX_PROJECT_NAME,
)
from core.load_options import DELIMITERS, ENCODINGS, LoadOptions
from core.metrics import RANKING_CHOICES
from core.registry import REGISTRY, get_spec
from core.restore import SESSION_VERSION, run_settings, settings_from
from core.samples import list_samples
from core.schema import Role
from core.split import Split, SplitConfig
from core.target import TargetChoice, Task
from core.training import ModelRun, TrainingRequest, TrainSetup
from core.training.request import BUDGET_CHOICES

if TYPE_CHECKING:
    from core.loading import Dataset

#: The marker of a project file and the layout this app writes and reads.
FORMAT = "nocode-ml-project"
FORMAT_VERSION = 1
#: What a refused project file's message ends with.
FIX = "Save the project file again from the Models page, or ask whoever made it for a new copy."

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ProjectError(DashboardError):
    """A project file that cannot be opened, or not on this table."""


@dataclass(frozen=True)
class ProjectTable:
    """The table a project was made on: where it came from and its shape (and the file, when it is small)."""

    name: str
    kind: str  # "sample" or "upload"
    sample: str | None
    rows: int
    columns: tuple[str, ...]
    sha256: str
    #: The uploaded file itself (embedded when small enough), else None.
    content: bytes | None = None
    #: The uploaded file's size in bytes, when known.
    size: int | None = None


@dataclass
class Project:
    """A project file, read and checked: the app's objects, ready for :func:`rebuild`."""

    table: ProjectTable
    choice: TargetChoice
    plan: CleaningPlan
    setup: TrainSetup
    load_options: LoadOptions = field(default_factory=LoadOptions)
    role_overrides: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- writing


def project_dict(
    dataset: Dataset,
    choice: TargetChoice,
    plan: CleaningPlan,
    setup: TrainSetup,
    *,
    sample: str | None = None,
    raw: bytes | None = None,
    load_options: LoadOptions | None = None,
    role_overrides: dict[str, str] | None = None,
) -> dict:
    """The project file's content as JSON-ready data.

    Args:
        dataset: The loaded table (its name, shape and fingerprint are written).
        choice, plan, setup: The target and features, the cleaning plan, the Models page's choices.
        sample: The bundled sample's key when the table is one (then no file is embedded).
        raw: An uploaded table's bytes: embedded when at most :data:`MAX_PROJECT_EMBED_BYTES`.
        load_options, role_overrides: How the file was read and the person's role changes.
    """
    # The settings are written by the function that writes a recorded run's session.json: one layout.
    # It reads a TrainingRequest; the one given here holds the table and the choices, not yet split.
    empty = np.array([], dtype=int)
    request = TrainingRequest(
        dataset.frame, choice.target, choice.task, list(choice.features), {}, plan,
        Split(empty, empty, empty, setup.split), list(setup.models), setup.options, setup.imbalance,
        metric=setup.metric or "", positive=choice.positive,
    )  # fmt: skip
    settings = run_settings(request)
    settings["setup"]["budget"] = setup.budget
    embed = sample is None and raw is not None and len(raw) <= MAX_PROJECT_EMBED_BYTES
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app": f"{core.DISTRIBUTION} {core.__version__}",
        **settings,
        "source": {
            "name": dataset.name,
            "kind": "sample" if sample else "upload",
            "sample": sample,
            "file": dataset.name,
        },
        "load_options": dataclasses.asdict(load_options or LoadOptions()),
        "role_overrides": dict(role_overrides or {}),
        "table": {
            "rows": len(dataset.frame),
            "columns": [str(c) for c in dataset.frame.columns],
            "size": len(raw) if raw is not None and sample is None else None,
            "file": {"name": dataset.name, "base64": base64.b64encode(raw).decode("ascii")}
            if embed and raw is not None
            else None,
        },
    }


def project_json(*args: Any, **kwargs: Any) -> bytes:
    """:func:`project_dict` as the bytes of a JSON file (same arguments)."""
    return json.dumps(project_dict(*args, **kwargs), indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def file_name(dataset_name: str) -> str:
    """The download's name: ``<table>-project.json`` (the table's name without its suffix, made safe)."""
    from core.export import file_stem

    return f"{file_stem(PurePath(dataset_name).stem, 'data')}-project.json"


# --------------------------------------------------------------------------- reading


def read_project(data: bytes) -> Project:
    """A project file's bytes, checked field by field, as the app's objects.

    Raises:
        ProjectError: The file is too large, not JSON, not a project file of this app, or a field
            is missing or wrong (an unknown model, a parameter out of range, a column name that is no text…).
    """
    if not isinstance(data, bytes | bytearray):
        raise _refuse("it is not a file.")
    if len(data) > MAX_PROJECT_BYTES:
        raise _refuse(
            f"it is {len(data) / 1024 / 1024:.1f} MB and a project file is at most "
            f"{MAX_PROJECT_BYTES / 1024 / 1024:.0f} MB."
        )
    doc = _parse(bytes(data))
    _check_depth(doc)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError(
            f'This file is not a project file of this app: it has no "format": "{FORMAT}" marker.',
            hint="Open a file saved with 'Save as project file' on the Models page.",
        )
    version = doc.get("format_version")
    if not _is_int(version, FORMAT_VERSION, FORMAT_VERSION) or not _is_int(
        doc.get("version"), SESSION_VERSION, SESSION_VERSION
    ):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
        raise ProjectError(
            f"This project file was made by {'a newer' if newer else 'another'} version of the app "
            f"(format {_show(version)}; this app reads format {FORMAT_VERSION}).",
            hint="Save it again with this version of the app.",
        )
    try:
        return _project(doc)
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # a check missed a wrong kind of value
        raise _refuse(f"one of its settings has the wrong kind of value ({type(err).__name__}: {err}).") from None


def _project(doc: dict) -> Project:
    """The checked document as the app's objects (see :func:`read_project`)."""
    table = _table(doc)
    load_options = _load_options(_get(doc, "load_options", dict, "its load options"))
    overrides = _role_overrides(_get(doc, "role_overrides", dict, "its column roles"))
    target = _get(doc, "target", dict, "its target")
    task = _target(target)
    plan = _plan(_get(doc, "plan", dict, "its cleaning plan"))
    setup_doc = _get(doc, "setup", dict, "its model settings")
    models = _models(_get(setup_doc, "models", list, "its models"), task)
    split = _split(_get(setup_doc, "split", dict, "its split"))
    options = _options(_get(setup_doc, "options", dict, "its feature options"))
    imbalance = setup_doc.get("imbalance", "none")
    _expect(
        isinstance(imbalance, str) and imbalance in IMBALANCE_METHODS,
        "its imbalance treatment",
        f"one of {', '.join(IMBALANCE_METHODS)}",
        imbalance,
    )
    metric = setup_doc.get("metric")
    allowed_metrics = RANKING_CHOICES.get(task, ())
    _expect(
        metric in (None, "") or (isinstance(metric, str) and metric in allowed_metrics),
        "its ranking metric",
        f"one of {', '.join(allowed_metrics)}",
        metric,
    )
    budget = setup_doc.get("budget", TrainSetup.budget)
    _expect(
        _is_number(budget) and budget in BUDGET_CHOICES, "its time budget",
        f"one of {', '.join(str(b) for b in BUDGET_CHOICES)} seconds", budget,
    )  # fmt: skip
    try:
        restored = settings_from(doc)  # the objects, built as a restored run's are
    except DashboardError as err:  # every field was checked above: a gap between the checks and the reader
        raise _refuse(err.user_message) from err
    choice = dataclasses.replace(restored.choice, task_reason="set by the project file")
    setup = TrainSetup(split, models, options, imbalance, metric or None, float(budget))
    return Project(table, choice, plan, setup, load_options, overrides)


def _refuse(what: str) -> ProjectError:
    return ProjectError(f"This project file cannot be opened: {what}", hint=FIX)


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expect(ok: bool, where: str, expected: str, value: Any) -> None:
    if not ok:
        raise _refuse(f"{where} must be {expected}. Got {_show(value)}.")


def _get(doc: dict, key: str, kind: type, where: str) -> Any:
    value = doc.get(key)
    _expect(isinstance(value, kind), where, f"a JSON {'object' if kind is dict else 'list'} ('{key}')", value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_PROJECT_NAME


def _names(value: Any, where: str) -> list[str]:
    _expect(isinstance(value, list) and all(_is_name(v) for v in value), where, "a list of names", value)
    return list(value)


def _parse(data: bytes) -> Any:
    """JSON only, UTF-8, without NaN, infinities or numbers longer than any setting."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number a project file may hold")

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number) or len(text) > 40:
            raise ValueError(f"the number {text[:20]}… is too large")
        return number

    def short_int(text: str) -> int:
        if len(text.lstrip("-")) > MAX_PROJECT_DIGITS:
            raise ValueError(f"the number {text[:20]}… has more than {MAX_PROJECT_DIGITS} digits")
        return int(text)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("it is not a text (JSON) file.") from None
    try:
        return json.loads(text, parse_constant=no_constant, parse_float=finite, parse_int=short_int)
    except json.JSONDecodeError as err:
        raise _refuse(f"it is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}).") from None
    except ValueError as err:
        raise _refuse(f"it is not valid JSON for a project file ({err}).") from None
    except RecursionError:
        raise _refuse(f"it is nested more than {MAX_PROJECT_DEPTH} levels deep.") from None


def _check_depth(doc: Any) -> None:
    """Refuse JSON nested deeper than :data:`MAX_PROJECT_DEPTH` (checked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_PROJECT_DEPTH:
            raise _refuse(f"it is nested more than {MAX_PROJECT_DEPTH} levels deep.")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _table(doc: dict) -> ProjectTable:
    source = _get(doc, "source", dict, "its data source")
    table = _get(doc, "table", dict, "its table")
    kind = source.get("kind")
    _expect(kind in ("sample", "upload"), "its data source's kind", "'sample' or 'upload'", kind)
    name = source.get("file") or source.get("name")
    _expect(_is_name(name), "its table's name", "a file name", name)
    sample = source.get("sample")
    if kind == "sample":
        keys = [s.key for s in list_samples()]
        _expect(sample in keys, "its sample", f"one of this app's samples ({', '.join(keys)})", sample)
    else:
        sample = None
    fingerprint = doc.get("fingerprint")
    _expect(
        isinstance(fingerprint, str) and bool(_HEX64.match(fingerprint)),
        "its fingerprint",
        "64 hex digits",
        fingerprint,
    )
    rows = table.get("rows")
    _expect(_is_int(rows, 0, 10**12), "its table's rows", "a whole number", rows)
    columns = _names(table.get("columns"), "its table's columns")
    size = table.get("size")
    _expect(size is None or _is_int(size, 0, 10**15), "its table's file size", "a whole number of bytes", size)
    content = None
    embedded = table.get("file")
    if embedded is not None:
        _expect(
            isinstance(embedded, dict) and isinstance(embedded.get("base64"), str),
            "its embedded file",
            "an object with 'base64' text",
            embedded,
        )
        encoded = embedded["base64"]
        if len(encoded) > (MAX_PROJECT_EMBED_BYTES + 2) // 3 * 4:
            raise _refuse(f"its embedded file is larger than {MAX_PROJECT_EMBED_BYTES / 1024 / 1024:.0f} MB.")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _refuse("its embedded file is not valid base64.") from None
        size = len(content)
    return ProjectTable(name, kind, sample, rows, tuple(columns), str(fingerprint), content, size)


def _load_options(values: dict) -> LoadOptions:
    known = set(LoadOptions.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    _expect(not unknown, "its load options", f"among {', '.join(sorted(known))}", unknown)
    checks = {
        "delimiter": lambda v: v is None or v in DELIMITERS,
        "encoding": lambda v: v is None or v in ENCODINGS,
        "header": lambda v: v is None or isinstance(v, bool),
        "sheet": lambda v: v is None or _is_name(v),
        "missing": lambda v: isinstance(v, list) and len(v) <= 100 and all(isinstance(t, str) and len(t) <= 100 for t in v),
        "day_first": lambda v: v is None or isinstance(v, bool),
    }  # fmt: skip
    for name, value in values.items():
        _expect(checks.get(name, lambda v: True)(value), f"its load option '{name}'", "a value the reader knows", value)
    return LoadOptions(**{**values, "missing": tuple(values.get("missing", ()))})


def _role_overrides(values: dict) -> dict[str, str]:
    roles = [r.value for r in Role]
    for column, role in values.items():
        _expect(
            _is_name(column) and role in roles,
            f"the role of column {_show(column)}",
            f"one of {', '.join(roles)}",
            role,
        )
    return dict(values)


def _target(target: dict) -> Task:
    task = target.get("task")
    tasks = [t.value for t in Task]
    _expect(task in tasks, "its task", f"one of {', '.join(tasks)}", task)
    column = target.get("target")
    _expect(column is None or _is_name(column), "its target", "a column name (or null without a target)", column)
    unsupervised = task in (Task.CLUSTERING.value, Task.ANOMALY.value)
    _expect((column is None) == unsupervised, "its target", f"given for {task}, and only then", column)
    features = _names(target.get("features"), "its features")
    _expect(bool(features), "its features", "at least one column", features)
    positive = target.get("positive")
    _expect(
        positive is None or isinstance(positive, str | int | float | bool), "its positive class", "a label", positive
    )
    return Task(str(task))


def _plan(values: dict) -> CleaningPlan:
    try:
        plan = CleaningPlan.from_dict(values)
    except DashboardError as err:
        raise _refuse(f"its cleaning plan: {err.user_message}") from None
    except (TypeError, ValueError, AttributeError) as err:
        raise _refuse(f"its cleaning plan cannot be read ({err}).") from None
    _expect(
        isinstance(plan.drop_duplicates, bool), "its plan's 'drop_duplicates'", "true or false", plan.drop_duplicates
    )
    _names(plan.drop_columns, "its plan's columns to drop")
    _names(plan.outlier_columns, "its plan's outlier columns")
    _expect(
        _is_int(plan.confirmed_row_loss, 0, 10**12),
        "its plan's confirmed row loss",
        "a whole number",
        plan.confirmed_row_loss,
    )
    _expect(
        all(_is_name(c) and isinstance(f, str) for c, f in plan.type_fixes.items()),
        "its plan's type fixes",
        "column: fix",
        plan.type_fixes,
    )
    for column, rule in [*plan.missing_by_role.items(), *plan.missing_by_column.items()]:
        fill = rule.fill_value
        _expect(
            fill is None or isinstance(fill, str) or _is_number(fill),
            f"the fill value of {_show(column)}",
            "text or a number",
            fill,
        )
    if plan.outliers is not None:
        _expect(_is_number(plan.outliers.threshold), "its outlier threshold", "a number", plan.outliers.threshold)
    return plan


def _split(values: dict) -> SplitConfig:
    known = set(SplitConfig.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    _expect(not unknown, "its split settings", f"among {', '.join(sorted(known))}", unknown)
    for name in ("train", "valid", "test"):
        _expect(_is_number(values.get(name, 0.0)), f"its split's '{name}' share", "a number", values.get(name))
    _expect(
        _is_int(values.get("seed", 42), 0, 2**32 - 1),
        "its seed",
        "a whole number in [0, 4294967295]",
        values.get("seed"),
    )
    _expect(
        isinstance(values.get("stratify", True), bool),
        "its split's 'stratify'",
        "true or false",
        values.get("stratify"),
    )
    time_column = values.get("time_column")
    _expect(time_column is None or _is_name(time_column), "its time column", "a column name or null", time_column)
    folds = values.get("cv_folds")
    _expect(folds is None or _is_int(folds, 0, 10**6), "its cross-validation folds", "a whole number or null", folds)
    config = SplitConfig(**values)
    try:
        config.check()
    except DashboardError as err:
        raise _refuse(f"its split: {err.user_message}") from None
    return config


def _models(values: list, task: Task) -> list[ModelRun]:
    _expect(
        len(values) <= 4 * len(REGISTRY), "its models", f"at most {4 * len(REGISTRY)} models", f"{len(values)} models"
    )
    runs, names = [], set()
    for entry in values:
        _expect(isinstance(entry, dict), "each model", "a JSON object with 'key', 'name' and 'params'", entry)
        try:
            spec = get_spec(entry.get("key"))
        except DashboardError as err:
            raise _refuse(err.user_message) from None
        _expect(task in spec.tasks, f"its model {spec.label!r}", f"one that can do {task.value}", task.value)
        name = entry.get("name")
        _expect(
            _is_name(name) and name not in names,
            f"the name of its model {spec.label!r}",
            "a name no other model has",
            name,
        )
        params = entry.get("params", {})
        _expect(isinstance(params, dict), f"the settings of {spec.label}", "a JSON object", params)
        try:
            params = spec.validate(params)  # the catalogue's own checks: ranges, choices, known names
        except DashboardError as err:
            raise _refuse(err.user_message) from None
        names.add(name)
        log_target = entry.get("log_target", False)
        _expect(isinstance(log_target, bool), f"'log_target' of {spec.label}", "true or false", log_target)
        if not log_target:  # twins come back from the options (as in a restored run), not as picks of their own
            runs.append(ModelRun(spec.key, name, params))
    return runs


#: Feature options: (lowest, highest) whole number each count may be.
_OPTION_RANGES = {"min_frequency": (1, 10**9), "max_categories": (1, 10**9), "text_max_features": (1, 10**9)}


def _options(values: dict) -> FeatureOptions:
    known = set(FeatureOptions.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    _expect(not unknown, "its feature options", f"among {', '.join(sorted(known))}", unknown)
    for name, (low, high) in _OPTION_RANGES.items():
        if name in values:
            _expect(
                _is_int(values[name], low, high),
                f"its feature option '{name}'",
                f"a whole number in [{low}, {high}]",
                values[name],
            )
    for name in ("interactions", "log_target"):
        _expect(
            isinstance(values.get(name, False), bool), f"its feature option '{name}'", "true or false", values.get(name)
        )
    ratios = values.get("ratios", [])
    _expect(
        isinstance(ratios, list) and all(isinstance(p, list) and len(p) == 2 and all(_is_name(c) for c in p) for p in ratios),
        "its ratio features", "a list of [numerator, denominator] column pairs", ratios,
    )  # fmt: skip
    return FeatureOptions.from_dict(values)
