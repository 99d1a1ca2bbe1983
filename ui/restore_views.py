"""The Data page's offer to bring back the last run of this workspace (after a reload, say).

Core does the work (:mod:`core.restore`, :mod:`core.tracking`); this module asks, loads the
run's data (a bundled sample by itself; an upload is asked for again: the app keeps no
uploaded file), sets the session up to the Models page and puts the models back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import streamlit as st

from core.errors import DashboardError
from core.experiment_store import default_tracking_uri, store_version
from core.load_options import LoadOptions
from core.samples import list_samples, load_sample
from ui import state
from ui.text import md_escape, short

# The offer is drawn on the first page of every session: reading the store (core.tracking: pandas,
# MLflow) and restoring (core.restore: the training machinery) load only when there is a store or a restore.
if TYPE_CHECKING:
    from core.restore import RestoredSettings


def offer(slot) -> None:
    """On a session with no data yet: the newest restorable run of this workspace, and a button, in ``slot``.

    ``slot`` (an ``st.empty()`` placed higher on the page) lets the page draw everything else first:
    the first look into a store loads MLflow, which takes seconds.
    """
    if state.dataset() is not None or state.restore_pending() is not None:
        return
    uri, ws = default_tracking_uri(), state.visible_workspace()
    version = store_version(uri)
    if version == ():
        return  # nothing recorded yet: no store to look in
    from core import tracking  # there is a store to read (see the imports above)

    try:
        last = state.memo("restore_last", (uri, ws, version), lambda: tracking.last_training_run(uri, ws))
    except DashboardError:
        return  # no readable store: nothing to offer (the Experiments page says why)
    if last is None:
        return
    with slot.container(border=True):
        st.markdown("**Pick up where you left off?**")
        st.caption(md_escape(_describe(last)))
        if st.button("Restore this run", key="data_restore", icon=":material/history:", type="primary"):
            start(last)
            st.rerun()


def _describe(last: dict) -> str:
    minutes = max(0, int((datetime.now(UTC) - last["started"]).total_seconds() // 60))
    when = f"{minutes} min ago" if minutes < 120 else last["started"].strftime("%Y-%m-%d %H:%M UTC")
    target = f" of '{last['target']}'" if last["target"] else ""
    outcome = "" if last["outcome"] == "finished" else f" ({last['outcome']})"
    return (
        f"Your last run: {short(last['dataset'], 60)} · {last['task']}{target} · {last['models']} models{outcome} · "
        f"{when}. Restoring brings back the data settings, the target, the cleaning plan, the model settings and the "
        "trained models."
    )


def start(last: dict) -> None:
    """Load the run's data if the app has it (a sample), else wait for the person to upload it again."""
    from core import restore  # a run is restored (see the imports above)

    try:
        settings = restore.settings_from(last["session"])
    except DashboardError as err:
        state.set_restore_note("error", err.user_message)
        return
    state.set_restore_pending((state.version(), last, settings))
    source = settings.source
    sample = next((s for s in list_samples() if s.key == source.get("sample")), None)
    if source.get("kind") == "sample" and sample is not None:
        ds = load_sample(sample.key)
        options = LoadOptions(
            **{k: v for k, v in settings.load_options.items() if k in LoadOptions.__dataclass_fields__}
        )
        state.set_dataset(
            ds, sample.path.read_bytes(), state.Source(sample.title, "sample", f"sample:{sample.key}"), options
        )


def waiting() -> None:
    """While a restore waits for its data: say which file to upload; once data is loaded, finish it."""
    pending = state.restore_pending()
    message = state.take_restore_note()
    if message is not None:
        (st.error if message[0] == "error" else st.success)(md_escape(message[1]), icon=":material/history:")
    if pending is None:
        return
    asked_at, last, settings = pending
    if state.version() == asked_at:
        name = settings.source.get("file") or last["dataset"]
        st.info(
            md_escape(
                f"To restore your run, upload '{short(name, 60)}' again: the app does not keep uploaded files. "
                "If it is the same file, the models come back; if it differs, the settings do and you train again."
            ),
            icon=":material/upload_file:",
        )
        st.button("Cancel the restore", key="data_restore_cancel", on_click=state.set_restore_pending, args=(None,))
        return
    state.set_restore_pending(None)
    state.set_restore_note(*finish(last, settings))
    st.rerun()


def finish(last: dict, settings: RestoredSettings) -> tuple[str, str]:
    """Set the session up from the settings and, when the data is the same, put the models back."""
    from core import restore  # a run is restored (see the imports above)
    from core.training import TrainingJob, make_request

    state.set_role_overrides(settings.role_overrides)
    state.set_target(settings.choice)
    state.set_plan(settings.plan)
    state.set_train_setup(settings.setup)
    choice, ds = settings.choice, state.dataset()
    try:
        request = make_request(
            ds.frame, choice.target, choice.task, choice.features, state.roles(), settings.plan, settings.setup,
            positive=choice.positive,
        )  # fmt: skip
    except DashboardError as err:
        return "error", f"The settings are restored, but the run cannot be rebuilt on this data: {err.user_message}"
    if not restore.same_data(request, settings):
        return "error", (
            "This data differs from the data of the recorded run, so its models are not brought back (their scores "
            "belong to the other data). The target, the cleaning plan and the model settings are restored: train "
            "again on the Models page."
        )
    try:
        results, report = restore.restored_results(default_tracking_uri(), last["run_id"], request)
    except DashboardError as err:
        return "error", f"The settings are restored, but the models could not be read back: {err.user_message}"
    state.set_job(TrainingJob.restored(request, results, report))
    return "success", (
        f"Restored {len(report.model_runs)} trained models with the target, the cleaning plan and the model "
        "settings. Their results are on the Results page."
    )
