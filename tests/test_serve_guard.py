"""The REST model server refuses bad requests with one small, clean JSON error.

One server for the module (``python -m core.serving bundle.zip`` with a 12 MB
request limit, on a free port): requests with Infinity, zero rows, a 10 MB cell,
10 MB of invalid JSON, a body over the limit and a wrong content type each get
``{"error_code": …, "message": …}`` with the app's message, no stack trace, no
server path, nothing like the request's size; valid requests answer as before.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import subprocess
import sys

import mlflow
import pandas as pd
import pytest

from core import serving
from core.export import export_bundle
from core.predict import check_batch, predict_frame, usable_from_training
from core.target import Task
from core.training import ModelRun, TrainedModel
from tests.test_serve import ROOT, assert_same_predictions, free_port, stop, train, wait_for_ping

LIMIT_MB = 12
LIMIT_ENV = "NOCODE_SERVE_MAX_REQUEST_MB"  # core.model_server.MAX_REQUEST_ENV (checked below)
TEN_MB = 10_000_000
COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An iris model served from its bundle, the rows it is tested on and the app's own predictions."""
    tmp = tmp_path_factory.mktemp("serve-guard")
    run = ModelRun("logistic_regression", "Logistic regression")
    ds, features, request, results = train("iris", "species", Task.MULTICLASS, run)
    model = next(r for r in results if isinstance(r, TrainedModel) and r.name == run.name)
    usable = usable_from_training(model, request, "iris.csv")
    assert usable.schema.names == COLUMNS
    (tmp / "bundle.zip").write_bytes(export_bundle(usable))
    rows = ds.frame.iloc[request.split.test[:10]][features].reset_index(drop=True)

    port = free_port()
    # the command the Predict page shows, the limit set by the environment (the flag is checked below)
    command = shlex.split(serving.bundle_serve_command(str(tmp / "bundle.zip"), port))[1:]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", LIMIT_ENV: str(LIMIT_MB)}
    log = tmp / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        wait_for_ping(process, port, log)
        yield {"port": port, "usable": usable, "rows": rows, "log": log}
    finally:
        stop(process)


