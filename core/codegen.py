"""Reproduce a trained model as code: a standalone Python script, and the same as a notebook.

:func:`training_script` writes a readable, commented script that repeats what the app did for
one model of a :class:`~core.training.TrainingRequest`: read the file with the options the app
used, apply the cleaning plan's row steps, split with the same seed and method, build the same
preprocessing + estimator pipeline (parameters written literally), train on the training rows and
print the validation metrics the app showed, one ``name: value`` line each.

The script needs pandas, numpy, scikit-learn and imbalanced-learn (plus LightGBM or Keras for
those models), never this app: where the app uses its own small helpers (``TypeFixer``,
``OutlierClipper``, ``DateParts``, ``KerasNetwork``, the metric functions, …) their source is
copied in with :func:`inspect.getsource`, together with whatever they use, so the script follows
the app when the app changes. Only the helpers this model needs are copied.

Nothing the person typed is ever spliced into code: column names, values and file names go in as
Python literals (``repr``), and comments and notebook text hold only the app's own words.

:func:`notebook` turns such a script into a Jupyter notebook (nbformat 4): the script is written
in the "percent" format (``# %%`` code cells, ``# %% [markdown]`` text cells) that editors such
as VS Code and PyCharm already run cell by cell, so the notebook's code cells are the script's code.
"""

from __future__ import annotations

import ast
import csv
import functools
import importlib
import inspect
import io
import json
import keyword
import math
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DashboardError
from core.loading import MISSING_TOKENS, LoadOptions, LoadReport, sniff, unique_names
from core.target import Task
from core.training import ModelRun, TrainingRequest, build_model_pipeline

#: Generated lines are wrapped to stay within this many characters where possible.
WIDTH = 100
#: How far a Keras network's metrics may drift from the app's (see :func:`training_script`).
KERAS_TOLERANCE = 0.05

_CODE_MARK = "# %%"
_TEXT_MARK = "# %% [markdown]"


class CodegenError(DashboardError):
    """The model cannot be written as a standalone script."""


# --------------------------------------------------------------------------- imports


#: Prefixes that tell two same-named classes apart (``ImbPipeline`` next to scikit-learn's ``Pipeline``).
_ALIAS_PREFIX = {"imblearn": "Imb", "sklearn": "Sk", "lightgbm": "Lgbm"}


@dataclass(frozen=True)
class _Binding:
    kind: str  # "import" (import module [as name]) or "from" (from module import attr [as name])
    module: str
    attr: str | None


class _Imports:
    """The script's import lines: one binding per name, aliases when two objects share a name."""

    def __init__(self) -> None:
        self.bound: dict[str, _Binding] = {}

    def add(self, name: str, binding: _Binding) -> bool:
        """Bind ``name``; False when it is already bound to something else."""
        known = self.bound.get(name)
        if known is None:
            self.bound[name] = binding
            return True
        if known == binding:
            return True
        resolved = _resolve(known)
        return resolved is not None and resolved is _resolve(binding)

    def require(self, name: str, binding: _Binding) -> None:
        if not self.add(name, binding):
            raise CodegenError(
                f"Two helpers need the name {name!r} for different things; the script cannot be written."
            )

    def name_for(self, obj: Any) -> str:
        """The name the script uses for a library class or function, importing it."""
        if not str(getattr(obj, "__name__", "")).isidentifier() or not getattr(obj, "__module__", None):
            raise CodegenError(f"{obj!r} cannot be imported by name, so the script cannot be written.")
        if obj.__module__.split(".")[0] == "numpy":
            self.require("np", _Binding("import", "numpy", None))
            return f"np.{obj.__name__}"
        module = _public_module(obj)
        binding = _Binding("from", module, obj.__name__)
        name = obj.__name__
        if self.add(name, binding):
            return name
        alias = _ALIAS_PREFIX.get(module.split(".")[0], module.split(".")[0].title()) + name
        self.require(alias, binding)
        return alias

    def lines(self) -> list[str]:
        """``import``/``from`` lines: standard library first, then the rest, as isort orders them."""
        groups: dict[bool, tuple[list[str], dict[str, list[str]]]] = {True: ([], {}), False: ([], {})}
        for name, b in self.bound.items():
            plain, froms = groups[b.module.split(".")[0] in sys.stdlib_module_names]
            if b.kind == "import":
                alias = "" if name == b.module.split(".")[0] else f" as {name}"  # "import a.b" binds "a"
                plain.append(f"import {b.module}{alias}")
            else:
                froms.setdefault(b.module, []).append(b.attr if name == b.attr else f"{b.attr} as {name}")
        out = ["from __future__ import annotations", ""]
        for stdlib in (True, False):
            plain, froms = groups[stdlib]
            block = sorted(set(plain), key=lambda s: s.split()[1].lower())
            block += [
                f"from {module} import {', '.join(sorted(set(names), key=_isort_key))}"
                for module, names in sorted(froms.items())
            ]
            if block:
                out += [*block, ""]
        return out[:-1]


def _isort_key(name: str) -> tuple[int, str]:
    # isort's order inside one "from" line: CONSTANTS, Classes, functions.
    first = name.split(" ")[0]
    kind = 0 if first.isupper() and len(first) > 1 else 1 if first[:1].isupper() else 2
    return kind, first.lower()


