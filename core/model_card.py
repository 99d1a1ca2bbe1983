"""The model card: what a model is, what it needs, how it was made and how well it did.

The card travels with the model everywhere it goes -- the session, an exported
bundle (``model_card.json`` and ``model_card.md``), an experiment run, a served
model -- and records the dataset's fingerprint, the cleaning plan, the split, the
scores on each part, the seed and the versions of the libraries it needs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

import core
from core import anomaly
from core.guards.caveats import run_warnings
from core.markdown import code, escape
from core.metrics import format_score, metric_label
from core.numbers import format_number
from core.registry import get_spec
from core.target import Task, plain_label
from core.training.choose import choice_card
from core.usable import UsableModel

#: The bundle format a card belongs to (an exported bundle's ``model_card.json`` names it).
FORMAT = "nocode-ml-bundle"
FORMAT_VERSION = 1


def dataset_fingerprint(frame: pd.DataFrame) -> dict:
    """Rows, columns and a SHA-256 over the column names and every value."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    if len(frame):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return {"rows": len(frame), "columns": int(frame.shape[1]), "sha256": digest.hexdigest()}


#: The packages a bundle needs to load (pip names), and those a Keras network adds.
BUNDLE_PACKAGES = ("scikit-learn", "pandas", "numpy", "scipy", "imbalanced-learn", "lightgbm", "skops")
KERAS_PACKAGES = ("keras", "tensorflow")


def library_versions(keras: bool = False) -> dict[str, str]:
    """Versions of what a bundle needs to load (Keras only when used: it imports TensorFlow)."""
    return dict(_library_versions(keras))


@functools.cache
def _library_versions(keras: bool) -> tuple[tuple[str, str], ...]:
    # Looked up once per process: the installed packages do not change while the app runs.
    names = [*BUNDLE_PACKAGES, *(KERAS_PACKAGES if keras else ())]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "tensorflow":
                with contextlib.suppress(Exception):
                    versions[name] = metadata.version("tensorflow-cpu")
    versions[core.DISTRIBUTION] = core.__version__  # the app itself is run from its checkout, not installed
    return tuple(versions.items())


def _clean(value: Any) -> Any:
    """Scores and parameters as JSON values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def model_card(usable: UsableModel, model, request, source_name: str) -> dict:
    """The card of a model trained in this session (see module docs for what it records)."""
    spec = get_spec(model.key)
    split = request.split
    return _clean(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": {
                "name": model.name,
                "key": model.key,
                "kind": spec.label,
                "parameters": model.params,
                **(
                    {"target_transform": "log(1 + target), predictions turned back"}
                    if getattr(model, "log_target", False)
                    else {}
                ),
            },
            "task": request.task.value,
            "target": request.target,
            "classes": [str(c) for c in usable.classes],
            "positive_class": plain_label(request.positive) if request.task == Task.BINARY else None,
            "features": usable.schema.to_dict()["columns"],
            "cleaning_plan": request.plan.to_dict(),
            "feature_options": request.options.to_dict(),
            "imbalance": request.imbalance,
            "ranking_metric": request.metric,
            **({"anomaly": _anomaly_card(model)} if request.task == Task.ANOMALY else {}),
            **({"choice": choice} if (choice := choice_card(model, request)) is not None else {}),
            "warnings": run_warnings(request, model),
            "split": {**split.config.to_dict(), "rows": split.sizes()},
            "metrics": {
                "validation": model.scores,
                "training": model.train_scores,
                "cross-validation": model.cv_scores,
            },
            "dataset": {
                "name": source_name,
                **dataset_fingerprint(request.frame),
                **({"sample_of": _sample_card(request.sample_of)} if getattr(request, "sample_of", None) else {}),
            },
            "seed": request.seed,
            "training_seconds": round(model.seconds, 3),
            "versions": library_versions(keras=spec.needs_tensorflow),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def _sample_card(held) -> dict:
    """What the rows trained on are a sample of (a file too big to read whole, :class:`core.big_files.SampleOf`)."""
    return {"rows": held.rows, "of_rows": held.of_rows, "how": held.how(), "seed": held.seed, "note": held.note()}


def _anomaly_card(model) -> dict:
    """How an anomaly detector scores and flags rows (:mod:`core.anomaly`), for people reading its card."""
    return {
        "score": "anomaly score: higher = more unusual (the negative of scikit-learn's score_samples)",
        "threshold": anomaly.threshold(model.pipeline),
        "flagged": "rows scoring above the threshold (those the estimator's predict calls -1)",
        "chosen_by": f"{anomaly.NO_LABELS} The run {anomaly.CHOICE_RULE}.",
    }


def with_fairness(card: dict, reports) -> dict:
    """A copy of ``card`` with the model's scores across groups (``core.fairness.FairnessReport`` objects).

    The ``"fairness"`` entry lists one ``report.to_dict()`` per column compared: its groups' rows and scores,
    the gaps between groups, the findings and the notes; no entry when ``reports`` is empty.
    """
    out = copy.deepcopy(card)
    entries = [_clean(report.to_dict()) for report in reports]
    if entries:
        out["fairness"] = entries
    else:
        out.pop("fairness", None)
    return out


def with_portable(card: dict, entries: list[dict]) -> dict:
    """A copy of ``card`` listing the portable formats (``to_dict()`` of ``core.portable`` results).

    The ``"portable_formats"`` entry holds, per format, the file, its inputs (names and types), outputs,
    the check against the app's predictions, or the step that kept the format from being offered.
    """
    out = copy.deepcopy(card)
    if entries:
        out["portable_formats"] = _clean(entries)
    else:
        out.pop("portable_formats", None)
    return out


def with_test_scores(card: dict, scores: dict[str, float]) -> dict:
    """A copy of ``card`` with the held-out test scores recorded."""
    out = copy.deepcopy(card)
    out.setdefault("metrics", {})["test"] = _clean(scores)
    return out


def _no_target(card: dict) -> str:
    """What a model without a target gives, for the card's "Predicts" line."""
    found = card.get("anomaly")
    if not isinstance(found, dict):
        return "clusters (no target)"
    at = found.get("threshold")
    above = f", flagged as unusual above {format_number(at)}" if isinstance(at, int | float) else ""
    return f"an anomaly score per row (higher = more unusual){above} (no target)"


