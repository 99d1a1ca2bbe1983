"""One ONNX graph for a whole pipeline: the person's columns in, the label and probabilities (or the value) out.

Built from up to five pieces joined with ``onnx.compose.merge_models``: the steps before the column
transformer (ratios, clipping; a small graph written here), the column transformer and the estimator
(skl2onnx, with :mod:`core.portable.converters`), and for a Keras network: a cast to 32-bit floats, the
network (tf2onnx) and its output turned into probabilities or a value as :class:`core.keras_net.KerasNetwork`
does. ONNX libraries and TensorFlow are imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.portable.converters import register
from core.portable.steps import Layout
from core.portable.trees import double_trees, reads_float32
from core.transformers import ratio_name

#: Operator sets of every piece (merged graphs must agree): ONNX 17, ONNX-ML 3 (trees in 64-bit floats).
OPSET = 17
ML_OPSET = 3
#: Names of the front graph's own tensors (a column cannot be called this: the file's names would clash).
FRONT = "__portable_front_"
PRODUCER = "nocode-ml-dashboard"


def onnx_model(layout: Layout, classes: list) -> Any:
    """The pipeline of ``layout`` as one ``onnx.ModelProto`` (inputs named as the person's columns).

    Raises:
        Exception: whatever a converter raises for a step it cannot convert (the caller names the step).
    """
    from onnx import TensorProto

    columns = _columns_part(layout)
    front = _front(layout, columns)
    pairs = [(f"{FRONT}out{k}", item.name) for k, item in enumerate(columns.graph.input)]
    model = _merge(front, columns, pairs, "columns/")
    width = int(layout.model.n_features_in_)
    if layout.is_network:
        model = _merge(model, _cast(width, model), [(model.graph.output[0].name, "x")], "cast/")
        return _network(model, layout, classes)
    estimator = _estimator_part(layout)
    if estimator.graph.input[0].type.tensor_type.elem_type != TensorProto.DOUBLE:
        model = _merge(model, _cast(width, model), [(model.graph.output[0].name, "x")], "cast/")
    model = _merge(model, estimator, [(model.graph.output[0].name, estimator.graph.input[0].name)], "model/")
    names = [o.name for o in model.graph.output]
    if len(names) == 1:
        _expose(model, {names[0]: "value"})
    else:
        _expose(model, {names[0]: "label", names[1]: "probabilities" if layout.model_is_classifier else "distances"})
    model.producer_name = PRODUCER
    return model


def _columns_part(layout: Layout) -> Any:
    """The column transformer (with the app's category tables), converted by skl2onnx in 64-bit floats."""
    register()
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    kinds = dict(layout.inputs)
    types = [
        (column, StringTensorType([None, 1]) if kinds.get(column) == "string" else DoubleTensorType([None, 1]))
        for column in layout.column_inputs
    ]
    return convert_sklearn(layout.columns, initial_types=types, target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})


def _estimator_part(layout: Layout) -> Any:
    """The estimator on the preprocessed features, in 64-bit floats (trees with :func:`double_trees`), or in
    32-bit floats for scikit-learn's trees (:func:`reads_float32`); the other precision when the first has no
    converter or no runtime kernel (the check against the app's predictions decides whether it is close enough).
    """
    register()
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    width = int(layout.model.n_features_in_)
    options = {id(layout.model): {"zipmap": False}} if layout.model_is_classifier else None
    failure: Exception | None = None
    order = (FloatTensorType, DoubleTensorType) if reads_float32(layout.model) else (DoubleTensorType, FloatTensorType)
    for kind in order:
        try:
            model = convert_sklearn(
                layout.model,
                initial_types=[("features", kind([None, width]))],
                target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
                options=options,
            )
            if kind is DoubleTensorType:
                double_trees(model, layout.model)
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            return model
        except Exception as exc:  # this precision has no converter or no runtime kernel: try the next
            failure = exc
    assert failure is not None
    raise failure


def _cast(width: int, like: Any) -> Any:
    """A graph from 64-bit to 32-bit floats (``x`` → ``y``)."""
    from onnx import TensorProto, helper

    return _model(
        helper.make_graph(
            [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
            "to_float",
            [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, width])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, width])],
        ),
        like,
    )


