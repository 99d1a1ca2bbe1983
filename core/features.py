"""From cleaning plan + roles to a scikit-learn preprocessing pipeline.

:func:`build_pipeline` returns one (imbalanced-learn) ``Pipeline``: stateless
fixes (type fixes, ratio features), the learned cleaning steps from the plan
(outlier clipping, or outlier removal that only ever drops *training* rows), a
``ColumnTransformer`` by role — numeric (impute, scale, optional interaction
terms), categorical (impute, one-hot with rare and surplus categories grouped),
text (TF-IDF per column), datetime (calendar parts) — an optional resampler for
imbalanced classes (training folds only), then the estimator.

Everything is fitted when the pipeline is fitted, i.e. on the training split
only. :func:`feature_sources` maps each transformed feature back to the
person's column(s), for explanations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FunctionTransformer
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PolynomialFeatures, StandardScaler

from core.cleaning import CleaningPlan, LearnedStep, learned_steps
from core.errors import DashboardError
from core.schema import Role
from core.time_features import TimeSetup, past_features
from core.transformers import (
    DateParts,
    OutlierClipper,
    RatioFeatures,
    TypeFixer,
    ratio_name,
    remove_outliers,
)

#: Interaction terms are offered up to this many numeric features (100 make 4,950 products;
#: 2,000 would make about 2 million columns).
MAX_INTERACTION_COLUMNS = 100

IMBALANCE_METHODS = {
    "none": "leave the classes as they are",
    "class_weight": "weight classes by rarity (where the model supports it)",
    "smote": "SMOTE: synthesise minority rows (training folds only)",
    "oversample": "random oversampling of minority classes (training folds only)",
    "undersample": "random undersampling of majority classes (training folds only)",
}


#: Native categories: codes per categorical column at most (histogram gradient boosting bins every
#: category in one of its 255 bins); rarer levels share the last code.
NATIVE_MAX_CATEGORIES = 255
#: Samplers that make new rows between existing ones: a category code halfway between two is no category.
SYNTHETIC_SAMPLERS = frozenset({"smote"})
#: A model that can split on categories does so when a categorical column has at least this many levels
#: in the training rows (250 neighbourhoods: R² 0.724 → 0.759; 142 countries: 0.849 → 0.879). Below it,
#: one-hot loses nothing and keeps exact TreeSHAP, which cannot read category splits: on a table of 81
#: columns with 3–25 levels each, Permutation SHAP explained 53 rows in the time TreeSHAP explains all.
NATIVE_MIN_LEVELS = 50


@dataclass(frozen=True)
class FeatureOptions:
    """Optional feature engineering the person switches on."""

    #: Pairwise products of numeric features (degree-2 interaction terms).
    interactions: bool = False
    #: (numerator, denominator) numeric column pairs to add as ratios.
    ratios: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: One-hot: categories seen fewer times than this are grouped as "infrequent".
    min_frequency: int = 5
    #: One-hot: at most this many output columns per categorical column. 20 grouped the 250 neighbourhoods
    #: of a rent table (each with dozens of rows) as "infrequent" and cost 0.11-0.15 R² (bench_quality
    #: --suite, listings); rare levels are grouped by ``min_frequency`` anyway.
    max_categories: int = 200
    #: TF-IDF vocabulary size per text column (smaller for models needing dense input).
    text_max_features: int = 2000
    #: Regression: also train each tree and linear model on log(1 + target) (:data:`LOG_TARGET_FAMILIES`;
    #: suggested for skewed targets by :func:`core.target.log_target_advice`).
    log_target: bool = False
    #: Features from earlier rows (lags, moving windows; :mod:`core.time_features`); None: rows stand alone.
    time: TimeSetup | None = None

    def to_dict(self) -> dict:
        return {
            "interactions": self.interactions,
            "ratios": [list(r) for r in self.ratios],
            "min_frequency": self.min_frequency,
            "max_categories": self.max_categories,
            "text_max_features": self.text_max_features,
            "log_target": self.log_target,
            **({"time": self.time.to_dict()} if self.time is not None else {}),  # older readers: no key
        }

    @classmethod
    def from_dict(cls, data: dict) -> FeatureOptions:
        """Options from :meth:`to_dict` (JSON lists become the tuples the pipeline uses)."""
        values = dict(data)
        values["ratios"] = tuple(tuple(pair) for pair in values.get("ratios", ()))
        values["time"] = TimeSetup.from_dict(values["time"]) if values.get("time") is not None else None
        return cls(**values)


def pipeline_inputs(features: list[str], options: FeatureOptions | None) -> list[str]:
    """The columns a model's pipeline receives: the features, then the columns time features order rows
    by and group them by (``options.time``) when they are not features. Those are read by the time
    features only and not encoded (an ID-like entity never is: its role is not a model input)."""
    keys = options.time.key_columns() if options is not None and options.time is not None else []
    return [*features, *(c for c in keys if c not in features)]


# --------------------------------------------------------------------------- column helpers


def _to_text(X: Any) -> Any:
    """Categorical values as plain Python strings with NaN for missing.

    Saved bundles name this function (and :func:`_text_column`) by its place: it stays here, under this name.
    """
    frame = pd.DataFrame(X)
    return frame.apply(lambda s: s.map(lambda v: v if pd.isna(v) else str(v))).astype(object)


def _text_column(X: Any) -> np.ndarray:
    values = pd.Series(np.asarray(X).ravel())
    return values.fillna("").astype(str).to_numpy()


def _text_strings(X: Any) -> np.ndarray:
    """Text columns as they are, as strings (empty when missing), for a model that reads the words itself.

    Saved bundles name this function by its place: it stays here, under this name.
    """
    frame = pd.DataFrame(X)
    return frame.apply(lambda s: s.map(lambda v: "" if pd.isna(v) else str(v))).to_numpy(dtype=object)


# --------------------------------------------------------------------------- building


def _imputer(strategy: str, fill: Any, role: Role) -> SimpleImputer:
    if strategy == "constant":
        default = 0 if role in (Role.NUMERIC, Role.DATETIME) else "missing"
        value = default if fill is None or fill == "" else fill
        if role in (Role.NUMERIC, Role.DATETIME):
            value = float(value)
        return SimpleImputer(strategy="constant", fill_value=value, keep_empty_features=True)
    return SimpleImputer(strategy=strategy, keep_empty_features=True)


def build_preprocessor(
    plan: CleaningPlan,
    roles: dict[str, Role],
    features: list[str],
    options: FeatureOptions | None = None,
    *,
    dense: bool = False,
    native_categories: bool = False,
    raw_text: bool = False,
) -> list[tuple[str, Any]]:
    """The preprocessing steps (name, transformer) for ``features``.

    Args:
        plan: The cleaning plan (type fixes, missing rules, outliers).
        roles: Roles before type fixes (the plan applies those).
        features: Feature columns (the target excluded).
        options: Optional feature engineering.
        dense: Output a dense array (for models that cannot take sparse input).
        native_categories: Categorical columns become one code column each, first among the
            model's inputs (:func:`native_category_count` of them), for a model that splits on
            categories itself; otherwise they are one-hot encoded.
        raw_text: Text columns reach the model as strings, first among its inputs
            (:func:`text_column_count` of them), for a model that reads the words itself
            (:class:`core.keras_text.KerasTextNetwork`); otherwise each becomes TF-IDF features.
    """
    options = options or FeatureOptions()
    after, used = _used(plan, roles, features)
    if not used:
        raise DashboardError(
            "No usable feature columns are left after cleaning.",
            hint="Tick more features on the Target page or drop fewer columns.",
        )
    steps: list[tuple[str, Any]] = []
    fixes = {c: f for c, f in plan.type_fixes.items() if c in used}
    if fixes:
        steps.append(("type_fixes", TypeFixer(fixes)))
    time = options.time
    past = past_features(time, dates=time.dated(after)) if time is not None else None
    if past is not None and past.new_columns():  # before anything drops rows: a row's past is every earlier row
        steps.append(("past", past))
    numeric = [c for c in used if after[c] == Role.NUMERIC]
    ratios = tuple((a, b) for a, b in options.ratios if a in numeric and b in numeric)
    if ratios:
        steps.append(("ratios", RatioFeatures(ratios)))
    learned = learned_steps(plan, roles, used)
    for step in learned:
        if step.kind == "outliers":
            if step.action == "clip":
                steps.append(("outliers", OutlierClipper(step.columns, step.strategy, float(step.threshold or 1.5))))
            else:
                from imblearn import FunctionSampler

                kwargs = {"columns": step.columns, "method": step.strategy, "threshold": float(step.threshold or 1.5)}
                steps.append(("remove_outliers", FunctionSampler(func=remove_outliers, validate=False, kw_args=kwargs)))
    imputation = [step for step in learned if step.kind == "impute"]
    new = tuple(past.new_columns()) if past is not None else ()
    steps.append(
        ("columns", _column_transformer(imputation, ratios, options, dense, native_categories, raw_text, past=new))
    )
    return steps


def _used(plan: CleaningPlan, roles: dict[str, Role], features: list[str]) -> tuple[dict[str, Role], list[str]]:
    """Roles after the plan's type fixes, and the features the model uses (not dropped, of a usable role)."""
    after = plan.roles_after(roles)
    dropped = set(plan.drop_columns) | {c for c, r in plan.missing_by_column.items() if r.strategy == "drop_column"}
    return after, [c for c in features if c not in dropped and after.get(c, Role.EMPTY).usable]


