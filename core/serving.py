"""Serving a model as a REST API with MLflow's model server, and the commands people type.

The served model is MLflow's "model from code": :data:`SERVED_MODEL_SCRIPT`
builds :class:`BundleModel`, which reads the model bundle with the app's safe
loader (:func:`core.export.load_bundle`) and predicts through
:func:`core.predict.check_batch` + :func:`core.predict.predict_frame`, so the
server answers exactly as the app does. :func:`save_served_model` writes such a
model folder (the bundle, a copy of ``core/`` and a signature from the feature
schema); :mod:`core.tracking` logs one with every model run.

Two ways to serve, both on 127.0.0.1 by default:

* a tracked run: ``mlflow models serve -m runs:/<id>/model …`` (:func:`serve_command`);
* an exported bundle, from the project folder with the virtual environment active::

      python -m core.serving my-model-bundle.zip [--port 5001] [--host 127.0.0.1]

  (:func:`main`, :func:`bundle_serve_command`).

MLflow is imported inside the functions that need it, so importing this module
costs nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 5001
DEFAULT_HOST = "127.0.0.1"
#: The servable model's artefact path inside a tracked model run.
MODEL_PATH = "model"
#: The bundle's file name inside a served model (and inside a tracked run's ``bundle/``).
BUNDLE_FILE = "model_bundle.zip"
#: How long the server gets to stop after Ctrl-C before it is killed.
STOP_TIMEOUT_S = 15.0
#: ``python -m core.serving`` exits with this status when the bundle is refused or unreadable.
REFUSED = 2


def quiet_mlflow() -> None:
    """No usage telemetry sent from people's machines, no progress bars in the server log.

    Set only when the person has not chosen otherwise; read by MLflow at each call.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _requirements(keras: bool) -> list[str]:
    from importlib import metadata

    from core.export import BUNDLE_PACKAGES, KERAS_PACKAGES

    # What the bundle needs, plus the server and the bundle's parquet rows; TensorFlow is pinned
    # under whichever pip name is installed (tensorflow-cpu on Linux x86_64).
    names = ["mlflow", *BUNDLE_PACKAGES, "pyarrow"]
    if keras:
        names += [*KERAS_PACKAGES, "tensorflow-cpu"]
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


# --------------------------------------------------------------------------- the served model


def _bundle_model_class():
    quiet_mlflow()
    import mlflow.pyfunc

    class BundleModel(mlflow.pyfunc.PythonModel):
        """Serves a model bundle: loaded with the safe loader, predicting like the app."""

        def load_context(self, context) -> None:
            from core.export import load_bundle

            data = Path(context.artifacts["bundle"]).read_bytes()
            self.usable = load_bundle(data, file_name=BUNDLE_FILE)

        def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
            from core.predict import check_batch, predict_frame

            frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
            aligned, _ = check_batch(frame, self.usable.schema)
            return predict_frame(self.usable, aligned)

    # Importable as core.serving.BundleModel (through __getattr__ below) by the served script.
    BundleModel.__module__ = __name__
    BundleModel.__qualname__ = "BundleModel"
    return BundleModel