def _front(layout: Layout, like: Any) -> Any:
    """The steps before the column transformer: one input per column, ratios (0 → missing), clipping, as ONNX nodes."""
    import onnx
    from onnx import helper

    types = {"double": onnx.TensorProto.DOUBLE, "string": onnx.TensorProto.STRING}
    kinds = dict(layout.inputs)
    clash = [c for c, _ in layout.inputs if c.startswith(FRONT)]
    if clash:
        raise ValueError(f"the column '{clash[0]}' has a name the file uses itself")
    nodes: list[Any] = []
    inits: list[Any] = []
    current = {column: column for column, _ in layout.inputs}

    def constant(name: str, value: float) -> str:
        if f"{FRONT}{name}" not in {i.name for i in inits}:
            inits.append(helper.make_tensor(f"{FRONT}{name}", onnx.TensorProto.DOUBLE, [1], [value]))
        return f"{FRONT}{name}"

    for k, (a, b) in enumerate(layout.ratios):
        zero, nan = constant("zero", 0.0), constant("nan", float("nan"))
        out = f"{FRONT}ratio{k}"
        nodes += [
            helper.make_node("Div", [current[a], current[b]], [f"{out}_div"]),
            helper.make_node("Equal", [current[b], zero], [f"{out}_zero"]),
            helper.make_node("Where", [f"{out}_zero", nan, f"{out}_div"], [out]),
        ]
        current[ratio_name(a, b)] = out
        kinds[ratio_name(a, b)] = "double"
    for k, (column, (low, high)) in enumerate(layout.clip.items()):
        source, value = current[column], current[column]
        if low is not None:
            nodes.append(helper.make_node("Max", [value, constant(f"low{k}", low)], [f"{FRONT}clip{k}_low"]))
            value = f"{FRONT}clip{k}_low"
        if high is not None:
            nodes.append(helper.make_node("Min", [value, constant(f"high{k}", high)], [f"{FRONT}clip{k}_high"]))
            value = f"{FRONT}clip{k}_high"
        out = f"{FRONT}clip{k}"
        nodes += [
            helper.make_node("IsNaN", [source], [f"{out}_nan"]),
            helper.make_node("Where", [f"{out}_nan", source, value], [out]),
        ]
        current[column] = out
    outputs = []
    for k, column in enumerate(layout.column_inputs):
        nodes.append(helper.make_node("Identity", [current[column]], [f"{FRONT}out{k}"]))
        outputs.append(helper.make_tensor_value_info(f"{FRONT}out{k}", types[kinds[column]], [None, 1]))
    inputs = [helper.make_tensor_value_info(c, types[kind], [None, 1]) for c, kind in layout.inputs]
    return _model(helper.make_graph(nodes, "columns", inputs, outputs, inits), like)


def _model(graph: Any, like: Any) -> Any:
    from onnx import helper

    return helper.make_model(graph, opset_imports=list(like.opset_import), ir_version=like.ir_version)


def _merge(first: Any, second: Any, pairs: list[tuple[str, str]], prefix: str) -> Any:
    """``second`` fed by ``first`` (operator sets and IR versions aligned first), its names prefixed."""
    import onnx

    versions: dict[str, int] = {}
    for entry in [*first.opset_import, *second.opset_import]:
        versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    for model in (first, second):
        del model.opset_import[:]
        model.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in versions.items())
        model.ir_version = max(first.ir_version, second.ir_version)
    merged = onnx.compose.merge_models(first, second, io_map=pairs, prefix2=prefix)
    del merged.opset_import[:]
    merged.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in versions.items())
    return merged