def many_levels(frame: pd.DataFrame, plan: CleaningPlan, roles: dict[str, Role], features: list[str]) -> bool:
    """Whether a categorical feature has :data:`NATIVE_MIN_LEVELS` levels or more in ``frame`` (training rows)."""
    after, used = _used(plan, roles, features)
    return any(after[c] == Role.CATEGORICAL and c in frame and frame[c].nunique() >= NATIVE_MIN_LEVELS for c in used)


def text_column_count(plan: CleaningPlan, roles: dict[str, Role], features: list[str]) -> int:
    """How many text columns lead the model's inputs with ``raw_text`` (one per text column the model uses)."""
    after, used = _used(plan, roles, features)
    return sum(1 for c in used if after[c] == Role.TEXT)


def native_category_count(plan: CleaningPlan, roles: dict[str, Role], features: list[str]) -> int:
    """How many code columns lead the model's inputs with ``native_categories`` (one per categorical column)."""
    after, used = _used(plan, roles, features)
    return sum(1 for c in used if after[c] == Role.CATEGORICAL)


def _column_transformer(
    imputation: list[LearnedStep],
    ratios: tuple,
    options: FeatureOptions,
    dense: bool,
    native: bool = False,
    raw_text: bool = False,
    past: tuple[str, ...] = (),
) -> ColumnTransformer:
    branches: list[tuple[str, Any, Any]] = []
    # One branch per role and fill rule, as the plan's learned steps group the columns.
    groups: dict[tuple, list[str]] = {
        (step.role, step.strategy, step.fill_value): list(step.columns) for step in imputation
    }
    ratio_cols = [ratio_name(a, b) for a, b in ratios] + list(past)  # time features are numbers too
    if ratio_cols:
        groups.setdefault((Role.NUMERIC, "median", None), []).extend(ratio_cols)
    if native:  # the code columns first, so the model knows them by position
        groups = dict(sorted(groups.items(), key=lambda item: item[0][0] != Role.CATEGORICAL))
    if raw_text:  # the text columns first, so the model knows them by position
        groups = dict(sorted(groups.items(), key=lambda item: item[0][0] != Role.TEXT))
    for i, ((role, strategy, fill), columns) in enumerate(groups.items()):
        name = f"{role.value.replace('-like', '').lower()}{i}"
        if role == Role.NUMERIC:
            inner = [("impute", _imputer(strategy, fill, role))]
            if options.interactions and len(columns) > 1:
                inner.append(("interactions", PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)))
            inner.append(("scale", StandardScaler()))
            branches.append((name, SkPipeline(inner), columns))
        elif role == Role.CATEGORICAL:
            if native:  # unseen categories become missing, which the model handles
                encoder = OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    min_frequency=options.min_frequency,
                    max_categories=NATIVE_MAX_CATEGORIES,
                )
            else:
                encoder = OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=options.min_frequency,
                    max_categories=options.max_categories,
                    sparse_output=not dense,
                )
            branches.append(
                (
                    name,
                    SkPipeline(
                        [
                            ("text", FunctionTransformer(_to_text, feature_names_out="one-to-one")),
                            ("impute", _imputer(strategy, fill, role)),
                            ("ordinal" if native else "onehot", encoder),
                        ]
                    ),
                    columns,
                )
            )
        elif role == Role.DATETIME:
            branches.append(
                (
                    name,
                    SkPipeline(
                        [
                            ("parts", DateParts()),
                            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                            ("scale", StandardScaler()),
                        ]
                    ),
                    columns,
                )
            )
        elif role == Role.TEXT and raw_text:
            for column in columns:
                strings = FunctionTransformer(_text_strings, feature_names_out="one-to-one")
                branches.append((f"text_{len(branches)}", strings, [column]))
        elif role == Role.TEXT:
            for column in columns:
                vocab = min(options.text_max_features, 300) if dense else options.text_max_features
                tfidf = TfidfVectorizer(
                    max_features=vocab,
                    min_df=2 if vocab > 50 else 1,
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    strip_accents="unicode",
                )
                branches.append(
                    (
                        f"text_{len(branches)}",
                        SkPipeline([("fill", FunctionTransformer(_text_column)), ("tfidf", tfidf)]),
                        column,
                    )
                )
    return ColumnTransformer(branches, sparse_threshold=0.0 if dense else 0.3, verbose_feature_names_out=True)