def ask(port: int, body: bytes, content_type: str | None = "application/json", path: str = "/invocations"):
    """POST ``body``; the reply's status and bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def split_body(data: list, columns: list[str] = COLUMNS) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


def assert_clean(reply: bytes, sent: int) -> dict:
    """One small JSON object with a code and a message: no trace, no server path, no echo of the request."""
    error = json.loads(reply)
    assert set(error) == {"error_code", "message"}, error
    assert isinstance(error["error_code"], str) and error["error_code"].isupper()
    text = reply.decode()
    for leak in ("Traceback", 'File "', "/work", "site-packages", str(ROOT), "/tmp", "stack_trace"):
        assert leak not in text, (leak, text)
    assert len(reply) < 2_000 and len(reply) * 50 < max(sent, 2_000 * 50), len(reply)
    assert "x" * 100 not in text and "{" * 100 not in text
    return error


# --------------------------------------------------------------------------- bad requests


def test_a_row_with_infinity_gets_the_apps_message(server):
    body = split_body([[float("inf"), 3.5, 1.4, 0.2]])
    assert b"Infinity" in body
    status, reply = ask(server["port"], body)
    error = assert_clean(reply, len(body))
    assert status == 400 and error["error_code"] == "BAD_REQUEST"
    assert error["message"].startswith("Logistic regression could not predict these rows")
    assert "infinity" in error["message"]


def test_zero_rows_get_the_apps_message(server):
    body = split_body([])
    status, reply = ask(server["port"], body)
    error = assert_clean(reply, len(body))
    assert status == 400
    assert error["message"] == "The file has no rows to predict. Upload a file with at least one data row."


def test_a_10_mb_cell_is_not_echoed(server):
    body = split_body([["x" * TEN_MB, 3.5, 1.4, 0.2]])
    status, reply = ask(server["port"], body)
    error = assert_clean(reply, len(body))
    assert status == 400
    assert "sepal_length_cm" in error["message"] and "float" in error["message"]


@pytest.mark.parametrize(
    "body",
    [b"{" + b"a" * TEN_MB, b'{"dataframe_split": ' + b"[" * TEN_MB, b"\xff" * TEN_MB],
    ids=["not JSON", "nested 10 million deep", "not UTF-8"],
)
def test_10_mb_of_invalid_json_is_not_echoed(server, body):
    status, reply = ask(server["port"], body)
    error = assert_clean(reply, len(body))
    assert status in (400, 500)
    assert "JSON" in error["message"] or status == 500


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    """The headers announce 1 MB over the limit; only 64 KB is sent and the 413 arrives anyway."""
    declared = LIMIT_MB * 1024 * 1024 + 1024 * 1024
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    status, reply = raw_exchange(server["port"], head + b"[" * 65_536)
    assert status == 413
    error = assert_clean(reply, declared)
    assert error["error_code"] == "REQUEST_TOO_LARGE"
    assert f"{LIMIT_MB} MB" in error["message"] and "--max-request-mb" in error["message"]
    assert f"Requests larger than {LIMIT_MB} MB are refused." in server["log"].read_text()


def test_a_chunked_body_is_cut_at_the_limit(server):
    """Without a length, the server reads up to the limit, then answers 413 without waiting for the rest."""
    head = b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"[" * (1024 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMIT_MB + 1))
    status, reply = raw_exchange(server["port"], head + chunks)  # no last chunk: the body never ends
    assert status == 413
    assert_clean(reply, len(chunks))


def raw_exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` as is (never completing its body) and read one reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            more = sock.recv(65_536)
            if not more:
                pytest.fail(f"the server closed without replying: {received[:300]!r}")
            received += more
        head, _, body = received.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        while len(body) < length and (more := sock.recv(65_536)):
            body += more
        return int(head.split()[1]), body[:length]


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json; charset=latin-1"])
def test_a_wrong_content_type_gets_a_json_error(server, content_type):
    body = split_body([[5.1, 3.5, 1.4, 0.2]])
    status, reply = ask(server["port"], body, content_type)
    error = assert_clean(reply, len(body))
    assert status == 415
    assert "application/json" in error["message"] or "UTF-8" in error["message"]


def test_other_errors_are_json_too(server):
    status, reply = ask(server["port"], b"{}", path="/nowhere")
    assert status == 404 and assert_clean(reply, 2)["error_code"] == "NOT_FOUND"
    body = json.dumps({"dataframe_records": [{"sepal_length_cm": 5.1, "what": "x" * 200}]}).encode()
    status, reply = ask(server["port"], body)
    error = assert_clean(reply, len(body))
    assert status == 400 and "sepal_width_cm" in error["message"], "a missing column is named"


# --------------------------------------------------------------------------- what still works


def test_valid_requests_answer_as_before(server):
    usable, rows, port = server["usable"], server["rows"], server["port"]
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])
    status, reply = ask(port, json.dumps(serving.request_body(usable.schema, rows)).encode())
    assert status == 200
    assert_same_predictions(pd.DataFrame(json.loads(reply)["predictions"]), expected)
    records = json.loads(rows.to_json(orient="records"))
    status, reply = ask(port, json.dumps({"dataframe_records": records}).encode())
    assert status == 200
    assert_same_predictions(pd.DataFrame(json.loads(reply)["predictions"]), expected)
    status, reply = ask(port, rows.to_csv(index=False).encode(), "text/csv")
    assert status == 200
    assert_same_predictions(pd.DataFrame(json.loads(reply)["predictions"]), expected)
    for path in ("/ping", "/health", "/version"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        answer = connection.getresponse()
        assert answer.status == 200, path
        if path == "/version":
            assert answer.read().decode() == mlflow.__version__
        connection.close()


# --------------------------------------------------------------------------- the setting and the messages


def test_the_request_limit_is_a_flag_an_environment_variable_or_one_default():
    from core import model_server

    assert model_server.MAX_REQUEST_ENV == LIMIT_ENV
    assert model_server.max_request_mb(None, {}) == model_server.DEFAULT_MAX_REQUEST_MB == 16
    assert model_server.max_request_mb(None, {LIMIT_ENV: " 2.5 "}) == 2.5
    assert model_server.max_request_mb(40, {LIMIT_ENV: "2.5"}) == 40, "the flag wins"
    assert model_server.limit_bytes(2.5) == 2_621_440
    for flag, env in [(0, {}), (-1, {}), (None, {LIMIT_ENV: "lots"}), (None, {LIMIT_ENV: "inf"})]:
        with pytest.raises(model_server.SettingError, match="positive number of megabytes"):
            model_server.max_request_mb(flag, env)
    args = serving._parser().parse_args(["b.zip", "--max-request-mb", "40"])
    assert args.max_request_mb == 40 and "--max-request-mb" in serving._parser().format_help()


def test_a_bad_limit_is_refused_before_anything_is_served(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "core.serving", str(tmp_path / "none.zip"), "--max-request-mb", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == serving.REFUSED
    assert "--max-request-mb must be a positive number" in done.stderr and "Traceback" not in done.stderr


def test_mlflows_messages_lose_what_they_echo():
    from core.model_server import MESSAGE_LIMIT, clean_message, error_reply

    echoed = "Invalid input. Ensure that input is a valid JSON formatted string. Error: 'E'\nInput: \nb'{aaaa'\n"
    assert clean_message(echoed) == "Invalid input. Ensure that input is a valid JSON formatted string. Error: 'E'"
    wrapped = "Failed to predict data '   a\n0  1'. \nError: The file has no rows to predict."
    assert clean_message(wrapped) == "The file has no rows to predict."
    schema = "Failed to enforce schema of data '   a\n0 1' with schema '['a': double]'. Error: Model is missing inputs ['b']."
    assert clean_message(schema) == "The rows do not match the model's input columns: Model is missing inputs ['b']."
    cell = clean_message("could not convert string to float: '" + "x" * TEN_MB + "'")
    assert cell.startswith("could not convert string to float: 'xxx") and len(cell) < 200
    assert len(clean_message("a b " * TEN_MB)) == MESSAGE_LIMIT

    reply = json.loads(
        error_reply(
            400,
            json.dumps(
                {
                    "error_code": "BAD_REQUEST",
                    "message": "Failed to predict data 'x'. \nError: no rows",
                    "app_message": "The file has no rows to predict.",
                    "stack_trace": 'Traceback (most recent call last):\n  File "/work/x.py"',
                }
            ).encode(),
        )
    )
    assert reply == {"error_code": "BAD_REQUEST", "message": "The file has no rows to predict."}
    assert json.loads(error_reply(500, b"Internal Server Error"))["message"].startswith("The server could not answer")
    assert json.loads(error_reply(504, b"Request processing time exceeded limit")) == {
        "error_code": "GATEWAY_TIMEOUT",
        "message": "Request processing time exceeded limit",
    }


@pytest.mark.parametrize(
    ("flavor", "files"),
    [
        ("loader_module: mlflow.sklearn\n    model_path: model.pkl", {"model.pkl": b"\x80\x04K\x01."}),
        (
            "loader_module: mlflow.pyfunc.loaders.code_model\n    model_code_path: /elsewhere/served_model.py",
            {"served_model.py": b"import os\nos.system('echo owned')\n"},
        ),
    ],
    ids=["pickled", "foreign script"],
)
def test_only_the_apps_own_models_are_served_by_uri(tmp_path, flavor, files):
    """A model folder MLflow would unpickle or whose script is not the app's is refused before anything loads."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text(f"flavors:\n  python_function:\n    {flavor}\n", encoding="utf-8")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with pytest.raises(serving.NotServed, match="is not a model recorded by this app"):
        serving._tracked_model(str(folder), tmp_path / "scratch")
