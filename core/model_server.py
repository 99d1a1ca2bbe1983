"""The REST model server: MLflow's own scoring app behind a small guard, run by uvicorn.

MLflow's scoring app (:func:`mlflow.pyfunc.scoring_server.init`, the FastAPI app
``mlflow models serve`` runs) answers ``/invocations``, ``/ping``, ``/health`` and
``/version``. On a bad request it replies with MLflow's exception as JSON, and
that reply can carry a full stack trace with the server's file paths (any error
the model raises), the whole request body (invalid JSON: ``"Input: <body>"``) or
the offending values (a cell that is not a number, the frame it failed to
predict); it reads a request body of any size; and a few replies are plain
text. :class:`RequestGuard`, an ASGI middleware around that app, changes only
the edges:

* a request body larger than the limit is refused with 413 before more than the
  limit is read (a too-large ``Content-Length`` before anything is read);
* every error reply becomes one small JSON object, ``{"error_code": …,
  "message": …}``: the app's own message when the served model refused the rows
  (:data:`APP_MESSAGE`), otherwise MLflow's message without what it echoes from
  the request, every long value shortened; no stack trace, no file path, never
  the request body. The trace MLflow put in the reply goes to the server's log.

Successful replies pass through untouched, so clients see MLflow's protocol as
before. :func:`create_app` wraps a loaded pyfunc model; :func:`run` serves a
model folder or URI with uvicorn. The request limit is a setting:
``--max-request-mb`` of ``python -m core.serving``, else the environment variable
:data:`MAX_REQUEST_ENV`, else :data:`DEFAULT_MAX_REQUEST_MB`.

Nothing heavy is imported at module level: MLflow and uvicorn load inside
:func:`create_app` and :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Mapping
from http import HTTPStatus

logger = logging.getLogger(__name__)

#: The environment variable that sets the request limit when no flag does (megabytes).
MAX_REQUEST_ENV = "NOCODE_SERVE_MAX_REQUEST_MB"
#: Default request limit, in megabytes (1 MB = 1,048,576 bytes): about 100,000 rows of ten numbers.
DEFAULT_MAX_REQUEST_MB = 16.0
#: The key under which the served model's errors carry the app's own message (see core.serving.BundleModel).
APP_MESSAGE = "app_message"
#: Longest message in an error reply, and longest run of characters without a space in it.
MESSAGE_LIMIT = 1000
WORD_LIMIT = 80
_LONG_WORD = re.compile(rf"\S{{{WORD_LIMIT + 1},}}")

_JSON = [(b"content-type", b"application/json")]
_MLFLOW_CODES = {400: "BAD_REQUEST", 500: "INTERNAL_ERROR"}
_MLFLOW_CONTENT_TYPES = "application/json, text/csv or application/vnd.apache.parquet"
UNEXPECTED = "The server could not answer this request because of an unexpected error; its log has the details."


class SettingError(ValueError):
    """A request limit that is not a positive number."""


def max_request_mb(flag: float | None = None, environ: Mapping[str, str] | None = None) -> float:
    """The request limit in megabytes: the flag if given, else :data:`MAX_REQUEST_ENV`, else the default.

    Raises:
        SettingError: when the value is not a positive number.
    """
    settings: Mapping[str, str] = os.environ if environ is None else environ
    value: float | str
    if flag is not None:
        value, source = flag, "--max-request-mb"
    elif settings.get(MAX_REQUEST_ENV, "").strip():
        value, source = settings[MAX_REQUEST_ENV].strip(), MAX_REQUEST_ENV
    else:
        return DEFAULT_MAX_REQUEST_MB
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf"):
        raise SettingError(f"{source} must be a positive number of megabytes (e.g. 16), not {str(value)!r}.")
    return number


def limit_bytes(megabytes: float) -> int:
    """Megabytes (as :data:`DEFAULT_MAX_REQUEST_MB`) in bytes."""
    return max(1, int(megabytes * 1024 * 1024))


def _mb(megabytes: float) -> str:
    return f"{megabytes:g} MB"


# --------------------------------------------------------------------------- messages


def clean_message(text: str) -> str:
    """MLflow's error message without what it echoes from the request, and short.

    MLflow appends the whole body after ``Input:`` and puts the rows it failed
    on in front of the reason (``Failed to predict data '<rows>'. Error: …``,
    ``Failed to enforce schema of data '<rows>' with schema '…'. Error: …``):
    those parts go. Any run of more than :data:`WORD_LIMIT` characters without a
    space (a huge cell, a long key) is cut, and so is the message after
    :data:`MESSAGE_LIMIT` characters, so a reply never carries more than a
    short excerpt of what was sent.
    """
    text = str(text).split("\nInput:", 1)[0]
    if text.startswith("Failed to predict data '") and "\nError: " in text:
        text = text.split("\nError: ", 1)[1]
    if text.startswith("Failed to enforce schema of data '") and "'. Error: " in text:
        text = "The rows do not match the model's input columns: " + text.rsplit("'. Error: ", 1)[1]
    text = _LONG_WORD.sub(lambda m: m.group(0)[:WORD_LIMIT] + "…", text.strip())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _error_code(status: int) -> str:
    """MLflow's names for 400 and 500, else the HTTP status in capitals (``NOT_FOUND``, ``GATEWAY_TIMEOUT``)."""
    if status in _MLFLOW_CODES:
        return _MLFLOW_CODES[status]
    try:
        return HTTPStatus(status).phrase.upper().replace(" ", "_").replace("-", "_")
    except ValueError:
        return _MLFLOW_CODES[500 if status >= 500 else 400]


