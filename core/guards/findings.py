"""What a guard says: a level, the column, the evidence in one sentence, and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Level(StrEnum):
    """How sure a guard is that something is wrong (the words people see)."""

    LOOK = "worth a look"
    LEAK = "likely leak"


@dataclass(frozen=True)
class Finding:
    """One thing a guard found.

    Attributes:
        level: How loud it is.
        column: The column it is about, or ``None`` for the model as a whole.
        evidence: One plain sentence: what was measured.
        fix: What to do about it, in plain words.
        check: Which check found it (``"power"``, ``"copy"``, ``"importance"``, ``"too_good"``).
        score: The measured number behind the evidence, when there is one.
    """

    level: Level
    column: str | None
    evidence: str
    fix: str
    check: str
    score: float | None = None

    @property
    def text(self) -> str:
        """The finding as one line for reports and model cards."""
        about = f"'{self.column}' ({self.level})" if self.column is not None else f"The model ({self.level})"
        return f"{about}: {self.evidence} {self.fix}"

    def to_dict(self) -> dict:
        return {**asdict(self), "level": self.level.value}


def worst_first(findings: list[Finding]) -> list[Finding]:
    """Likely leaks first, then the rest; each group by score, highest first."""
    return sorted(findings, key=lambda f: (f.level != Level.LEAK, -(f.score or 0.0)))
