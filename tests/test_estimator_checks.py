"""scikit-learn's own estimator checks on the app's estimators (project issue 11).

``parametrize_with_checks`` runs every check ``check_estimator`` would on the five transformers of
:mod:`core.features` and on :class:`core.keras_net.KerasNetwork` (a binary, a multiclass and a
regression network). A check that does not apply to the app is listed, with the reason, in
:data:`NETWORK_XFAILS`; it still runs, as a strict expected failure, so one that starts passing
fails the test and its entry must go.

The networks are small (one 8-unit layer, 2 epochs, batches of 64), still enough to reach the
scores the training checks ask for. The checks fit a network about 150 times per task, so they
train eagerly (:func:`eager_networks`): tracing a new graph for every fit was most of the time.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from core.keras_net import KerasNetwork
from core.network_layers import BINARY, MULTICLASS, REGRESSION
from core.time_features import PastFeatures
from core.transformers import DateParts, LogTarget, OutlierClipper, RatioFeatures, TypeFixer

TRANSFORMERS = [
    LogTarget(),
    TypeFixer(),
    TypeFixer(fixes={0: "number"}),  # an array's columns are known by position
    RatioFeatures(),
    RatioFeatures(pairs=((0, 1),)),
    OutlierClipper(columns=(0,)),
    DateParts(),
    PastFeatures(),
    PastFeatures(order=0, columns=(1,), lags=(1, 2), windows=(2,), stats=("mean", "max")),  # column 0 orders rows
]

#: Checks the time features fail on purpose: a row's features come from the rows before it.
PAST_XFAILS = {
    "check_methods_subset_invariance": (
        "a row's lags and moving windows are read from the rows transformed with it (after the remembered "
        "history): transformed in smaller batches, a row sees other earlier rows, as it should"
    ),
}

#: One small hidden layer: the checks are about the estimator contract, not about learning well.
TINY_LAYERS = ({"type": "dense", "units": 8, "activation": "relu"},)
NETWORKS = [
    KerasNetwork(
        layers=TINY_LAYERS, task=task, epochs=2, batch_size=64, learning_rate=0.1, early_stopping=False, seed=0
    )
    for task in (BINARY, MULTICLASS, REGRESSION)
]

#: Checks the classifier networks fail on purpose, and why that is right for the app.
NETWORK_XFAILS = {
    "check_classifiers_regression_target": (
        "any distinct target values are classes to the network: the app lets a person treat a numeric "
        "target with decimals (ratings 1.5, 2.5, …) as classes, so it does not refuse 'continuous' labels"
    ),
    "check_class_weight_classifiers": (
        "class_weight is None or 'balanced', the choices the app offers; a dict of per-class weights is "
        "refused with a ValueError"
    ),
}

#: Checks that compare a network's outputs to the last bit: they run as the app runs networks, in graph
#: mode (eager TensorFlow computes a row's output slightly differently depending on its place in the batch).
GRAPH_CHECKS = frozenset({"check_methods_sample_order_invariance", "check_methods_subset_invariance"})


def expected_failed_checks(estimator) -> dict[str, str]:
    """{check name: why it does not apply} for ``estimator``."""
    if isinstance(estimator, KerasNetwork) and estimator.task != REGRESSION:
        return NETWORK_XFAILS
    if isinstance(estimator, PastFeatures) and estimator.columns:
        return PAST_XFAILS
    return {}


@parametrize_with_checks(TRANSFORMERS, expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_transformers_pass_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture
def eager_networks(request):
    """Networks train eagerly for the checks but :data:`GRAPH_CHECKS` (the setting is restored after)."""
    if request.node.callspec.params["check"].func.__name__ in GRAPH_CHECKS:
        yield
        return
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")
@parametrize_with_checks(NETWORKS, expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_networks_pass_sklearn_checks(estimator, check, eager_networks):
    check(estimator)