def build_pipeline(
    plan: CleaningPlan,
    roles: dict[str, Role],
    features: list[str],
    estimator: Any,
    *,
    options: FeatureOptions | None = None,
    dense: bool = False,
    imbalance: str = "none",
    seed: int = 0,
    native_categories: bool = False,
    raw_text: bool = False,
    sequence: bool = False,
):
    """One pipeline: preprocessing from the plan, optional resampler, the estimator.

    With ``native_categories`` (a model that splits on categories itself, such as histogram
    gradient boosting) and no sampler that synthesises rows, categorical columns reach the
    estimator as codes and its ``categorical_features`` names their positions.

    With ``raw_text`` (a model that reads words itself), text columns reach the estimator as
    strings, first among its inputs, and its ``text_columns`` says how many; the other columns
    are preprocessed as for any model.
    """
    from imblearn.pipeline import Pipeline

    if raw_text:
        _check_raw_text(imbalance)
    native = native_categories and imbalance not in SYNTHETIC_SAMPLERS
    steps = build_preprocessor(plan, roles, features, options, dense=dense, native_categories=native, raw_text=raw_text)
    codes = native_category_count(plan, roles, features) if native else 0
    if codes:
        inner = getattr(estimator, "regressor", estimator)  # a log-target wrapper passes it on when it clones
        inner.set_params(categorical_features=list(range(codes)))
    if raw_text:
        getattr(estimator, "regressor", estimator).set_params(text_columns=text_column_count(plan, roles, features))
    if sequence:
        _add_sequence_keys(steps, options, imbalance, features)
    sampler = _sampler(imbalance, seed)
    if sampler is not None:
        steps.append(("resample", sampler))
    steps.append(("model", estimator))
    return Pipeline(steps)


