"""The training script: a standalone, commented script that retrains one model as the app did.

:func:`training_script` writes it cell by cell (the "percent" format of :mod:`core.codegen.notebook`):
libraries and settings, the app's helpers the model needs (copied, :mod:`core.codegen.helpers`),
loading (:mod:`core.codegen.reading`), the cleaning plan's row steps, the app's own split, the
pipeline written as code (:mod:`core.codegen.values`), training, and the validation metrics.
"""

from __future__ import annotations

import ast
import keyword
import textwrap
from dataclasses import fields
from typing import Any

from core import anomaly, evaluation
from core.cleaning import apply_type_fixes
from core.codegen.helpers import Bundle, bound_names
from core.codegen.imports import Binding, CodegenError, Imports
from core.codegen.notebook import CODE_MARK, TEXT_MARK
from core.codegen.reading import load_code, reading_of
from core.codegen.values import Node, Renderer, atom, dict_literal, list_literal, literal
from core.features import pipeline_inputs
from core.load_options import LoadOptions
from core.loading.report import LoadReport
from core.registry import get_spec
from core.split import SplitConfig, make_split
from core.target import Task
from core.training import ModelRun, TrainingRequest, build_model_pipeline

#: How far a Keras network's metrics may drift from the app's (see :func:`training_script`).
KERAS_TOLERANCE = 0.05

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

#: Libraries a script may need besides those the header always names, and how it names them.
_MORE_LIBRARIES = {"lightgbm": "LightGBM", "openpyxl": "openpyxl", "pyarrow": "pyarrow", "polars": "polars"}

