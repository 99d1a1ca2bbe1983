"""Views of the Models page: split controls, model picker, generic parameter
forms drawn from the registry's ParamSpecs, and the Keras network builder."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import charts, engine, registry
from core.cleaning import CleaningPlan, RowReport, needs_confirmation
from core.errors import DashboardError
from core.features import IMBALANCE_METHODS, MAX_INTERACTION_COLUMNS, FeatureOptions, count_features
from core.keras_text import text_layer_table
from core.limits import MAX_OPTIONS, ratio_pairs
from core.metrics import METRICS, RANKING_CHOICES, default_ranking
from core.network_layers import layer_table
from core.network_rules import (
    ACTIVATIONS,
    LAYER_TYPES,
    MAX_DROPOUT,
    MAX_UNITS,
    SEQUENCE_LAYER_TYPES,
    SEQUENCE_RANGES,
    check_layers,
)
from core.numbers import seconds_words
from core.schema import Role
from core.split import (
    CV_AUTO_FOLDS,
    CV_AUTO_MAX_ROWS,
    SplitConfig,
    cv_words,
    size_warning,
    split_summary,
    split_warnings,
    time_order_advice,
)
from core.target import IMBALANCE_SHARE, Task, class_limit, log_target_advice
from core.teaching.glossary import tooltip
from core.training import ModelRun, TrainingRequest, TrainSetup, budget
from core.training.budget import BudgetPlan
from core.training.request import BUDGET_CHOICES, BUDGET_SECONDS
from core.transformers import date_feature_note
from ui import charts_view, state
from ui.text import md_escape

CV_CHOICES = {
    None: f"automatic ({CV_AUTO_FOLDS} folds under {CV_AUTO_MAX_ROWS:,} rows)",
    0: "off",
    3: "3 folds",
    5: "5 folds",
    10: "10 folds",
}


def split_controls(
    current: SplitConfig, task: Task, date_columns: list[str], rows: pd.DataFrame | None = None
) -> SplitConfig:
    """Train/validation/test shares, seed, stratification, time order, CV; with dates, advice on time order."""
    left, right = st.columns([2, 1])
    with left:
        train, valid_end = st.slider(
            "Split: train | validation | test (%)", 10, 100, (round(current.train * 100), round((current.train + current.valid) * 100)), step=5, key="models_split_range",
            help="Drag the two handles: left of the first is training, between them validation, right of the second the test rows kept aside for the final check.",
        )  # fmt: skip
        st.caption(f"train {train}% · validation {valid_end - train}% · test {100 - valid_end}%")
    with right:
        seed = st.number_input(
            "Seed",
            0,
            2**31 - 1,
            current.seed,
            key="models_seed",
            help="The same seed gives the same split and the same results.",
        )
    cols = st.columns(3)
    time_options = [None, *date_columns]
    time_column = cols[1].selectbox(
        "Order by time",
        time_options,
        index=time_options.index(current.time_column) if current.time_column in time_options else 0,
        format_func=lambda c: "no (shuffle)" if c is None else c,
        key="models_time",
        help="Train on the oldest rows and test on the newest, without shuffling.",
    )
    ordered = time_column is not None  # rows cut in time order cannot also be stratified
    stratify = cols[0].checkbox(
        "Stratify by class",
        False if ordered else current.stratify or current.time_column is not None,
        key="models_stratify_off" if ordered else "models_stratify",
        disabled=ordered or not task.is_classification,
        help="Off while the rows are ordered by time: the split follows the dates."
        if ordered
        else "Keep each class's share the same in every split.",
    )
    folds = cols[2].selectbox(
        "Cross-validation",
        list(CV_CHOICES),
        index=list(CV_CHOICES).index(current.cv_folds) if current.cv_folds in CV_CHOICES else 0,
        format_func=CV_CHOICES.get,
        key="models_cv",
        help="Score each model with k-fold cross-validation on training + validation rows and choose the model by "
        "its mean (takes k times longer). Automatic does so for tables under "
        f"{CV_AUTO_MAX_ROWS:,} training + validation rows, where one validation split is a noisy judge.",
    )
    if task.has_target:  # with a target, dates decide what "unseen rows" means
        advice = time_order_advice(rows, date_columns) if rows is not None else None
        if advice is not None and not ordered:
            st.info(md_escape(advice[1]), icon=":material/schedule:")
            st.button(
                f"Order by {md_escape(advice[0])}",
                key="models_time_suggested",
                on_click=lambda: st.session_state.update(models_time=advice[0]),
            )
        note = date_feature_note(date_columns)
        if note:
            st.caption(md_escape(note))
    return SplitConfig(
        (train) / 100,
        (valid_end - train) / 100,
        (100 - valid_end) / 100,
        int(seed),
        bool(stratify),
        time_column,
        None if folds is None else int(folds),
    )


def split_preview(rows: pd.DataFrame, target: str | None, task: Task, config: SplitConfig) -> bool:
    """The split's chart and warnings; False (with the reason shown) when the rows cannot be split."""
    from core.split import make_split

    try:
        split = make_split(rows, target, task, config)
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return False
    y = rows[target] if target is not None and task.is_classification else None
    charts_view.show(charts.split_sizes(split_summary(split, y)), key="models_split_chart")
    if task.has_target:
        st.caption(md_escape(cv_words(config, split)))
    small = size_warning(split) if task.has_target else None
    for message in [*split_warnings(split, y), *([small] if small else [])]:
        st.warning(md_escape(message), icon=":material/rule:")
    return True


