"""The Keras neural network (TensorFlow is imported only when a network is built, by core.keras_net)."""

from __future__ import annotations

from typing import Any

from core.keras_net import KerasNetwork
from core.models_catalogue.spec import SUPERVISED, ModelSpec
from core.network_rules import RANGES, LayersParam
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
        FloatParam(
            name="learning_rate",
            label="Learning rate",
            default=1e-3,
            low=float(RANGES["learning_rate"][0]),
            high=float(RANGES["learning_rate"][1]),
            log=True,
            help="Size of each weight update; too high makes training jumpy, too low makes it slow.",
        ),
        IntParam(
            name="epochs",
            label="Epochs",
            default=100,
            low=int(RANGES["epochs"][0]),
            high=int(RANGES["epochs"][1]),
            log=True,
            help="How many times the network goes through all training rows (early stopping may end sooner).",
        ),
        IntParam(
            name="batch_size",
            label="Batch size",
            default=32,
            low=int(RANGES["batch_size"][0]),
            high=int(RANGES["batch_size"][1]),
            log=True,
            help="Rows per weight update; larger batches train faster per epoch but update less often.",
        ),
        BoolParam(
            name="early_stopping",
            label="Early stopping",
            default=True,
            help="Stop when the validation score stops improving, so the network does not overfit.",
        ),
        IntParam(
            name="patience",
            label="Patience",
            default=10,
            low=int(RANGES["patience"][0]),
            high=int(RANGES["patience"][1]),
            help="With early stopping: how many epochs without improvement to wait before stopping.",
        ),
        BoolParam(
            name="restore_best_weights",
            label="Keep the best epoch",
            default=True,
            help="After early stopping, go back to the weights from the best epoch rather than the last.",
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
)
