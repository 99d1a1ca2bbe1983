"""Use a trained model on new rows: wrap a trained model, check a batch, predict, write safe CSVs.

The model itself (:class:`core.usable.UsableModel`, with its :class:`core.usable.FeatureSchema`)
and its card (:mod:`core.model_card`) live in their own modules; this one puts them to work.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import anomaly
from core.errors import DashboardError
from core.explain.background import representative_rows
from core.model_card import model_card
from core.params import show_value
from core.target import Task
from core.usable import ColumnSchema, FeatureSchema, UsableModel

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PREDICTION = "prediction"
#: Example values shown per column with a problem.
EXAMPLES = 5
#: Longest text read as a date: a longer cell is not one, and the date parser takes minutes over megabytes.
MAX_DATE_CHARS = 100


def usable_from_training(model, request, source_name: str, *, background_rows: int = 200) -> UsableModel:
    """Wrap a :class:`core.training.TrainedModel` of ``request`` for prediction and export."""
    # The rows the model learned from: training rows, plus validation rows once it was refitted on them.
    refitted = getattr(model, "refitted", False)
    learned = np.concatenate([request.split.train, request.split.valid]) if refitted else request.split.train
    X_train, y_train = request.xy(learned)
    schema = FeatureSchema.from_frame(X_train, request.roles)
    n = min(background_rows, len(X_train))
    classification = request.task.is_classification
    background = (
        representative_rows(X_train, n, request.seed, y_train, classification=classification).frame if n else None
    )
    classes = list(getattr(model.pipeline, "classes_", [])) if request.task.is_classification else []
    usable = UsableModel(
        model.name, model.key, model.pipeline, request.task, request.target, schema, {}, background, classes
    )
    usable.card = model_card(usable, model, request, source_name)
    return usable


# --------------------------------------------------------------------------- batches


@dataclass
class BatchReport:
    """What was found when a file was checked against a model's schema."""

    rows: int
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    #: column -> how many values could not be read as the expected type (they become missing)
    bad_values: dict[str, int] = field(default_factory=dict)
    #: column -> the first few of those values, as written
    bad_examples: dict[str, list[str]] = field(default_factory=dict)
    #: column -> unseen categories (up to 10 examples) and how many rows have one
    unseen: dict[str, tuple[list[str], int]] = field(default_factory=dict)
    #: columns filled with missing values because the file lacks them
    filled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_columns or self.bad_values or self.unseen)

    def problems(self) -> list[str]:
        """Plain sentences, one per finding; column names shown as quoted literals."""
        lines = []
        if self.missing_columns:
            names = ", ".join(show_value(c) for c in self.missing_columns)
            lines.append(
                f"{len(self.missing_columns)} column(s) the model needs are missing: {names}. "
                "They were treated as empty (the model fills them as it learned to); add them for better predictions."
            )
        if self.extra_columns:
            names = ", ".join(show_value(c) for c in self.extra_columns[:20])
            lines.append(f"{len(self.extra_columns)} column(s) the model does not use were ignored: {names}.")
        for column, count in self.bad_values.items():
            written = ", ".join(show_value(v) for v in self.bad_examples.get(column, []))
            shown = f" (e.g. {written})" if written else ""
            lines.append(
                f"{count} value(s) of {show_value(column)} are not of the expected type{shown} and were treated "
                "as missing."
            )
        for column, (examples, count) in self.unseen.items():
            shown = ", ".join(show_value(v) for v in examples)
            lines.append(
                f"{count} row(s) of {show_value(column)} have values the model never saw in training ({shown}); "
                "the model treats them as an unknown category."
            )
        return lines


def check_batch(frame: pd.DataFrame, schema: FeatureSchema) -> tuple[pd.DataFrame, BatchReport]:
    """Align ``frame`` with the schema: the model's columns in order, types coerced.

    What can be handled is handled (missing columns become empty, unreadable
    values become missing, extra columns are dropped) and reported.

    Raises:
        DashboardError: when the file has no rows, or shares no column with the model.
    """
    if frame is None or len(frame) == 0:
        raise DashboardError("The file has no rows to predict. Upload a file with at least one data row.")
    names = schema.names
    present = [c for c in names if c in frame.columns]
    if not present:
        expected = ", ".join(show_value(c) for c in names[:10])
        raise DashboardError(
            f"None of the file's columns is one the model uses. Expected columns such as {expected}. "
            "Check that this is the right file (and the header row is the first line)."
        )
    report = BatchReport(rows=len(frame))
    report.missing_columns = [c for c in names if c not in frame.columns]
    report.extra_columns = [str(c) for c in frame.columns if c not in names]
    aligned = pd.DataFrame(index=frame.index)
    for column in schema.columns:
        if column.name not in frame.columns:
            aligned[column.name] = _empty_like(column, len(frame), frame.index)
            report.filled.append(column.name)
            continue
        values, bad = _coerce(frame[column.name], column)
        aligned[column.name] = values
        if bad:
            report.bad_values[column.name] = bad
            lost = frame[column.name][frame[column.name].notna().to_numpy() & values.isna().to_numpy()]
            report.bad_examples[column.name] = [str(v) for v in list(dict.fromkeys(lost.astype(str)))[:EXAMPLES]]
        if column.kind == "category" and column.complete and column.categories:
            known = set(column.categories)
            as_text = values.dropna().astype(str)
            unseen = as_text[~as_text.isin(known)]
            if len(unseen):
                report.unseen[column.name] = (list(dict.fromkeys(unseen))[:10], len(unseen))
    return aligned.reset_index(drop=True), report