def model_picker(
    task: Task, chosen: list[str], n_rows: int | None = None, text: bool = True, timed: bool = True
) -> list[str]:
    """Multiselect over the registry's models for the task, with a Recommended button.

    Models that read text word by word (``spec.raw_text``) are offered only when a feature is ``text``;
    networks over the last rows (``spec.needs_time_order``) only when a time order is set (``timed``).
    """
    specs = [s for s in registry.specs_for(task) if (text or not s.raw_text) and (timed or not s.needs_time_order)]
    waiting = [s.label for s in registry.specs_for(task) if s.needs_time_order and not timed]
    labels = {s.key: s.label for s in specs}
    if st.button(
        "Recommended set",
        icon=":material/auto_awesome:",
        key="models_recommended",
        help="A small, sensible set for this task: a baseline, a linear model, tree ensembles and a small neural network.",
    ):
        st.session_state["models_chosen"] = registry.recommended(task, n_rows)
    picked = st.multiselect(
        "Models to train",
        list(labels),
        default=[k for k in chosen if k in labels],
        format_func=labels.get,
        key="models_chosen",
    )
    if waiting:
        st.caption(md_escape(f"Not available yet: {', '.join(waiting)} — set a time order in the Time section first."))
    with st.expander("What are these models?"):
        for spec in specs:
            st.markdown(f"**{spec.label}** — {spec.help}")
    return picked


def param_form(spec, current: dict, prefix: str) -> dict:
    """One generic form for any spec: basic parameters, advanced behind a toggle."""
    values = dict(current)
    plain = [p for p in spec.params if not isinstance(p, registry.LayersParam)]
    advanced = (
        st.toggle("Advanced settings", key=f"{prefix}_advanced", value=False)
        if any(p.advanced for p in plain)
        else False
    )
    cols = st.columns(3)
    shown = [p for p in plain if advanced or not p.advanced]
    for i, param in enumerate(shown):
        with cols[i % 3]:
            values[param.name] = _param_widget(param, current.get(param.name, param.default), f"{prefix}_{param.name}")
    return values


def _param_widget(param, value, key: str):
    """One widget for one ParamSpec. A value already in the widget's state (set
    by the person or by "Use these settings" after tuning) wins over ``value``."""
    help_text = tooltip(param.help, about=param.label)  # glossary links: the term it sets, the terms it mentions

    def start(default):
        return {} if key in st.session_state else {"value": default}

    if isinstance(param, registry.BoolParam):
        return st.checkbox(param.label, key=key, help=help_text, **start(bool(value)))
    if isinstance(param, registry.ChoiceParam):
        choices = list(param.choices)
        labels = param.labels or {}
        index = {} if key in st.session_state else {"index": choices.index(value) if value in choices else 0}
        return st.selectbox(
            param.label, choices, format_func=lambda c: labels.get(c, str(c)), key=key, help=help_text, **index
        )
    if getattr(param, "allow_none", False):
        none_key = f"{key}_none"
        none_start = {} if none_key in st.session_state else {"value": value is None}
        if st.checkbox(f"{param.label}: {param.none_label}", key=none_key, help=help_text, **none_start):
            return None
        value = param.low if value is None else value
    if isinstance(param, registry.IntParam):
        return int(
            st.number_input(
                param.label,
                min_value=int(param.low),
                max_value=int(param.high),
                step=1,
                key=key,
                help=help_text,
                **start(int(value)),
            )
        )
    return float(
        st.number_input(
            param.label,
            min_value=float(param.low),
            max_value=float(param.high),
            format="%.6g",
            key=key,
            help=help_text,
            **start(float(value)),
        )
    )


