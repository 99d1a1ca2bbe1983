"""The one way in: every portable format of a model, built and checked, or why it is not offered."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.export import file_stem
from core.portable.check import compare, onnx_feeds, run_onnx
from core.portable.result import (
    FORMATS,
    MAX_CHECK_ROWS,
    MAX_FILE_BYTES,
    MISSING_TEXT,
    ONNX,
    TFLITE,
    NotPortable,
    PortableExport,
    PortableInput,
    Unavailable,
)
from core.portable.steps import Layout, feature_names, layout
from core.predict import check_batch, predict_frame
from core.target import Task
from core.usable import UsableModel

Result = PortableExport | Unavailable
#: Tasks whose answers a file gives: a label and probabilities, a number, a cluster.
PORTABLE_TASKS = (Task.BINARY, Task.MULTICLASS, Task.REGRESSION, Task.CLUSTERING)
#: Told what is being done now ("Converting to ONNX…"); the default tells no one.
Listener = Callable[[str], None]


#: The rows a file is checked on, in words, by where they came from (see :func:`check_rows`).
VALIDATION_ROWS = "validation rows"
CARRIED_ROWS = "training rows the bundle carries"
SCHEMA_ROWS = "rows made from the model's input ranges"
#: Rows made from the schema when a model carries none.
SCHEMA_ROW_COUNT = 24


def check_rows(usable: UsableModel, validation: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The rows to check files on and what they are: the validation rows when known (a model trained now),
    else the training rows a bundle carries, else rows made from the input schema (medians, ends of the
    training ranges, every category listed, missing values)."""
    if validation is not None and len(validation):
        return validation, VALIDATION_ROWS
    if usable.background is not None and len(usable.background):
        return usable.background, CARRIED_ROWS
    columns = {}
    for column in usable.schema.columns:
        if column.kind == "number":
            cycle: list[Any] = [column.median, column.minimum, column.maximum, None]
        elif column.kind == "category":
            cycle = [*column.categories, None]
        elif column.kind == "date":
            cycle = [column.earliest, column.latest, None]
        else:
            cycle = [column.example, None]
        columns[column.name] = [cycle[i % len(cycle)] for i in range(SCHEMA_ROW_COUNT)]
    return pd.DataFrame(columns), SCHEMA_ROWS


def portable_exports(
    usable: UsableModel, rows: pd.DataFrame, *, rows_label: str = VALIDATION_ROWS, listener: Listener | None = None
) -> list[Result]:
    """Every format of :data:`~core.portable.result.FORMATS` for ``usable``: a checked file, or why not.

    Args:
        usable: The model.
        rows: Rows to check the files on (see :func:`check_rows`); the first
            :data:`~core.portable.result.MAX_CHECK_ROWS` are used.
        rows_label: What those rows are, in words (recorded with each file).
        listener: Told each stage as it starts.

    Returns:
        One entry per format, in the order of ``FORMATS``: a :class:`PortableExport` whose answers were
        within the tolerances of the app's on those rows, or an :class:`Unavailable` naming the step that
        has no portable form (or the check that failed) in plain words.
    """
    say = listener or (lambda message: None)
    if usable.task not in PORTABLE_TASKS:
        reason = (
            f"the app's answers for {usable.task.value} (scores scaled to the training rows) have no portable form yet"
        )
        return [Unavailable(fmt, "model", reason) for fmt in FORMATS]
    try:
        aligned, _ = check_batch(rows.head(MAX_CHECK_ROWS), usable.schema)
        expected = predict_frame(usable, aligned)
    except DashboardError as err:
        reason = f"the model cannot predict the rows it would be checked on: {err.user_message}"
        return [Unavailable(fmt, "model", reason) for fmt in FORMATS]
    try:
        shape: Layout | NotPortable = layout(usable.pipeline, usable.schema.names)
    except NotPortable as err:
        shape = err
    out: list[Result] = []
    if isinstance(shape, NotPortable):
        out.append(Unavailable(ONNX, shape.step, shape.reason))
    else:
        say(f"Converting to ONNX and checking it on {len(aligned):,} rows…")
        out.append(_onnx(usable, shape, aligned, expected, rows_label))
    if _is_network(usable):
        say(f"Converting the network to TFLite and checking it on {len(aligned):,} rows…")
        out.append(_tflite(usable, aligned, expected, rows_label))
    else:
        out.append(Unavailable(TFLITE, "model", _tflite_refusal(usable)))
    return out