def _add_sequence_keys(
    steps: list[tuple[str, Any]], options: FeatureOptions | None, imbalance: str, features: list[str]
) -> None:
    """A sequence network's two key columns, last among its inputs (:class:`core.sequence_windows.SequenceKeys`)."""
    from core.sequence_windows import SequenceKeys

    time = options.time if options is not None else None
    if time is None:
        raise DashboardError(
            "A network over the last rows needs to know how rows follow one another.",
            hint="Set a time order in the Time and sequences section of the Models page first.",
        )
    if imbalance not in ("none", "class_weight"):
        raise DashboardError(
            "Resampling makes or drops rows, which breaks the sequences a network over the last rows reads.",
            hint="Choose class weights for imbalanced classes with this model.",
        )
    keys = time.key_columns() or features[:1]  # rows as loaded, one sequence: any column carries the row count
    columns: ColumnTransformer = dict(steps)["columns"]
    columns.transformers.append(("sequence_keys", SequenceKeys(time.order, time.entity), keys))


def _check_raw_text(imbalance: str) -> None:
    """Refuse a sampler that makes new rows for a model reading words (no text column: the model says so)."""
    if imbalance in SYNTHETIC_SAMPLERS:
        raise DashboardError(
            "SMOTE makes new rows between existing ones, which cannot be done with text.",
            hint="Choose random oversampling or class weights for a model that reads text.",
        )


