"""Scoring a whole file as one task on the Dask cluster (:mod:`core.engine`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.engine import ClusterJob
from core.load_options import LoadOptions
from core.scoring.report import StreamReport
from core.scoring.stream import score_file


class ScoringJob(ClusterJob):
    """:func:`score_file` as one task on the cluster; the :class:`StreamReport` is the job's result.

    ``model`` is a :class:`~core.usable.UsableModel`, or a future of one already on a worker
    (:func:`core.engine.place`), so the pipeline is not sent again at every file. Stop ends the
    work after the chunk in progress; the report then says the file is partial.
    """

    name = "scoring-job"

    def __init__(
        self, model: Any, path: str, out_path: str, options: LoadOptions | None = None, **settings: Any
    ) -> None:
        self.path, self.out_path = path, out_path
        super().__init__(_score_task, model, path, out_path, options, settings)

    def _execute(self) -> StreamReport:
        result = super()._execute()
        self._keep(result)
        return result


def _score_task(listen, should_stop, keep, model, path, out_path, options, settings) -> StreamReport:
    """On a worker: :func:`score_file` with the job's channel."""
    return score_file(model, path, out_path, options, listen=listen, should_stop=should_stop, **settings)


def with_layout(options: LoadOptions | None, **layout: Any) -> LoadOptions:
    """``options`` with the file's known layout (a big file's delimiter, header, UTF-8 copy) filled in."""
    return replace(options or LoadOptions(), **{k: v for k, v in layout.items() if v is not None})
