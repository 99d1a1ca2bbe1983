"""Support vector machines, k-nearest neighbours and naive Bayes."""

from __future__ import annotations

from typing import Any

from core.models_catalogue.spec import CLASSIFICATION, REGRESSION, ModelSpec
from core.params import ChoiceParam, FloatParam, IntParam, ParamSpec
from core.target import Task


def _svm_params(regression: bool) -> tuple[ParamSpec, ...]:
    params: list[ParamSpec] = [
        FloatParam(
            name="C",
            label="Flexibility (C)",
            # 10 on standardised inputs measured best on the bundled classification
            # sets (breast cancer 0.977 vs 0.968 at C=1, 5-fold); regression keeps 1.
            default=1.0 if regression else 10.0,
            low=0.001,
            high=1000.0,
            log=True,
            help="Higher values follow the training rows more closely; lower values give a smoother boundary.",
        ),
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
            help="The shape of boundary the model can draw; RBF bends around the data.",
        ),
        ChoiceParam(
            name="gamma",
            label="Kernel width",
            default="scale",
            choices=("scale", "auto"),
            labels={"scale": "from the data's spread", "auto": "1 / number of features"},
            advanced=True,
            help="How far one row's influence reaches for the curved kernels.",
        ),
        IntParam(
            name="degree",
            label="Polynomial degree",
            default=3,
            low=2,
            high=5,
            advanced=True,
            help="Only for the polynomial kernel: how curved the boundary may be.",
        ),
    ]
    if regression:
        params.insert(
            1,
            FloatParam(
                name="epsilon",
                label="Tolerance (epsilon)",
                default=0.1,
                low=0.0,
                high=10.0,
                help="Errors smaller than this (in standard deviations of the target) are ignored.",
            ),
        )
    return tuple(params)


def _knn_params() -> tuple[ParamSpec, ...]:
    return (
        IntParam(
            name="n_neighbors",
            label="Number of neighbours",
            default=15,
            low=1,
            high=200,
            log=True,
            help="How many similar training rows vote on each prediction; more neighbours give smoother answers.",
        ),
        ChoiceParam(
            name="weights",
            label="Neighbour weighting",
            default="uniform",
            choices=("uniform", "distance"),
            labels={"uniform": "equal votes", "distance": "closer neighbours count more"},
            help="Whether nearer neighbours get a bigger say.",
        ),
        ChoiceParam(
            name="metric",
            label="Distance",
            default="euclidean",
            choices=("euclidean", "manhattan", "cosine"),
            advanced=True,
            help="How similarity between rows is measured.",
        ),
    )


# Each build function takes (task, validated params, seed, class_weight) and returns an unfitted estimator.
def _build_svc(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # SVC(probability=True) is deprecated in scikit-learn 1.9; this is its documented replacement
    # (Platt scaling on cross-validated scores, one SVC refitted on all rows). Three folds keep it
    # quicker and tolerate classes with as few as three training rows.
    svc = SVC(**p, class_weight=class_weight, random_state=seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _build_svr(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.svm import SVR

    return SVR(**p)


def _build_knn(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    model = KNeighborsClassifier if task.is_classification else KNeighborsRegressor
    return model(**p, n_jobs=-1)


def _build_naive_bayes(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(**p)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="svm_clf",
        label="Support vector machine",
        family="svm",
        tasks=CLASSIFICATION,
        params=_svm_params(regression=False),
        build=_build_svc,
        explainer="kernel",
        help="Draws the widest possible boundary between the classes, curved if needed. Strong on small and "
        "medium tables; slow beyond some tens of thousands of rows.",
        supports_class_weight=True,
        recommended=CLASSIFICATION,
        recommended_max_rows=20_000,
    ),
    ModelSpec(
        key="svr",
        label="Support vector regression",
        family="svm",
        tasks=REGRESSION,
        params=_svm_params(regression=True),
        build=_build_svr,
        explainer="kernel",
        help="Fits a curve that keeps most rows within a small tolerance band. Good on small and medium "
        "tables; slow beyond some tens of thousands of rows.",
        scale_target=True,
    ),
    ModelSpec(
        key="knn_clf",
        label="Nearest neighbours",
        family="neighbors",
        tasks=CLASSIFICATION,
        params=_knn_params(),
        build=_build_knn,
        explainer="kernel",
        help="Looks up the most similar training rows and lets them vote. Simple to grasp; works best with "
        "few, scaled features.",
    ),
    ModelSpec(
        key="knn_reg",
        label="Nearest neighbours",
        family="neighbors",
        tasks=REGRESSION,
        params=_knn_params(),
        build=_build_knn,
        explainer="kernel",
        help="Predicts the average of the most similar training rows. Simple to grasp; works best with few, "
        "scaled features.",
    ),
    ModelSpec(
        key="naive_bayes",
        label="Naive Bayes",
        family="bayes",
        tasks=CLASSIFICATION,
        params=(
            FloatParam(
                name="var_smoothing",
                label="Smoothing",
                default=1e-9,
                low=1e-12,
                high=1.0,
                log=True,
                help="Adds a little spread to every feature so rare values do not dominate; raise it on noisy data.",
            ),
        ),
        build=_build_naive_bayes,
        explainer="kernel",
        help="Treats each feature as independent evidence for a class and combines them with Bayes' rule. "
        "Very fast and a sensible quick check, though rarely the most accurate.",
        accepts_sparse=False,
    ),
)