def error_reply(status: int, body: bytes) -> bytes:
    """The small JSON error object for an error reply of the wrapped app (``body`` as it sent it)."""
    payload = None
    with contextlib.suppress(ValueError, RecursionError):
        payload = json.loads(body)
    if isinstance(payload, dict):
        code = payload.get("error_code")
        message = payload.get(APP_MESSAGE) or payload.get("message") or payload.get("detail")
        trace = payload.get("stack_trace")
        if isinstance(trace, str) and trace:  # for whoever runs the server, not for the client
            lines = (line[: WORD_LIMIT * 3] for line in trace.splitlines()[-40:])
            logger.warning(
                "Error reply %s; MLflow's stack trace (kept out of the reply):\n%s", status, "\n".join(lines)
            )
    else:
        code, message = None, body.decode("utf-8", "replace")
    if status == 500 and not (isinstance(payload, dict) and payload.get("message")):
        message = UNEXPECTED  # Starlette's bare "Internal Server Error", or nothing
    if not (isinstance(code, str) and re.fullmatch(r"[A-Z][A-Z_]{0,63}", code)):
        code = _error_code(status)
    return _json(code, clean_message(message if isinstance(message, str) and message.strip() else UNEXPECTED))


def _json(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "message": message}, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- the middleware


class _TooLarge(Exception):
    pass


async def _send_error(send, status: int, code: str, message: str) -> None:
    body = _json(code, message)
    headers = [*_JSON, (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _CleanErrors:
    """A ``send`` that passes successful replies on and rewrites error replies (see :func:`error_reply`)."""

    def __init__(self, send) -> None:
        self.send = send
        self.status: int | None = None
        self.chunks: list[bytes] = []
        self.started = False  # something reached the client

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status < 400:
                self.started = True
                await self.send(message)
            return
        if message["type"] != "http.response.body" or self.status is None or self.status < 400:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = error_reply(self.status, b"".join(self.chunks))
            self.chunks = []
            headers = [*_JSON, (b"content-length", str(len(body)).encode())]
            self.started = True
            await self.send({"type": "http.response.start", "status": self.status, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: caps request bodies at ``max_bytes`` (413) and cleans every error reply.

    Args:
        app: the wrapped ASGI app (MLflow's scoring app).
        max_bytes: the largest request body accepted.
        limit_text: the limit as people set it, for the 413 message (e.g. ``"16 MB"``).
        read_timeout_s: how long a client may take to send its body (``None``: no limit).
    """

    def __init__(self, app, max_bytes: int, limit_text: str = "", read_timeout_s: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self.too_large = (
            f"The request is larger than this server accepts ({limit_text or f'{max_bytes} bytes'}). "
            "Send fewer rows per request, or start the server with a larger --max-request-mb."
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:  # refused before a byte of the body is read
            await _send_error(send, 413, "REQUEST_TOO_LARGE", self.too_large)
            return
        if scope.get("method") == "POST" and scope.get("path") == "/invocations" and not headers.get(b"content-type"):
            # MLflow fails on a missing Content-Type with a bare 500 and a traceback
            await _send_error(
                send, 415, "UNSUPPORTED_MEDIA_TYPE", f"The request has no Content-Type: send {_MLFLOW_CONTENT_TYPES}."
            )
            return
        try:
            async with asyncio.timeout(self.read_timeout_s):
                body = await self._read_body(receive)
        except _TooLarge:
            await _send_error(send, 413, "REQUEST_TOO_LARGE", self.too_large)
            return
        except TimeoutError:
            await _send_error(send, 408, "REQUEST_TIMEOUT", "The request body took too long to arrive.")
            return
        if body is None:
            return  # the client went away
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        reply = _CleanErrors(send)
        try:
            await self.app(scope, replay, reply)
        except Exception:
            if not reply.started:
                await _send_error(send, 500, "INTERNAL_ERROR", UNEXPECTED)
            raise  # uvicorn logs the traceback in the server's log

    async def _read_body(self, receive) -> bytes | None:
        """The whole body, reading no more than the limit (plus one chunk); ``None`` if the client left."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


# --------------------------------------------------------------------------- the app and the server


def create_app(model, max_mb: float = DEFAULT_MAX_REQUEST_MB) -> RequestGuard:
    """MLflow's scoring app for a loaded pyfunc ``model``, behind :class:`RequestGuard`."""
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import scoring_server

    # the body is now read before MLflow's app starts its timeout: the same limit applies to reading it
    timeout = MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()
    return RequestGuard(scoring_server.init(model), limit_bytes(max_mb), _mb(max_mb), timeout)


def run(model_path: str, host: str, port: int, max_mb: float = DEFAULT_MAX_REQUEST_MB) -> None:
    """Load the MLflow model at ``model_path`` as ``mlflow models serve`` does and serve it until stopped."""
    import uvicorn
    from mlflow.pyfunc import scoring_server

    app = create_app(scoring_server.load_model_with_mlflow_config(model_path), max_mb)
    uvicorn.run(app, host=host, port=int(port), log_level="info")
