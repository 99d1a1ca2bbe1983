"""Serving a model as a REST API with MLflow's model server, and the commands people type.

The served model is MLflow's "model from code": :data:`SERVED_MODEL_SCRIPT`
builds :class:`core.served_model.BundleModel`, which reads the model bundle with the app's safe
loader (:func:`core.export.load_bundle`) and predicts through
:func:`core.predict.check_batch` + :func:`core.predict.predict_frame`, so the
server answers exactly as the app does. :func:`save_served_model` writes such a
model folder (the bundle, a copy of ``core/`` and a signature from the feature
schema); :mod:`core.tracking` logs one with every model run.

Two ways to serve, both from the project folder with the virtual environment
active, both on 127.0.0.1 by default::

    python -m core.serving --model-uri runs:/<id>/model [--port 5001]     # a tracked run
    python -m core.serving my-model-bundle.zip [--port 5001] [--host …]   # an exported bundle

(:func:`main`; :func:`serve_command`, :func:`bundle_serve_command` write them).
Both run MLflow's own scoring app behind :class:`core.model_server.RequestGuard`
(request size limit, error replies without stack traces or echoed input).

MLflow is imported inside the functions that need it, so importing this module
costs nothing.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import hashlib
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

from core import model_server
from core.experiment_store import default_tracking_uri, sqlite_path
from core.export import BundleError, export_bundle, keras_network, load_bundle
from core.model_card import BUNDLE_PACKAGES, KERAS_PACKAGES
from core.model_server import DEFAULT_MAX_REQUEST_MB, MAX_REQUEST_ENV
from core.predict import check_batch, predict_frame

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 5001
DEFAULT_HOST = "127.0.0.1"
#: The servable model's artefact path inside a tracked model run.
MODEL_PATH = "model"
#: The bundle's file name inside a served model (and inside a tracked run's ``bundle/``).
BUNDLE_FILE = "model_bundle.zip"
#: ``python -m core.serving`` exits with this status when the bundle is refused or unreadable.
REFUSED = 2
#: The served model's copy of the ``core`` package: one zip in its code folder (one file to store and upload).
CODE_ARCHIVE = "core.zip"

_archives: dict[str, Path] = {}
_archives_lock = threading.Lock()


def quiet_mlflow() -> None:
    """No usage telemetry sent from people's machines, no progress bars or run links in the server log.

    Set only when the person has not chosen otherwise; read by MLflow at each call. (With a
    tracking server, MLflow prints "View run … at: http://…" for every run it ends.)
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


@functools.cache
def _requirements(keras: bool) -> list[str]:
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


def _served_script(module: str, described_in: str, from_archive: bool = True) -> str:
    """The served model's script; ``from_archive``: the app's code comes as :data:`CODE_ARCHIVE` (since issue 14)."""
    head = f"# The model MLflow serves: a model bundle read by core.export.load_bundle (see {described_in}).\n"
    if not from_archive:  # a folder core/ in the model's code folder, which MLflow puts on the path
        return (
            head
            + "import mlflow.models\n\n"
            + f"from {module} import BundleModel\n\nmlflow.models.set_model(BundleModel())\n"
        )
    return (
        head + "import sys\n"
        "from pathlib import Path\n\n"
        "import mlflow.models\n\n"
        f"# The app's code travels as one zip ({CODE_ARCHIVE}) in the model's code folder, which MLflow puts on\n"
        "# the path: Python imports from the zip itself.\n"
        f"archive = next((Path(p) / {CODE_ARCHIVE!r} for p in sys.path if (Path(p) / {CODE_ARCHIVE!r}).is_file()), None)\n"
        "if archive is not None and str(archive) not in sys.path:\n"
        "    sys.path.insert(0, str(archive))\n\n"
        f"from {module} import BundleModel  # noqa: E402\n\n"
        "mlflow.models.set_model(BundleModel())\n"
    )