def _sampler(method: str, seed: int):
    if method in ("none", "class_weight"):
        return None
    if method == "smote":
        from imblearn.over_sampling import SMOTE

        return SMOTE(random_state=seed, k_neighbors=3)
    if method == "oversample":
        from imblearn.over_sampling import RandomOverSampler

        return RandomOverSampler(random_state=seed)
    if method == "undersample":
        from imblearn.under_sampling import RandomUnderSampler

        return RandomUnderSampler(random_state=seed)
    raise DashboardError(f"Unknown imbalance method {method!r}; expected one of {', '.join(IMBALANCE_METHODS)}.")


# --------------------------------------------------------------------------- names


def feature_sources(pipeline) -> list[tuple[str, tuple[str, ...]]]:
    """(transformed feature name, source columns) for a fitted pipeline.

    One-hot and TF-IDF outputs map to their one column; interaction terms to
    both columns; ratio features to both columns of the ratio; date parts to
    their date column; time features to the column they look back on (calendar
    parts and the time since the previous row to the order column).
    """
    columns: ColumnTransformer = pipeline.named_steps["columns"]
    ratio_step = pipeline.named_steps.get("ratios")
    ratio_map = {ratio_name(a, b): (a, b) for a, b in (ratio_step.pairs if ratio_step is not None else ())}
    past_step = pipeline.named_steps.get("past")  # a time feature → its column (calendar parts: the order column)
    past_map = past_step.sources() if past_step is not None else {}
    ratio_map.update({name: (source,) for name, source in past_map.items()})
    out: list[tuple[str, tuple[str, ...]]] = []
    for name, transformer, cols in columns.transformers_:
        if name in ("remainder", "sequence_keys") or transformer == "drop":  # keys order rows; they are no feature
            continue
        cols_list = [cols] if isinstance(cols, str) else list(cols)
        # a text branch gets one column as a string; its names are the vocabulary
        names = (
            transformer[-1].get_feature_names_out()
            if isinstance(cols, str)
            else transformer.get_feature_names_out(cols_list)
        )
        for feature in names:
            feature = str(feature)
            sources = _sources_of(feature, cols_list)
            expanded: list[str] = []
            for source in sources:
                expanded.extend(ratio_map.get(source, (source,)))
            out.append((f"{name}__{feature}", tuple(dict.fromkeys(expanded))))
    return out


def _sources_of(feature: str, columns: list[str]) -> list[str]:
    if len(columns) == 1:
        return columns
    if feature in columns:
        return [feature]
    # interaction terms are "a b"; one-hot outputs are "col_value"; date parts "col (part)"
    found = [c for c in sorted(columns, key=len, reverse=True) if feature.startswith(c)]
    if found:
        first = found[0]
        rest = feature[len(first) :].lstrip()
        others = [c for c in columns if c != first and rest == c]
        return [first, *others] if others else [first]
    parts = [c for c in columns if c in feature]
    return parts or columns[:1]


def count_features(
    plan: CleaningPlan,
    roles: dict[str, Role],
    features: list[str],
    frame: pd.DataFrame,
    options: FeatureOptions | None = None,
    *,
    dense: bool = True,
    rows: int = 2_000,
    seed: int = 0,
) -> int:
    """About how many columns the model will see (preprocessing fitted on a sample)."""
    sample = frame.sample(n=min(rows, len(frame)), random_state=seed) if len(frame) > rows else frame
    steps = [
        s for s in build_preprocessor(plan, roles, features, options, dense=dense) if not hasattr(s[1], "fit_resample")
    ]
    from sklearn.pipeline import Pipeline as Plain

    return int(Plain(steps).fit_transform(sample[pipeline_inputs(features, options)]).shape[1])
