"""Model bundles: one ``.zip`` that carries a fitted pipeline out of the app and back, safely.

A bundle holds

* ``pipeline.skops`` -- the whole fitted pipeline saved with skops (for a Keras
  model: everything but the network's weights);
* ``network.keras`` -- the Keras network (Keras models only);
* ``model_card.json`` and ``model_card.md`` -- what the model is, what it needs,
  how it was made and how well it did (and on which split);
* ``background.parquet`` -- optional: up to a few hundred training rows, so a
  restored model can be explained.

Loading never unpickles anything: skops reads only the types on an explicit
allow-list (:func:`untrusted_types` names the rest, and the bundle is refused),
Keras loads with ``safe_mode=True``. Before anything is parsed, the bundle and
every archive inside it (the skops file, the ``.keras`` file, the HDF5 weights in
it) are checked and unpacked under :data:`BUNDLE_LIMITS` by :mod:`core.archives`:
member counts, declared and actual sizes, compression ratios, and the total
across nesting levels; what the network's config would allocate and the training
rows' Parquet footer are weighed too. ``export_bundle`` applies the same limits,
so the app never writes a bundle it would refuse. SECURITY.md explains the limits.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import math
import os
import tempfile
import zipfile
from typing import Any

import pandas as pd

from core.archives import ArchiveError, ArchiveLimits, SafeZip, check_hdf5, size_words
from core.errors import DashboardError
from core.keras_net import KerasNetwork
from core.model_card import FORMAT, FORMAT_VERSION, card_markdown
from core.params import show_value
from core.target import Task
from core.usable import FeatureSchema, UsableModel

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
PIPELINE = "pipeline.skops"
NETWORK = "network.keras"
BACKGROUND = "background.parquet"
MEMBERS = {CARD_JSON, CARD_MD, PIPELINE, NETWORK, BACKGROUND}
#: What a ``.keras`` file saved by Keras 3 holds (anything more would be extracted to disk by Keras).
WEIGHTS, NETWORK_CONFIG = "model.weights.h5", "config.json"
NETWORK_MEMBERS = {NETWORK_CONFIG, "metadata.json", WEIGHTS}

#: The limits of a model bundle and of every archive inside it. Sized from honest bundles measured
#: by ``bench/bench_bundles.py`` (models trained on 20,000 rows; SECURITY.md gives the figures):
#: each limit is a few times the largest figure measured, low enough that loading a bundle at the
#: limits stays within a few GB of memory (loading takes about three times the model file's size).
BUNDLE_LIMITS = ArchiveLimits(
    kind="a model bundle",
    # largest honest bundle: 94 MB (a 300-tree regression forest, the default, on 20,000 rows)
    max_archive_bytes=1_000_000_000,
    # most files in one archive: 6,015 (a skops file with three text columns); a 2,000-tree forest about 10,000
    max_members=100_000,
    # largest honest file: 362 MB (that regression forest's skops file)
    max_member_bytes=1_000_000_000,
    # largest JSON: 40 MB (skops' schema of a 300-column table of 200 categories each; its card 2.3 MB)
    max_text_bytes=100_000_000,
    # most unpacked at all levels: 724 MB (the regression forest: its skops file and the files in it)
    max_total_bytes=2_000_000_000,
    # highest ratio: 57 for one file, 83 for a whole bundle (the wide table's JSON); zeros pack about 1,000
    max_ratio=250,
    ratio_floor=1_000_000,
    # bundle > skops file > a sparse matrix's .npz (skops saves those as nested zips)
    max_depth=3,
)
#: Refuse files larger than this before opening them.
MAX_BUNDLE_BYTES = BUNDLE_LIMITS.max_archive_bytes
#: Training rows a bundle may carry for explanations (the app writes at most 200, in one row group).
MAX_BACKGROUND_ROWS = 2_000
MAX_BACKGROUND_GROUPS = 100

#: Types skops may rebuild beyond its own defaults, by exact name. Everything else
#: must be a scikit-learn-style estimator class from the packages in TRUSTED_PACKAGES.
TRUSTED_NAMES = frozenset(
    {
        "collections.OrderedDict",
        "numpy.dtype",
        "scipy.sparse._csr.csr_matrix",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "lightgbm.basic.Booster",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.metrics._dist_metrics.ChebyshevDistance64",
        "core.features._to_text",
        "core.features._text_column",
        "core.features._text_strings",
        "core.transformers.remove_outliers",
    }
)
TRUSTED_PACKAGES = ("sklearn", "imblearn", "lightgbm", "core")
#: Where the app's own types live now, by the (module, name) bundles written before they moved use.
#: A bundle's skops schema is brought up to date before anything in it is checked or loaded.
MOVED_TYPES: dict[tuple[str, str], str] = {
    ("core.features", name): "core.transformers"
    for name in ("LogTarget", "TypeFixer", "RatioFeatures", "OutlierClipper", "DateParts", "remove_outliers")
}


class BundleError(DashboardError):
    """A file that is not a bundle this app can restore safely."""


# --------------------------------------------------------------------------- writing


def keras_network(pipeline):
    step = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else None
    return step if isinstance(step, KerasNetwork) and hasattr(step, "model_") else None


def export_bundle(
    usable: UsableModel, *, include_background: bool = True, limits: ArchiveLimits = BUNDLE_LIMITS
) -> bytes:
    """The model as one zip (see module docs). The live pipeline is not modified.

    Raises:
        BundleError: the bundle would exceed ``limits`` (then :func:`load_bundle` would refuse it).
    """
    data = _write_bundle(usable, include_background)
    try:
        _unpack(data, limits)
    except ArchiveError as exc:
        raise BundleError(
            f"This model is too large to export as a bundle: {_lower_first(exc.user_message)} Bundles are limited so "
            "that loading one cannot exhaust a server's memory; fewer trees, a maximum depth, fewer rows or fewer "
            "columns make the model smaller."
        ) from None
    return data


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _write_bundle(usable: UsableModel, include_background: bool) -> bytes:
    import skops.io as sio

    pipeline = usable.pipeline
    network = keras_network(pipeline)
    network_bytes = None
    if network is not None:
        light_net = copy.copy(network)
        del light_net.model_
        light = copy.copy(pipeline)
        light.steps = [*pipeline.steps[:-1], (pipeline.steps[-1][0], light_net)]
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, NETWORK)
            network.model_.save(path)
            with open(path, "rb") as handle:
                network_bytes = handle.read()
        pipeline = light
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        card = dict(usable.card) or {"format": FORMAT, "format_version": FORMAT_VERSION}
        card.setdefault("format", FORMAT)
        card.setdefault("format_version", FORMAT_VERSION)
        card.setdefault("features", usable.schema.to_dict()["columns"])
        card.setdefault("task", usable.task.value)
        card.setdefault("target", usable.target)
        card.setdefault("model", {"name": usable.name, "key": usable.key})
        card["classes"] = [str(c) for c in usable.classes]
        card["contains_training_rows"] = bool(include_background and usable.background is not None)
        archive.writestr(CARD_JSON, json.dumps(card, indent=2, ensure_ascii=False))
        archive.writestr(CARD_MD, card_markdown(card))
        archive.writestr(PIPELINE, sio.dumps(pipeline))
        if network_bytes is not None:
            archive.writestr(NETWORK, network_bytes)
        if include_background and usable.background is not None:
            archive.writestr(BACKGROUND, _parquet(usable.background))
    return buffer.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    return buffer.getvalue()


def file_stem(name: str, fallback: str = "model") -> str:
    """A model's name as a safe file-name stem: lower case, letters and digits, ``-`` between."""
    stem = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return stem[:60] or fallback


