"""Clustering models: k-means, DBSCAN and agglomerative clustering."""

from __future__ import annotations

from typing import Any

from core.models_catalogue.spec import CLUSTERING, ModelSpec
from core.params import ChoiceParam, FloatParam, IntParam
from core.target import Task


def _n_clusters() -> IntParam:
    return IntParam(
        name="n_clusters",
        label="Number of groups",
        default=3,
        low=2,
        high=50,
        help="How many groups to split the rows into.",
    )


# Each build function takes (task, validated params, seed, class_weight) and returns an unfitted estimator.
def _build_kmeans(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(**p, random_state=seed)


def _build_dbscan(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import DBSCAN

    return DBSCAN(**p, n_jobs=-1)


def _build_agglomerative(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(**p)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="kmeans",
        label="K-means",
        family="clustering",
        tasks=CLUSTERING,
        params=(
            _n_clusters(),
            IntParam(
                name="n_init",
                label="Restarts",
                default=10,
                low=1,
                high=50,
                advanced=True,
                help="Runs from this many random starts and keeps the best grouping; more is steadier.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=300,
                low=10,
                high=10_000,
                log=True,
                advanced=True,
                help="Upper limit on refinement steps per start.",
            ),
        ),
        build=_build_kmeans,
        explainer="kernel",
        help="Splits the rows into a chosen number of round groups around centre points. Fast and easy to "
        "explain; you choose how many groups.",
        recommended=CLUSTERING,
    ),
    ModelSpec(
        key="dbscan",
        label="DBSCAN",
        family="clustering",
        tasks=CLUSTERING,
        params=(
            FloatParam(
                name="eps",
                label="Neighbourhood radius",
                default=0.5,
                low=0.001,
                high=1000.0,
                log=True,
                help="How close rows must be to count as neighbours (in scaled units); larger merges more groups.",
            ),
            IntParam(
                name="min_samples",
                label="Rows to form a group",
                default=5,
                low=1,
                high=1000,
                log=True,
                help="How many close neighbours make a dense core; larger values leave more rows as noise.",
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
        build=_build_dbscan,
        explainer="kernel",
        help="Finds dense regions of any shape and marks isolated rows as noise (group -1). You do not choose "
        "the number of groups, only how dense a group must be.",
    ),
    ModelSpec(
        key="agglomerative",
        label="Agglomerative clustering",
        family="clustering",
        tasks=CLUSTERING,
        params=(
            _n_clusters(),
            ChoiceParam(
                name="linkage",
                label="Linkage",
                default="ward",
                choices=("ward", "complete", "average", "single"),
                labels={
                    "ward": "Ward: compact groups of similar size",
                    "complete": "complete: farthest members",
                    "average": "average distance",
                    "single": "single: nearest members (chains)",
                },
                help="How the distance between two groups is measured when deciding which to merge.",
            ),
        ),
        build=_build_agglomerative,
        explainer="kernel",
        accepts_sparse=False,
        help="Starts with every row as its own group and keeps merging the two closest groups. Shows a "
        "hierarchy; needs memory that grows with the square of the rows, so suits up to some thousands.",
    ),
)