def __getattr__(name: str):
    # PEP 562: the pyfunc class subclasses an MLflow class, so it is built on first use
    # rather than at import (which would import MLflow with the app).
    if name == "BundleModel":
        cls = _bundle_model_class()
        globals()["BundleModel"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SERVED_MODEL_SCRIPT = """\
# The model MLflow serves: a model bundle read by core.export.load_bundle (see core/serving.py).
import mlflow.models

from core.serving import BundleModel

mlflow.models.set_model(BundleModel())
"""


def _mlflow_type(dtype) -> str:
    """MLflow's column type for a pandas dtype: anything but booleans and numbers travels as a string."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    return "string"


def _column_type(column) -> str:
    if column.kind == "number":
        return "double"
    if column.kind != "category":
        return "string"  # text, dates (parsed by core.predict.check_batch)
    try:
        return _mlflow_type(pd.api.types.pandas_dtype(column.dtype))  # categories coded as numbers or booleans
    except (TypeError, ValueError):
        return "string"


def _example_value(column, kind: str):
    value = column.example
    if value is None:
        if column.kind == "number":
            value = column.median
        elif column.kind == "category" and column.categories:
            value = column.categories[0]
        elif column.kind == "date":
            value = column.earliest
    if value is None:
        return None
    try:
        if kind == "double":
            return float(value)
        if kind == "long":
            return int(value)
        if kind == "boolean":
            return bool(value)
    except (TypeError, ValueError):
        return None
    return str(value)


def example_frame(schema) -> pd.DataFrame:
    """One row in the model's input columns, from the values seen in training."""
    row = {c.name: _example_value(c, _column_type(c)) for c in schema.columns}
    return pd.DataFrame([row], columns=schema.names)


def model_signature(usable):
    """Input columns and types from the schema; output columns from one predicted example row.

    Every input column is required (a request without one is refused with the
    missing names); missing *values* are allowed, as in the app.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from core.predict import check_batch, predict_frame

    inputs = Schema([ColSpec(_column_type(c), c.name) for c in usable.schema.columns])
    example = example_frame(usable.schema)
    try:
        predicted = predict_frame(usable, check_batch(example, usable.schema)[0])
        outputs = Schema([ColSpec(_mlflow_type(predicted[c].dtype), str(c)) for c in predicted.columns])
    except Exception:  # an output schema is optional; the input one is what serving checks
        outputs = None
    return ModelSignature(inputs=inputs, outputs=outputs), example


def save_served_model(usable, path: str | Path, bundle: bytes | None = None) -> Path:
    """Write ``usable`` as an MLflow pyfunc model folder (servable with ``mlflow models serve -m <path>``).

    The folder carries the model bundle (``bundle``, else a fresh export), a copy
    of the ``core`` package (so the server can import the loader and the
    prediction code) and a signature with an input example from the schema.
    """
    quiet_mlflow()
    import mlflow.pyfunc

    from core.export import _keras_network, export_bundle

    path = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        bundle_path = Path(scratch) / BUNDLE_FILE
        bundle_path.write_bytes(bundle if bundle is not None else export_bundle(usable))
        code = Path(scratch) / "code" / "core"
        shutil.copytree(ROOT / "core", code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        signature, example = model_signature(usable)
        # "Models from code": the served model is this script plus the bundle, so no
        # pickle of any Python object is written or read (MLflow's recommended way).
        script = Path(scratch) / "served_model.py"
        script.write_text(SERVED_MODEL_SCRIPT, encoding="utf-8")
        mlflow.pyfunc.save_model(
            str(path),
            python_model=str(script),
            artifacts={"bundle": str(bundle_path)},
            code_paths=[str(code)],
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(keras=_keras_network(usable.pipeline) is not None),
        )
    return path


# --------------------------------------------------------------------------- commands and requests


def model_uri(run_id: str) -> str:
    """The MLflow URI of a tracked run's servable model."""
    return f"runs:/{run_id}/{MODEL_PATH}"


def serve_command(model_uri: str, port: int = DEFAULT_PORT, tracking_uri: str | None = None) -> str:
    """The command that serves ``model_uri`` as a REST API on 127.0.0.1.

    ``runs:/`` and ``models:/`` URIs are resolved through the tracking store, so
    the command names it (``tracking_uri`` defaults to
    :func:`core.tracking.default_tracking_uri`).
    """
    command = f"mlflow models serve -m {shlex.quote(model_uri)} --env-manager local -h {DEFAULT_HOST} -p {int(port)}"
    if model_uri.startswith(("runs:/", "models:/")):
        if tracking_uri is None:
            from core.tracking import default_tracking_uri  # where runs are kept is tracking's concern

            tracking_uri = default_tracking_uri()
        command = f"MLFLOW_TRACKING_URI={shlex.quote(tracking_uri)} {command}"
    return command


def bundle_serve_command(file_name: str, port: int = DEFAULT_PORT) -> str:
    """The command that serves an exported bundle (run from the project folder, venv active)."""
    return f"python -m core.serving {shlex.quote(file_name)} --port {int(port)}"


def request_body(schema, rows: pd.DataFrame | None = None) -> dict:
    """A ``dataframe_split`` JSON body for the model server (an example row if none given)."""
    frame = example_frame(schema) if rows is None else rows[schema.names]
    data = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    return {"dataframe_split": {"columns": data["columns"], "data": data["data"]}}


def _url_host(host: str) -> str:
    """The address a client on this computer uses for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        return DEFAULT_HOST
    return f"[{host}]" if ":" in host else host


def invocations_url(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> str:
    """Where the model server takes prediction requests."""
    return f"http://{_url_host(host)}:{int(port)}/invocations"


def curl_example(schema, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> str:
    """A ``curl`` call that posts one example row to a model served on ``port``."""
    body = json.dumps(request_body(schema), ensure_ascii=False)
    return (
        f"curl -s -X POST {invocations_url(port, host)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}"
    )


# --------------------------------------------------------------------------- python -m core.serving


def mlflow_executable() -> str:
    """The ``mlflow`` next to this Python (the virtual environment's), else the one on PATH."""
    local = Path(sys.executable).parent / "mlflow"
    return str(local) if local.exists() else "mlflow"


def server_argv(model_dir: str | Path, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> list[str]:
    """``mlflow models serve`` for a model folder, in this environment."""
    return [
        mlflow_executable(),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-h",
        host,
        "-p",
        str(int(port)),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.serving",
        description="Serve a model bundle exported from the dashboard as a REST API (MLflow's model server). "
        "Run it from the project folder with the virtual environment active.",
    )
    parser.add_argument("bundle", help="the model bundle (.zip) downloaded from the Predict page's Export view")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}: this computer only; 0.0.0.0 opens it to the network)",
    )
    return parser


