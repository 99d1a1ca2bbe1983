"""The model MLflow serves: a model bundle, loaded with the app's safe loader, predicting like the app.

This module runs inside MLflow's scoring server, never in the app: the served model's script
(:data:`core.serving.SERVED_MODEL_SCRIPT`) imports :class:`BundleModel` from here, and it is the
one module of ``core`` that imports MLflow when it is imported (its class extends MLflow's).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST
from mlflow.pyfunc import PythonModel

from core.errors import DashboardError
from core.export import load_bundle
from core.model_server import APP_MESSAGE
from core.predict import check_batch, predict_frame
from core.serving import BUNDLE_FILE


class BundleModel(PythonModel):
    """Serves a model bundle: loaded with the safe loader, predicting like the app."""

    def load_context(self, context) -> None:
        data = Path(context.artifacts["bundle"]).read_bytes()
        self.usable = load_bundle(data, file_name=BUNDLE_FILE)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        try:
            aligned, _ = check_batch(frame, self.usable.schema)
            return predict_frame(self.usable, aligned)
        except DashboardError as err:
            # An MlflowException is a 400 with its message; any other error would be MLflow's
            # generic message plus a stack trace. MLflow prefixes the message with the rows, so the
            # app's own words also travel apart, for core.model_server to reply with.
            raise MlflowException(err.user_message, error_code=BAD_REQUEST, **{APP_MESSAGE: err.user_message}) from None
