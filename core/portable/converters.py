"""skl2onnx converters for what skl2onnx does not know: the app's category tables, its target transforms,
the baseline, and LightGBM (onnxmltools' converter, registered with skl2onnx).

:func:`register` imports skl2onnx and onnxmltools and registers everything once per process; nothing
here is imported before it is called (the app starts without the ONNX libraries).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from core.portable.steps import CategoryCodes, NumberFill

_LOCK = threading.Lock()
_DONE: list[bool] = []
#: Options the classifiers registered here accept (skl2onnx refuses unknown ones): no ZipMap, plain tensors.
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False]}


def register() -> None:
    """Register the converters with skl2onnx (once per process; safe from several threads)."""
    with _LOCK:
        if _DONE:
            return
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.dummy import DummyClassifier, DummyRegressor

        update_registered_converter(
            LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=CLASSIFIER_OPTIONS,
        )
        update_registered_converter(
            LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes, convert_lightgbm
        )
        update_registered_converter(CategoryCodes, "NocodeCategoryCodes", _category_shape, _convert_categories)
        update_registered_converter(NumberFill, "NocodeNumberFill", _same_shape, _convert_number_fill)
        update_registered_converter(
            TransformedTargetRegressor, "NocodeTransformedTarget", _regressor_shape, _convert_target_transform
        )
        update_registered_converter(
            DummyClassifier,
            "NocodeDummyClassifier",
            _dummy_classifier_shape,
            _convert_dummy,
            options=CLASSIFIER_OPTIONS,
        )
        update_registered_converter(DummyRegressor, "NocodeDummyRegressor", _regressor_shape, _convert_dummy)
        _register_hist_gradient_boosting()
        _DONE.append(True)


def _register_hist_gradient_boosting() -> None:
    """skl2onnx's own converters for histogram gradient boosting, given integer flags.

    scikit-learn 1.9 stores a node's "missing values go left" as a bool; skl2onnx 1.20 passes the bools to
    ``onnx.helper.make_node``, which refuses them in an integer list. The shim turns them into 0/1.
    """
    from skl2onnx import update_registered_converter
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import _converter_pool, get_shape_calculator
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    for model in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        alias = sklearn_operator_name_map[model]
        original = _converter_pool[alias]
        options = original.get_allowed_options()
        update_registered_converter(model, alias, get_shape_calculator(alias), _with_flags(original), options=options)


def _with_flags(original: Any) -> Any:
    """``original`` called with an :class:`_IntegerFlags` container (skl2onnx wants exactly three parameters)."""

    def convert(scope: Any, operator: Any, container: Any) -> None:
        original(scope, operator, _IntegerFlags(container))

    return convert


class _IntegerFlags:
    """A converter's container whose ``add_node`` turns bools in integer lists into 0/1."""

    def __init__(self, container: Any) -> None:
        self._container = container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def add_node(self, op_type: Any, inputs: Any, outputs: Any, **attributes: Any) -> Any:
        for key, value in attributes.items():
            if isinstance(value, list | tuple) and any(isinstance(v, bool | np.bool_) for v in value):
                attributes[key] = [int(v) for v in value]
        return self._container.add_node(op_type, inputs, outputs, **attributes)


# --------------------------------------------------------------------------- shapes


def _category_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = DoubleTensorType([rows, int(sum(operator.raw_operator.widths))])


def _same_shape(operator: Any) -> None:
    operator.outputs[0].type = operator.inputs[0].type.__class__(operator.inputs[0].type.shape)


def _regressor_shape(operator: Any) -> None:
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([rows, 1])


def _dummy_classifier_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    rows = operator.inputs[0].get_first_dimension()
    classes = operator.raw_operator.classes_
    label = Int64TensorType if np.issubdtype(np.asarray(classes).dtype, np.integer) else StringTensorType
    operator.outputs[0].type = label([rows])
    operator.outputs[1].type = operator.inputs[0].type.__class__([rows, len(classes)])


# --------------------------------------------------------------------------- converters


def _numpy_type(operator: Any) -> Any:
    from skl2onnx.common.data_types import guess_numpy_type

    return guess_numpy_type(operator.inputs[0].type)