def network_builder(
    layers: tuple[dict, ...],
    n_features: int,
    task: Task,
    n_classes: int,
    l2: float,
    prefix: str,
    window: int | None = None,
) -> tuple[dict, ...]:
    """Add, remove and reorder layers in a table; show shapes and parameter counts.

    With ``window`` (a network over the last rows), sequence layers (lstm, conv1d, pool) are offered
    too, before the dense ones: *units* are an LSTM's units or a convolution's filters, *kernel* a
    convolution's width or a pooling's size, in rows.
    """
    st.markdown(
        "**Hidden layers** — add rows to add layers, select rows and press Delete to remove them, change *order* to reorder. The output layer is added for you from the task."
        + (" Sequence layers (lstm, conv1d, pool) read the window of rows and come first." if window else "")
    )
    kinds = list(LAYER_TYPES) + (list(SEQUENCE_LAYER_TYPES) if window else [])

    def build() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "order": list(range(1, len(layers) + 1)),
                "type": [layer["type"] for layer in layers],
                "units": [layer.get("units", layer.get("filters")) for layer in layers],
                "activation": [layer.get("activation") for layer in layers],
                "rate": [layer.get("rate") for layer in layers],
                **({"kernel": [layer.get("kernel_size", layer.get("size")) for layer in layers]} if window else {}),
            }
        )

    table = state.editor_base(f"{prefix}_layers", build)
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        key=f"{prefix}_layers",
        column_config={
            "order": st.column_config.NumberColumn("order", min_value=1, step=1),
            "type": st.column_config.SelectboxColumn("type", options=kinds, required=True),
            "units": st.column_config.NumberColumn("units (dense)", min_value=1, max_value=MAX_UNITS, step=1),
            "activation": st.column_config.SelectboxColumn("activation (dense)", options=list(ACTIVATIONS)),
            "rate": st.column_config.NumberColumn("rate (dropout)", min_value=0.0, max_value=MAX_DROPOUT, step=0.05),
            "kernel": st.column_config.NumberColumn(
                "kernel (conv1d, pool)", min_value=1, max_value=int(SEQUENCE_RANGES["kernel_size"][1]), step=1
            ),
        },
    )
    rows = edited.dropna(subset=["type"]).sort_values("order", kind="stable")
    new_layers = tuple(_layer(row) for _, row in rows.iterrows())
    try:
        new_layers = check_layers(new_layers, sequence=window is not None)
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return layers
    shapes = pd.DataFrame(layer_table(new_layers, n_features, task.value, n_classes, l2, window=window))
    st.dataframe(shapes, hide_index=True)
    st.caption(f"{int(shapes['parameters'].sum()):,} parameters to learn from {n_features:,} input features.")
    return new_layers


def _layer(row: pd.Series) -> dict:
    kind = row["type"]
    units = int(row["units"]) if pd.notna(row["units"]) else None
    kernel = int(row["kernel"]) if "kernel" in row and pd.notna(row["kernel"]) else None
    activation = row["activation"] if isinstance(row["activation"], str) else "relu"
    if kind == "lstm":
        return {"type": "lstm", "units": units or 32}
    if kind == "conv1d":
        return {"type": "conv1d", "filters": units or 32, "kernel_size": kernel or 3, "activation": activation}
    if kind == "pool":
        return {"type": "pool", "size": kernel or 2}
    if kind == "dense":
        return {
            "type": "dense",
            "units": int(row["units"]) if pd.notna(row["units"]) else 32,
            "activation": row["activation"] if isinstance(row["activation"], str) else "relu",
        }
    if kind == "dropout":
        return {"type": "dropout", "rate": float(row["rate"]) if pd.notna(row["rate"]) else 0.2}
    return {"type": "batchnorm"}


def row_loss_gate(plan: CleaningPlan, report: RowReport) -> bool:
    """Say so in red when the plan drops many rows not yet confirmed on the Clean page; True then."""
    if not needs_confirmation(plan, report):
        return False
    st.error(
        f"The cleaning plan drops {report.rows_dropped:,} of {report.rows_before:,} rows. "
        "Confirm that on the Clean page, or change the step that drops them, before training.",
        icon=":material/warning:",
    )
    st.page_link("pages/clean.py", label="Go to Clean", icon=":material/cleaning_services:")
    return True