_TEXT = {
    "libraries": "## 1. Libraries and settings\n\nThe settings are the choices made in the app: the file, "
    "the target to predict, the feature columns and the random seed.",
    "helpers": "## 2. Helpers copied from the app\n\nSmall pieces of the app's own code this model uses "
    "(reading the file, the split, custom pipeline steps, the metric functions). They are copied here "
    "so the script runs without the app; you can read them later and skip to the next step now.",
    "load": "## 3. Load the data\n\nThe file is read with the same delimiter, encoding, number format and "
    "missing-value markers (such as `NA` or `?`) as in the app.",
    "load_excel": "## 3. Load the data\n\nThe sheet is read with the same missing-value markers (such as `NA` "
    "or `?`) as in the app, then tidied and typed by the app's own code, copied above.",
    "clean": "## 4. Clean the rows\n\nThe steps of the cleaning plan that learn nothing from the data run on "
    "the whole table, before the split. Steps that *learn* (filling in missing values, outlier "
    "bounds) are part of the pipeline below, so they only ever learn from the training rows.",
    "split": "## 5. Split into training, validation and test rows\n\nThe app's own split with the same seed "
    "and method (stratified by class, or ordered in time), so every row lands in the same part. The test "
    "rows are kept aside for a final, honest check and are not used here.",
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
#: The variable the pipeline's column transformer is assigned to.
_PREPROCESS = "preprocess"
#: Split settings the script leaves out: cross-validation only chose among the models; the script
#: scores its one model on the validation rows, as the app's leaderboard shows it.
_SPLIT_LEFT_OUT = {"cv_folds"}


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
        Python source in the "percent" cell format (see :func:`core.codegen.notebook.notebook`). For
        scikit-learn models it prints the app's validation metrics exactly; a Keras network's metrics
        agree within about :data:`KERAS_TOLERANCE` (TensorFlow's arithmetic is not bit-for-bit
        repeatable across processes and machines).

    Raises:
        CodegenError: Something in the pipeline cannot be written as code.
    """
    spec = get_spec(run.key)
    form = spec.validate(run.params)
    pipeline = build_model_pipeline(request, run)
    imports = Imports()
    for name, module in (("np", "numpy"), ("pd", "pandas")):
        imports.require(name, Binding("import", module, None))
    bundle = Bundle(imports)
    reading = reading_of(data_file, load_options, report)
    scorer = _metric_helper(request.task)
    # The cells' code, written in the order the script runs it (so the helpers are copied in that order),
    # except the pipeline, written last: its variables avoid every name the other cells bind.
    code = {
        "libraries": _settings(request, run, data_file),
        "load": load_code(reading, _date_columns(request, report), bundle),
        "clean": _cleaning_code(request, bundle),
        "split": _split_code(request, bundle),
        "train": _training_code(request, spec),
        "metrics": _metrics_code(request, pipeline, scorer.__name__),
    }
    code["pipeline"] = _pipeline_code(
        Renderer(imports, bundle), pipeline, form, bound_names("\n\n".join(code.values()))
    )
    bundle.require(scorer)
    own = bound_names("\n\n".join(code.values()))
    clash = sorted(own & (set(bundle.defined) | set(imports.bound)))
    if clash:
        raise CodegenError(f"Copied helpers would overwrite the script's own names: {', '.join(clash)}.")

    clustering = request.task == Task.CLUSTERING
    sections = [
        _header(imports, bundle, spec.needs_tensorflow, reading.kind == "excel"),
        _cell("libraries", "\n".join(imports.lines()) + "\n\n" + code["libraries"]),
        _cell("helpers", bundle.source().rstrip()),
        _cell("load_excel" if reading.kind == "excel" else "load", code["load"]),
        *(_cell(key, code[key]) for key in ("clean", "split", "pipeline", "train")),
        _cell("cluster_metrics" if clustering else "metrics", code["metrics"]),
    ]
    # Two blank lines between cells, as ruff format wants them around functions and classes.
    return "\n\n\n".join(s.strip("\n") for s in sections) + "\n"


def _metric_helper(task: Task) -> Any:
    """The app's function that computes the task's metrics (copied into the script)."""
    if task == Task.CLUSTERING:
        return evaluation.clustering_scores
    if task == Task.ANOMALY:
        return anomaly.summary
    if task == Task.REGRESSION:
        return evaluation.regression_scores
    return evaluation.classification_scores


def _libraries(imports: Imports, bundle: Bundle, excel: bool) -> set[str]:
    """The packages the script imports: in its import lines, inside the copied helpers' functions, and
    openpyxl, which pandas loads to read a workbook."""
    packages = {b.module.split(".")[0] for b in imports.bound.values()}
    for node in ast.walk(ast.parse(bundle.source())):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            packages.add(node.module.split(".")[0])
    return packages | ({"openpyxl"} if excel else set())


def _header(imports: Imports, bundle: Bundle, keras: bool, excel: bool) -> str:
    packages = _libraries(imports, bundle, excel)
    more = [words for package, words in _MORE_LIBRARIES.items() if package in packages]
    more = ["Keras (TensorFlow)"] if keras else more
    extra = ", plus " + (f"{', '.join(more[:-1])} and {more[-1]}" if len(more) > 1 else more[0]) if more else ""
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
    return f"{TEXT_MARK}\n{text}\n\n\n{CODE_MARK}\n{code.strip()}\n"


def _settings(request: TrainingRequest, run: ModelRun, data_file: str) -> str:
    lines = [
        f"DATA_FILE = {literal(str(data_file))}",
        f"MODEL_NAME = {literal(run.name)}",
        f"TARGET = {literal(request.target)}  # the column to predict"
        if request.target is not None
        else f"TARGET = None  # {request.task.value}: no column to predict",
        f"FEATURES = {list_literal(pipeline_inputs(request.features, request.options), 0, 11)}",
        f"SEED = {int(request.seed)!r}  # the split's random seed",
    ]
    if request.task.has_target:
        ranking = request.ranking
        lines.append(f"RANKED_BY = {literal(ranking.key)}  # the app chose among models by {ranking.label}")
    if request.task == Task.BINARY:
        lines.append(f"POSITIVE = {literal(request.positive)}  # the class PR-AUC and the probabilities are about")
    return "\n".join(lines)


def _columns(request: TrainingRequest) -> list[str]:
    """The columns the script keeps: the features (and the columns time features order by), and the target."""
    return [
        *pipeline_inputs(request.features, request.options),
        *([request.target] if request.target is not None else []),
    ]


def _date_columns(request: TrainingRequest, report: LoadReport | None) -> list[str]:
    import pandas as pd

    fixed = set(request.plan.type_fixes)
    parsed = set(report.parsed_dates) if report is not None else set()
    return [
        c
        for c in _columns(request)
        if c in parsed or (c not in fixed and pd.api.types.is_datetime64_any_dtype(request.frame[c].dtype))
    ]


def _cleaning_code(request: TrainingRequest, bundle: Bundle) -> str:
    plan = request.plan
    target = request.target
    columns = _columns(request)
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
    fixes = {c: f for c, f in plan.type_fixes.items() if c in columns}
    if fixes:
        lines += [
            "# Type fixes chosen on the Clean page (values that cannot be converted become missing).",
            f"COLUMN_TYPE_FIXES = {dict_literal(fixes)}",
            f"df, _notes = {bundle.require(apply_type_fixes)}(df, COLUMN_TYPE_FIXES)",
        ]
    if target is not None:
        lines += ["# Drop rows without a target value.", "df = df[df[TARGET].notna()]"]
    drop_rows = [c for c, r in plan.missing_by_column.items() if r.strategy == "drop_rows" and c in columns]
    if drop_rows:
        lines += [
            '# Drop rows missing a value in these columns (the plan\'s "drop rows" rule).',
            f"DROP_ROWS_IF_MISSING = {list_literal(drop_rows, 0, 23)}",
            "df = df[df[DROP_ROWS_IF_MISSING].notna().all(axis=1)]",
        ]
    lines.append("df = df.reset_index(drop=True)")
    return "\n".join(lines)


def _split_code(request: TrainingRequest, bundle: Bundle) -> str:
    """The app's own :func:`core.split.make_split`, copied, called with the app's :class:`~core.split.SplitConfig`."""
    config = request.split.config
    settings: list[tuple[str, Node]] = []
    for item in fields(config):
        if item.name in _SPLIT_LEFT_OUT:
            continue
        value = getattr(config, item.name)
        written = "SEED" if item.name == "seed" and value == request.seed else literal(value)
        settings.append((f"{item.name}=", atom(written)))
    task = f"{bundle.require(Task)}.{request.task.name}"
    arguments = [("", atom("df")), ("", atom("TARGET")), ("", atom(task)), ("", atom("SPLIT_SETTINGS"))]
    lines = [
        "# The app's split settings: the parts' shares, the seed, stratified by class or ordered in time.",
        "SPLIT_SETTINGS = " + Node(f"{bundle.require(SplitConfig)}(", settings, ")").format(0, 17),
        "# The app's own split function (copied above): every row lands in the same part as in the app.",
        "split = " + Node(f"{bundle.require(make_split)}(", arguments, ")").format(0, 8),
        "train_rows, valid_rows, test_rows = split.train, split.valid, split.test",
        "",
        "X_train, X_valid = df.iloc[train_rows][FEATURES], df.iloc[valid_rows][FEATURES]",
    ]
    if request.target is not None:
        lines.append("y_train, y_valid = df.iloc[train_rows][TARGET], df.iloc[valid_rows][TARGET]")
    lines.append('print(f"{len(train_rows)} training, {len(valid_rows)} validation and {len(test_rows)} test rows")')
    return "\n".join(lines)


def _pipeline_code(renderer: Renderer, pipeline: Any, form: dict[str, Any], reserved: set[str]) -> str:
    """The pipeline as code; the column branches' variables avoid ``reserved`` (the names the other
    cells bind) and the names this cell binds otherwise."""
    blocks: list[list[str]] = []
    steps: list[tuple[str, Node]] = []
    transformer: tuple[int, Any] | None = None
    for step_name, step in pipeline.steps:
        if step_name == "columns":
            transformer = (len(blocks), step)
            blocks.append([])
            value = atom(_PREPROCESS)
        elif step_name == "model":
            blocks.append([_MODEL_COMMENT, "model = " + renderer.call(step, form).format(0, 8), ""])
            value = atom("model")
        else:
            value = renderer.node(step)
        steps.append(("", Node("(", [("", atom(literal(step_name))), ("", value)], ")")))
    outer = renderer.name(type(pipeline))
    order = "The whole pipeline: " + ", then ".join(_STEP_COMMENTS.get(n, n) for n, _ in pipeline.steps) + "."
    tail = [
        textwrap.fill(order, 98, initial_indent="# ", subsequent_indent="# "),
        "pipeline = " + Node(f"{outer}(", [("", Node("[", steps, "]"))], ")").format(0, 11),
    ]
    if transformer is not None:
        index, columns = transformer
        taken = reserved | bound_names("\n".join(line for block in [*blocks, tail] for line in block)) | {_PREPROCESS}
        blocks[index] = _column_transformer_code(renderer, columns, taken)
    return "\n".join(line for block in [*blocks, tail] for line in block)


def _column_transformer_code(renderer: Renderer, columns: Any, taken: set[str]) -> list[str]:
    lines: list[str] = []
    branches: list[tuple[str, Node]] = []
    used: set[str] = set()
    for index, (branch, transformer, cols) in enumerate(columns.transformers):
        unavailable = taken | set(renderer.imports.bound) | set(renderer.bundle.defined)
        plain = branch.isidentifier() and not keyword.iskeyword(branch) and branch not in unavailable
        variable = branch if plain else f"branch{index}"
        while variable in used:
            variable += "_"
        used.add(variable)
        inner = getattr(transformer, "steps", None)
        words = " → ".join(_BRANCH_WORDS.get(n, n) for n, _ in inner) if inner else "as is"
        lines += [f"# {variable}: {words}", f"{variable} = " + renderer.node(transformer).format(0, len(variable) + 3)]
        branches.append(
            ("", Node("(", [("", atom(literal(branch))), ("", atom(variable)), ("", renderer.node(cols))], ")"))
        )
    node = renderer.call(columns, overrides={"transformers": Node("[", branches, "]")})
    lines += [
        "",
        "# Every column role has its own branch; columns not listed are left out.",
        f"{_PREPROCESS} = " + node.format(0, len(_PREPROCESS) + 3),
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
    if request.task == Task.ANOMALY:
        return "# Anomaly detection has no target: the detector learns the usual rows from the training rows.\npipeline.fit(X_train)"
    return "pipeline.fit(X_train, y_train)"


def _metrics_code(request: TrainingRequest, pipeline: Any, scorer: str) -> str:
    """Score the model as the app does, with the app's metric function ``scorer`` (copied into the script)."""
    if request.task == Task.CLUSTERING:
        lines = [
            'X_dense = X_train_ready.toarray() if hasattr(X_train_ready, "toarray") else np.asarray(X_train_ready)',
            f"scores = {scorer}(X_dense, labels, seed=SEED)",
        ]
    elif request.task == Task.ANOMALY:
        lines = [
            "# An anomaly score is higher for a more unusual row: the negative of scikit-learn's score_samples.",
            "valid_scores = -pipeline.score_samples(X_valid)",
            "# Rows above the model's own boundary are flagged (those its predict calls -1).",
            "boundary = -float(np.ravel(pipeline[-1].offset_)[0])",
            f"scores = {scorer}(valid_scores, boundary)",
        ]
    elif request.task == Task.REGRESSION:
        lines = [
            "y_pred = pipeline.predict(X_valid)",
            f"scores = {scorer}(np.asarray(y_valid, dtype=float), np.asarray(y_pred, dtype=float))",
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
            f"scores = {scorer}(y_true, np.asarray(y_pred), proba, classes, POSITIVE)"
            if request.task == Task.BINARY
            else f"scores = {scorer}(y_true, np.asarray(y_pred), proba, classes)",
        ]
    else:
        lines = [
            "classes = list(pipeline.classes_)",
            "y_pred = pipeline.predict(X_valid)",
            f"scores = {scorer}(np.asarray(y_valid), np.asarray(y_pred), None, classes)",
        ]
    lines += [
        'print("Validation metrics of", repr(MODEL_NAME))',
        "for name, value in scores.items():",
        '    print(f"{name}: {value!r}")',
    ]
    if request.task.has_target:
        lines.append('print(f"The app ranked models by {RANKED_BY}: {scores.get(RANKED_BY)!r}")')
    return "\n".join(lines)
