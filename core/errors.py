"""Errors that carry a message meant for the person using the app.

Every error raised on purpose by ``core`` is a :class:`DashboardError`. Its
``user_message`` says what happened, what was expected and what to do; pages
show it with ``st.error`` and nothing else, so the wording lives here, next to
the code that knows what went wrong.
"""

from __future__ import annotations


class DashboardError(Exception):
    """An expected failure with a message for the person using the app."""

    def __init__(self, user_message: str, *, hint: str | None = None) -> None:
        self.user_message = user_message if not hint else f"{user_message} {hint}"
        super().__init__(self.user_message)


class DataLoadError(DashboardError):
    """A file could not be read as a table."""


class PlanError(DashboardError):
    """A cleaning plan refers to something that does not exist or cannot work."""


class TargetError(DashboardError):
    """The chosen target cannot be used for the chosen task."""
