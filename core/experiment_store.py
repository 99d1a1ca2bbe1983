"""Where experiment runs are stored and who sees them, without MLflow or pandas.

The store is a local SQLite file in the project's ``data/`` folder unless
``MLFLOW_TRACKING_URI`` names another (a team's tracking server). Whether every
visitor sees every run or each browser workspace its own is decided here too.
Kept apart from :mod:`core.tracking` (which re-exports every name) so the Data
page can tell whether there is anything to restore before loading either.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: ``shared`` (every visitor sees every run) or ``workspace`` (each browser workspace its own); unset: shared
#: when the app is reachable from this computer only, per workspace when it is served to a network.
EXPERIMENTS_SETTING = "NOCODE_EXPERIMENTS"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_tracking_uri(root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a SQLite store in ``<project>/data/mlflow.db``."""
    configured = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if configured:
        return configured
    return f"sqlite:///{(root or ROOT) / 'data' / 'mlflow.db'}"


def server_address(tracking_uri: str) -> str | None:
    """The web address of a tracking server (``http(s)://…``), where MLflow's own UI is too; else ``None``."""
    return tracking_uri.rstrip("/") if tracking_uri.startswith(("http://", "https://")) else None


#: MLflow's patience with a tracking server that does not answer, unless the administrator set their own:
#: its defaults (7 retries, waits doubling from 2 s) held a page for about 4 minutes when the server was
#: down; these give up within seconds, and the page says the store cannot be read.
SERVER_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


def give_up_soon() -> None:
    """Apply :data:`SERVER_RETRIES` where the environment does not set them (MLflow reads them at each request)."""
    for name, value in SERVER_RETRIES.items():
        os.environ.setdefault(name, value)


def sqlite_path(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` store, else ``None``."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///"))
    return None


def artifact_root(tracking_uri: str) -> str | None:
    """Where artefacts go: ``mlartifacts`` next to a SQLite file; the server's choice otherwise."""
    path = sqlite_path(tracking_uri)
    if path is None or not path.is_absolute():
        return None
    return (path.parent / "mlartifacts").as_uri()


def describe_store(tracking_uri: str, *, show_paths: bool = True) -> str:
    """A short, human description of the store (for the Experiments page); no path or address unless asked."""
    path = sqlite_path(tracking_uri)
    if path is not None:
        where = f", {path} (artefacts in {path.parent / 'mlartifacts'})" if show_paths else " on the app's server"
        return f"a local SQLite file{where}"
    return f"the tracking server at {tracking_uri}" if show_paths else "the app's tracking server"


def experiments_shared(server_address: str | None) -> bool:
    """Whether every visitor sees every run: :data:`EXPERIMENTS_SETTING`, else only when the app is local."""
    setting = os.environ.get(EXPERIMENTS_SETTING, "").strip().lower()
    if setting in ("shared", "workspace"):
        return setting == "shared"
    return (server_address or "").strip() in LOOPBACK


def ui_command(tracking_uri: str, port: int = 5000) -> str:
    """The command that opens the same runs in MLflow's own web UI (a local store; a server has its UI at
    :func:`server_address`)."""
    return f"mlflow ui --backend-store-uri {shlex.quote(tracking_uri)} -h 127.0.0.1 -p {port}"


def store_version(tracking_uri: str) -> tuple | None:
    """A token that changes whenever a local SQLite store is written (its file's size and time).

    ``None`` for a tracking server: what it holds cannot be known without asking it.
    """
    path = sqlite_path(tracking_uri)
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return ()  # no store yet
    return stat.st_mtime_ns, stat.st_size
