"""How the guards' findings look on a page: one box per finding, red for a likely leak."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.guards.findings import Finding, Level
from core.guards.leakage import LeakageScan
from ui.text import md_code, md_escape, md_label

ICONS = {Level.LEAK: ":material/report:", Level.LOOK: ":material/visibility:"}


def findings_list(findings: list[Finding], *, key: str, untick: Callable[[str], None] | None = None) -> None:
    """Each finding in a box (red: likely leak; yellow: worth a look) with its evidence and fix.

    With ``untick``, a finding about a column gets a button that calls ``untick(column)``.
    """
    for index, finding in enumerate(findings):
        about = md_code(finding.column) if finding.column is not None else "the model"
        body = (
            f"**{finding.level.value.capitalize()}: {about}.** {md_escape(finding.evidence)} {md_escape(finding.fix)}"
        )
        (st.error if finding.level == Level.LEAK else st.warning)(body, icon=ICONS[finding.level])
        if untick is not None and finding.column is not None:
            st.button(
                md_label(f"Untick '{finding.column}'"),
                key=f"{key}_untick_{index}",
                on_click=untick,
                args=(finding.column,),
                icon=":material/remove_circle:",
            )


def scan_caption(scan: LeakageScan, columns: int) -> None:
    """One line on what the leakage scan looked at."""
    if not scan.rows:
        return
    text = (
        f"Leakage scan: {columns:,} columns checked alone on {scan.rows:,} training rows in {scan.seconds:.1f} s "
        "(each column's power to predict the target by itself, near-copies of the target, telling names)."
    )
    if scan.skipped:
        text += " Not scanned (free text or no information): " + ", ".join(f"'{c}'" for c in scan.skipped[:5])
        text += "…" if len(scan.skipped) > 5 else "."
    st.caption(md_escape(text))
