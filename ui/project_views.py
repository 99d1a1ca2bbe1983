"""Project files in the app: "Save as project file" on the Models page, "Open a project file" on the Data page.

Core does the work (:mod:`core.project`: writing, reading a hostile file, fitting it onto a table);
this module offers the download, opens an upload once per file, sets the session through
:mod:`ui.state` (table, role changes, target, plan, model settings) only when everything fitted,
and leaves a note (``state.PROJECT_NOTE``) that the Models page shows once.

The open box is drawn on the first page of every session: :mod:`core.project` (scikit-learn, pandas)
loads only when a project file is opened or saved.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import streamlit as st

from core.errors import DashboardError
from core.limits import MAX_PROJECT_BYTES, MAX_PROJECT_EMBED_BYTES
from core.samples import list_samples
from ui import state
from ui.text import md_escape, short

if TYPE_CHECKING:
    from core.project import Project
    from core.training import TrainSetup

_MB = 1024 * 1024
_ICONS = {"success": ":material/folder_open:", "warning": ":material/difference:", "error": ":material/error:"}


# --------------------------------------------------------------------------- saving (Models page)


def save_button(setup: TrainSetup, key: str = "models_project") -> None:
    """A download of the session as a project file, once models are chosen; built when clicked."""
    ds, choice, plan, src = state.dataset(), state.target(), state.plan(), state.source()
    if ds is None or choice is None or plan is None or not setup.models:
        return
    from core.project import file_name, project_json

    sample = src.file_id.removeprefix("sample:") if src is not None and src.kind == "sample" else None
    raw, options, overrides = state.raw(), state.load_options(), state.role_overrides()
    if sample is not None:
        holds = f"the sample's name ('{ds.name}')"
    elif raw is not None and len(raw) <= MAX_PROJECT_EMBED_BYTES:
        holds = f"your file itself ({len(raw) / _MB:.1f} MB)"
    else:
        holds = (
            f"your file's name and fingerprint only (over {MAX_PROJECT_EMBED_BYTES / _MB:.0f} MB: whoever opens "
            "the project uploads the file first)"
        )
    st.download_button(
        "Save as project file",
        # Captured now, built on the click (the callable runs outside this script run, without the session).
        data=lambda: project_json(
            ds, choice, plan, setup, sample=sample, raw=raw, load_options=options, role_overrides=overrides
        ),
        file_name=file_name(ds.name),
        mime="application/json",
        icon=":material/save:",
        key=key,
        on_click="ignore",
        help=md_escape(
            f"One JSON file with {holds}, the target, the cleaning plan and these model settings. Open it on the "
            "Data page to come back here with everything set; hand it to a class so everyone starts alike."
        ),
    )


def note() -> None:
    """How the last project file opened, once (the Models page, where it lands)."""
    held = state.take_project_note()
    if held is not None:
        kind, message = held
        show = {"success": st.success, "warning": st.warning}.get(kind, st.error)
        show(md_escape(message), icon=_ICONS.get(kind, _ICONS["error"]))


# --------------------------------------------------------------------------- opening (Data page)


def open_box(said=None) -> None:
    """The Data page's project upload: read once per file, opened once per file, then off to the Models page.

    A file without its table waits until a table is loaded; a broken or hostile file is refused with
    its reason while it stays in the box, and nothing in the session changes. What became of the file is
    drawn into ``said`` (a slot outside the box, so it shows when the box is closed), else in the box.
    """
    said = said if said is not None else st.container()
    kept = " Nothing you had loaded has changed." if state.dataset() is not None else ""
    uploaded = st.file_uploader(
        "Open a project file (.json), saved with 'Save as project file' on the Models page",
        type=["json"],
        key="data_project",
        max_upload_size=math.ceil(MAX_PROJECT_BYTES / _MB),
        help="It sets the table, the target, the cleaning plan and the model settings: you land on the Models "
        "page and only press Train.",
    )
    if uploaded is None:
        return
    read = state.memo("project_read", uploaded.file_id, lambda: _read(uploaded.getvalue()))
    if isinstance(read, str):
        said.error(md_escape(read + kept), icon=_ICONS["error"])
        return
    waiting = read.table.sample is None and read.table.content is None and state.dataset() is None
    fresh: list[bool] = []

    def open_it() -> tuple[str, str]:
        fresh.append(True)
        return _open(read, waiting)

    token = (uploaded.file_id, waiting, state.running_work() is not None)
    kind, message = state.memo("project_open", token, open_it)
    if kind == "error":
        said.error(md_escape(message + kept), icon=_ICONS["error"])
    elif kind == "waiting":
        said.info(md_escape(message), icon=":material/upload_file:")
    elif fresh:
        state.set_project_note(kind, message)
        st.switch_page("pages/models.py")


def _read(data: bytes) -> Project | str:
    from core.project import read_project  # a project file is opened (see the module docs)

    try:
        return read_project(data)
    except DashboardError as err:
        return err.user_message


def _open(project: Project, waiting: bool) -> tuple[str, str]:
    """Set the session from ``project`` if it fits (else change nothing); the note to show, as (kind, message)."""
    from core import project_fit as projects  # a project file is opened (see the module docs)

    table = project.table
    work = state.running_work()
    if work is not None:
        return "error", (
            f"The project is not opened: {work} is still going, and a project replaces the session's settings. "
            "Open the project file again once it has finished, or stop it on the Train page."
        )
    if waiting:
        size = f" ({table.size / _MB:.1f} MB)" if table.size else ""
        return "waiting", (
            f"This project file does not include its table, '{short(table.name, 60)}'{size}: it was too large to "
            "put in. Upload that file above (the upload box); the project opens as soon as it is loaded."
        )
    with st.spinner("Opening the project…"):
        try:
            loaded = projects.load_table(project)
            ds = loaded[0] if loaded is not None else state.dataset()
            rebuilt = projects.rebuild(project, ds)
        except DashboardError as err:
            return "error", err.user_message
    if loaded is not None:
        state.set_dataset(ds, loaded[1], _source(project), project.load_options)
    state.set_role_overrides(rebuilt.role_overrides)
    state.set_target(rebuilt.choice)
    state.set_plan(rebuilt.plan)
    state.set_train_setup(rebuilt.setup)
    choice, n = rebuilt.choice, len(rebuilt.setup.models)
    what = (
        f"the target '{short(choice.target, 60)}' ({choice.task.value})"
        if choice.target is not None
        else f"{choice.task.value} (no target)"
    )
    done = f"{what}, {len(choice.features)} features, the cleaning plan and {n} model{'s' if n != 1 else ''} with their settings"
    where = "" if loaded is not None else f" on the table already loaded, '{short(ds.name, 60)}'"
    if rebuilt.differences:
        return "warning", (
            f"Opened the project{where}: {done} are set. This table differs from the one it was made on: "
            + " ".join(rebuilt.differences)
            + " The settings are set as far as they fit: check them before you train."
        )
    return "success", f"Opened the project{where}: {done} are set. Check them below and press Train."


def _source(project: Project) -> state.Source:
    table = project.table
    if table.sample is not None:
        sample = next(s for s in list_samples() if s.key == table.sample)
        return state.Source(sample.title, "sample", f"sample:{sample.key}")
    return state.Source(table.name, "upload", f"project:{table.sha256[:16]}")
