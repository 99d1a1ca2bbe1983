"""How the guards' findings look on a page: one box per finding, red for a likely leak."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.guards.findings import Finding, Level
from core.guards.leakage import NOT_SCANNED, LeakageScan, scan_table
from core.schema import Role
from core.target import Task
from ui import state
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


def target_scan(
    frame: pd.DataFrame,
    target: str | None,
    task: Task,
    roles: dict[str, Role],
    candidates: list[str],
    features: list[str],
) -> None:
    """The Target page's leakage scan (memoised per dataset, target and task): findings for ticked columns, with Untick."""
    scanned = [c for c in candidates if roles[c] not in NOT_SCANNED]
    with st.spinner("Checking the columns for leakage of the target…"):
        scan = state.memo(
            "target_scan", (state.version(), target, task), lambda: scan_table(frame, target, task, scanned, roles)
        )
    findings_list(
        [f for f in scan.findings if f.column in features],
        key="target_guard",
        untick=lambda column: state.untick_feature(target, features, column),
    )
    scan_caption(scan, len([c for c in features if c in scan.power]))
