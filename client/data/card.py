"""The data card: what happened to a hospital's data, in aggregate numbers only.

It is written beside the data as JSON and as readable text for hospital IT; ``to_metrics`` is the
only part sent to the server. Nothing here holds text, ids or file names from the data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.private_files import private_folder, write_private
from common.stage_kinds import record_kinds


@dataclass
class StepCounts:
    """Records of one kind going into and out of one processing step, with why the others were dropped."""

    step: str
    kind: str
    records_in: int
    records_out: int
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class DataCard:
    files: dict[str, int] = field(default_factory=dict)  # kind -> files read
    bad_input: dict[str, int] = field(default_factory=dict)  # reason -> records or files skipped
    steps: list[StepCounts] = field(default_factory=list)
    identifiers: dict[str, int] = field(default_factory=dict)  # identifier type -> occurrences replaced
    residual_identifiers: int = 0
    residual_rate: float = 0.0  # share of de-identified texts the second pass still flags
    split: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> {"train": n, "heldout": n}
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> {"train": n, "heldout": n}
    cache_hit: bool = False

    def record_step(self, step: str, kind: str, records_in: int, records_out: int,
                    dropped: dict[str, int] | None = None) -> None:
        self.steps.append(StepCounts(step, kind, records_in, records_out, dict(dropped or {})))

    def to_metrics(self) -> dict[str, int | float]:
        """Flat aggregate numbers, safe to send to the server (Flower metrics take int and float values)."""
        m: dict[str, int | float] = {"data.cache-hit": int(self.cache_hit),
                                     "data.identifiers.residual": self.residual_identifiers,
                                     "data.identifiers.residual-rate": self.residual_rate}
        m.update({f"data.files.{k}": v for k, v in self.files.items()})
        m.update({f"data.bad-input.{r}": v for r, v in self.bad_input.items()})
        for s in self.steps:
            m[f"data.{s.step}.{s.kind}.in"] = s.records_in
            m[f"data.{s.step}.{s.kind}.out"] = s.records_out
            m.update({f"data.{s.step}.{s.kind}.dropped.{r}": v for r, v in s.dropped.items()})
        m.update({f"data.identifiers.{t}": v for t, v in self.identifiers.items()})
        for kind, parts in self.split.items():
            m.update({f"data.split.{kind}.{p}": v for p, v in parts.items()})
        for stage, parts in self.tokens.items():
            m.update({f"data.tokens.{stage}.{p}": v for p, v in parts.items()})
        return m

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DataCard:
        raw = json.loads(text)
        raw["steps"] = [StepCounts(**s) for s in raw["steps"]]
        return cls(**raw)

    def to_text(self) -> str:
        lines = ["medfed data card", "================", ""]
        lines.append("Files read: " + (", ".join(f"{k} {v}" for k, v in sorted(self.files.items())) or "none"))
        bad = sum(self.bad_input.values())
        lines.append(f"Bad input skipped: {bad}" + (" (" + ", ".join(
            f"{r} {n}" for r, n in sorted(self.bad_input.items())) + ")" if bad else ""))
        lines += ["", f"{'step':<14}{'kind':<15}{'in':>8}{'out':>8}  dropped"]
        for s in self.steps:
            why = ", ".join(f"{r} {n}" for r, n in sorted(s.dropped.items()))
            lines.append(f"{s.step:<14}{s.kind:<15}{s.records_in:>8}{s.records_out:>8}  {why}")
        lines += ["", "Identifiers replaced: " + (", ".join(
            f"{t} {n}" for t, n in sorted(self.identifiers.items())) or "none")
            + f"; residual detections {self.residual_identifiers}", ""]
        lines.append(f"{'stage':<8}{'kind':<15}{'train':>8}{'heldout':>9}{'train tokens':>14}{'heldout tokens':>16}")
        for kind, stage in record_kinds().items():
            split, tokens = self.split.get(kind, {}), self.tokens.get(stage, {})
            lines.append(f"{stage:<8}{kind:<15}{split.get('train', 0):>8}{split.get('heldout', 0):>9}"
                         f"{tokens.get('train', 0):>14}{tokens.get('heldout', 0):>16}")
        lines.append("")
        lines.append(f"Cache: {'hit (nothing recomputed)' if self.cache_hit else 'miss (processed now)'}")
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> None:
        """Into the cache folder, which it creates private to its owner (it holds de-identified text)."""
        private_folder(folder)
        write_private(folder / "data-card.json", self.to_json().encode("utf-8"))
        write_private(folder / "data-card.txt", self.to_text().encode("utf-8"))
