"""Portable models: a trained pipeline as an ONNX file (and a Keras network as TFLite), checked before it is offered.

:func:`~core.portable.exports.portable_exports` builds every format for a :class:`core.usable.UsableModel`
and runs each file (onnxruntime, TFLite's interpreter) on rows the app predicted itself; a file whose
answers are beyond the tolerances of :mod:`core.portable.result`, or a pipeline step with no portable
form, gives an :class:`~core.portable.result.Unavailable` that names the step. Modules:

- :mod:`~core.portable.result`: the result types, limits and tolerances (no ONNX library);
- :mod:`~core.portable.steps`: the fitted pipeline read step by step, categorical branches as lookup tables;
- :mod:`~core.portable.converters`: skl2onnx converters for the app's steps, the baseline and LightGBM;
- :mod:`~core.portable.onnx_file`: the whole pipeline as one ONNX graph (Keras networks via tf2onnx);
- :mod:`~core.portable.tflite`: a network as a TFLite file;
- :mod:`~core.portable.check`: running a file and comparing its answers with the app's;
- :mod:`~core.portable.exports`: the entry point and a usage snippet.

Importing the package loads none of onnx, onnxruntime, skl2onnx, onnxmltools, tf2onnx or TensorFlow:
each is imported inside the function that needs it.
"""
