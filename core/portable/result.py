"""What a portable export is, and the limits and tolerances every export is held to (defined once).

No ONNX library is imported here: the Predict page and the model card read these types without
loading onnx, onnxruntime or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The formats the app offers, in the order it offers them.
ONNX = "ONNX"
TFLITE = "TFLite"
FORMATS = (ONNX, TFLITE)

#: Largest difference allowed between a file's class probabilities and the app's (absolute).
PROBABILITY_TOLERANCE = 1e-4
#: Largest difference allowed between a file's predicted numbers and the app's: relative to the app's value,
#: absolute for values under 1 in size (a relative difference means nothing near zero).
VALUE_TOLERANCE = 1e-4
#: Largest file offered (a forest of deep trees grows past this; the bundle remains for those).
MAX_FILE_BYTES = 100 * 1024**2
#: Rows a file is checked on at most (the first rows of the validation split, or of the rows a bundle carries).
MAX_CHECK_ROWS = 2_000
#: How a missing category is passed to an ONNX file: strings have no missing value, so an empty one stands for it.
MISSING_TEXT = ""


@dataclass(frozen=True)
class PortableInput:
    """One input of an exported file.

    ``name`` is the input's name in the file; ``column`` the person's column it takes (the same unless the
    file format needed another name). ``type`` is ``"double"`` (numbers, NaN for missing), ``"string"``
    (categories as text, :data:`MISSING_TEXT` for missing) or ``"float"`` (TFLite's feature vector).
    """

    name: str
    column: str
    type: str
    shape: tuple[int | None, ...] = (None, 1)

    def to_dict(self) -> dict:
        return {"name": self.name, "column": self.column, "type": self.type, "shape": list(self.shape)}


@dataclass(frozen=True)
class PortableExport:
    """A file that runs the model outside Python, checked against the app's own predictions.

    ``max_difference`` is the largest difference seen on ``rows_checked`` rows: absolute for
    probabilities, relative for predicted numbers (see the tolerances above); predicted labels were equal.
    ``features`` (TFLite) are the preprocessed features the file takes, in order.
    """

    format: str
    file_name: str
    data: bytes = field(repr=False)
    inputs: tuple[PortableInput, ...]
    outputs: tuple[tuple[str, str], ...]
    max_difference: float
    rows_checked: int
    note: str = ""
    #: Which rows the file was checked on, in words ("validation rows", …).
    rows_label: str = "validation rows"
    features: tuple[str, ...] = ()
    #: The cleaning plan's type fixes of the inputs (column -> "number" | "category" | "text"): the file takes
    #: the values after them (:func:`core.portable.check.onnx_feeds` applies them).
    fixes: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.data)

    def to_dict(self) -> dict:
        """What the model card records (everything but the bytes)."""
        return {
            "format": self.format,
            "file_name": self.file_name,
            "bytes": self.size,
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [{"name": name, "meaning": meaning} for name, meaning in self.outputs],
            "max_difference": self.max_difference,
            "rows_checked": self.rows_checked,
            "rows_label": self.rows_label,
            "note": self.note,
            **({"features": list(self.features)} if self.features else {}),
            **({"type_fixes": dict(self.fixes)} if self.fixes else {}),
        }


@dataclass(frozen=True)
class Unavailable:
    """A format not offered for this model: the step that stands in the way (plain words) and why."""

    format: str
    step: str
    reason: str

    def to_dict(self) -> dict:
        return {"format": self.format, "unavailable": True, "step": self.step, "reason": self.reason}


class NotPortable(Exception):
    """A pipeline step without a portable form (raised inside the package, returned as :class:`Unavailable`)."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason
