"""Tree ensembles in ONNX that split exactly as the fitted model does.

skl2onnx and onnxmltools write a tree's thresholds as 32-bit floats. LightGBM and scikit-learn's histogram
gradient boosting compare 64-bit numbers with 64-bit thresholds. A value of the person's table can sit on a
threshold (prices on a grid of 0.1, thresholds halfway between two of them): rounded to 32 bits, such a row
goes down the other branch and its prediction moves by a whole leaf (2 % on a test table). So
:func:`double_trees` gives each tree node its exact threshold (``nodes_values_as_tensor``, read from the
fitted model) and casts the ensemble's 32-bit output back to 64 bits for the steps after it (onnxruntime's
tree kernels always answer in 32-bit floats).

scikit-learn's own decision trees and forests compare the number rounded to 32 bits with a 64-bit threshold;
skl2onnx reproduces that exactly for 32-bit input (it writes the largest 32-bit float on the threshold's
side), so those are converted in 32 bits (:func:`reads_float32`). ONNX is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: (feature, threshold rounded to 32 bits) -> the exact thresholds with that key, per tree in ensemble order.
Thresholds = list[dict[tuple[int, float], set[float]]]
TREE_OPS = ("TreeEnsembleRegressor", "TreeEnsembleClassifier")
#: The ONNX-ML version whose tree operators take 64-bit thresholds.
ML_TREES_64 = 3


def _inner(estimator: Any) -> Any:
    return getattr(estimator, "regressor_", estimator)  # a target transform wraps the regressor


def reads_float32(estimator: Any) -> bool:
    """Whether the model is a scikit-learn decision tree or forest (it reads its features as 32-bit floats)."""
    inner = _inner(estimator)
    members = getattr(inner, "estimators_", None)
    return hasattr(inner, "tree_") or (
        isinstance(members, list) and bool(members) and all(hasattr(m, "tree_") for m in members)
    )


def exact_thresholds(estimator: Any) -> Thresholds | None:
    """Each tree's 64-bit thresholds (LightGBM, histogram gradient boosting); None for other models."""
    inner = _inner(estimator)
    if hasattr(inner, "booster_"):
        return [_lightgbm_tree(tree["tree_structure"]) for tree in inner.booster_.dump_model()["tree_info"]]
    predictors = getattr(inner, "_predictors", None)
    if predictors is None:
        return None
    trees = []
    for iteration in predictors:
        for predictor in iteration:
            found: dict[tuple[int, float], set[float]] = {}
            for node in predictor.nodes:
                if not node["is_leaf"]:
                    threshold = float(node["num_threshold"])
                    found.setdefault((int(node["feature_idx"]), float(np.float32(threshold))), set()).add(threshold)
            trees.append(found)
    return trees


def _lightgbm_tree(root: dict) -> dict[tuple[int, float], set[float]]:
    found: dict[tuple[int, float], set[float]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            threshold = node["threshold"]
            if isinstance(threshold, int | float):  # a categorical split lists categories, not a number
                key = (int(node["split_feature"]), float(np.float32(threshold)))
                found.setdefault(key, set()).add(float(threshold))
            stack += [node["left_child"], node["right_child"]]
    return found


def double_trees(model: Any, estimator: Any) -> None:
    """Give ``model``'s tree nodes their exact thresholds (where known) and cast their answers to 64 bits."""
    from onnx import TensorProto, helper, numpy_helper

    exact = exact_thresholds(estimator)
    nodes = []
    for node in model.graph.node:
        nodes.append(node)
        if node.op_type not in TREE_OPS:
            continue
        if exact is not None:
            attributes = {a.name: a for a in node.attribute}
            values = _exact_values(attributes, exact)
            if values is not None:
                node.attribute.remove(attributes["nodes_values"])
                node.attribute.append(helper.make_attribute("nodes_values_as_tensor", numpy_helper.from_array(values)))
        position = 0 if node.op_type == "TreeEnsembleRegressor" else 1  # a classifier's scores follow its labels
        answer = node.output[position]
        node.output[position] = f"{answer}_float"
        nodes.append(helper.make_node("Cast", [f"{answer}_float"], [answer], to=TensorProto.DOUBLE))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    for entry in model.opset_import:  # the 64-bit thresholds came with version 3 of the tree operators
        if entry.domain == "ai.onnx.ml" and entry.version < ML_TREES_64:
            entry.version = ML_TREES_64


def _exact_values(attributes: dict, exact: Thresholds) -> np.ndarray | None:
    """The node thresholds in 64 bits, or None when a node cannot be matched to exactly one threshold."""
    if "nodes_values" not in attributes:
        return None
    values = list(attributes["nodes_values"].floats)
    trees = list(attributes["nodes_treeids"].ints)
    features = list(attributes["nodes_featureids"].ints)
    modes = [m.decode() for m in attributes["nodes_modes"].strings]
    out = []
    for value, tree, feature, mode in zip(values, trees, features, modes, strict=True):
        if mode == "LEAF":
            out.append(float(value))
            continue
        if tree >= len(exact):
            return None
        found = exact[tree].get((feature, float(np.float32(value))), set())
        if len(found) != 1:
            return None
        out.append(next(iter(found)))
    return np.asarray(out, dtype=np.float64)
