"""Anomaly detection models: isolation forest, local outlier factor and one-class SVM.

Each learns what usual rows look like from the training rows (no target) and scores any row by how
unusual it is (:func:`core.anomaly.anomaly_scores`: higher = more unusual). Each has an expected
share of unusual rows, which sets the threshold rows are flagged above (:func:`core.anomaly.threshold`).
"""

from __future__ import annotations

from typing import Any

from core.models_catalogue.spec import ANOMALY, ModelSpec
from core.params import ChoiceParam, FloatParam, IntParam
from core.target import Task

#: The expected share of unusual rows: its range and default, the same for the three models.
SHARE_LOW, SHARE_HIGH, SHARE_DEFAULT = 0.001, 0.5, 0.05


def _expected_share(name: str) -> FloatParam:
    return FloatParam(
        name=name,
        label="Expected share of unusual rows",
        default=SHARE_DEFAULT,
        low=SHARE_LOW,
        high=SHARE_HIGH,
        log=True,
        help="Your guess of how many rows are unusual (0.05 = 5%): the threshold is set so that about this "
        "share of the training rows scores above it. The slider on the Results page shows other thresholds.",
    )


# Each build function takes (task, validated params, seed, class_weight) and returns an unfitted estimator.
def _build_isolation_forest(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.ensemble import IsolationForest

    return IsolationForest(**p, n_jobs=-1, random_state=seed)


def _build_lof(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.neighbors import LocalOutlierFactor

    # novelty=True: the fitted model scores new rows (Results' validation rows, Predict) with the
    # neighbours it learned, instead of only labelling the rows it was fitted on.
    return LocalOutlierFactor(**p, novelty=True, n_jobs=-1)


def _build_one_class_svm(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.svm import OneClassSVM

    return OneClassSVM(**p)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="isolation_forest",
        label="Isolation forest",
        family="anomaly",
        tasks=ANOMALY,
        params=(
            _expected_share("contamination"),
            IntParam(
                name="n_estimators",
                label="Number of trees",
                default=200,
                low=10,
                high=2000,
                log=True,
                help="Each tree cuts the rows apart at random; a row that is cut off in few steps is unusual. "
                "More trees give steadier scores.",
            ),
            FloatParam(
                name="max_features",
                label="Share of columns per tree",
                default=1.0,
                low=0.1,
                high=1.0,
                advanced=True,
                help="Each tree cuts on this share of the model's inputs; lower values notice rows unusual in a "
                "few columns at the cost of steadiness.",
            ),
        ),
        build=_build_isolation_forest,
        explainer="kernel",
        help="Isolates each row with random cuts: unusual rows are cut off from the others in few cuts. Fast on "
        "large tables and the usual first choice.",
        recommended=ANOMALY,
    ),
    ModelSpec(
        key="local_outlier_factor",
        label="Local outlier factor",
        family="anomaly",
        tasks=ANOMALY,
        params=(
            _expected_share("contamination"),
            IntParam(
                name="n_neighbors",
                label="Number of neighbours",
                default=20,
                low=2,
                high=200,
                log=True,
                help="How many nearby training rows a row is compared with: a row in a much emptier neighbourhood "
                "than its neighbours' is unusual. More neighbours look at larger groups.",
            ),
            ChoiceParam(
                name="metric",
                label="Distance",
                default="euclidean",
                choices=("euclidean", "manhattan", "cosine"),
                advanced=True,
                help="How similarity between rows is measured.",
            ),
        ),
        build=_build_lof,
        explainer="kernel",
        help="Compares how crowded each row's neighbourhood is with its neighbours' own: finds rows unusual for "
        "their local group, even among groups of different density. Slower on large tables.",
    ),
    ModelSpec(
        key="one_class_svm",
        label="One-class SVM",
        family="anomaly",
        tasks=ANOMALY,
        params=(
            _expected_share("nu"),
            ChoiceParam(
                name="kernel",
                label="Kernel",
                default="rbf",
                choices=("rbf", "linear", "poly", "sigmoid"),
                labels={
                    "rbf": "RBF (curved, usual choice)",
                    "linear": "linear",
                    "poly": "polynomial",
                    "sigmoid": "sigmoid",
                },
                help="The shape of the border drawn around the usual rows; RBF bends around the data.",
            ),
            ChoiceParam(
                name="gamma",
                label="Kernel width",
                default="scale",
                choices=("scale", "auto"),
                labels={"scale": "from the data's spread", "auto": "1 / number of features"},
                advanced=True,
                help="How far one row's influence reaches for the curved kernels: wider gives a smoother border.",
            ),
        ),
        build=_build_one_class_svm,
        explainer="kernel",
        accepts_sparse=False,
        help="Draws a smooth border around the usual training rows; rows outside it are unusual. Its time grows "
        "with the square of the rows, so it suits up to some tens of thousands.",
    ),
)
