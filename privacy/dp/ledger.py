"""A hospital's privacy ledger: every DP-SGD step it ever took in a run, and the ε they add up to.

One Opacus accountant composes the whole history (every local step of every round and stage), so the
ε reported after a stage change is the ε of the entire run so far, not of the stage. The ledger is
plain data (noise multiplier, sample rate, step count per round), so it is saved as JSON by the
hospital beside its data, kept in the ClientApp's ``context.state`` between rounds, and restored
when a run resumes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flwr.app import ConfigRecord
from opacus.accountants import create_accountant

from common.private_files import private_folder, write_private


class PrivacyBudgetExhausted(RuntimeError):
    """This hospital's ε budget does not allow the training it is asked for."""


@dataclass(frozen=True)
class LedgerEntry:
    """The DP-SGD steps one round took: ``steps`` steps with the same noise and sampling."""

    server_round: int
    stage: str
    noise_multiplier: float
    sample_rate: float
    steps: int


@dataclass
class PrivacyLedger:
    """The accounted history of one hospital in one run."""

    delta: float
    accountant: str = "rdp"  # Opacus mechanism name: 'rdp' or 'prv'
    entries: list[LedgerEntry] = field(default_factory=list)

    def record(self, entry: LedgerEntry) -> None:
        if entry.steps > 0:
            self.entries.append(entry)

    @property
    def steps(self) -> int:
        return sum(e.steps for e in self.entries)

    def epsilon(self, extra: list[LedgerEntry] = ()) -> float:
        """ε spent so far at this ledger's δ, or what it would be after ``extra`` entries too."""
        return epsilon_of(list(self.entries) + list(extra), self.delta, self.accountant)

    # -- persistence ------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"delta": self.delta, "accountant": self.accountant,
                           "entries": [asdict(e) for e in self.entries]})

    @classmethod
    def from_json(cls, text: str) -> PrivacyLedger:
        data = json.loads(text)
        return cls(float(data["delta"]), str(data["accountant"]), [LedgerEntry(**e) for e in data["entries"]])

    def to_record(self) -> ConfigRecord:
        """For the ClientApp's ``context.state`` (which holds records, not Python objects)."""
        return ConfigRecord({"ledger": self.to_json()})

    @classmethod
    def from_record(cls, record: ConfigRecord) -> PrivacyLedger:
        return cls.from_json(str(record["ledger"]))

    def save(self, path: Path) -> None:
        """Atomically (a crash while saving never loses the history already spent), owner-only."""
        private_folder(path.parent)
        write_private(path, self.to_json().encode())

    @classmethod
    def load(cls, path: Path) -> PrivacyLedger:
        try:
            return cls.from_json(path.read_text())
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"privacy ledger {path} is unreadable ({type(exc).__name__}: {exc}); "
                             f"refusing to guess how much budget was spent") from exc


def epsilon_of(entries: list[LedgerEntry], delta: float, accountant: str = "rdp") -> float:
    """ε of the composition of ``entries`` under one Opacus accountant (0 for no steps)."""
    entries = [e for e in entries if e.steps > 0]
    if not entries:
        return 0.0
    if any(e.noise_multiplier <= 0 for e in entries):
        return float("inf")  # a noiseless step protects nothing
    acc = create_accountant(mechanism=accountant)
    # The accountant's history is (noise multiplier, sample rate, steps) per homogeneous run of steps.
    acc.history = [(e.noise_multiplier, e.sample_rate, e.steps) for e in entries]
    return float(acc.get_epsilon(delta=delta))
