"""Reproduce a trained model as code: a standalone Python script, and the same as a notebook.

:func:`training_script` writes a readable, commented script that repeats what the app did for
one model of a :class:`~core.training.TrainingRequest`: read the file with the options the app
used, apply the cleaning plan's row steps, split with the app's own split function and settings,
build the same preprocessing + estimator pipeline (parameters written literally), train on the
training rows and print the validation metrics the app showed, one ``name: value`` line each.

The script needs pandas, numpy, scikit-learn and imbalanced-learn (plus LightGBM or Keras for
those models, openpyxl for a workbook), never this app: where the app uses its own code (reading
a workbook, the split, ``TypeFixer``, ``OutlierClipper``, ``DateParts``, ``KerasNetwork``, the metric
functions, …) its source is copied in with :func:`inspect.getsource`, together with whatever it
uses, so the script follows the app when the app changes. Only the helpers this model needs are copied.

Nothing the person typed is ever spliced into code: column names, values and file names go in as
Python literals (``repr``), and comments and notebook text hold only the app's own words.

The package, one concern per module:

* :mod:`~core.codegen.imports` — the script's import lines (and :class:`CodegenError`);
* :mod:`~core.codegen.helpers` — copying the app's helpers (``Bundle``), the names code binds;
* :mod:`~core.codegen.values` — values, estimators and pipelines written as code;
* :mod:`~core.codegen.reading` — reading the file as the app did (:func:`loading_code`);
* :mod:`~core.codegen.script` — the training script (:func:`training_script`);
* :mod:`~core.codegen.notebook` — the script as a Jupyter notebook (:func:`notebook`).

The names below are the package's public API.
"""

from core.codegen.imports import CodegenError
from core.codegen.notebook import notebook, script_cells
from core.codegen.reading import loading_code
from core.codegen.script import KERAS_TOLERANCE, training_script
from core.codegen.values import WIDTH

__all__ = ["KERAS_TOLERANCE", "WIDTH", "CodegenError", "loading_code", "notebook", "script_cells", "training_script"]