#: Why a model gets no TFLite file: the one sentence, by whether it is a network that reads words or windows.
TFLITE_ONLY_TABLE_NETWORK = "TFLite files are made for the neural network on table columns only; use ONNX"
TFLITE_NOT_FOR_WORDS_OR_WINDOWS = (
    "TFLite files are made for the neural network on table columns; a text network reads words and a sequence "
    "network reads windows of rows, which a TFLite file cannot take"
)


def _is_network(usable: UsableModel) -> bool:
    """Whether the model is the dense network on table columns (not a subclass reading words or windows)."""
    from core.keras_net import KerasNetwork

    return type(usable.pipeline.steps[-1][1]) is KerasNetwork


def _tflite_refusal(usable: UsableModel) -> str:
    from core.keras_net import KerasNetwork

    if isinstance(usable.pipeline.steps[-1][1], KerasNetwork):  # the text or sequence network
        return TFLITE_NOT_FOR_WORDS_OR_WINDOWS
    return TFLITE_ONLY_TABLE_NETWORK


def _kind(usable: UsableModel) -> str:
    return str((usable.card.get("model") or {}).get("kind") or type(usable.pipeline.steps[-1][1]).__name__)


def _failure(fmt: str, usable: UsableModel, exc: Exception) -> Unavailable:
    """A converter's error as a step and a reason (the estimator's step when it names the estimator)."""
    message = " ".join(str(exc).split())[:300] or type(exc).__name__
    estimator = type(usable.pipeline.steps[-1][1]).__name__
    if estimator in message or "model" in message.lower():
        return Unavailable(fmt, "model", f"the step 'model' ({_kind(usable)}) could not be converted: {message}")
    return Unavailable(fmt, "preprocessing", f"the preprocessing could not be converted: {message}")


def _too_big(fmt: str, size: int) -> Unavailable | None:
    if size <= MAX_FILE_BYTES:
        return None
    mb, limit = math.ceil(size / 1024**2), MAX_FILE_BYTES // 1024**2
    return Unavailable(
        fmt,
        "model",
        f"the {fmt} file would be {mb} MB, over the {limit} MB the app offers; fewer or shallower trees make it smaller",
    )


def _outputs(usable: UsableModel, *, label: bool = True) -> tuple[tuple[str, str], ...]:
    if usable.task == Task.REGRESSION:
        return (("value", f"the predicted {usable.target}, one per row"),)
    if usable.task == Task.CLUSTERING:
        return (
            ("label", "the cluster of each row"),
            ("distances", "the distance of each row to each cluster's centre"),
        )
    order = ", ".join(str(c) for c in usable.classes)
    answers = [("label", "the predicted class of each row")] if label else []
    return (*answers, ("probabilities", f"one column per class, in this order: {order}"))


def _onnx(usable: UsableModel, shape: Layout, aligned: pd.DataFrame, expected: pd.DataFrame, rows_label: str) -> Result:
    from core.portable.onnx_file import onnx_model

    try:
        data = onnx_model(shape, list(usable.classes)).SerializeToString()
    except NotPortable as err:
        return Unavailable(ONNX, err.step, err.reason)
    except Exception as exc:  # a converter's refusal, whatever its type: the format is not offered, with the reason
        return _failure(ONNX, usable, exc)
    refused = _too_big(ONNX, len(data))
    if refused:
        return refused
    inputs = tuple(PortableInput(column, column, kind) for column, kind in shape.inputs)
    try:
        answers = run_onnx(data, onnx_feeds(aligned, inputs, shape.fixes))
        difference = compare(
            expected,
            label=answers.get("label"),
            probabilities=answers.get("probabilities"),
            value=answers.get("value"),
            what="ONNX file",
        )
    except NotPortable as err:
        return Unavailable(ONNX, err.step, err.reason)
    except Exception as exc:
        return Unavailable(ONNX, "check", f"onnxruntime could not run the file: {' '.join(str(exc).split())[:300]}")
    notes = [
        "Numbers are 64-bit floats (NaN when missing); categories are text "
        f"({MISSING_TEXT!r} when missing), one column wide each.",
        *shape.notes,
    ]
    return PortableExport(
        ONNX,
        f"{file_stem(usable.name)}.onnx",
        data,
        inputs,
        _outputs(usable),
        difference,
        len(aligned),
        " ".join(notes),
        rows_label,
        fixes=dict(shape.fixes),
    )