def _refuse(message: str) -> int:
    print(f"Not served: {message}", file=sys.stderr)
    return REFUSED


def _run_server(argv: list[str]) -> int:
    """Run the server until it exits; on Ctrl-C (or SIGTERM, see :func:`main`) stop it and wait."""
    env = dict(os.environ)
    # the server starts `uvicorn` by name: this environment's scripts must come first on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    try:
        process = subprocess.Popen(argv, env=env)
    except FileNotFoundError:
        return _refuse(f"could not start {argv[0]!r}; is MLflow installed in this environment?")
    try:
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()  # uvicorn, its child, gets SIGTERM when it dies (MLflow sets that up)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.serving BUNDLE.zip [--port 5001] [--host 127.0.0.1]``: serve an exported bundle.

    The bundle is read with the safe loader (a refused file prints why and exits
    with status 2); the served model is written to a temporary folder that is
    removed when the server stops.
    """
    from core.export import BundleError, load_bundle

    args = _parser().parse_args(argv)
    path = Path(args.bundle)
    if not 0 < args.port < 65536:
        return _refuse(f"--port must be between 1 and 65535, not {args.port}.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _refuse(f"cannot read {str(path)!r} ({exc.strerror or type(exc).__name__}).")
    try:
        usable = load_bundle(data, file_name=path.name)
    except BundleError as err:
        return _refuse(err.user_message)
    quiet_mlflow()
    # SIGTERM stops like Ctrl-C, so the temporary model folder is removed either way
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with tempfile.TemporaryDirectory(prefix="nocode-serve-") as scratch:
            print(f"Preparing {usable.name} from {path.name} for MLflow's model server…", flush=True)
            model_dir = save_served_model(usable, Path(scratch) / MODEL_PATH, data)
            one_line = curl_example(usable.schema, args.port, args.host).replace(" \\\n  ", " ")
            print(f"Serving at {invocations_url(args.port, args.host)} (Ctrl-C stops)", flush=True)
            print(f"Try: {one_line}", flush=True)
            return _run_server(server_argv(model_dir, args.port, args.host))
    except KeyboardInterrupt:
        print("\nThe model server stopped.", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
