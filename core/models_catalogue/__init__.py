"""The declared model catalogue: every model the app offers, as :class:`ModelSpec` objects.

Layout (each family module keeps a model's parameters, build function and spec together):

- ``spec.py``: :class:`ModelSpec`, the allowed families and explainers, and the task sets
  (``CLASSIFICATION``, ``REGRESSION``, ``SUPERVISED``, ``CLUSTERING``, ``ANOMALY``) used to declare a model.
- ``linear.py``: baseline, logistic regression, linear regression, ridge, lasso.
- ``trees.py``: decision trees, random forests, histogram gradient boosting, LightGBM.
- ``svm_knn_bayes.py``: support vector machines, k-nearest neighbours, naive Bayes.
- ``neural.py``: the Keras neural network.
- ``clustering.py``: k-means, DBSCAN, agglomerative clustering.
- ``anomaly.py``: isolation forest, local outlier factor, one-class SVM (anomaly detection).

Adding a model means adding one ``ModelSpec`` to the ``MODELS`` tuple of its family module
(or a new module listed below). :data:`CATALOGUE` fixes the order the app shows models in
(baseline first). Look models up through :mod:`core.registry`, not here.

Dependencies run one way: ``core.params`` <- ``spec`` <- family modules <- this package <- ``core.registry``.
Estimator libraries are imported inside the build functions, so importing the catalogue
loads neither scikit-learn's estimators, LightGBM, TensorFlow nor shap.
"""

from __future__ import annotations

from core.models_catalogue import anomaly, clustering, linear, neural, svm_knn_bayes, trees
from core.models_catalogue.spec import ModelSpec

CATALOGUE: tuple[ModelSpec, ...] = (
    *linear.MODELS,
    *trees.MODELS,
    *svm_knn_bayes.MODELS,
    *neural.MODELS,
    *clustering.MODELS,
    *anomaly.MODELS,
)
