"""The Predict page's "Portable" view: the model as ONNX (and TFLite) files, built, checked, downloaded."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.numbers import format_number
from core.portable.exports import check_rows, portable_exports, usage_snippet
from core.portable.result import (
    MAX_CHECK_ROWS,
    PROBABILITY_TOLERANCE,
    TFLITE,
    VALUE_TOLERANCE,
    PortableExport,
    Unavailable,
)
from core.target import Task
from core.usable import UsableModel
from ui import state
from ui.text import md_code, md_escape

MIME = {"ONNX": "application/octet-stream", TFLITE: "application/octet-stream"}


def token(usable: UsableModel) -> tuple:
    """What the built files belong to: this model object (a retrained or reloaded model is another)."""
    return (usable.name, usable.origin, id(usable.pipeline))


def built(usable: UsableModel) -> list[PortableExport | Unavailable]:
    """The files built for ``usable`` in this session (empty until the person builds them)."""
    return state.portable_formats(token(usable)) or []


def show(usable: UsableModel) -> None:
    """Build and check the portable files on a click; then each file's download, check, inputs and use."""
    st.markdown(
        "Take the model out of Python: an **ONNX** file runs in onnxruntime from C#, Java, JavaScript, C++ or "
        "Python, with your columns as its inputs; a neural network also becomes a **TFLite** file for phones "
        "and small devices. Each file is run on rows the app has predicted, and offered only if its answers "
        "match the app's."
    )
    results = state.portable_formats(token(usable))
    again = results is not None
    if st.button(
        "Build them again" if again else "Build and check the portable files",
        key="predict_portable_build",
        icon=":material/deployed_code:",
        type="secondary" if again else "primary",
    ):
        results = _build(usable)
        state.set_portable_formats(token(usable), results)
    if results is None:
        st.caption(
            f"It takes a few seconds (a neural network longer: TensorFlow loads first). The files are checked on "
            f"up to {MAX_CHECK_ROWS:,} rows."
        )
        return
    for result in results:
        if isinstance(result, PortableExport):
            _offered(usable, result)
        else:
            st.warning(
                f"**{md_escape(result.format)} is not offered for this model:** {md_escape(result.reason)}.",
                icon=":material/block:",
            )
    st.caption("The model card (Export view) lists the formats, their inputs and their checks.")


def _build(usable: UsableModel) -> list[PortableExport | Unavailable]:
    """Every format, with progress in a status box (in this process: a few seconds for most models)."""
    validation = None
    current = state.job()
    if usable.origin == "this session" and current is not None:
        validation = current.request.xy(current.request.split.valid)[0]
    rows, label = check_rows(usable, validation)
    with st.status("Building the portable files…", expanded=False) as status:
        results = portable_exports(
            usable, rows, rows_label=label, listener=lambda message: status.update(label=message)
        )
        offered = sum(isinstance(r, PortableExport) for r in results)
        status.update(label=f"{offered} of {len(results)} formats built and checked", state="complete")
    return results


def _offered(usable: UsableModel, export: PortableExport) -> None:
    kind = export.format.lower()
    st.markdown(f"#### {export.format}")
    st.download_button(
        f"Download the {export.format} file (.{export.file_name.rsplit('.', 1)[-1]})",
        data=export.data,
        file_name=export.file_name,
        mime=MIME.get(export.format, "application/octet-stream"),
        icon=":material/download:",
        key=f"predict_portable_{kind}",
        on_click="ignore",
    )
    allowed = (
        f"allowed {VALUE_TOLERANCE:g} relative"
        if usable.task == Task.REGRESSION
        else f"allowed {PROBABILITY_TOLERANCE:g} on a probability; every predicted class equal"
    )
    st.caption(
        f"{md_code(export.file_name)}, {format_number(export.size / 1024)} KB. Checked on {export.rows_checked:,} "
        f"{md_escape(export.rows_label)}: largest difference {format_number(export.max_difference)} ({allowed})."
    )
    if export.features:
        st.markdown(
            f"It takes one input, {md_code(export.inputs[0].name)}: the {len(export.features)} preprocessed "
            "features as 32-bit floats, in this order:"
        )
        frame = pd.DataFrame({"position": range(len(export.features)), "feature": list(export.features)})
    else:
        st.markdown("Its inputs, one per column of your table:")
        frame = pd.DataFrame(
            {
                "input": [i.name for i in export.inputs],
                "type": [f"{i.type} [rows × 1]" for i in export.inputs],
            }
        )
    st.dataframe(frame, hide_index=True, key=f"predict_portable_{kind}_inputs")
    st.markdown(
        "Its outputs: " + "; ".join(f"{md_code(name)}: {md_escape(meaning)}" for name, meaning in export.outputs)
    )
    if export.note:
        st.caption(md_escape(export.note))
    st.code(usage_snippet(export), language="python", wrap_lines=True)
