"""Adjustments to Streamlit's runtime that background training needs.

After every script run (fragment reruns included) Streamlit calls
``keras.backend.clear_session()`` and a full ``gc.collect(2)``
(``streamlit.runtime.scriptrunner.script_runner._clean_problem_modules`` and
``runner.postScriptGC``). Both assume Keras work happens inside the script run.
Here a network trains in a session-owned worker thread while the Train page polls
every second, so clearing Keras' global state mid-fit slowed training 50–100×
and risks corrupting it. Every ``KerasNetwork`` builds its own model in ``fit``,
so nothing relies on that global reset.

We therefore keep Streamlit's matplotlib clean-up but skip the Keras reset, and
switch the forced post-run GC off in ``.streamlit/config.toml``. A test checks
the private hook still exists, so a Streamlit upgrade that moves it is noticed.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

_PATCHED = "_nocode_ml_patched"


def _clean_problem_modules_without_keras() -> None:
    plt: Any = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        with contextlib.suppress(Exception):  # never let clean-up break a script run
            plt.close("all")


def protect_background_training() -> bool:
    """Stop Streamlit resetting Keras after each run; True if the hook was found."""
    from streamlit.runtime.scriptrunner import script_runner

    if not hasattr(script_runner, "_clean_problem_modules"):
        return False
    if not getattr(script_runner._clean_problem_modules, _PATCHED, False):
        setattr(_clean_problem_modules_without_keras, _PATCHED, True)
        script_runner._clean_problem_modules = _clean_problem_modules_without_keras
    return True