def _convert_categories(scope: Any, operator: Any, container: Any) -> None:
    """Per column: text → code (a lookup, the empty string standing for missing), then one-hot or the code itself."""
    from onnx import TensorProto

    op: CategoryCodes = operator.raw_operator
    source = operator.inputs[0].full_name
    names = scope.get_unique_variable_name

    def constant(values: Any, onnx_type: int, shape: list[int]) -> str:
        name = names("cst")
        container.add_initializer(name, onnx_type, shape, values)
        return name

    blocks = []
    for j, fill in enumerate(op.fills):
        lookup = dict(zip(op.keys[j], op.codes[j], strict=True))
        lookup[""] = lookup.get(fill, op.unseen[j])  # a missing value takes the fill the imputer learned
        column, code = names("column"), names("code")
        container.add_node("Gather", [source, constant([j], TensorProto.INT64, [1])], column, axis=1)
        container.add_node(
            "LabelEncoder",
            column,
            code,
            op_domain="ai.onnx.ml",
            op_version=2,
            keys_strings=[k.encode() for k in lookup],
            values_int64s=[int(v) for v in lookup.values()],
            default_int64=int(op.unseen[j]),
        )
        block = names("block")
        if op.ordinal:
            as_number, negative = names("as_number"), names("negative")
            container.add_node("Cast", code, as_number, to=TensorProto.DOUBLE)
            container.add_node("Less", [code, constant([0], TensorProto.INT64, [1])], negative)
            container.add_node("Where", [negative, constant([np.nan], TensorProto.DOUBLE, [1]), as_number], block)
        else:
            hot = names("hot")
            positions = constant(list(range(op.widths[j])), TensorProto.INT64, [op.widths[j]])
            container.add_node("Equal", [code, positions], hot)
            container.add_node("Cast", hot, block, to=TensorProto.DOUBLE)
        blocks.append(block)
    container.add_node("Concat", blocks, operator.outputs[0].full_name, axis=1)


def _convert_number_fill(scope: Any, operator: Any, container: Any) -> None:
    """Where a number is missing (NaN), its column's fill."""
    from onnx import TensorProto

    fills = [float(v) for v in operator.raw_operator.fills]
    source = operator.inputs[0].full_name
    constant, missing = scope.get_unique_variable_name("fill"), scope.get_unique_variable_name("missing")
    container.add_initializer(constant, TensorProto.DOUBLE, [1, len(fills)], fills)
    container.add_node("IsNaN", source, missing)
    container.add_node("Where", [missing, constant, source], operator.outputs[0].full_name)


def _convert_target_transform(scope: Any, operator: Any, container: Any) -> None:
    """A regressor on a transformed target: its prediction turned back (log(1 + y) → exp(z) − 1; a scaler's inverse)."""
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxExp, OnnxMul, OnnxSub
    from sklearn.preprocessing import StandardScaler

    from core.transformers import LogTarget

    op = operator.raw_operator
    version = container.target_opset
    dtype = _numpy_type(operator)
    predicted = OnnxSubEstimator(op.regressor_, operator.inputs[0], op_version=version)
    transformer = op.transformer_
    out = operator.outputs[:1]
    if isinstance(transformer, LogTarget):
        result = OnnxSub(
            OnnxExp(predicted, op_version=version), np.array([1], dtype=dtype), op_version=version, output_names=out
        )
    elif isinstance(transformer, StandardScaler):
        scale = np.asarray(transformer.scale_ if transformer.scale_ is not None else [1.0], dtype=dtype)
        mean = np.asarray(transformer.mean_ if transformer.mean_ is not None else [0.0], dtype=dtype)
        scaled = OnnxMul(predicted, scale, op_version=version)
        result = OnnxAdd(scaled, mean, op_version=version, output_names=out)
    else:
        raise NotImplementedError(f"the target transform {type(transformer).__name__} has no ONNX form")
    result.add_to(scope, container)


def _convert_dummy(scope: Any, operator: Any, container: Any) -> None:
    """The baseline: the same answer for every row (class shares, or the training mean)."""
    from onnx import TensorProto

    op = operator.raw_operator
    source = operator.inputs[0].full_name
    names = scope.get_unique_variable_name
    onnx_type = TensorProto.DOUBLE if _numpy_type(operator) == np.float64 else TensorProto.FLOAT
    shape, rows = names("shape"), names("rows")
    container.add_node("Shape", source, shape)
    first = names("first")
    container.add_initializer(first, TensorProto.INT64, [1], [0])
    container.add_node("Gather", [shape, first], rows, axis=0)
    if len(operator.outputs) == 1:  # regressor
        values = np.asarray(op.constant_, dtype=float).ravel()
        width = len(values)
    else:
        values = np.asarray(op.class_prior_, dtype=float)
        width = len(values)
    constant, size, dims = names("constant"), names("width"), names("dims")
    container.add_initializer(constant, onnx_type, [1, width], values.tolist())
    container.add_initializer(size, TensorProto.INT64, [1], [width])
    container.add_node("Concat", [rows, size], dims, axis=0)
    if len(operator.outputs) == 1:
        container.add_node("Expand", [constant, dims], operator.outputs[0].full_name)
        return
    label = op.classes_[int(np.argmax(values))]
    label_constant = names("label")
    if np.issubdtype(np.asarray(op.classes_).dtype, np.integer):
        container.add_initializer(label_constant, TensorProto.INT64, [1], [int(label)])
    else:
        container.add_initializer(label_constant, TensorProto.STRING, [1], [str(label).encode()])
    container.add_node("Expand", [label_constant, rows], operator.outputs[0].full_name)
    container.add_node("Expand", [constant, dims], operator.outputs[1].full_name)