def _expose(model: Any, names: dict[str, str]) -> None:
    """Rename the graph's outputs (an Identity node each), keeping their order."""
    from onnx import helper

    outputs = list(model.graph.output)
    del model.graph.output[:]
    for output in outputs:
        new = names.get(output.name, output.name)
        if new != output.name:
            model.graph.node.append(helper.make_node("Identity", [output.name], [new]))
            renamed = type(output)()
            renamed.CopyFrom(output)
            renamed.name = new
            output = renamed
        model.graph.output.append(output)


# --------------------------------------------------------------------------- a Keras network


def network_onnx(network: Any, n_features: int) -> Any:
    """The fitted network alone, converted with tf2onnx: input ``features`` (float32, ``n_features`` wide)."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, n_features), tf.float32, name="features"),)
    model, _ = tf2onnx.convert.from_keras(network.model_, input_signature=spec, opset=OPSET)
    return model


def _network(model: Any, layout: Layout, classes: list) -> Any:
    """Preprocessing graph (ending in 32-bit floats) → the network → probabilities and label, or the value."""
    net = network_onnx(layout.model, int(layout.model.n_features_in_))
    model = _merge(model, net, [(model.graph.output[0].name, net.graph.input[0].name)], "net/")
    post = _post(layout.model, classes, model)
    model = _merge(model, post, [(model.graph.output[0].name, "raw")], "post/")
    _expose(model, {f"post/{o.name}": o.name for o in post.graph.output})
    model.producer_name = PRODUCER
    return model


def _post(network: Any, classes: list, like: Any) -> Any:
    """The network's raw output as :meth:`KerasNetwork.predict_proba` / ``predict`` turn it into answers."""
    import onnx
    from onnx import helper, numpy_helper

    double = onnx.TensorProto.DOUBLE
    units = int(network.model_.outputs[0].shape[-1])
    raw = helper.make_tensor_value_info("raw", onnx.TensorProto.FLOAT, [None, units])
    nodes = [helper.make_node("Cast", ["raw"], ["out"], to=double)]

    def constant(name: str, values: Any) -> str:
        nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(values), name)))
        return name

    if not network._is_classifier():
        nodes += [
            helper.make_node("Mul", ["out", constant("std", [float(network.y_std_)])], ["scaled"]),
            helper.make_node("Add", ["scaled", constant("mean", [float(network.y_mean_)])], ["value"]),
        ]
        outputs = [helper.make_tensor_value_info("value", double, [None, 1])]
        return _model(helper.make_graph(nodes, "answer", [raw], outputs), like)
    if units == 1:  # one sigmoid unit: the positive class's probability
        nodes += [
            helper.make_node("Clip", ["out", constant("zero", 0.0), constant("one", 1.0)], ["p"]),
            helper.make_node("Sub", [constant("ones", [1.0]), "p"], ["q"]),
            helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
        ]
    else:
        nodes += [
            helper.make_node("Max", ["out", constant("floor", [0.0])], ["kept"]),
            helper.make_node(
                "ReduceSum", ["kept", constant("axis", np.array([1], dtype=np.int64))], ["total"], keepdims=1
            ),
            helper.make_node("Div", ["kept", "total"], ["probabilities"]),
        ]
    labels = np.asarray(classes)
    integer = np.issubdtype(labels.dtype, np.integer)
    table = labels.astype(np.int64) if integer else np.asarray([str(c) for c in classes], dtype=object)
    nodes += [
        helper.make_node("ArgMax", ["probabilities"], ["index"], axis=1, keepdims=0),
        helper.make_node("Gather", [constant("classes", table), "index"], ["label"], axis=0),
    ]
    outputs = [
        helper.make_tensor_value_info("label", onnx.TensorProto.INT64 if integer else onnx.TensorProto.STRING, [None]),
        helper.make_tensor_value_info("probabilities", double, [None, len(classes)]),
    ]
    return _model(helper.make_graph(nodes, "answer", [raw], outputs), like)