#: The script MLflow runs to build the served model (:class:`core.served_model.BundleModel`).
SERVED_MODEL_SCRIPT = _served_script("core.served_model", "core/serving.py")


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

    The folder carries the model bundle (``bundle``, else a fresh export), the
    ``core`` package as one zip (:func:`code_archive`; the server imports the loader
    and the prediction code from it) and a signature with an input example from the schema.
    """
    quiet_mlflow()
    import mlflow.pyfunc

    path = Path(path)
    code = code_archive()
    with tempfile.TemporaryDirectory() as scratch:
        bundle_path = Path(scratch) / BUNDLE_FILE
        bundle_path.write_bytes(bundle if bundle is not None else export_bundle(usable))
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
            pip_requirements=list(_requirements(keras=keras_network(usable.pipeline) is not None)),
        )
    return path


def code_archive() -> Path:
    """The ``core`` package as one zip (:data:`CODE_ARCHIVE`), made once per state of its files and reused.

    Every recorded model carries the app's code; as one file instead of about 150 it is stored
    and uploaded to a tracking server at once, and made once rather than copied for each model.
    """
    sources = sorted(
        p for p in (ROOT / "core").rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    state = hashlib.sha256()
    for source in sources:
        stat = source.stat()
        state.update(f"{source.relative_to(ROOT).as_posix()}:{stat.st_mtime_ns}:{stat.st_size};".encode())
    key = state.hexdigest()
    with _archives_lock:
        made = _archives.get(key)
        if made is not None and made.is_file():
            return made
        folder = Path(tempfile.mkdtemp(prefix="nocode-code-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        made = folder / CODE_ARCHIVE
        with zipfile.ZipFile(made, "w", zipfile.ZIP_DEFLATED) as archive:
            for source in sources:
                archive.write(source, source.relative_to(ROOT).as_posix())
        _archives[key] = made
        return made


# --------------------------------------------------------------------------- commands and requests


def model_uri(run_id: str) -> str:
    """The MLflow URI of a tracked run's servable model."""
    return f"runs:/{run_id}/{MODEL_PATH}"


def serve_command(model_uri: str, port: int = DEFAULT_PORT, tracking_uri: str | None = None) -> str:
    """The command that serves ``model_uri`` as a REST API on 127.0.0.1 (from the project folder, venv active).

    ``runs:/`` and ``models:/`` URIs are resolved through the tracking store, so
    the command names it (``tracking_uri`` defaults to
    :func:`core.experiment_store.default_tracking_uri`).
    """
    command = f"python -m core.serving --model-uri {shlex.quote(model_uri)} --port {int(port)}"
    if model_uri.startswith(("runs:/", "models:/")):
        if tracking_uri is None:
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


#: The served model scripts this app has written. Earlier versions carried core/ as a folder and imported
#: BundleModel from core.served_model, core.serving or core.tracking; each model folder carries its own copy
#: of the code, so those scripts still run as written.
SERVED_MODEL_SCRIPTS = (
    SERVED_MODEL_SCRIPT,
    _served_script("core.served_model", "core/serving.py", from_archive=False),
    _served_script("core.serving", "core/serving.py", from_archive=False),
    _served_script("core.tracking", "core/tracking.py", from_archive=False),
)