def bundle_name(usable: UsableModel) -> str:
    """A safe file name for the bundle of ``usable``."""
    return f"{file_stem(usable.name)}-bundle.zip"


# --------------------------------------------------------------------------- reading


def untrusted_types(data: bytes) -> list[str]:
    """Types in a skops file that are neither skops defaults nor on this app's allow-list."""
    import skops.io as sio

    return [name for name in sio.get_untrusted_types(data=data) if not _is_trusted(name)]


def _is_trusted(name: str) -> bool:
    if name in TRUSTED_NAMES:
        return True
    module, _, attribute = name.rpartition(".")
    if module.split(".")[0] not in TRUSTED_PACKAGES or not attribute or attribute.startswith("__"):
        return False
    try:
        obj = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        return False
    from sklearn.base import BaseEstimator

    return isinstance(obj, type) and issubclass(obj, BaseEstimator)


def load_bundle(data: bytes, *, file_name: str = "bundle", limits: ArchiveLimits = BUNDLE_LIMITS) -> UsableModel:
    """Restore a model from bundle bytes, safely.

    Every archive level is checked and unpacked under ``limits`` before anything
    is parsed (see :data:`BUNDLE_LIMITS`); then the card is read, skops rebuilds
    only trusted types and Keras loads with ``safe_mode``.

    Raises:
        BundleError: for anything that is not an intact bundle of this app with trusted contents.
    """
    if not data:
        raise BundleError("The file is empty. Choose a model bundle (.zip) exported from this app.")
    if len(data) > limits.max_archive_bytes:
        raise BundleError(
            f"The file is {size_words(len(data))}, more than {size_words(limits.max_archive_bytes)} "
            f"(the limit for {limits.kind}); it was not loaded."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise BundleError(
            f"{show_value(file_name)} is not a model bundle (it is not a zip file). "
            "Only .zip bundles exported from this app can be loaded; pickle and joblib files are never opened."
        )
    try:
        members = _unpack(data, limits, file_name)
    except ArchiveError as exc:
        raise BundleError(f"{exc.user_message} It was not loaded.") from None
    card = _read_card(members[CARD_JSON])
    pipeline = _read_pipeline(members[PIPELINE])
    if NETWORK in members:
        _attach_network(pipeline, members[NETWORK])
    background = _read_background(members[BACKGROUND]) if BACKGROUND in members else None
    if not hasattr(pipeline, "predict") and not hasattr(pipeline, "fit_predict"):
        raise BundleError("The bundle's model cannot make predictions; it was not loaded.")
    try:
        task = Task(str(card.get("task")))
        schema = FeatureSchema.from_dict({"columns": card["features"]})
    except (ValueError, KeyError, DashboardError) as exc:
        raise BundleError(f"The model card is incomplete ({exc}); the bundle was not loaded.") from None
    model = card.get("model") or {}
    classes = list(getattr(pipeline, "classes_", [])) if task.is_classification else []
    return UsableModel(
        str(model.get("name", "Restored model")),
        str(model.get("key", "")),
        pipeline,
        task,
        card.get("target"),
        schema,
        card,
        background,
        classes,
        origin=f"bundle {file_name}",
    )


def _unpack(data: bytes, limits: ArchiveLimits, file_name: str = "bundle") -> dict[str, bytes]:
    """Check the bundle and every archive inside it; the bytes of the members :func:`load_bundle` parses.

    Nothing is parsed here: the zips' file tables are checked, then the members are
    unpacked streaming under their caps, the nested zips (the skops file, the
    ``.keras`` file and any zip inside them) are checked the same way with one
    budget for all levels, and the network's HDF5 weights are weighed.

    Raises:
        ArchiveError: a limit is exceeded, or an archive is damaged or crafted.
        BundleError: the zip is not a bundle of this app.
    """
    bundle = SafeZip(data, "The bundle", limits)
    unknown = sorted(set(bundle.names) - MEMBERS)
    if unknown:
        raise BundleError(
            f"{show_value(file_name)} contains files a bundle never has ({', '.join(map(show_value, unknown[:5]))}); "
            "it was not made by this app or was changed. It was not loaded."
        )
    for required in (CARD_JSON, PIPELINE):
        if required not in bundle:
            raise BundleError(f"{show_value(file_name)} has no {required}; it is not a complete model bundle.")
    # model_card.md is for people and never parsed: its declared size was checked with the rest
    members = {CARD_JSON: bundle.read(CARD_JSON)}
    model_file = bundle.open_nested(PIPELINE, f"The bundle's model file ({PIPELINE})")
    model_file.check_all()
    members[PIPELINE] = model_file.data
    if NETWORK in bundle:
        network = bundle.open_nested(NETWORK, f"The bundle's Keras network ({NETWORK})")
        _check_network(network)
        members[NETWORK] = network.data
    if BACKGROUND in bundle:
        members[BACKGROUND] = bundle.read(BACKGROUND)
        _check_background(members[BACKGROUND], limits)
    return members


def _check_network(network: SafeZip) -> None:
    unknown = sorted(set(network.names) - NETWORK_MEMBERS)
    if unknown:
        raise ArchiveError(
            f"{network.what} holds files a network saved by this app never has "
            f"({', '.join(map(show_value, unknown[:5]))})."
        )
    for required in (NETWORK_CONFIG, WEIGHTS):
        if required not in network:
            raise ArchiveError(f"{network.what} has no {required}.")
    for name in network.names:
        if name == WEIGHTS:
            weights = network.read(name)
            check_hdf5(weights, f"The weights in {_lower_first(network.what)}", network.limits, network.budget)
        elif name == NETWORK_CONFIG:
            _check_network_config(network.read(name), network)
        else:
            network.check(name)


#: The layers of the networks this app builds (core.keras_net); Keras builds a network from its
#: config, allocating every weight, before it reads a single one, so the config is weighed first.
NETWORK_LAYERS = {"InputLayer", "Dense", "Dropout", "BatchNormalization"}
#: The text network's (core.keras_text) besides those; NotEqual is the padding mask Keras records for the average.
TEXT_NETWORK_LAYERS = {"Embedding", "NotEqual", "GlobalAveragePooling1D", "Conv1D", "GlobalMaxPooling1D", "Concatenate"}
#: The sequence networks' (core.keras_sequence) besides those.
SEQUENCE_NETWORK_LAYERS = {"LSTM", "Conv1D", "MaxPooling1D", "Flatten"}
#: Keys under which a Keras config gives widths (of inputs, tensors, layers).
WIDTH_KEYS = {"batch_shape", "batch_input_shape", "input_shape", "build_input_shape", "shape", "units"}


def _check_network_config(raw: bytes, network: SafeZip) -> None:
    """Refuse layers this app never makes, and weigh what building the network would allocate."""
    try:
        config = json.loads(raw)
        layers = config["config"]["layers"]
        kinds = [layer["class_name"] for layer in layers]
        units = [int(layer["config"]["units"]) for layer in layers if layer["class_name"] == "Dense"]
        memories = [int(layer["config"]["units"]) for layer in layers if layer["class_name"] == "LSTM"]
        tables = [
            _config_ints(layer, "input_dim", "output_dim") for layer in layers if layer["class_name"] == "Embedding"
        ]
        convolutions = [
            _config_ints(layer, "filters", "kernel_size") for layer in layers if layer["class_name"] == "Conv1D"
        ]
        # every layer's input is at most the widest width the config mentions anywhere: a safe upper bound,
        # times the tensors each concatenation joins (however the config states their shapes)
        widest = max([*_widths(config), *(dim for _, dim in tables), *(n for n, _ in convolutions), 1])
        widest *= math.prod(
            len(node["args"][0])
            for layer in layers
            if layer["class_name"] == "Concatenate"
            for node in layer["inbound_nodes"]
        )
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise ArchiveError(f"{network.what} has a configuration this app cannot read ({exc!r}).") from None
    strange = sorted(
        {str(kind) for kind in kinds if kind not in NETWORK_LAYERS | TEXT_NETWORK_LAYERS | SEQUENCE_NETWORK_LAYERS}
    )
    if config.get("class_name") not in ("Functional", "Sequential") or strange:
        raise ArchiveError(
            f"{network.what} is made of layers this app never builds "
            f"({', '.join(map(show_value, strange or [config.get('class_name')]))})."
        )
    weights = sum((widest + 1) * n for n in units) + 4 * widest * kinds.count("BatchNormalization")
    weights += sum(rows * dim for rows, dim in tables) + sum((widest * span + 1) * n for n, span in convolutions)
    weights += sum(4 * n * (widest + n + 1) for n in memories)
    declared = 8 * weights  # float64 at most
    if declared > network.limits.max_member_bytes:
        raise ArchiveError(
            f"{network.what} declares layers whose weights would take up to {size_words(declared)}, more than "
            f"{size_words(network.limits.max_member_bytes)} (the limit for one file in {network.limits.kind})."
        )
    network.budget.charge(declared)


def _config_ints(layer: dict, *keys: str) -> tuple[int, int]:
    """Two whole numbers of a layer's config (a kernel size given as a list: its product)."""
    first, second = (layer["config"][key] for key in keys)
    return int(first), int(math.prod(second) if isinstance(second, list) else second)


def _widths(node: Any, counted: bool = False) -> list[int]:
    """Every integer under a :data:`WIDTH_KEYS` key of a Keras config, however deep."""
    if isinstance(node, dict):
        return [n for key, value in node.items() for n in _widths(value, counted or key in WIDTH_KEYS)]
    if isinstance(node, list):
        return [n for item in node for n in _widths(item, counted)]
    return [node] if counted and isinstance(node, int) and not isinstance(node, bool) else []


def _read_card(raw: bytes) -> dict:
    try:
        card = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The model card is not valid JSON ({exc}); the bundle was not loaded.") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise BundleError(
            "The file is a zip, but not a model bundle of this app (its model card is missing or foreign)."
        )
    if int(card.get("format_version", 0)) > FORMAT_VERSION:
        raise BundleError(
            f"The bundle was written by a newer version of the app (format {card.get('format_version')}); "
            "update the app to load it."
        )
    return card