def _resolve(binding: _Binding) -> Any:
    try:
        module = importlib.import_module(binding.module)
    except ImportError:
        return None
    return module if binding.attr is None else getattr(module, binding.attr, None)


def _public_module(obj: Any) -> str:
    """The shortest public module that exposes ``obj`` (``sklearn.ensemble``, not ``sklearn.ensemble._forest``)."""
    parts = obj.__module__.split(".")
    for size in range(1, len(parts) + 1):
        if parts[size - 1].startswith("_"):
            break
        candidate = ".".join(parts[:size])
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        if getattr(module, obj.__name__, None) is obj:
            return candidate
    return obj.__module__


# --------------------------------------------------------------------------- copying the app's helpers


@dataclass
class _ModuleInfo:
    name: str
    lines: list[str]
    defs: dict[str, ast.stmt]  # top-level functions, classes and assignments by the names they bind
    imports: dict[str, _Binding]


@functools.cache
def _module_info(name: str) -> _ModuleInfo:
    module = importlib.import_module(name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    defs: dict[str, ast.stmt] = {}
    imports: dict[str, _Binding] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign):
            for bound in _bound_by(node):
                defs[bound] = node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name.split(".")[0]] = _Binding("import", alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            for alias in node.names:
                imports[alias.asname or alias.name] = _Binding("from", node.module, alias.name)
    return _ModuleInfo(name, source.splitlines(), defs, imports)


def _bound_by(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    names: list[str] = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _used_names(node: ast.stmt) -> set[str]:
    """Names a definition reads (its locals too; those simply match nothing at module level)."""
    used: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Store):
            used.add(sub.id)
        elif isinstance(sub, ast.Global):
            used.update(sub.names)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
            if module and module.split(".")[0] == "core":
                raise CodegenError(f"A helper imports the app ({module}) inside a function; it cannot be copied.")
    return used


def _is_core(obj: Any) -> bool:
    return getattr(obj, "__module__", "").split(".")[0] == "core"


class _Bundle:
    """The app's helpers the script needs, with what they use, dependencies first."""

    def __init__(self, imports: _Imports) -> None:
        self.imports = imports
        self.pieces: list[tuple[str, int, str]] = []  # (module, line, source)
        self.defined: dict[str, str] = {}  # top-level name -> module
        self._seen: set[tuple[str, int]] = set()
        self._uses: dict[str, list[str]] = {}  # module -> app modules its copied pieces import from

    def require(self, obj: Any) -> str:
        """Copy ``obj`` (a class or function of the app) and what it uses; return its name."""
        obj = inspect.unwrap(obj)
        self._need(obj.__module__, obj.__name__)
        return obj.__name__

    def _need(self, module: str, name: str) -> None:
        info = _module_info(module)
        node = info.defs.get(name)
        if node is None:
            if name in info.imports:
                self._imported(info, name)
                return
            raise CodegenError(f"'{module}.{name}' cannot be found to copy into the script.")
        key = (module, node.lineno)
        if key in self._seen:
            return
        self._seen.add(key)
        own = set(_bound_by(node))
        for used in sorted(_used_names(node) - own):
            if used in info.defs:
                self._need(module, used)
            elif used in info.imports:
                self._imported(info, used)
        for bound in own:
            if self.defined.setdefault(bound, module) != module:
                raise CodegenError(f"Two helpers are both called {bound!r}; the script cannot be written.")
        self._uses.setdefault(module, [])
        self.pieces.append((module, node.lineno, _segment(info, node)))

    def _imported(self, info: _ModuleInfo, name: str) -> None:
        binding = info.imports[name]
        if binding.module.split(".")[0] == "core":
            if binding.kind != "from" or binding.attr != name:
                raise CodegenError(f"'{info.name}' imports {name!r} under another name; it cannot be copied.")
            self._uses.setdefault(info.name, []).append(binding.module)
            self._need(binding.module, name)
        else:
            self.imports.require(name, binding)

    def source(self) -> str:
        """The copied pieces grouped by module, each module in its own source order (which is an
        order its code runs in), modules after the ones they import from."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(module: str) -> None:
            if module not in order and module not in visiting:
                visiting.add(module)
                for used in self._uses.get(module, []):
                    visit(used)
                order.append(module)

        for module in self._uses:
            visit(module)
        out: list[str] = []
        for module in order:
            pieces = sorted((line, text) for m, line, text in self.pieces if m == module)
            out.append(f"# From the app: {module.replace('.', '/')}.py")
            for _, text in pieces:
                out += [text, "", ""]
        return "\n".join(out).rstrip() + "\n"


def _segment(info: _ModuleInfo, node: ast.stmt) -> str:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    while start > 1 and info.lines[start - 2].startswith("#") and not info.lines[start - 2].startswith("# --"):
        start -= 1
    return "\n".join(info.lines[start - 1 : node.end_lineno])


# --------------------------------------------------------------------------- writing values as code


@dataclass
class _Node:
    """An expression: an atom (``items is None``) or a bracketed list of ``(prefix, node)`` items."""

    text: str  # the atom, or the opening bracket ("Name(", "[", "(", "{")
    items: list[tuple[str, _Node]] | None = None
    close: str = ""
    one_tuple: bool = False

    def flat(self) -> str:
        if self.items is None:
            return self.text
        inner = ", ".join(prefix + node.flat() for prefix, node in self.items)
        return self.text + inner + ("," if self.one_tuple else "") + self.close

    def format(self, indent: int = 0, column: int | None = None) -> str:
        """Black-like: on one line when it fits in :data:`WIDTH`, else one item per line."""
        flat = self.flat()
        column = indent if column is None else column
        if self.items is None or not self.items or column + len(flat) + 1 <= WIDTH:
            return flat
        pad = " " * (indent + 4)
        lines = [self.text]
        # A lone argument is not followed by a comma (as ruff format writes it); a one-item tuple is.
        comma = "," if len(self.items) > 1 or self.one_tuple or self.text in ("[", "{") else ""
        for prefix, node in self.items:
            lines.append(pad + prefix + node.format(indent + 4, indent + 4 + len(prefix)) + comma)
        lines.append(" " * indent + self.close)
        return "\n".join(lines)


def _atom(text: str) -> _Node:
    return _Node(text)


def _literal(value: Any) -> str:
    """A plain value as Python source; user text is only ever written through ``repr``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _str(value)
    if value is None or isinstance(value, bool | int | bytes):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    raise CodegenError(f"A setting of type {type(value).__name__} cannot be written in the script.")


def _str(text: str) -> str:
    """``repr`` of a string, in double quotes when that needs no escaping (as ruff format writes it)."""
    quoted = repr(str(text))
    if quoted.startswith("'") and '"' not in text:
        return '"' + quoted[1:-1] + '"'
    return quoted


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    try:
        equal = a == b
    except Exception:  # objects that refuse comparison are simply "different"
        return False
    return isinstance(equal, bool | np.bool_) and bool(equal)


class _Renderer:
    """Turns estimators, pipelines and plain values into :class:`_Node` expressions."""

    _POSITIONAL = ("steps", "transformers")

    def __init__(self, imports: _Imports, bundle: _Bundle) -> None:
        self.imports = imports
        self.bundle = bundle

    def node(self, value: Any, show: dict[str, Any] | None = None) -> _Node:
        if isinstance(value, _Node):
            return value
        if isinstance(value, list | tuple):
            items = [("", self.node(v, show)) for v in value]
            if isinstance(value, list):
                return _Node("[", items, "]")
            return _Node("(", items, ")", one_tuple=len(items) == 1)
        if isinstance(value, dict):
            return _Node("{", [(f"{self.node(k).flat()}: ", self.node(v, show)) for k, v in value.items()], "}")
        if isinstance(value, np.ndarray):
            return _Node(f"{self.imports.name_for(np.array)}(", [("", self.node(value.tolist()))], ")")
        if hasattr(value, "get_params") and not isinstance(value, type):
            return self.call(value, show)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__name__")):
            return _atom(self.name(value))
        return _atom(_literal(value))

    def name(self, obj: Any) -> str:
        return self.bundle.require(obj) if _is_core(obj) else self.imports.name_for(obj)

    def call(
        self, estimator: Any, show: dict[str, Any] | None = None, overrides: dict[str, _Node] | None = None
    ) -> _Node:
        """``Class(param=value, …)``: the app's own classes with every setting; library classes with
        the settings that differ from their defaults, plus the model's form settings (``show``).
        ``overrides`` writes some settings as given expressions (e.g. variable names)."""
        cls = type(estimator)
        name = self.name(cls)
        params = estimator.get_params(deep=False)
        signature = inspect.signature(cls.__init__).parameters
        order = [p for p in signature if p in params] + [p for p in params if p not in signature]
        own = _is_core(cls)
        items: list[tuple[str, _Node]] = []
        overrides = overrides or {}
        for key in order:
            value = overrides.get(key, params[key])
            default = signature[key].default if key in signature else inspect.Parameter.empty
            wanted = key in overrides or (show is not None and key in show and _same(value, show[key]))
            if not (own or wanted or default is inspect.Parameter.empty or not _same(value, default)):
                continue
            prefix = "" if key in self._POSITIONAL and not items else f"{key}="
            items.append((prefix, self.node(value, show)))
        return _Node(f"{name}(", items, ")")


# --------------------------------------------------------------------------- reading the file


@dataclass(frozen=True)
class _Reading:
    """How the app read the file."""

    kind: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = True
    decimal: str = "."
    thousands: str | None = None
    sheet: str | None = None
    renamed: bool = False


def _reading(data_file: str, options: LoadOptions | None, report: LoadReport | None) -> _Reading:
    """The reading options: the load report's (what the app did), else detected from the file when
    it exists, else the defaults; options the person set explicitly win."""
    options = options or LoadOptions()
    if report is not None:
        base = _Reading(
            kind=report.file_kind,
            encoding=report.encoding or "utf-8",
            delimiter=report.delimiter or ",",
            header=report.header,
            decimal=report.decimal,
            thousands=report.thousands,
            sheet=report.sheet,
            renamed=bool(report.renamed_columns),
        )
    elif str(data_file).lower().endswith((".xlsx", ".xlsm")):
        base = _Reading(kind="excel")
    elif Path(data_file).is_file():
        with open(data_file, "rb") as handle:
            head = handle.read(512 * 1024)
        found = sniff(head, options)
        text = head.decode(found.encoding, errors="ignore").lstrip("\ufeff")
        first = next(csv.reader(io.StringIO(text), delimiter=found.delimiter), [])
        renamed = found.header and unique_names(first) != first
        base = _Reading(
            "csv", found.encoding, found.delimiter, found.header, found.decimal, found.thousands, None, renamed
        )
    else:
        base = _Reading()
    return replace(
        base,
        encoding=options.encoding or base.encoding,
        delimiter=options.delimiter or base.delimiter,
        header=base.header if options.header is None else options.header,
        sheet=options.sheet if options.sheet is not None else base.sheet,
    )


def loading_code(
    data_file: str,
    load_options: LoadOptions | None = None,
    *,
    report: LoadReport | None = None,
    date_columns: list[str] | tuple[str, ...] = (),
) -> str:
    """Python code that reads ``data_file`` into ``df`` as the app did (needs ``pd`` imported, and
    ``csv`` when the app renamed a text file's column names).

    Text files: ``pandas.read_csv`` with the app's delimiter, encoding, decimal and thousands
    separators and missing-value tokens; the app's renaming of empty or repeated column names;
    ``date_columns`` parsed as dates as the app's reader does. Excel: ``pandas.read_excel`` with
    the same clean-up as the app. Rows with *more* fields than the header (which the app keeps in
    ``extra_N`` columns) are not reproduced.
    """
    return _loading_code(_reading(data_file, load_options, report), date_columns)


def _loading_code(reading: _Reading, date_columns: list[str] | tuple[str, ...]) -> str:
    lines: list[str] = []
    if reading.renamed:
        lines += [inspect.getsource(unique_names).strip(), "", ""]
    lines.append(f"NA_TOKENS = {_list(['', *MISSING_TOKENS])}")
    if reading.kind == "excel":
        lines += _excel_lines(reading)
    else:
        lines += _csv_lines(reading)
    if date_columns:
        lines += [
            "# The app recognised these columns as dates; pandas needs to be told.",
            f"DATE_COLUMNS = {_list(list(date_columns))}",
            "for column in DATE_COLUMNS:",
            '    df[column] = pd.to_datetime(df[column], errors="coerce", format="mixed")',
        ]
    return "\n".join(lines) + "\n"


def _csv_lines(r: _Reading) -> list[str]:
    args: list[tuple[str, _Node]] = [("", _atom("DATA_FILE")), ("sep=", _atom(_literal(r.delimiter)))]
    args.append(("encoding=", _atom(_literal(r.encoding))))
    if r.decimal != ".":
        args.append(("decimal=", _atom(_literal(r.decimal))))
    if r.thousands:
        args.append(("thousands=", _atom(_literal(r.thousands))))
    lines: list[str] = []
    if not r.header:
        args.append(("header=", _atom("None")))
    elif r.renamed:
        lines += [
            "# Read the header row first: the app renamed empty, padded or repeated column names.",
            f'with open(DATA_FILE, encoding={_literal(r.encoding)}, newline="") as handle:',
            f"    raw_names = next(csv.reader(handle, delimiter={_literal(r.delimiter)}))",
        ]
        args += [("header=", _atom("0")), ("names=", _atom("unique_names(raw_names)"))]
    args += [("keep_default_na=", _atom("False")), ("na_values=", _atom("NA_TOKENS"))]
    lines.append("df = " + _Node("pd.read_csv(", args, ")").format(0, 5))
    if not r.header:
        lines.append('df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]  # the file has no header row')
    return lines


def _excel_lines(r: _Reading) -> list[str]:
    args: list[tuple[str, _Node]] = [("", _atom("DATA_FILE"))]
    if r.sheet is not None:
        args.append(("sheet_name=", _atom(_literal(r.sheet))))
    args += [
        ("header=", _atom("0" if r.header else "None")),
        ("na_values=", _atom("NA_TOKENS")),
        ("engine=", _atom('"openpyxl"')),
    ]
    lines = ["df = " + _Node("pd.read_excel(", args, ")").format(0, 5)]
    lines.append('df = df.dropna(how="all").dropna(axis=1, how="all")  # empty rows and columns, as the app')
    if not r.header:
        lines.append('df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]  # the sheet has no header row')
    elif r.renamed:
        lines.append('df.columns = unique_names(["" if str(c).startswith("Unnamed:") else str(c) for c in df.columns])')
    lines += [
        "for column in df.columns:  # number-only columns as numbers, everything else as text (as the app)",
        "    if df[column].dtype == object:",
        '        numbers = pd.to_numeric(df[column], errors="coerce")',
        "        if numbers.notna().sum() == df[column].notna().sum() and df[column].notna().any():",
        "            df[column] = numbers",
        "        else:",
        '            df[column] = df[column].map(lambda v: v if pd.isna(v) else str(v)).astype("str")',
        "df = df.reset_index(drop=True)",
    ]
    return lines


# --------------------------------------------------------------------------- the script


_HEADER = """\
# %% [markdown]
# # Reproduce a model from the no-code ML dashboard
#
# This script repeats, step by step, what the app did to train one model: it reads the data
# file, cleans the rows, splits them into training, validation and test rows with the same
# seed, builds the same preprocessing and model, trains it on the training rows and prints the
# validation metrics the app showed on its Results page (one `name: value` line each).
#
# Run it next to the data file (`python this_script.py`). It needs pandas, numpy, scikit-learn
# and imbalanced-learn{extra}; it does not need the app.{note}
"""

_TEXT = {
    "libraries": "## 1. Libraries and settings\n\nThe settings are the choices made in the app: the file, "
    "the target to predict, the feature columns and the random seed.",
    "helpers": "## 2. Helpers copied from the app\n\nSmall pieces of the app's own code this model uses "
    "(custom pipeline steps, the metric functions). They are copied here so the script runs "
    "without the app; you can read them later and skip to the next step now.",
    "load": "## 3. Load the data\n\nThe file is read with the same delimiter, encoding, number format and "
    "missing-value markers (such as `NA` or `?`) as in the app.",
    "clean": "## 4. Clean the rows\n\nThe steps of the cleaning plan that learn nothing from the data run on "
    "the whole table, before the split. Steps that *learn* (filling in missing values, outlier "
    "bounds) are part of the pipeline below, so they only ever learn from the training rows.",
    "split": "## 5. Split into training, validation and test rows\n\nThe same seed and method as in the app "
    "(stratified by class, or ordered in time), so every row lands in the same part. The test rows "
    "are kept aside for a final, honest check and are not used here.",
    "pipeline": "## 6. Build the pipeline\n\nOne pipeline holds every preprocessing step and the model, so "
    "everything is fitted on the training rows only and new rows are treated exactly the same way. "
    "The settings are written out as the app used them.",
    "train": "## 7. Train on the training rows",
    "metrics": "## 8. Validation metrics\n\nScored on the validation rows, as the app's leaderboard and "
    "Results page; each line is `metric_name: value`.",
    "cluster_metrics": "## 8. Cluster quality\n\nAs in the app, the clusters are scored on the training rows "
    "they were found in; each line is `metric_name: value`.",
}

_BRANCH_WORDS = {
    "impute": "fill in missing values",
    "interactions": "add pairwise products",
    "scale": "standardise",
    "text": "read values as labels",
    "onehot": "one-hot encode (rare categories grouped)",
    "ordinal": "categories as codes, which the model splits on directly (rare ones grouped)",
    "parts": "dates as year, month, weekday, (hour,) days",
    "fill": "empty text for missing values",
    "tfidf": "TF-IDF weights of words and word pairs",
}

_STEP_COMMENTS = {
    "type_fixes": "convert the columns the plan fixed (also for new rows)",
    "ratios": "add the chosen ratio columns",
    "outliers": "clip outliers to bounds learned on the training rows",
    "remove_outliers": "drop training rows with outliers (never validation or test rows)",
    "columns": "one branch per column role",
    "resample": "rebalance the classes (training rows only)",
    "model": "the model",
}
_MODEL_COMMENT = "# The model, with the settings from the Models page (and the app's seed)."

#: Names the script's own code defines; copied helpers must not take them.
_SCRIPT_NAMES = {
    "DATA_FILE", "TARGET", "FEATURES", "SEED", "MODEL_NAME", "TRAIN_SHARE", "VALID_SHARE", "TEST_SHARE", "RANKED_BY", "POSITIVE",
    "NA_TOKENS", "DATE_COLUMNS", "COLUMN_TYPE_FIXES", "DROP_ROWS_IF_MISSING", "TIME_COLUMN", "unique_names",
    "raw_names", "handle", "df", "column", "cut", "rng", "positions", "labels", "parts", "part", "rows", "label",
    "order", "train_rows", "valid_rows", "test_rows", "X_train", "X_valid", "y_train", "y_valid", "preprocess",
    "model", "pipeline", "X_fit", "y_fit", "X_valid_ready", "X_train_ready", "step", "classes", "proba",
    "y_pred", "y_true", "scores", "name", "value", "numbers", "X_dense",
}  # fmt: skip


def training_script(
    request: TrainingRequest,
    run: ModelRun,
    data_file: str,
    load_options: LoadOptions | None = None,
    *,
    report: LoadReport | None = None,
) -> str:
    """A standalone script that trains ``run`` as the app did and prints its validation metrics.

    Args:
        request: The training request the model came from (plan, roles, split, options, seed).
        run: The model to reproduce (one of ``request.models``).
        data_file: The data file's path as the script should open it (usually just its name:
            the script runs next to the file).
        load_options: The reading options the person chose on the Data page.
        report: The :class:`~core.loading.LoadReport` of the loaded dataset: what the app detected
            (encoding, delimiter, decimal comma, renamed columns). Without it the options are
            detected from ``data_file`` when that file exists, else the defaults are used.

    Returns:
        Python source in the "percent" cell format (see :func:`notebook`). For scikit-learn models
        it prints the app's validation metrics exactly; a Keras network's metrics agree within
        about :data:`KERAS_TOLERANCE` (TensorFlow's arithmetic is not bit-for-bit repeatable across
        processes and machines).

    Raises:
        CodegenError: Something in the pipeline cannot be written as code.
    """
    from core.registry import get_spec

    spec = get_spec(run.key)
    form = spec.validate(run.params)
    pipeline = build_model_pipeline(request, run)
    imports = _Imports()
    for name, module in (("np", "numpy"), ("pd", "pandas")):
        imports.require(name, _Binding("import", module, None))
    bundle = _Bundle(imports)
    # Rendering the pipeline copies the app's helpers it holds (the pipeline's own steps first).
    pipeline_code = _pipeline_code(_Renderer(imports, bundle), pipeline, form)
    clustering = request.task == Task.CLUSTERING
    columns = _columns(request)
    fixes = {c: f for c, f in request.plan.type_fixes.items() if c in columns}
    if fixes:
        from core.cleaning import apply_type_fixes

        bundle.require(apply_type_fixes)
    bundle.require(_metric_helper(request.task))
    reading = _reading(data_file, load_options, report)
    if reading.renamed and reading.kind == "csv":
        imports.require("csv", _Binding("import", "csv", None))
    clash = sorted(set(bundle.defined) & _SCRIPT_NAMES)
    if clash:
        raise CodegenError(f"Copied helpers would overwrite the script's own names: {', '.join(clash)}.")

    sections = [
        _header(imports, spec.needs_tensorflow),
        _cell("libraries", "\n".join(imports.lines()) + "\n\n" + _settings(request, run, data_file)),
        _cell("helpers", bundle.source().rstrip()),
        _cell("load", _loading_code(reading, _date_columns(request, report))),
        _cell("clean", _cleaning_code(request, fixes)),
        _cell("split", _split_code(request)),
        _cell("pipeline", pipeline_code),
        _cell("train", _training_code(request, spec)),
        _cell("cluster_metrics" if clustering else "metrics", _metrics_code(request, pipeline)),
    ]
    # Two blank lines between cells, as ruff format wants them around functions and classes.
    return "\n\n\n".join(s.strip("\n") for s in sections) + "\n"


def _metric_helper(task: Task) -> Any:
    """The app's function that computes the task's metrics (copied into the script)."""
    from core import evaluation

    if task == Task.CLUSTERING:
        return evaluation.clustering_scores
    if task == Task.REGRESSION:
        return evaluation.regression_scores
    return evaluation.classification_scores


def _header(imports: _Imports, keras: bool) -> str:
    packages = {b.module.split(".")[0] for b in imports.bound.values()}
    extra = ", plus Keras (TensorFlow)" if keras else ", plus LightGBM" if "lightgbm" in packages else ""
    note = ""
    if keras:
        note = (
            "\n#\n# A neural network's metrics may differ slightly from the app's (by up to about "
            f"{KERAS_TOLERANCE:g}):\n# TensorFlow's arithmetic is not always bit-for-bit repeatable across "
            "processes and machines."
        )
    return _HEADER.format(extra=extra, note=note)


def _cell(key: str, code: str) -> str:
    wrapped = [textwrap.fill(p, 96) if p else "" for p in _TEXT[key].split("\n")]
    text = "\n".join(f"# {line}".rstrip() for block in wrapped for line in block.split("\n"))
    return f"{_TEXT_MARK}\n{text}\n\n\n{_CODE_MARK}\n{code.strip()}\n"


def _list(values: list[str], indent: int = 0, column: int = 0) -> str:
    return _Node("[", [("", _atom(_literal(v))) for v in values], "]").format(indent, column)


def _settings(request: TrainingRequest, run: ModelRun, data_file: str) -> str:
    config = request.split.config
    lines = [
        f"DATA_FILE = {_literal(str(data_file))}",
        f"MODEL_NAME = {_literal(run.name)}",
        f"TARGET = {_literal(request.target)}  # the column to predict"
        if request.target is not None
        else "TARGET = None  # clustering: no column to predict",
        f"FEATURES = {_list(request.features, 0, 11)}",
        f"SEED = {int(request.seed)!r}  # the split's random seed",
        f"TRAIN_SHARE, VALID_SHARE, TEST_SHARE = {_literal(config.train)}, {_literal(config.valid)}, {_literal(config.test)}",
    ]
    if request.task != Task.CLUSTERING:
        ranking = request.ranking
        lines.append(f"RANKED_BY = {_literal(ranking.key)}  # the app chose among models by {ranking.label}")
    if request.task == Task.BINARY:
        lines.append(f"POSITIVE = {_literal(request.positive)}  # the class PR-AUC and the probabilities are about")
    return "\n".join(lines)


def _columns(request: TrainingRequest) -> list[str]:
    """The columns the script keeps: the features, and the target."""
    return [*request.features, *([request.target] if request.target is not None else [])]


def _date_columns(request: TrainingRequest, report: LoadReport | None) -> list[str]:
    import pandas as pd

    fixed = set(request.plan.type_fixes)
    parsed = set(report.parsed_dates) if report is not None else set()
    return [
        c
        for c in _columns(request)
        if c in parsed or (c not in fixed and pd.api.types.is_datetime64_any_dtype(request.frame[c].dtype))
    ]


def _cleaning_code(request: TrainingRequest, fixes: dict[str, str]) -> str:
    plan = request.plan
    target = request.target
    lines = []
    if plan.drop_duplicates:
        lines += [
            "# Drop rows that repeat an earlier row exactly, in every column of the file.",
            "df = df[~df.duplicated()]",
        ]
    lines += [
        "# Keep the columns the model uses" + (", and the target." if target is not None else "."),
        "df = df[[*FEATURES, TARGET]]" if target is not None else "df = df[FEATURES]",
    ]
    if fixes:
        lines += [
            "# Type fixes chosen on the Clean page (values that cannot be converted become missing).",
            f"COLUMN_TYPE_FIXES = {_dict_literal(fixes)}",
            "df, _notes = apply_type_fixes(df, COLUMN_TYPE_FIXES)",
        ]
    if target is not None:
        lines += ["# Drop rows without a target value.", "df = df[df[TARGET].notna()]"]
    columns = _columns(request)
    drop_rows = [c for c, r in plan.missing_by_column.items() if r.strategy == "drop_rows" and c in columns]
    if drop_rows:
        lines += [
            '# Drop rows missing a value in these columns (the plan\'s "drop rows" rule).',
            f"DROP_ROWS_IF_MISSING = {_list(drop_rows, 0, 23)}",
            "df = df[df[DROP_ROWS_IF_MISSING].notna().all(axis=1)]",
        ]
    lines.append("df = df.reset_index(drop=True)")
    return "\n".join(lines)


def _dict_literal(values: dict[str, Any]) -> str:
    """A dict of plain values as a Python literal (keys and values through ``repr``)."""
    return _Node("{", [(f"{_literal(k)}: ", _atom(_literal(v))) for k, v in values.items()], "}").format()


_CUT = '''
def cut(order):
    """Cut an ordering of rows into training, validation and test positions."""
    n = len(order)
    n_test = round(n * TEST_SHARE)
    n_valid = max(1, round(n * VALID_SHARE)) if n >= 3 else 0
    n_train = n - n_valid - n_test
    return order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]
'''.strip()


def _split_code(request: TrainingRequest) -> str:
    config = request.split.config
    lines = [_CUT, "", ""]
    if config.time_column is not None:
        lines += [
            f"TIME_COLUMN = {_literal(config.time_column)}",
            "# Ordered in time: the oldest rows train, the newest are kept for validation and test.",
            'assert df[TIME_COLUMN].notna().all(), "rows without a time cannot be ordered"',
            'train_rows, valid_rows, test_rows = cut(np.argsort(df[TIME_COLUMN].to_numpy(), kind="stable"))',
        ]
    elif request.target is not None and request.task.is_classification and config.stratify:
        lines += [
            "rng = np.random.default_rng(SEED)",
            "positions = np.arange(len(df))",
            "labels = df[TARGET].to_numpy()",
            "if pd.Series(labels).value_counts().min() < 2:",
            "    # A class with a single row cannot be in two parts: shuffle all rows instead.",
            "    train_rows, valid_rows, test_rows = cut(rng.permutation(positions))",
            "else:",
            "    # Stratified: each class is shuffled and cut on its own, so every part keeps its share.",
            "    parts = ([], [], [])",
            "    for label in pd.unique(labels):",
            "        for part, rows in zip(parts, cut(rng.permutation(positions[labels == label])), strict=True):",
            "            part.append(rows)",
            "    train_rows, valid_rows, test_rows = (rng.permutation(np.concatenate(part)) for part in parts)",
        ]
    else:
        lines += [
            "rng = np.random.default_rng(SEED)",
            "train_rows, valid_rows, test_rows = cut(rng.permutation(np.arange(len(df))))",
        ]
    lines += [
        "",
        "X_train, X_valid = df.iloc[train_rows][FEATURES], df.iloc[valid_rows][FEATURES]",
    ]
    if request.target is not None:
        lines.append("y_train, y_valid = df.iloc[train_rows][TARGET], df.iloc[valid_rows][TARGET]")
    lines.append('print(f"{len(train_rows)} training, {len(valid_rows)} validation and {len(test_rows)} test rows")')
    return "\n".join(lines)


def _pipeline_code(renderer: _Renderer, pipeline: Any, form: dict[str, Any]) -> str:
    lines: list[str] = []
    steps: list[tuple[str, _Node]] = []
    for step_name, step in pipeline.steps:
        if step_name == "columns":
            lines += _column_transformer_code(renderer, step)
            value = _atom("preprocess")
        elif step_name == "model":
            lines += [_MODEL_COMMENT, "model = " + renderer.call(step, form).format(0, 8), ""]
            value = _atom("model")
        else:
            value = renderer.node(step)
        steps.append(("", _Node("(", [("", _atom(_literal(step_name))), ("", value)], ")")))
    outer = renderer.name(type(pipeline))
    order = "The whole pipeline: " + ", then ".join(_STEP_COMMENTS.get(n, n) for n, _ in pipeline.steps) + "."
    lines.append(textwrap.fill(order, 98, initial_indent="# ", subsequent_indent="# "))
    lines.append("pipeline = " + _Node(f"{outer}(", [("", _Node("[", steps, "]"))], ")").format(0, 11))
    return "\n".join(lines)


def _column_transformer_code(renderer: _Renderer, columns: Any) -> list[str]:
    lines: list[str] = []
    branches: list[tuple[str, _Node]] = []
    used: set[str] = set()
    for index, (branch, transformer, cols) in enumerate(columns.transformers):
        taken = _SCRIPT_NAMES | set(renderer.imports.bound) | set(renderer.bundle.defined)
        plain = branch.isidentifier() and not keyword.iskeyword(branch) and branch not in taken
        variable = branch if plain else f"branch{index}"
        while variable in used:
            variable += "_"
        used.add(variable)
        inner = getattr(transformer, "steps", None)
        words = " → ".join(_BRANCH_WORDS.get(n, n) for n, _ in inner) if inner else "as is"
        lines += [f"# {variable}: {words}", f"{variable} = " + renderer.node(transformer).format(0, len(variable) + 3)]
        branches.append(
            ("", _Node("(", [("", _atom(_literal(branch))), ("", _atom(variable)), ("", renderer.node(cols))], ")"))
        )
    node = renderer.call(columns, overrides={"transformers": _Node("[", branches, "]")})
    lines += [
        "",
        "# Every column role has its own branch; columns not listed are left out.",
        "preprocess = " + node.format(0, 13),
        "",
    ]
    return lines


def _training_code(request: TrainingRequest, spec) -> str:
    if request.task == Task.CLUSTERING:
        return "\n".join(
            [
                "# Clustering has no target: the preprocessing and the model are fitted on the training rows,",
                "# and (as in the app) the clusters are scored on those same rows.",
                "X_train_ready = pipeline[:-1].fit_transform(X_train)",
                "labels = model.fit_predict(X_train_ready)",
            ]
        )
    if spec.needs_tensorflow:
        return "\n".join(
            [
                "# The network watches the validation rows while it trains (for early stopping), so the",
                "# preprocessing is fitted on the training rows first and the validation rows are transformed with it.",
                "X_fit, y_fit = X_train, y_train",
                "for _, step in pipeline.steps[:-1]:",
                '    if hasattr(step, "fit_resample"):  # samplers change the training rows only',
                "        X_fit, y_fit = step.fit_resample(X_fit, y_fit)",
                "    else:",
                "        X_fit = step.fit_transform(X_fit, y_fit)",
                "X_valid_ready = X_valid",
                "for _, step in pipeline.steps[:-1]:",
                '    if not hasattr(step, "fit_resample"):',
                "        X_valid_ready = step.transform(X_valid_ready)",
                "model.fit(X_fit, y_fit, validation_data=(X_valid_ready, y_valid))",
                'print(f"best epoch {model.best_epoch_} of {model.stopped_epoch_} run")',
            ]
        )
    return "pipeline.fit(X_train, y_train)"


def _metrics_code(request: TrainingRequest, pipeline: Any) -> str:
    if request.task == Task.CLUSTERING:
        lines = [
            'X_dense = X_train_ready.toarray() if hasattr(X_train_ready, "toarray") else np.asarray(X_train_ready)',
            "scores = clustering_scores(X_dense, labels, seed=SEED)",
        ]
    elif request.task == Task.REGRESSION:
        lines = [
            "y_pred = pipeline.predict(X_valid)",
            "scores = regression_scores(np.asarray(y_valid, dtype=float), np.asarray(y_pred, dtype=float))",
        ]
    elif hasattr(pipeline, "predict_proba"):
        lines = [
            "classes = list(pipeline.classes_)",
            "proba = pipeline.predict_proba(X_valid)",
            "# The predicted label is the most probable class.",
            "y_true = np.asarray(y_valid)",
            "y_pred = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]",
            "if y_true.dtype != object:",
            "    y_pred = y_pred.astype(y_true.dtype)",
            "scores = classification_scores(y_true, np.asarray(y_pred), proba, classes, POSITIVE)"
            if request.task == Task.BINARY
            else "scores = classification_scores(y_true, np.asarray(y_pred), proba, classes)",
        ]
    else:
        lines = [
            "classes = list(pipeline.classes_)",
            "y_pred = pipeline.predict(X_valid)",
            "scores = classification_scores(np.asarray(y_valid), np.asarray(y_pred), None, classes)",
        ]
    lines += [
        'print("Validation metrics of", repr(MODEL_NAME))',
        "for name, value in scores.items():",
        '    print(f"{name}: {value!r}")',
    ]
    if request.task != Task.CLUSTERING:
        lines.append('print(f"The app ranked models by {RANKED_BY}: {scores.get(RANKED_BY)!r}")')
    return "\n".join(lines)


# --------------------------------------------------------------------------- notebook


def script_cells(script: str) -> list[tuple[str, str]]:
    """Split a percent-format script into ``("markdown" | "code", text)`` cells.

    Text cells lose their ``# `` comment prefix; code cells keep their code as written.
    Empty cells are left out.
    """
    cells: list[tuple[str, list[str]]] = []
    kind, lines = "code", []
    for line in script.splitlines():
        if line.startswith(_CODE_MARK):
            cells.append((kind, lines))
            kind, lines = ("markdown" if line.strip() == _TEXT_MARK else "code"), []
            continue
        if kind == "markdown":
            line = line[2:] if line.startswith("# ") else line[1:] if line.startswith("#") else line
        lines.append(line)
    cells.append((kind, lines))
    out = []
    for kind, body in cells:
        text = "\n".join(body).strip("\n")
        if text.strip():
            out.append((kind, text))
    return out


def notebook(script: str) -> bytes:
    """The script as a Jupyter notebook (nbformat 4.5 JSON, UTF-8): one cell per script cell."""
    cells = []
    for index, (kind, text) in enumerate(script_cells(script)):
        source = text.splitlines(keepends=True)
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
