"""Errors for bad hospital input, and the policy that decides whether one stops the run.

Every message names the file, line and field and says what is wrong with the value, never what the
value is: messages end up in logs and, in strict mode, in the failure sent to the server.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Location:
    """Where a record came from: a file relative to the hospital's data folder, and a 1-based line (0: the file)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class DataError(ValueError):
    """A record or file that cannot be read as hospital data.

    ``reason`` is a short category (``malformed-json``, ``missing-field``, ...) counted in the data card;
    ``detail`` explains it without quoting the data.
    """

    def __init__(self, where: Location, reason: str, detail: str, field: str | None = None) -> None:
        self.where, self.reason, self.detail, self.field = where, reason, detail, field
        at = f", field '{field}'" if field else ""
        super().__init__(f"{where}{at}: {reason}: {detail}")


@dataclass
class BadInputPolicy:
    """``strict``: the first bad record raises; ``lenient``: it is logged, counted by reason, and skipped."""

    mode: str = "lenient"
    skipped: Counter[str] = field(default_factory=Counter)

    def handle(self, error: DataError) -> None:
        if self.mode == "strict":
            raise error
        log.warning("skipping bad input: %s", error)
        self.skipped[error.reason] += 1


def relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
