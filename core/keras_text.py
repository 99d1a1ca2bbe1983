"""A small Keras network that reads text, with the scikit-learn estimator contract.

:class:`KerasTextNetwork` turns each row's words into word ids (Keras ``TextVectorization``,
its vocabulary learned from the training rows only), looks each id up in a learned
**embedding**, pools the word vectors of a row into one (their average, or a 1-D convolution
over neighbouring words followed by max pooling), adds the row's other columns when it has
any, and ends in a dense layer and the task's output layer. It sits at the end of a model's
``Pipeline`` like :class:`~core.keras_net.KerasNetwork`, whose target encoding, output layer,
metrics, epoch events, Stop, best weights and predictions it shares (it is a subclass).

How its input arrives: the pipeline (:func:`core.features.build_pipeline` with ``raw_text``)
passes each text column as it is, as strings, first among the model's inputs (``text_columns``
of them), and every other column as the numbers its usual preprocessing makes (scaled numbers,
one-hot categories, date parts). The text columns of a row are joined into one text; the other
columns are a second input, concatenated with the pooled words before the dense layer, so a
message's length or sender still counts (on the bundled spam table, links and sender domain
carry signal that dropping them would lose).

The vocabulary is kept as a plain list of words (``vocabulary_``) and the vectoriser is rebuilt
from it on first use after loading: the saved Keras network holds numbers only (embedding,
pooling, dense layers), so it loads with ``safe_mode`` through the same checks as any network,
and the vocabulary travels in the skops file as a list of strings.

Importing this module loads neither TensorFlow nor Keras; the layer arithmetic the Models page
shows (:func:`text_layer_table`) needs neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from core.keras_fit import PREDICT_CHUNK, TrainingInput
from core.keras_net import KerasNetwork, NetworkInputError
from core.network_layers import REGRESSION, TASKS, Output, is_int, is_real, output_for
from core.network_rules import RANGES, TEXT_POOLING, TEXT_RANGES

TEXT_NAME = "Text network"
#: The word a text with no words (empty, missing, or only punctuation and emoji) reads as: its own entry
#: of the vocabulary, which no text can spell (the brackets are stripped from words). Without it, the
#: average of no word vectors is 0 / 0, and one such row in a batch turns the whole loss into NaN.
EMPTY_WORD = "[empty]"


class KerasTextNetwork(KerasNetwork):
    """Text in, prediction out: word ids → embedding → pooling or convolution → dense → output.

    Args:
        task: ``"binary classification"``, ``"multiclass classification"`` or ``"regression"``.
        text_columns: How many of the input columns, first among them, are text (set by the pipeline).
        vocabulary_size: Most distinct words kept (the most frequent in the training rows), the
            padding, out-of-vocabulary and no-words entries included.
        sequence_length: Words read per row: longer texts are cut, shorter ones padded.
        embedding_dim: Numbers per word vector.
        pooling: ``"average"`` (the mean of a row's word vectors, padding left out) or
            ``"convolution"`` (``filters`` detectors of ``kernel_size`` neighbouring words, each
            keeping its strongest match in the row).
        filters, kernel_size: The convolution's detectors and how many words each spans.
        dense_units: Units of the dense (ReLU) layer before the output.
        dropout: Share of the pooled values (and the dense layer's) dropped while training.
        learning_rate, batch_size, epochs, early_stopping, patience, restore_best_weights, seed,
            class_weight, verbose: As for :class:`~core.keras_net.KerasNetwork` (Adam optimiser).

    Attributes:
        vocabulary_: The words learned from the training rows, by frequency, after the padding
            (``""``), out-of-vocabulary (``"[UNK]"``) and no-words (:data:`EMPTY_WORD`) entries; a word
            not in it reads as ``"[UNK]"``, a text without words as :data:`EMPTY_WORD`.
        other_features_: Input columns besides the text (0: text only).
        model_, classes_, history_, best_epoch_, stopped_epoch_, stopped_early_, stop_reason_,
            n_features_in_, y_mean_, y_std_: As for :class:`~core.keras_net.KerasNetwork`.
    """

    def __init__(
        self,
        task: str = "binary classification",
        text_columns: int = 1,
        vocabulary_size: int = 10_000,
        sequence_length: int = 100,
        embedding_dim: int = 32,
        pooling: str = "average",
        filters: int = 64,
        kernel_size: int = 3,
        dense_units: int = 32,
        dropout: float = 0.2,
        learning_rate: float = 2e-3,
        batch_size: int = 32,
        epochs: int = 30,
        early_stopping: bool = True,
        patience: int = 4,
        restore_best_weights: bool = True,
        seed: int = 0,
        class_weight: str | None = None,
        verbose: int = 0,
    ) -> None:
        self.task = task
        self.text_columns = text_columns
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.pooling = pooling
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.seed = seed
        self.class_weight = class_weight
        self.verbose = verbose

    # The dense network's settings this network does not take (KerasNetwork's own code reads them).
    optimizer = "adam"
    momentum = 0.0
    l2 = 0.0
    loss = "auto"

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        return tags

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_vectorizer", None)  # a TensorFlow lookup table: rebuilt from vocabulary_ where it is used
        return state

    # -- fitting -------------------------------------------------------------------------------

    _display_name = TEXT_NAME

    def _training_rows(self, X: Any) -> tuple[tuple[np.ndarray, np.ndarray | None], int]:
        """Each training row's text and its other columns (rows whose first ``text_columns`` columns are text)."""
        texts, other = self._split(X, fitting=True)
        return (texts, other), len(texts)

    def _build(
        self, keras: Any, layers: tuple[dict[str, Any], ...], rows: tuple[np.ndarray, np.ndarray | None], output: Output
    ) -> Any:
        """Learn the vocabulary from the training rows' text (theirs only: words only in the validation rows
        read as out-of-vocabulary), then build the network for it."""
        # One entry of the vocabulary is kept for EMPTY_WORD, which no text can spell.
        learner = keras.layers.TextVectorization(
            max_tokens=int(self.vocabulary_size) - 1, output_sequence_length=int(self.sequence_length)
        )
        learner.adapt(rows[0], batch_size=PREDICT_CHUNK)
        learned = [str(word) for word in learner.get_vocabulary()]
        self.vocabulary_ = [*learned[:2], EMPTY_WORD, *learned[2:]]
        self._vectorizer = None  # built from vocabulary_ by word_ids, as after loading
        return self._build_text(keras, len(self.vocabulary_), output)

    def _validation_rows(self, X: Any) -> Any:
        """The validation rows as word ids (with the vocabulary of the training rows) and other columns."""
        return self._inputs(*self._split(X, fitting=False))

    def _training_input(
        self, keras: Any, rows: tuple[np.ndarray, np.ndarray | None], y: np.ndarray, weight: np.ndarray | None
    ) -> TrainingInput:
        """The training rows as word ids and other columns, in a new seeded order every epoch."""
        return super()._training_input(keras, self._inputs(*rows), y, weight)

    def _check_params(self) -> tuple[dict[str, Any], ...]:
        """Refuse settings the text network cannot use; it has no layer list (its layers follow from them)."""
        limits = {**RANGES, **TEXT_RANGES}

        def in_range(name: str) -> tuple[str, bool, str]:
            low, high = limits[name]
            value = getattr(self, name)
            if isinstance(low, int) and isinstance(high, int):
                return name, is_int(value) and low <= value <= high, f"an int in [{low}, {high}]"
            return name, is_real(value) and low <= value <= high, f"a float in [{low:g}, {high:g}]"

        checks: list[tuple[str, bool, str]] = [
            ("task", self.task in TASKS, f"one of {', '.join(TASKS)}"),
            ("text_columns", is_int(self.text_columns) and self.text_columns >= 0, "an int of at least 0"),
            ("pooling", self.pooling in TEXT_POOLING, f"one of {', '.join(TEXT_POOLING)}"),
            *(in_range(name) for name in TEXT_RANGES),
            *(in_range(name) for name in ("learning_rate", "batch_size", "epochs", "patience")),
            ("early_stopping", isinstance(self.early_stopping, bool | np.bool_), "True or False"),
            ("restore_best_weights", isinstance(self.restore_best_weights, bool | np.bool_), "True or False"),
            ("seed", is_int(self.seed) and 0 <= self.seed < 2**32, "an int in [0, 2**32)"),
            ("class_weight", self.class_weight in (None, "balanced"), "None or 'balanced'"),
            ("verbose", self.verbose in (0, 1, 2), "0, 1 or 2"),
        ]
        for name, ok, expected in checks:
            if not ok:
                value = getattr(self, name)
                raise NetworkInputError(f"The {name!r} parameter of the {TEXT_NAME} must be {expected}. Got {value!r}.")
        if self.class_weight is not None and self.task == REGRESSION:
            raise NetworkInputError("class_weight='balanced' only applies to classification, not regression.")
        if self.text_columns == 0:
            raise NetworkInputError(
                f"The {TEXT_NAME} reads text, but none of the features is a text column.",
                hint="Tick a text column on the Target page (its role must be 'text'), or pick another model.",
            )
        return ()

    def _split(self, X: Any, *, fitting: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Each row's text (its text columns joined) and its other columns as float32 (None when it has none)."""
        values = X.to_numpy(dtype=object) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.ndim != 2:
            raise NetworkInputError(f"The {TEXT_NAME} needs a table of rows. Got an array of {values.ndim} dimensions.")
        k = int(self.text_columns)
        if fitting:
            if values.shape[1] < k:
                raise NetworkInputError(
                    f"The {TEXT_NAME} reads {k} text column{'s' if k != 1 else ''} but its input has {values.shape[1]}.",
                    hint="Choose a text column among the features on the Target page.",
                )
            self.n_features_in_ = values.shape[1]
            self.other_features_ = values.shape[1] - k
        elif values.shape[1] != self.n_features_in_:
            raise NetworkInputError(
                f"The {TEXT_NAME} was trained on {self.n_features_in_} input columns; these rows have {values.shape[1]}."
            )
        texts = np.array([" ".join(_as_text(v) for v in row) for row in values[:, :k]], dtype=object)
        if not self.other_features_:
            return texts, None
        try:
            other = values[:, k:].astype(np.float32)
        except (TypeError, ValueError) as err:
            raise NetworkInputError(
                f"The {TEXT_NAME} reads text first and numbers after it, but a column after the text is not numeric: {err}"
            ) from err
        if not np.isfinite(other).all():
            raise NetworkInputError(
                f"The {TEXT_NAME} needs a number in every cell besides the text, but the input has missing values.",
                hint="Add a step that fills in missing values.",
            )
        return texts, np.ascontiguousarray(other)

    def _inputs(self, texts: np.ndarray, other: np.ndarray | None) -> Any:
        """The network's input: word ids (rows × sequence length), with the other columns beside them."""
        ids = self.word_ids(texts)
        return ids if other is None else (ids, other)

    def word_ids(self, texts: Any) -> np.ndarray:
        """Each text as ``sequence_length`` word ids (0 padding, 1 a word outside the vocabulary)."""
        check_is_fitted(self, "vocabulary_")
        vectorizer = getattr(self, "_vectorizer", None)
        if vectorizer is None:
            import keras

            # The learned words after the two reserved entries, which Keras adds back itself.
            vectorizer = keras.layers.TextVectorization(
                max_tokens=int(self.vocabulary_size),
                output_sequence_length=int(self.sequence_length),
                vocabulary=list(self.vocabulary_[2:]) or None,
            )
            self._vectorizer = vectorizer
        texts = np.asarray(texts, dtype=object)
        chunks = [
            np.asarray(vectorizer(texts[start : start + PREDICT_CHUNK]), dtype=np.int32)
            for start in range(0, len(texts), PREDICT_CHUNK)
        ]
        ids = np.concatenate(chunks) if chunks else np.zeros((0, int(self.sequence_length)), dtype=np.int32)
        empty = self._empty_id()
        if empty is not None and len(ids):
            ids[~ids.any(axis=1), 0] = empty  # a text with no words reads as one word of its own
        return ids

    def _empty_id(self) -> int | None:
        """The word id a text with no words reads as: :data:`EMPTY_WORD`'s (networks trained before it
        existed: the out-of-vocabulary id with the average, whose mean of no words is not a number;
        nothing with the convolution, which reads padding as it is)."""
        if self.vocabulary_[2:3] == [EMPTY_WORD]:
            return 2
        return 1 if self.pooling == "average" else None

    def _build_text(self, keras: Any, vocabulary: int, output: Output) -> Any:
        average = self.pooling == "average"
        words = keras.Input(shape=(int(self.sequence_length),), dtype="int32", name="words")
        x = keras.layers.Embedding(
            vocabulary,
            int(self.embedding_dim),
            mask_zero=average,  # the average leaves the padding out; a convolution reads positions as they are
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=self._layer_seed(1)),
            name="embedding",
        )(words)
        if average:
            x = keras.layers.GlobalAveragePooling1D(name="average")(x)
        else:
            x = keras.layers.Conv1D(
                int(self.filters),
                int(self.kernel_size),
                padding="same",
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=self._layer_seed(2)),
                name="convolution",
            )(x)
            x = keras.layers.GlobalMaxPooling1D(name="max_pooling")(x)
        inputs = [words]
        if self.other_features_:
            other = keras.Input(shape=(int(self.other_features_),), name="other_columns")
            inputs.append(other)
            x = keras.layers.Concatenate(name="with_other_columns")([x, other])
        x = keras.layers.Dropout(float(self.dropout), seed=self._layer_seed(3), name="dropout_1")(x)
        x = keras.layers.Dense(
            int(self.dense_units),
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=self._layer_seed(4)),
            name="dense_1",
        )(x)
        x = keras.layers.Dropout(float(self.dropout), seed=self._layer_seed(5), name="dropout_2")(x)
        outputs = keras.layers.Dense(
            output.units,
            activation=output.activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=self._layer_seed(6)),
            name="output",
        )(x)
        return keras.Model(inputs if len(inputs) > 1 else words, outputs, name="text_network")

    # -- predicting ----------------------------------------------------------------------------

    def _forward(self, X: Any) -> np.ndarray:
        """Raw network outputs, in chunks through ``predict_on_batch``."""
        check_is_fitted(self, "model_")
        texts, other = self._split(X, fitting=False)
        outputs = []
        for start in range(0, len(texts), PREDICT_CHUNK):
            end = start + PREDICT_CHUNK
            chunk = self._inputs(texts[start:end], None if other is None else other[start:end])
            outputs.append(np.asarray(self.model_.predict_on_batch(chunk)))
        if not outputs:
            return np.zeros((0, int(self.model_.outputs[0].shape[-1])))
        return np.concatenate(outputs).astype(np.float64)