def card_markdown(card: dict) -> str:
    """The card as a short Markdown document for people."""
    model = card.get("model", {})
    dataset = card.get("dataset", {})
    split = card.get("split") or {}
    lines = [
        f"# Model card: {escape(model.get('name', 'model'))}",
        "",
        f"- **Model:** {escape(model.get('kind', model.get('key', '?')))}",
        f"- **Task:** {card.get('task', '?')}",
        f"- **Predicts:** {code(card.get('target'))}" if card.get("target") else f"- **Predicts:** {_no_target(card)}",
        *([f"- **Positive class:** {code(card['positive_class'])}"] if card.get("positive_class") is not None else []),
        f"- **Dataset:** {escape(dataset.get('name', '?'))} — {dataset.get('rows', '?')} rows, "
        f"{dataset.get('columns', '?')} columns, SHA-256 `{dataset.get('sha256', '')[:16]}…`",
        *([f"- **Sample of a big file:** {escape(dataset['sample_of']['note'])}"] if dataset.get("sample_of") else []),
        f"- **Split:** {_split_line(split)}",
        *([f"- **Target:** {escape(model['target_transform'])}"] if model.get("target_transform") else []),
        *(
            [f"- **Ranked by:** {metric_label(card['ranking_metric'])}"]
            if card.get("ranking_metric") and not card.get("anomaly")
            else []
        ),
        *([f"- **Imbalanced classes:** {card['imbalance']}"] if card.get("imbalance") not in (None, "none") else []),
        f"- **Seed:** {card.get('seed')}",
        f"- **Created:** {card.get('created', '?')}",
        "",
        "## Metrics",
        "",
    ]
    choice = card.get("choice") or {}
    for part, scores in (card.get("metrics") or {}).items():
        if scores:
            shown = ", ".join(
                f"{k} {format_score(k, v)}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items()
            )
            before = f" ({choice['validation_scores']})" if part == "validation" and choice.get("refitted") else ""
            lines.append(f"- **{part}{before}:** {shown}")
    if choice.get("summary"):
        lines += ["", "## How it was chosen", "", escape(choice["summary"])]
    warnings = card.get("warnings") or []
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {escape(w)}" for w in warnings]
    if card.get("fairness"):
        lines += ["", "## Fairness across groups"]
        for entry in card["fairness"]:
            lines += _fairness_lines(entry)
    lines += ["", "## Inputs", "", "| column | kind | training range / values | missing |", "|---|---|---|---|"]
    for column in card.get("features", []):
        if column.get("kind") == "number":
            span = f"{_number(column.get('minimum'))} … {_number(column.get('maximum'))}"
        elif column.get("kind") == "category":
            cats = column.get("categories", [])
            span = ", ".join(escape(c) for c in cats[:8]) + (" …" if len(cats) > 8 else "")
        elif column.get("kind") == "date":
            span = f"{column.get('earliest')} … {column.get('latest')}"
        else:
            span = "free text"
        name = code(column.get("name")).replace("|", "\\|")  # GFM: a pipe ends a cell, even in code
        lines.append(
            f"| {name} | {column.get('kind')} | {span.replace('|', '/')} | {column.get('missing_share', 0):.0%} |"
        )
    if card.get("portable_formats"):
        lines += _portable_lines(card["portable_formats"])
    lines += ["", "## Parameters", "", "```json", json.dumps(model.get("parameters", {}), indent=2), "```"]
    lines += ["", "## Versions", ""] + [f"- {k} {v}" for k, v in (card.get("versions") or {}).items()]
    return "\n".join(lines) + "\n"


