"""The Keras networks: the dense network for tables, the sequence networks over the last rows and the text network
(TensorFlow is imported only when one is fitted, by core.keras_net, core.keras_sequence and core.keras_text)."""

from __future__ import annotations

from typing import Any

from core.keras_net import KerasNetwork
from core.keras_sequence import CONV_LAYERS, DEFAULT_WINDOW, LSTM_LAYERS, SequenceNetwork
from core.keras_text import KerasTextNetwork
from core.models_catalogue.spec import SUPERVISED, ModelSpec
from core.network_rules import RANGES, SEQUENCE_RANGES, TEXT_POOLING, TEXT_RANGES, LayersParam
from core.params import BoolParam, ChoiceParam, FloatParam, IntParam, ParamError, ParamSpec
from core.target import Task


def _build_keras(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    return KerasNetwork(task=task.value, seed=seed, class_weight=class_weight, **p)


_KERAS_LOSSES = {
    Task.BINARY: ("auto", "binary_crossentropy", "categorical_crossentropy"),
    Task.MULTICLASS: ("auto", "categorical_crossentropy"),
    Task.REGRESSION: ("auto", "mse", "mae", "huber"),
}


def _check_keras(task: Task, p: dict, label: str) -> None:
    allowed = _KERAS_LOSSES[task]
    if p["loss"] not in allowed:
        raise ParamError(
            f"The 'loss' parameter of {label} must be one of {', '.join(map(repr, allowed))} for {task.value}. "
            f"Got {p['loss']!r}.",
            param="loss",
        )


def _training_params(
    *names: str, epochs: int = 100, learning_rate: float = 1e-3, patience: int = 10, advanced: bool = False
) -> tuple[ParamSpec, ...]:
    """The training settings every network shares, those ``names`` in that order (the form's order).

    The dense and sequence networks take the defaults; the text network trains fewer epochs at a higher
    rate and keeps its early-stopping settings among the advanced ones.
    """

    def whole(name: str, label: str, default: int, help: str, *, log: bool) -> IntParam:
        low, high = RANGES[name]
        return IntParam(
            name=name, label=label, default=default, low=int(low), high=int(high), log=log, advanced=advanced, help=help
        )

    shared: dict[str, ParamSpec] = {
        "learning_rate": FloatParam(
            name="learning_rate",
            label="Learning rate",
            default=learning_rate,
            low=float(RANGES["learning_rate"][0]),
            high=float(RANGES["learning_rate"][1]),
            log=True,
            advanced=advanced,
            help="Size of each weight update; too high makes training jumpy, too low makes it slow.",
        ),
        "epochs": whole(
            "epochs",
            "Epochs",
            epochs,
            "How many times the network goes through all training rows (early stopping may end sooner).",
            log=True,
        ),
        "batch_size": whole(
            "batch_size",
            "Batch size",
            32,
            "Rows per weight update; larger batches train faster per epoch but update less often.",
            log=True,
        ),
        "early_stopping": BoolParam(
            name="early_stopping",
            label="Early stopping",
            default=True,
            advanced=advanced,
            help="Stop when the validation score stops improving, so the network does not overfit.",
        ),
        "patience": whole(
            "patience",
            "Patience",
            patience,
            "With early stopping: how many epochs without improvement to wait before stopping.",
            log=False,
        ),
        "restore_best_weights": BoolParam(
            name="restore_best_weights",
            label="Keep the best epoch",
            default=True,
            advanced=advanced,
            help="After early stopping, go back to the weights from the best epoch rather than the last.",
        ),
    }
    return tuple(shared[name] for name in names)


def _keras_params() -> tuple[ParamSpec, ...]:
    return (
        LayersParam(
            name="layers",
            label="Hidden layers",
            default=(
                {"type": "dense", "units": 64, "activation": "relu"},
                {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 32, "activation": "relu"},
            ),
            help="The network's layers between input and output: dense layers learn, dropout fights overfitting.",
        ),
        ChoiceParam(
            name="optimizer",
            label="Optimiser",
            default="adam",
            choices=("adam", "sgd", "rmsprop"),
            labels={"adam": "Adam (usual choice)", "sgd": "SGD with momentum", "rmsprop": "RMSprop"},
            help="The method that adjusts the network's weights after each batch.",
        ),
        *_training_params(
            "learning_rate", "epochs", "batch_size", "early_stopping", "patience", "restore_best_weights"
        ),
        FloatParam(
            name="momentum",
            label="Momentum (SGD)",
            default=0.9,
            low=float(RANGES["momentum"][0]),
            high=float(RANGES["momentum"][1]),
            advanced=True,
            help="Only for SGD: how much of the previous update carries over; smooths and speeds up training.",
        ),
        FloatParam(
            name="l2",
            label="L2 weight penalty",
            default=0.0,
            low=float(RANGES["l2"][0]),
            high=float(RANGES["l2"][1]),
            advanced=True,
            help="Pulls weights towards zero to fight overfitting; try 0.0001 to 0.01.",
        ),
        ChoiceParam(
            name="loss",
            label="Loss",
            default="auto",
            choices=("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber"),
            labels={
                "auto": "automatic (from the task)",
                "binary_crossentropy": "binary cross-entropy",
                "categorical_crossentropy": "categorical cross-entropy",
                "mse": "mean squared error",
                "mae": "mean absolute error",
                "huber": "Huber (robust to outliers)",
            },
            advanced=True,
            help="What the network minimises; 'automatic' picks the right one for the task.",
        ),
    )


def _build_text(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    return KerasTextNetwork(task=task.value, seed=seed, class_weight=class_weight, **p)


def _text_params() -> tuple[ParamSpec, ...]:
    def whole(name: str, label: str, default: int, help: str, *, log: bool = False, advanced: bool = False) -> IntParam:
        low, high = TEXT_RANGES[name]
        return IntParam(
            name=name, label=label, default=default, low=int(low), high=int(high), log=log, advanced=advanced, help=help
        )

    return (
        ChoiceParam(
            name="pooling",
            label="Reading the words",
            default="average",
            choices=TEXT_POOLING,
            labels={"average": "average of the word vectors", "convolution": "1-D convolution over word groups"},
            help="Average: each word counts on its own (fast, good for short texts). Convolution: detectors of "
            "a few neighbouring words, so short phrases such as 'not good' count together.",
        ),
        whole(
            "vocabulary_size",
            "Vocabulary size",
            10_000,
            "The most frequent words of the training rows the model knows; rarer words are read as unknown.",
            log=True,
        ),
        whole(
            "sequence_length",
            "Words read per text",
            100,
            "Longer texts are cut after this many words, shorter ones padded.",
            log=True,
        ),
        whole("embedding_dim", "Embedding size", 32, "Numbers learned per word to describe it.", log=True),
        whole("dense_units", "Dense units", 32, "Units of the dense layer after the words are pooled.", log=True),
        FloatParam(
            name="dropout",
            label="Dropout",
            default=0.2,
            low=float(TEXT_RANGES["dropout"][0]),
            high=float(TEXT_RANGES["dropout"][1]),
            help="Share of values dropped at random while training, to fight overfitting.",
        ),
        *_training_params("epochs", "batch_size", "learning_rate", epochs=30, learning_rate=2e-3),
        whole(
            "filters",
            "Convolution filters",
            64,
            "Only for convolution: how many word-group detectors.",
            log=True,
            advanced=True,
        ),
        whole(
            "kernel_size",
            "Convolution width",
            3,
            "Only for convolution: how many neighbouring words a detector spans.",
            advanced=True,
        ),
        *_training_params("early_stopping", "patience", "restore_best_weights", patience=4, advanced=True),
    )


def _build_sequence(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    return SequenceNetwork(task=task.value, seed=seed, class_weight=class_weight, **p)


def _sequence_params(first: str) -> tuple[ParamSpec, ...]:
    """A sequence network's window and layers (sequence layers first), then the dense network's settings."""
    low, high = SEQUENCE_RANGES["window"]
    return (
        IntParam(
            name="window",
            label="Window (rows)",
            default=DEFAULT_WINDOW,
            low=int(low),
            high=int(high),
            help="How many rows of the same entity each prediction reads: the row itself and the ones before it.",
        ),
        LayersParam(
            name="layers",
            label="Layers",
            default=LSTM_LAYERS if first == "lstm" else CONV_LAYERS,
            sequence=first,
            help="Sequence layers read the window (lstm: a memory carried from row to row; conv1d: detectors "
            "of patterns over neighbouring rows; pool: the largest of neighbouring rows), then dense layers.",
        ),
        *_keras_params()[1:],
    )


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="keras_mlp",
        label="Neural network (Keras)",
        family="neural",
        tasks=SUPERVISED,
        params=_keras_params(),
        build=_build_keras,
        explainer="kernel",
        help="Layers of connected units that learn their own feature combinations, trained epoch by epoch. "
        "Flexible and fun to watch; on ordinary tables it needs more care than boosted trees.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
        recommended=SUPERVISED,
        needs_tensorflow=True,
        check=_check_keras,
    ),
    ModelSpec(
        key="keras_text",
        label="Text network (Keras)",
        family="neural",
        tasks=SUPERVISED,
        params=_text_params(),
        build=_build_text,
        explainer="kernel",
        help="Reads a text column word by word: learns a vector per word (an embedding), pools a text's words "
        "into one, and adds the other columns. Offered when a feature is text; TF-IDF models read the same "
        "words as counts.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
        needs_tensorflow=True,
        raw_text=True,
    ),
    ModelSpec(
        key="keras_lstm",
        label="LSTM over the last rows (Keras)",
        family="neural",
        tasks=SUPERVISED,
        params=_sequence_params("lstm"),
        build=_build_sequence,
        explainer="kernel",
        help="Reads each row with the rows of the same entity before it (a window), one after another, "
        "carrying a memory from row to row: for patterns that need the past, such as demand that follows "
        "last week's weather. Offered once a time order is set.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
        needs_tensorflow=True,
        needs_time_order=True,
        check=_check_keras,
    ),
    ModelSpec(
        key="keras_conv1d",
        label="1-D convolution over the last rows (Keras)",
        family="neural",
        tasks=SUPERVISED,
        params=_sequence_params("conv1d"),
        build=_build_sequence,
        explainer="kernel",
        help="Slides small pattern detectors along each row's window of earlier rows of the same entity "
        "(a rise over three days, a spike). Faster than an LSTM; offered once a time order is set.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
        needs_tensorflow=True,
        needs_time_order=True,
        check=_check_keras,
    ),
)