def class_limit_gate(task: Task, y: pd.Series | None) -> bool:
    """Say why in red when the target has more classes than its rows support (it cannot be trained); True then."""
    limit = class_limit(y) if task.is_classification and y is not None else None
    if limit is None:
        return False
    st.error(md_escape(limit.message), icon=":material/block:")
    st.page_link("pages/target.py", label="Go to Target", icon=":material/ads_click:")
    return True


def imbalance_and_ranking(setup: TrainSetup, task: Task, y: pd.Series | None) -> tuple[str, str | None]:
    """How to treat imbalanced classes and which metric ranks the models, with the reason for the default."""
    if not task.has_target:
        return "none", None
    default, reason = default_ranking(task, y)
    imbalance = "none"
    if task.is_classification:
        keys = list(IMBALANCE_METHODS)
        imbalance = st.radio(
            "Imbalanced classes",
            keys,
            index=keys.index(setup.imbalance) if setup.imbalance in keys else 0,
            format_func=IMBALANCE_METHODS.get,
            key="models_imbalance",
            help="Class weights are on by default when the classes are imbalanced: for two classes, the rarer under "
            f"{IMBALANCE_SHARE:.0%} of the rows; with more, the rarest under {IMBALANCE_SHARE * 2:.0%} of an even share.",
        )
    choices = list(RANKING_CHOICES[task])
    current = setup.metric if setup.metric in choices else default
    metric = st.selectbox(
        "Rank models by",
        choices,
        index=choices.index(current),
        format_func=lambda k: METRICS[k].label + (" (suggested)" if k == default else ""),
        key="models_metric",
        help="The leaderboard, the best model and tuning all use this metric (on validation rows).",
    )
    st.caption(md_escape(f"Suggested: {METRICS[default].label}, because {reason}."))
    return imbalance, metric


def log_target_option(current: bool, task: Task, y: pd.Series | None) -> bool:
    """Regression: whether tree and linear models are also tried on the log of the target, with the reason."""
    if task != Task.REGRESSION or y is None:
        return False
    numbers = pd.to_numeric(y, errors="coerce")
    negative = bool((numbers < 0).any())
    advice = log_target_advice(y)
    on = st.checkbox(
        "Also try tree and linear models on the log of the target",
        current and not negative,
        key="models_log_target_off" if negative else "models_log_target",
        disabled=negative,
        help="Each tree and linear model gets a twin fitted on log(1 + target) whose predictions are turned back, "
        "so its scores are on the target's own scale; the leaderboard shows which did better.",
    )
    if negative:
        st.caption(md_escape(f"Off: '{y.name}' has values below zero, which have no logarithm."))
    elif advice:
        st.caption(md_escape(f"Suggested: {advice}"))
    return bool(on)


def feature_options(
    current: FeatureOptions, numeric: list[str], task: Task | None = None, y: pd.Series | None = None
) -> FeatureOptions:
    """Optional engineered features: interaction terms and ratios (a searched shortlist of pairs on wide tables);
    for regression, the log-target twins (:func:`log_target_option`)."""
    too_many = len(numeric) > MAX_INTERACTION_COLUMNS
    interactions = st.checkbox(
        "Add interaction terms between numeric columns (a × b)",
        current.interactions and not too_many,
        key="models_interactions_off" if too_many else "models_interactions",
        disabled=too_many,
        help=f"Off with more than {MAX_INTERACTION_COLUMNS} numeric features: {len(numeric):,} would make "
        f"{len(numeric) * (len(numeric) - 1) // 2:,} new columns."
        if too_many
        else "Lets linear models capture effects that depend on two columns together. Adds many columns when there are many numeric features.",
    )
    query = ""
    if len(numeric) * (len(numeric) - 1) > MAX_OPTIONS:
        query = st.text_input(
            "Find columns for ratios",
            key="models_ratio_search",
            placeholder="part of a column name",
            help=f"With many numeric columns the list below shows at most {MAX_OPTIONS:,} pairs; type to narrow it.",
        )
    listed = ratio_pairs(numeric, query, keep=current.ratios)
    labels = {f"{a} / {b}": (a, b) for a, b in listed.options}
    chosen = st.multiselect(
        "Add ratios between numeric columns",
        list(labels),
        default=[f"{a} / {b}" for a, b in current.ratios if f"{a} / {b}" in labels],
        key="models_ratios",
        help="For example price per square metre.",
    )
    if listed.note():
        st.caption(md_escape(listed.note("pairs")))
    return FeatureOptions(
        interactions=bool(interactions),
        ratios=tuple(labels[p] for p in chosen if p in labels),
        min_frequency=current.min_frequency,
        max_categories=current.max_categories,
        text_max_features=current.text_max_features,
        log_target=log_target_option(current.log_target, task, y) if task is not None else current.log_target,
    )


