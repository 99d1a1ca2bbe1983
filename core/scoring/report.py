"""What scoring a whole file did: progress events and the report (rows, problems by kind, where it went)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core import events as ev
from core.params import show_value

#: Example rows kept per kind of problem.
EXAMPLES = 5


@dataclass(frozen=True)
class RowsScored(ev.Event):
    """A chunk was scored and written: rows done so far, of ``rows_total`` (None: estimated from the bytes)."""

    rows: int
    rows_total: int | None
    bytes_read: int
    bytes_total: int
    problem_rows: int

    @property
    def fraction(self) -> float:
        """The share of the file done, from the bytes read (exact, whatever the rows' lengths)."""
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 1.0

    @property
    def rows_estimate(self) -> int | None:
        """The file's rows: exact when known, else from the bytes per row so far."""
        if self.rows_total is not None:
            return self.rows_total
        return round(self.rows / self.fraction) if self.rows and self.fraction else None


@dataclass
class Problem:
    """One kind of problem: how many rows have it and the first few, in words."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, rows: np.ndarray, describe: Callable[[int], str]) -> None:
        """Count the rows at positions ``rows``; keep the first examples (``describe(position)``)."""
        self.count += len(rows)
        for position in rows[: max(0, EXAMPLES - len(self.examples))]:
            self.examples.append(describe(int(position)))


@dataclass
class StreamReport:
    """What scoring a whole file did: rows scored, rows with problems (why, how many, examples), where it went."""

    source: str
    out_path: str
    rows: int = 0
    problem_rows: int = 0
    #: why -> how many rows and the first few; a row may have several problems (counted once in problem_rows)
    problems: dict[str, Problem] = field(default_factory=dict)
    #: the model's columns the file lacks (treated as empty) and the file's columns the model does not use
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes_written: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    #: the file holds only the first ``rows`` rows (Stop was pressed, or the work broke off)
    partial: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def problem(self, why: str) -> Problem:
        return self.problems.setdefault(why, Problem())

    def summary(self) -> str:
        """One sentence: rows, time, where the predictions are."""
        what = "the first " if self.partial else ""
        return (
            f"{what}{self.rows:,} rows scored in {self.seconds:,.1f} s ({self.rows_per_second:,.0f} rows/s); "
            f"{self.problem_rows:,} with a problem. Predictions in {self.out_path} ({_size(self.bytes_written)})."
        )

    def sentences(self) -> list[str]:
        """Plain sentences: partial or not, the columns, each kind of problem with its examples."""
        lines = []
        if self.partial:
            lines.append(
                f"Stopped: the file holds the first {self.rows:,} rows only ({self.bytes_read / max(1, self.bytes_total):.0%} "
                "of the input). Its name ends in '-partial'."
            )
        if self.missing_columns:
            names = ", ".join(show_value(c) for c in self.missing_columns[:20])
            lines.append(
                f"{len(self.missing_columns)} column(s) the model needs are missing from the file: {names}. "
                "They were treated as empty (the model fills them as it learned to)."
            )
        if self.extra_columns:
            names = ", ".join(show_value(c) for c in self.extra_columns[:20])
            lines.append(
                f"{len(self.extra_columns)} column(s) the model does not use were copied as they are: {names}."
            )
        for why, found in self.problems.items():
            lines.append(f"{found.count:,} row(s): {why} (e.g. {'; '.join(found.examples)}).")
        return [*lines, *self.notes]


def _size(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"
