"""Running an exported file and comparing its answers with the app's own (:func:`core.predict.predict_frame`).

The tolerances are :data:`~core.portable.result.PROBABILITY_TOLERANCE` and
:data:`~core.portable.result.VALUE_TOLERANCE`; labels must be equal on every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.cleaning import apply_type_fixes
from core.numbers import format_number
from core.portable.result import (
    MISSING_TEXT,
    PROBABILITY_TOLERANCE,
    VALUE_TOLERANCE,
    NotPortable,
    PortableInput,
)
from core.predict import PREDICTION

PROBABILITY_PREFIX = "probability of "


def onnx_feeds(frame: pd.DataFrame, inputs: Sequence[PortableInput], fixes: dict[str, str] | None = None) -> dict:
    """The ONNX file's inputs for the rows of ``frame`` (the person's columns, as :func:`core.predict.check_batch` aligns them).

    Numbers become 64-bit floats (NaN for missing), categories text (missing: :data:`MISSING_TEXT`), each one
    column wide; the cleaning plan's type fixes (``fixes``) are applied first, as the model's pipeline does.
    """
    fixed, _ = apply_type_fixes(frame, dict(fixes or {}))
    feeds = {}
    for item in inputs:
        values = fixed[item.column]
        if item.type == "string":  # each value as str() writes it, as the model's pipeline reads categories
            objects = values.astype(object)
            text = objects.where(objects.notna(), MISSING_TEXT).to_numpy().astype(str)
            feeds[item.name] = text.astype(object).reshape(-1, 1)
        else:
            feeds[item.name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64).reshape(-1, 1)
    return feeds


def run_onnx(data: bytes, feeds: dict) -> dict[str, np.ndarray]:
    """The file's outputs by name, computed by onnxruntime on this machine's CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are not the person's concern
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def compare(
    expected: pd.DataFrame,
    *,
    label: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    value: np.ndarray | None = None,
    what: str = "file",
) -> float:
    """The largest difference between a file's answers and the app's (``expected``, from ``predict_frame``).

    Probabilities are compared column by column (absolute), values relative to the app's (absolute under 1),
    labels as text.

    Raises:
        NotPortable: when an answer is beyond its tolerance or a label differs (the reason says by how much).
    """
    rows = len(expected)
    largest = 0.0
    if probabilities is not None:
        mine = expected[[c for c in expected.columns if str(c).startswith(PROBABILITY_PREFIX)]].to_numpy(float)
        theirs = np.asarray(probabilities, dtype=np.float64).reshape(rows, -1)
        if theirs.shape != mine.shape:
            raise NotPortable(
                "check", f"the {what} gives {theirs.shape[1]} probabilities per row, the app {mine.shape[1]}"
            )
        largest = _largest(np.abs(theirs - mine))
        if largest > PROBABILITY_TOLERANCE:
            raise NotPortable(
                "check",
                f"the {what}'s probabilities differ from the app's by up to {format_number(largest)} on {rows} rows "
                f"(allowed: {PROBABILITY_TOLERANCE:g})",
            )
    if value is not None:
        app_values = expected[PREDICTION].to_numpy(dtype=np.float64)
        file_values = np.asarray(value, dtype=np.float64).reshape(-1)
        largest = _largest(np.abs(file_values - app_values) / np.maximum(np.abs(app_values), 1.0))
        if largest > VALUE_TOLERANCE:
            raise NotPortable(
                "check",
                f"the {what}'s predictions differ from the app's by up to {format_number(largest)} (relative) on "
                f"{rows} rows (allowed: {VALUE_TOLERANCE:g})",
            )
    if label is not None:
        mine_labels = np.asarray([str(v) for v in expected[PREDICTION]])
        theirs_labels = np.asarray([_text(v) for v in np.asarray(label).reshape(-1)])
        differ = int((mine_labels != theirs_labels).sum())
        if differ:
            raise NotPortable("check", f"the {what} predicts another answer than the app on {differ} of {rows} rows")
    return largest


def _largest(differences: np.ndarray) -> float:
    """The largest difference; infinite when either side has a missing or infinite value."""
    if differences.size == 0:
        return 0.0
    return float(np.max(np.where(np.isfinite(differences), differences, np.inf)))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
