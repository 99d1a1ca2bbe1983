"""A Keras network as a TFLite file: the preprocessed feature vector in, probabilities (or the value) out.

TFLite has no text tensors and no scikit-learn steps, so the file holds the network only, with its output
turned into answers as :class:`core.keras_net.KerasNetwork` does (probabilities in the order of the
classes, or the value in the target's units); the preprocessing stays with whoever calls it, which the
model card spells out (the features, in order). TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Name of the file's input tensor.
INPUT = "features"


def tflite_bytes(network: Any, n_features: int) -> bytes:
    """The fitted network, with its answer step as Keras operations, converted by ``tf.lite.TFLiteConverter``.

    The network is wrapped in a new Keras model (its weights shared, not copied) rather than traced in a
    ``tf.function``: converted from a concrete function, the weights stay variables TFLite never fills.
    """
    import keras
    import tensorflow as tf

    model = network.model_
    features = keras.Input(shape=(n_features,), name=INPUT)
    out = model(features, training=False)
    if not network._is_classifier():
        answer = keras.ops.add(keras.ops.multiply(out[:, :1], float(network.y_std_)), float(network.y_mean_))
    elif int(model.outputs[0].shape[-1]) == 1:  # one sigmoid unit: the positive class's probability
        p = keras.ops.clip(out, 0.0, 1.0)
        answer = keras.ops.concatenate([keras.ops.subtract(1.0, p), p], axis=1)
    else:
        kept = keras.ops.maximum(out, 0.0)
        answer = keras.ops.divide(kept, keras.ops.sum(kept, axis=1, keepdims=True))
    wrapper = keras.Model(features, answer, name="answer")
    return bytes(tf.lite.TFLiteConverter.from_keras_model(wrapper).convert())


def run_tflite(data: bytes, features: np.ndarray) -> np.ndarray:
    """The file's one output for ``features`` (rows × features, float32), with TFLite's interpreter."""
    interpreter = _interpreter(data)
    features = np.ascontiguousarray(features, dtype=np.float32)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(features.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, features)
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), dtype=np.float64)


def _interpreter(data: bytes) -> Any:
    """TensorFlow's TFLite interpreter (LiteRT's ``ai_edge_litert`` runs the same file; it is not a requirement)."""
    import tensorflow as tf

    return tf.lite.Interpreter(model_content=data)