def _tflite(usable: UsableModel, aligned: pd.DataFrame, expected: pd.DataFrame, rows_label: str) -> Result:
    from core.portable.tflite import INPUT, run_tflite, tflite_bytes

    network = usable.pipeline.steps[-1][1]
    try:
        features = _features(usable.pipeline, aligned)
        names = tuple(feature_names(usable.pipeline))
        data = tflite_bytes(network, features.shape[1])
    except Exception as exc:  # TensorFlow's converter refusing the network: not offered, with the reason
        return _failure(TFLITE, usable, exc)
    refused = _too_big(TFLITE, len(data))
    if refused:
        return refused
    try:
        answer = run_tflite(data, features)
        if usable.task == Task.REGRESSION:
            difference = compare(expected, value=answer, what="TFLite file")
        else:
            labels = np.asarray(usable.classes, dtype=object)[np.argmax(answer, axis=1)]
            difference = compare(expected, label=labels, probabilities=answer, what="TFLite file")
    except NotPortable as err:
        return Unavailable(TFLITE, err.step, err.reason)
    except Exception as exc:
        return Unavailable(TFLITE, "check", f"the TFLite interpreter could not run the file: {exc}")
    note = (
        f"The file takes the {features.shape[1]} preprocessed features (32-bit floats, in the order listed), not "
        "your columns: run the model's preprocessing first (the bundle's pipeline without its last step). "
        + ("The predicted class is the one with the highest probability." if usable.task.is_classification else "")
    )
    return PortableExport(
        TFLITE,
        f"{file_stem(usable.name)}.tflite",
        data,
        (PortableInput(INPUT, "(the preprocessed features)", "float", (None, features.shape[1])),),
        _outputs(usable, label=False),
        difference,
        len(aligned),
        note.strip(),
        rows_label,
        features=names,
    )


def _features(pipeline: Any, rows: pd.DataFrame) -> np.ndarray:
    """The rows as the network receives them: every step before it that acts on new rows (samplers act in fit only)."""
    out: Any = rows
    for _, step in pipeline.steps[:-1]:
        if not hasattr(step, "fit_resample"):
            out = step.transform(out)
    return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)


# --------------------------------------------------------------------------- using a file


def usage_snippet(export: PortableExport) -> str:
    """Python that scores a CSV with the exported file (user text only as ``repr`` literals)."""
    if export.format == TFLITE:
        lines = [
            "import numpy as np",
            "import tensorflow as tf  # or: from ai_edge_litert.interpreter import Interpreter",
            "",
            f"interpreter = tf.lite.Interpreter(model_path={export.file_name!r})",
            f"features = np.zeros((1, {len(export.features)}), dtype=np.float32)  # the preprocessed features, in the card's order",
            "index = interpreter.get_input_details()[0]['index']",
            "interpreter.resize_tensor_input(index, list(features.shape))",
            "interpreter.allocate_tensors()",
            "interpreter.set_tensor(index, features)",
            "interpreter.invoke()",
            "answer = interpreter.get_tensor(interpreter.get_output_details()[0]['index'])",
            f"print(answer)  # {export.outputs[0][0]}: {export.outputs[0][1]}",
        ]
        return "\n".join(lines) + "\n"
    lines = [
        "import numpy as np",
        "import onnxruntime as ort",
        "import pandas as pd",
        "",
        f"session = ort.InferenceSession({export.file_name!r})",
        "rows = pd.read_csv('new_rows.csv')  # columns named as in training",
        "feeds = {",
    ]
    for item in export.inputs:
        if item.type == "string":
            value = f"rows[[{item.column!r}]].astype(object).where(rows[[{item.column!r}]].notna(), {MISSING_TEXT!r}).astype(str).to_numpy()"
        else:
            value = f"rows[[{item.column!r}]].to_numpy(np.float64)"
        lines.append(f"    {item.name!r}: {value},")
    names = ", ".join(name for name, _ in export.outputs)
    lines += ["}", f"{names} = session.run(None, feeds)", f"print({export.outputs[0][0]})"]
    return "\n".join(lines) + "\n"