def runs_for(keys: list[str], forms: dict[str, dict]) -> list[ModelRun]:
    """One ModelRun per chosen model, named by its label."""
    return [ModelRun(key, registry.get_spec(key).label, forms.get(key, {})) for key in keys]


def numeric_features(features: list[str], roles: dict[str, Role]) -> list[str]:
    return [c for c in features if roles.get(c) == Role.NUMERIC]


def date_features(features: list[str], roles: dict[str, Role]) -> list[str]:
    return [c for c in features if roles.get(c) == Role.DATETIME]


def text_features(features: list[str], roles: dict[str, Role]) -> list[str]:
    return [c for c in features if roles.get(c) == Role.TEXT]


def text_network_table(params: dict, choice, rows: pd.DataFrame, plan: CleaningPlan, roles: dict[str, Role]) -> None:
    """The text network's layers with shapes and parameter counts (:func:`core.keras_text.text_layer_table`)."""
    others = [c for c in choice.features if c not in text_features(choice.features, plan.roles_after(roles))]
    token = (state.version(), plan.to_json(), choice.target, tuple(choice.features))
    width = state.memo("models_nfeat_other", token, lambda: count_features(plan, roles, others, rows) if others else 0)
    n_classes = rows[choice.target].nunique() if choice.task.is_classification else 1
    try:
        table = pd.DataFrame(text_layer_table(params, choice.task.value, n_classes, width))
    except (DashboardError, KeyError, TypeError, ValueError):  # a setting the form refuses is reported below it
        return
    st.markdown("**Layers** — words become vectors, a text's vectors are pooled into one, the other columns join.")
    st.dataframe(table, hide_index=True)
    st.caption(
        f"At most {int(table['parameters'].sum()):,} parameters (the embedding holds one vector per word the "
        f"training rows use, up to the vocabulary size); {width:,} features from the other columns."
    )


BUDGET_LABELS = {0: "no limit", 30: "30 seconds", 60: "1 minute", 120: "2 minutes", 300: "5 minutes", 900: "15 minutes"}


def budget_choice(current: float) -> float:
    """The run's time budget (seconds; 0: no limit)."""
    choices = list(BUDGET_CHOICES)
    return st.selectbox(
        "Time budget",
        choices,
        index=choices.index(current) if current in choices else choices.index(BUDGET_SECONDS),
        format_func=lambda s: BUDGET_LABELS.get(s, f"{s} s"),
        key="models_budget",
        help="How long the run may take. Models that would take longer are shrunk (fewer trees or epochs, fewer "
        "rows) or left out, and a large table trains on a stratified sample; each model's estimate below comes "
        "from timing it on a few of your rows.",
    )


def budget_plan(request: TrainingRequest, seconds: float, token: object) -> BudgetPlan:
    """Each model's estimated time (timed once per model and settings) and what the budget changes, shown as a table."""
    estimates = {}
    with st.spinner("Timing each model on a few of your rows…"):
        for run in request.models:
            est = state.memo(f"budget.{run.name}", (token, run), lambda run=run: _estimate_or_none(request, run))
            if est is not None:
                estimates[run.name] = est
    planned = budget.plan(request, estimates, seconds, budget.parallel_workers(engine.info()))
    table = pd.DataFrame(
        {
            "Model": [m.name for m in planned.models],
            "Estimated time": [seconds_words(m.seconds) if m.name in estimates else "—" for m in planned.models],
            "In the budget": [m.change or "as chosen" for m in planned.models],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    words = budget.budget_words(seconds)
    st.caption(
        md_escape(
            f"The run: {seconds_words(planned.seconds)} expected"
            + (f", within its {words} budget" if seconds else "")
            + ". Estimates come from fitting each model on a few hundred of your rows and scaling up; "
            "networks from their size (an upper bound: early stopping usually ends them sooner)."
        )
    )
    if planned.sampled:
        st.warning(md_escape(planned.sample_note()), icon=":material/filter_alt:")
    for model in planned.models:
        if model.left_out:
            st.warning(
                md_escape(
                    f"{model.name} is left out: {model.change[len('left out: ') :]}. Raise the budget to keep it."
                ),
                icon=":material/timer_off:",
            )
    return planned


def _estimate_or_none(request: TrainingRequest, run: ModelRun):
    try:
        return budget.estimate(request, run)
    except Exception:  # the run itself will say what is wrong with this model
        return None