def _empty_like(column: ColumnSchema, n: int, index: pd.Index) -> pd.Series:
    if column.kind == "number":
        return pd.Series(np.nan, index=index, dtype=float)
    return pd.Series([None] * n, index=index, dtype=object)


def _coerce(values: pd.Series, column: ColumnSchema) -> tuple[pd.Series, int]:
    """Values as the training dtype; how many present values could not be read."""
    if str(values.dtype) == column.dtype:
        return values, 0  # already what the pipeline saw in training (the usual case for a file like the training one)
    if column.kind == "number":
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            return values.astype(float), 0
        parsed = pd.to_numeric(values, errors="coerce")
        bad = int((parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")).sum())
        return parsed.astype(float), bad
    if column.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(values.dtype) or "datetime" in column.dtype:
            too_long = values.map(lambda v: isinstance(v, str) and len(v) > MAX_DATE_CHARS).astype(bool)
            parsed = pd.to_datetime(values.mask(too_long), errors="coerce", format="mixed")
            bad = int((parsed.isna() & values.notna()).sum())
            return parsed, bad
        return values.astype(object).where(values.notna(), None), 0
    if pd.api.types.is_bool_dtype(column.dtype) or column.dtype == "bool":
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        parsed = values.map(lambda v: v if pd.isna(v) or isinstance(v, bool) else mapping.get(str(v).strip().lower()))
        bad = int((parsed.isna() & values.notna()).sum())
        return parsed.astype(object), bad
    if pd.api.types.is_numeric_dtype(column.dtype) and column.kind == "category":
        parsed = pd.to_numeric(values, errors="coerce")
        bad = int((parsed.isna() & values.notna()).sum())
        return parsed, bad
    text = values.map(lambda v: v if pd.isna(v) else str(v))
    return text.astype(object).where(text.notna(), None), 0


# --------------------------------------------------------------------------- predicting


def predict_frame(usable: UsableModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions for rows already aligned with the schema (see :func:`check_batch`).

    Returns a frame with ``prediction`` and, for classifiers, one
    ``probability of <class>`` column per class; for an anomaly detector, ``anomaly score`` (higher =
    more unusual) and ``unusual`` (yes above the model's threshold, :mod:`core.anomaly`).

    Raises:
        DashboardError: when the model cannot predict new rows (e.g. DBSCAN) or fails on them.
    """
    X = frame[usable.schema.names]
    pipeline = usable.pipeline
    if usable.task == Task.CLUSTERING and not hasattr(pipeline[-1], "predict"):
        raise DashboardError(
            f"{usable.name} cannot assign new rows to clusters (it only groups the rows it was trained on). "
            "Use K-Means to cluster new rows."
        )
    try:
        if usable.task == Task.ANOMALY:
            return anomaly.scored(anomaly.anomaly_scores(pipeline, X), anomaly.threshold(pipeline))
        y_pred = np.asarray(pipeline.predict(X))
        out = pd.DataFrame({PREDICTION: y_pred})
        if usable.task.is_classification and hasattr(pipeline, "predict_proba"):
            proba = np.asarray(pipeline.predict_proba(X), dtype=float)
            classes = list(getattr(pipeline, "classes_", usable.classes))
            for i, label in enumerate(classes):
                out[f"probability of {label}"] = proba[:, i]
    except DashboardError:
        raise
    except Exception as exc:
        raise DashboardError(
            f"{usable.name} could not predict these rows: {type(exc).__name__}: {exc}. "
            "Check the file's values against the model's inputs."
        ) from exc
    return out


def scored_frame(original: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The person's rows with the predictions appended (names made unique)."""
    out = original.reset_index(drop=True).copy()
    for column in predictions.columns:
        name = column
        while name in out.columns:
            name = f"{name} (model)"
        out[name] = predictions[column].to_numpy()
    return out


# --------------------------------------------------------------------------- safe downloads


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe.

    Cells starting with ``=``, ``+``, ``-``, ``@`` (or tab/CR) are prefixed with
    ``'`` so Excel, LibreOffice and Google Sheets show them as text (CSV injection).
    Numbers are left alone: ``-3`` stays a number.
    """
    out = frame.copy()
    out.columns = [_neutral(str(c)) for c in out.columns]
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            continue
        out[column] = values.map(lambda v: _neutral(v) if isinstance(v, str) else v)
    return out


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM, so Excel reads accents) with formulas neutralised."""
    buffer = io.StringIO()
    neutralise_formulas(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")