def moved_types_updated(raw: bytes) -> bytes:
    """A skops file whose schema names the app's types where they live now (:data:`MOVED_TYPES`).

    ``raw`` is returned as it is when nothing in it moved; otherwise the archive is written again
    with its ``schema.json`` updated and every other member unchanged. Called on a skops file that
    the bundle's limits have already checked.
    """
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        schema = json.loads(archive.read("schema.json"))
        if not _move_types(schema):
            return raw
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as updated:
            for info in archive.infolist():
                content = json.dumps(schema).encode() if info.filename == "schema.json" else archive.read(info)
                updated.writestr(info, content)
    return out.getvalue()


def _move_types(node: Any) -> bool:
    """Point every schema node naming a moved type at its new module; whether any was."""
    moved = False
    if isinstance(node, dict):
        new_module = MOVED_TYPES.get((str(node.get("__module__")), str(node.get("__class__"))))
        if new_module is not None:
            node["__module__"] = new_module
            moved = True
        for value in node.values():
            moved |= _move_types(value)
    elif isinstance(node, list):
        for value in node:
            moved |= _move_types(value)
    return moved


def _read_pipeline(raw: bytes):
    import skops.io as sio

    try:
        raw = moved_types_updated(raw)
        named = sio.get_untrusted_types(data=raw)
    except Exception as exc:
        raise BundleError(f"The model file inside the bundle is not a readable skops file ({exc}).") from None
    refused = [name for name in named if not _is_trusted(name)]
    if refused:
        raise BundleError(
            "The bundle asks to load types this app does not trust: "
            f"{', '.join(show_value(n) for n in refused[:8])}. It was not loaded (it may have been tampered with)."
        )
    try:
        return sio.loads(raw, trusted=named)
    except Exception as exc:
        raise BundleError(f"The model inside the bundle could not be rebuilt ({type(exc).__name__}: {exc}).") from None


