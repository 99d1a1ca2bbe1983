"""The four Keras networks' settings (core.models_catalogue.neural) as the Models page shows them.

The specs share their training settings through one factory; this pins what a person sees and what
reaches the networks (names, labels, defaults, ranges, scales, which are advanced, order) to
the values they had before the factory, so sharing them changed nothing (the help under each shared
setting is the same in every spec).
"""

from __future__ import annotations

from core.models_catalogue.neural import MODELS
from core.params import ParamSpec

#: The settings the dense network's spec shares with the sequence networks', after its layers, in form order.
DENSE_TRAINING = (
    "ChoiceParam optimizer 'Optimiser' default='adam' choices=('adam', 'sgd', 'rmsprop')",
    "FloatParam learning_rate 'Learning rate' default=0.001 [1e-05, 1.0] log",
    "IntParam epochs 'Epochs' default=100 [1, 2000] log",
    "IntParam batch_size 'Batch size' default=32 [1, 4096] log",
    "BoolParam early_stopping 'Early stopping' default=True",
    "IntParam patience 'Patience' default=10 [1, 200]",
    "BoolParam restore_best_weights 'Keep the best epoch' default=True",
    "FloatParam momentum 'Momentum (SGD)' default=0.9 [0.0, 0.99] advanced",
    "FloatParam l2 'L2 weight penalty' default=0.0 [0.0, 1.0] advanced",
    "ChoiceParam loss 'Loss' default='auto' choices=('auto', 'binary_crossentropy', 'categorical_crossentropy', "
    "'mse', 'mae', 'huber') advanced",
)
WINDOW = "IntParam window 'Window (rows)' default=7 [2, 365]"

#: Every spec's settings in form order, one line each: kind, name, label, default, range (log scale), advanced.
EXPECTED = {
    "keras_mlp": (
        "LayersParam layers 'Hidden layers' default=({'type': 'dense', 'units': 64, 'activation': 'relu'}, "
        "{'type': 'dropout', 'rate': 0.1}, {'type': 'dense', 'units': 32, 'activation': 'relu'})",
        *DENSE_TRAINING,
    ),
    "keras_text": (
        "ChoiceParam pooling 'Reading the words' default='average' choices=('average', 'convolution')",
        "IntParam vocabulary_size 'Vocabulary size' default=10000 [100, 50000] log",
        "IntParam sequence_length 'Words read per text' default=100 [4, 1000] log",
        "IntParam embedding_dim 'Embedding size' default=32 [2, 512] log",
        "IntParam dense_units 'Dense units' default=32 [1, 4096] log",
        "FloatParam dropout 'Dropout' default=0.2 [0.0, 0.9]",
        "IntParam epochs 'Epochs' default=30 [1, 2000] log",
        "IntParam batch_size 'Batch size' default=32 [1, 4096] log",
        "FloatParam learning_rate 'Learning rate' default=0.002 [1e-05, 1.0] log",
        "IntParam filters 'Convolution filters' default=64 [1, 1024] log advanced",
        "IntParam kernel_size 'Convolution width' default=3 [2, 15] advanced",
        "BoolParam early_stopping 'Early stopping' default=True advanced",
        "IntParam patience 'Patience' default=4 [1, 200] advanced",
        "BoolParam restore_best_weights 'Keep the best epoch' default=True advanced",
    ),
    "keras_lstm": (
        WINDOW,
        "LayersParam layers 'Layers' default=({'type': 'lstm', 'units': 32}, "
        "{'type': 'dense', 'units': 16, 'activation': 'relu'}) sequence='lstm'",
        *DENSE_TRAINING,
    ),
    "keras_conv1d": (
        WINDOW,
        "LayersParam layers 'Layers' default=({'type': 'conv1d', 'filters': 32, 'kernel_size': 3, 'activation': "
        "'relu'}, {'type': 'dense', 'units': 16, 'activation': 'relu'}) sequence='conv1d'",
        *DENSE_TRAINING,
    ),
}


def describe(p: ParamSpec) -> str:
    parts = [type(p).__name__, p.name, repr(p.label), f"default={p.default!r}"]
    if hasattr(p, "low"):
        parts.append(f"[{p.low!r}, {p.high!r}]" + (" log" if p.log else ""))
    if getattr(p, "allow_none", False):
        parts.append("allow_none")
    if hasattr(p, "choices"):
        parts.append(f"choices={p.choices!r}")
    if getattr(p, "sequence", ""):
        parts.append(f"sequence={p.sequence!r}")
    if p.advanced:
        parts.append("advanced")
    return " ".join(parts)


def test_every_network_keeps_its_settings_defaults_ranges_and_order():
    specs = {spec.key: spec for spec in MODELS}
    assert set(specs) == set(EXPECTED)
    for key, expected in EXPECTED.items():
        assert tuple(describe(p) for p in specs[key].params) == expected, key


def test_the_shared_training_settings_are_one_definition():
    """What the text network shares with the dense one differs only in its defaults and in being advanced."""
    specs = {spec.key: {p.name: p for p in spec.params} for spec in MODELS}
    dense, text = specs["keras_mlp"], specs["keras_text"]
    shared = set(dense) & set(text)
    assert shared == {"learning_rate", "epochs", "batch_size", "early_stopping", "patience", "restore_best_weights"}
    for name in shared:
        assert type(dense[name]) is type(text[name])
        assert (dense[name].label, dense[name].help) == (text[name].label, text[name].help)
        assert (getattr(dense[name], "low", None), getattr(dense[name], "high", None)) == (
            getattr(text[name], "low", None),
            getattr(text[name], "high", None),
        )
    for key in ("keras_lstm", "keras_conv1d"):
        assert [specs[key][name] for name in dense if name != "layers"] == [
            dense[name] for name in dense if name != "layers"
        ]