class NotServed(Exception):
    """Why a model is not served (printed, exit status :data:`REFUSED`)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.serving",
        description="Serve a model from the dashboard as a REST API (MLflow's scoring server): an exported bundle, "
        "or a tracked model with --model-uri. Run it from the project folder with the virtual environment active.",
    )
    parser.add_argument(
        "bundle", nargs="?", help="the model bundle (.zip) downloaded from the Predict page's Export view"
    )
    parser.add_argument(
        "-m",
        "--model-uri",
        help="a tracked model instead of a bundle: runs:/<run id>/model (the Experiments page shows the command), "
        "found through MLFLOW_TRACKING_URI",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}: this computer only; 0.0.0.0 opens it to the network)",
    )
    parser.add_argument(
        "--max-request-mb",
        type=float,
        metavar="MB",
        help=f"largest request body accepted; larger ones get 413 (default: ${MAX_REQUEST_ENV} if set, "
        f"else {DEFAULT_MAX_REQUEST_MB:g})",
    )
    return parser


def _refuse(message: str) -> int:
    print(f"Not served: {message}", file=sys.stderr)
    return REFUSED


def _read_bundle(path: Path):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotServed(f"cannot read {str(path)!r} ({exc.strerror or type(exc).__name__}).") from None
    try:
        return load_bundle(data, file_name=path.name), data
    except BundleError as err:
        raise NotServed(err.user_message) from None


def _tracked_model(uri: str, scratch: Path) -> Path:
    """Download a tracked served model into ``scratch`` and check it is one this app wrote."""
    import mlflow.artifacts
    import mlflow.models

    store = sqlite_path(default_tracking_uri())
    if uri.startswith(("runs:/", "models:/")) and store is not None and not store.exists():
        raise NotServed(f"there is no experiment store at {store} (set MLFLOW_TRACKING_URI to the app's store).")
    try:
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(scratch)))
        flavor = mlflow.models.Model.load(str(folder)).flavors.get("python_function", {})
    except Exception as exc:  # MLflow's errors for a missing run, store or folder vary
        raise NotServed(f"cannot read the model {uri!r}: {str(exc).splitlines()[0][:300]}") from None
    # Only the app's own model script is run: it loads the bundle with the safe loader. Anything
    # else (a pickled model, a foreign script) is left to MLflow's own `mlflow models serve`.
    script = folder / Path(str(flavor.get("model_code_path", ""))).name
    if (
        flavor.get("loader_module") != "mlflow.pyfunc.loaders.code_model"
        or not script.is_file()
        or script.read_text(encoding="utf-8", errors="replace") not in SERVED_MODEL_SCRIPTS
    ):
        raise NotServed(f"{uri!r} is not a model recorded by this app (only those are served by this command).")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.serving (BUNDLE.zip | --model-uri URI) [--port] [--host] [--max-request-mb]``.

    The bundle (an exported file, or the one inside a tracked model) is read with
    the safe loader; a refused file prints why and exits with status 2. The model
    is served by MLflow's scoring app behind :class:`core.model_server.RequestGuard`
    until Ctrl-C or SIGTERM; its temporary folder is then removed.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.bundle is None) == (args.model_uri is None):
        parser.error("give either a bundle file or --model-uri, not both")
    if not 0 < args.port < 65536:
        return _refuse(f"--port must be between 1 and 65535, not {args.port}.")
    try:
        max_mb = model_server.max_request_mb(args.max_request_mb)
    except model_server.SettingError as err:
        return _refuse(str(err))
    quiet_mlflow()
    # SIGTERM stops like Ctrl-C (uvicorn shuts down, then raises it again), so the folder is removed either way
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with tempfile.TemporaryDirectory(prefix="nocode-serve-") as scratch:
            if args.bundle is not None:
                path = Path(args.bundle)
                usable, data = _read_bundle(path)
                print(f"Preparing {usable.name} from {path.name} for MLflow's model server…", flush=True)
                model_dir = save_served_model(usable, Path(scratch) / MODEL_PATH, data)
            else:
                model_dir = _tracked_model(args.model_uri, Path(scratch))
                usable, _ = _read_bundle(model_dir / "artifacts" / BUNDLE_FILE)
            one_line = curl_example(usable.schema, args.port, args.host).replace(" \\\n  ", " ")
            print(f"Serving {usable.name} at {invocations_url(args.port, args.host)} (Ctrl-C stops)", flush=True)
            print(f"Requests larger than {max_mb:g} MB are refused.", flush=True)
            print(f"Try: {one_line}", flush=True)
            model_server.run(str(model_dir), args.host, args.port, max_mb)
            return 0
    except NotServed as reason:
        return _refuse(str(reason))
    except KeyboardInterrupt:
        print("\nThe model server stopped.", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