def _attach_network(pipeline, raw: bytes) -> None:
    step = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else None
    if not isinstance(step, KerasNetwork):
        raise BundleError("The bundle has a Keras network but its pipeline does not end in one; it was not loaded.")
    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, NETWORK)
        with open(path, "wb") as handle:
            handle.write(raw)
        try:
            step.model_ = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:
            raise BundleError(f"The Keras network in the bundle could not be loaded safely ({exc}).") from None


def _check_background(raw: bytes, limits: ArchiveLimits) -> None:
    """Parquet compresses inside: its footer's row count and unpacked size are checked before pandas reads it.

    A footer that cannot be read is left to :func:`_read_background` (the rows are optional).
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(raw)).metadata
    except Exception:
        return
    groups = meta.num_row_groups
    unpacked = sum(meta.row_group(g).total_byte_size for g in range(min(groups, MAX_BACKGROUND_GROUPS)))
    too_tight = unpacked > limits.ratio_floor and unpacked > limits.max_ratio * len(raw)
    if meta.num_rows > MAX_BACKGROUND_ROWS or groups > MAX_BACKGROUND_GROUPS or too_tight:
        raise ArchiveError(
            f"The bundle's training rows ({BACKGROUND}) hold {meta.num_rows:,} rows in {groups:,} groups that would "
            f"unpack to {size_words(unpacked)}; {limits.kind} carries at most {MAX_BACKGROUND_ROWS:,} rows, packed no "
            f"tighter than {limits.max_ratio:g} to 1."
        )


def _read_background(raw: bytes) -> pd.DataFrame | None:
    """The training rows kept for explanations; None when they cannot be read (the model still loads)."""
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception:
        return None
