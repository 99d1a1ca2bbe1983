"""The bundled sample datasets (see ``sample_data/README.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.loading import Dataset

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"


@dataclass(frozen=True)
class Sample:
    """One bundled dataset and what it is for."""

    key: str
    file: str
    title: str
    description: str
    target: str
    task: str
    source: str

    @property
    def path(self) -> Path:
        return SAMPLE_DIR / self.file


def list_samples(directory: Path = SAMPLE_DIR) -> list[Sample]:
    """The catalogue of bundled datasets, in display order."""
    entries = json.loads((directory / "catalog.json").read_text(encoding="utf-8"))
    return [Sample(**entry) for entry in entries]


def load_sample(key: str) -> Dataset:
    """Load a bundled dataset by its key."""
    # the reader (pandas, polars) loads with the first table, not when the Data page lists the samples
    from core.loading import load_path

    for sample in list_samples():
        if sample.key == key:
            return load_path(str(sample.path))
    raise KeyError(key)