def _portable_lines(entries: list[dict]) -> list[str]:
    """The formats offered (file, inputs and their types, outputs, the check) and those not offered, with why."""

    def cell(text: Any) -> str:
        return code(text).replace("|", "\\|")  # GFM: a pipe ends a cell, even in code

    lines = ["", "## Portable formats"]
    for entry in entries:
        if entry.get("unavailable"):
            continue
        checked = (
            f"Checked on {entry.get('rows_checked')} {escape(entry.get('rows_label') or 'rows')}: largest "
            f"difference from the app's predictions {format_number(entry.get('max_difference'))}."
        )
        lines += ["", f"### {escape(entry.get('format', '?'))}: {code(entry.get('file_name'))}", "", checked]
        lines += ["", "| input | column | type |", "|---|---|---|"]
        for item in entry.get("inputs") or []:
            shape = " × ".join("rows" if d is None else str(d) for d in item.get("shape") or [])
            lines.append(f"| {cell(item.get('name'))} | {escape(item.get('column'))} | {item.get('type')} [{shape}] |")
        lines += [""] + [
            f"- Output {code(o.get('name'))}: {escape(o.get('meaning'))}" for o in entry.get("outputs") or []
        ]
        if entry.get("features"):
            lines += ["", "Features, in order:", ""]
            lines += [f"{i}. {code(name)}" for i, name in enumerate(entry["features"], start=1)]
        if entry.get("note"):
            lines += ["", escape(entry["note"])]
    missing = [e for e in entries if e.get("unavailable")]
    if missing:
        lines += ["", "### Not offered", ""]
        lines += [
            f"- **{escape(e.get('format'))}** ({escape(e.get('step'))}): {escape(e.get('reason'))}" for e in missing
        ]
    return lines


def _fairness_lines(entry: dict) -> list[str]:
    """One column's groups as a Markdown table (scores as every page shows them), then its findings and notes."""
    metrics = entry.get("metrics") or {}

    def cell(text: Any) -> str:
        return escape(str(text).replace("\n", " "))  # one line; its pipes escaped, so no cell ends early

    def row(group: str, rows: Any, scores: dict, note: str = "") -> str:
        shown = [format_score(k, scores.get(k)) for k in metrics]
        return f"| {cell(group)} | {rows} | " + " | ".join(shown) + f" | {note} |"

    groups = entry.get("groups") or []
    total = sum(int(g.get("rows") or 0) for g in groups)
    lines = [
        "",
        f"### By {code(entry.get('column'))} ({escape(entry.get('split', 'validation'))} rows)",
        "",
        "| group | rows | " + " | ".join(cell(label) for label in metrics.values()) + " | note |",
        "|---|---:|" + "---:|" * len(metrics) + "---|",
        row("(all rows)", f"{total:,}", entry.get("overall") or {}),
    ]
    for group in groups:
        rows = f"{int(group.get('rows') or 0):,}"
        lines.append(row(str(group.get("group")), rows, group.get("scores") or {}, cell(group.get("note") or "")))
    lines.append("")
    for finding in entry.get("findings") or []:
        words = f"{finding.get('evidence', '')} {finding.get('fix', '')}"
        lines.append(f"- **{str(finding.get('level', '')).capitalize()}:** {escape(words)}")
    lines += [f"- {escape(note)}" for note in entry.get("notes") or []]
    return lines


def _split_line(split: dict) -> str:
    rows = split.get("rows") or {}
    shares = "/".join(f"{round(100 * float(split.get(k, 0)))}" for k in ("train", "valid", "test"))
    order = f", ordered by {code(split['time_column'])}" if split.get("time_column") else ""
    counts = ", ".join(f"{v:,} {k}" for k, v in rows.items())
    return f"{shares} % train/validation/test{order} ({counts})" if counts else f"{shares} %{order}"


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