def _as_text(value: Any) -> str:
    """A cell as text: missing values are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


# --------------------------------------------------------------------------------------------
# The layer table (no Keras)
# --------------------------------------------------------------------------------------------


def text_layer_table(
    params: Mapping[str, Any], task: str, n_classes: int = 2, other_features: int = 0
) -> list[dict[str, Any]]:
    """The text network layer by layer, with output shapes and parameter counts, before anything is trained.

    Args:
        params: The network's settings (as the Models page's form gives them).
        task: ``"binary classification"``, ``"multiclass classification"`` or ``"regression"``.
        n_classes: Number of classes (multiclass only).
        other_features: Input columns besides the text, after preprocessing (0: text only).

    Returns:
        One dict per row with keys ``layer``, ``type``, ``settings``, ``output shape`` and ``parameters``;
        the embedding's count is the most it may have (the vocabulary may be smaller).
    """
    length, dim = int(params["sequence_length"]), int(params["embedding_dim"])
    vocabulary, units, rate = int(params["vocabulary_size"]), int(params["dense_units"]), float(params["dropout"])
    output = output_for(task, n_classes, "auto")

    def row(layer: str, kind: str, settings: str, shape: str, count: int) -> dict[str, Any]:
        return {"layer": layer, "type": kind, "settings": settings, "output shape": shape, "parameters": count}

    rows = [
        row("Words", "input", f"the first {length} words of each text, as word ids", f"(None, {length})", 0),
        row(
            "Embedding",
            "embedding",
            f"a vector of {dim} numbers per word, up to {vocabulary:,} words",
            f"(None, {length}, {dim})",
            vocabulary * dim,
        ),
    ]
    width = dim
    if params["pooling"] == "convolution":
        filters, kernel = int(params["filters"]), int(params["kernel_size"])
        rows.append(
            row(
                "Convolution",
                "conv1d",
                f"{filters} detectors of {kernel} neighbouring words, relu",
                f"(None, {length}, {filters})",
                (kernel * dim + 1) * filters,
            )
        )
        rows.append(row("Max pooling", "pooling", "each detector's strongest match", f"(None, {filters})", 0))
        width = filters
    else:
        rows.append(row("Average", "pooling", "the mean of the text's word vectors", f"(None, {dim})", 0))
    if other_features:
        width += int(other_features)
        rows.append(
            row(
                "Other columns",
                "concatenate",
                f"+ {other_features} features from the other columns",
                f"(None, {width})",
                0,
            )
        )
    rows.append(row("Dropout 1", "dropout", f"rate {rate:g} (while training only)", f"(None, {width})", 0))
    rows.append(row("Dense", "dense", f"{units} units, relu", f"(None, {units})", (width + 1) * units))
    rows.append(row("Dropout 2", "dropout", f"rate {rate:g} (while training only)", f"(None, {units})", 0))
    purpose = {"sigmoid": "probability of the positive class", "softmax": "one probability per class"}
    unit_word = "unit" if output.units == 1 else "units"
    settings = (
        f"{output.units} {unit_word}, {output.activation} ({purpose.get(output.activation, 'the predicted number')})"
    )
    rows.append(row("Output", "dense", settings, f"(None, {output.units})", (units + 1) * output.units))
    return rows


def text_network_ops(params: Mapping[str, Any], other_features: int = 0) -> int:
    """Multiply-adds per row and pass of a text network: what its training time grows with.

    An embedding look-up copies a vector per word; a convolution costs ``kernel × dim × filters``
    per word; the dense layers their weights. Used by :mod:`core.training.budget` to estimate a fit.
    """
    table = text_layer_table(params, REGRESSION, 1, other_features)
    length, dim = int(params["sequence_length"]), int(params["embedding_dim"])
    ops = length * dim + sum(int(r["parameters"]) for r in table if r["type"] == "dense")
    if params["pooling"] == "convolution":
        ops += length * int(params["kernel_size"]) * dim * int(params["filters"])
    return ops
