"""Training stages and the schedule the coordinator drives them in.

A stage is one block of federated rounds with one objective: continued pretraining (``cp``) on
de-identified notes, instruction fine-tuning (``ift``) on conversations, or human alignment (``ha``)
on preference pairs. A paradigm is an ordered list of stages; the server walks it round by round and
tells every hospital which stage (and its hyperparameters) the round belongs to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from common.config import ConfigError, RunConfig

StageKind = Literal["cp", "ift", "ha"]
STAGE_KINDS: tuple[str, ...] = ("cp", "ift", "ha")

PARADIGMS: dict[str, tuple[StageKind, ...]] = {
    "ift": ("ift",),
    "cp-ift": ("cp", "ift"),
    "ift-ha": ("ift", "ha"),
    "cp-ift-ha": ("cp", "ift", "ha"),
}


@dataclass(frozen=True)
class Stage:
    """One stage of the schedule, with everything a hospital needs to train it."""

    name: str
    kind: StageKind
    rounds: int
    local_steps: int
    batch_size: int
    learning_rate: float
    lr_schedule: str
    warmup_steps: int
    max_seq_len: int

    def to_config(self) -> dict[str, Any]:
        """Flat ``stage.*`` entries for the ConfigRecord of a round's messages."""
        return {f"stage.{k.replace('_', '-')}": v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Stage:
        values = {}
        for f in dataclasses.fields(cls):
            key = f"stage.{f.name.replace('_', '-')}"
            if key not in config:
                raise ConfigError(f"round message lacks '{key}'")
            values[f.name] = config[key]
        if values["kind"] not in STAGE_KINDS:
            raise ConfigError(f"stage kind {values['kind']!r}; allowed: {', '.join(STAGE_KINDS)}")
        return cls(**values)


@dataclass(frozen=True)
class Schedule:
    """The ordered stages of a run; rounds are numbered 1..total_rounds across all stages."""

    stages: tuple[Stage, ...]

    @property
    def total_rounds(self) -> int:
        return sum(s.rounds for s in self.stages)

    def locate(self, server_round: int) -> tuple[int, Stage, int]:
        """(stage index, stage, round within the stage starting at 1) for a global round number."""
        if not 1 <= server_round <= self.total_rounds:
            raise ValueError(f"round {server_round} is outside 1..{self.total_rounds}")
        first = 1
        for index, stage in enumerate(self.stages):
            if server_round < first + stage.rounds:
                return index, stage, server_round - first + 1
            first += stage.rounds
        raise AssertionError("unreachable")


def build_schedule(cfg: RunConfig) -> Schedule:
    """Expand ``schedule.paradigm`` into stages that take their hyperparameters from ``train.*``."""
    t = cfg.train
    stages = tuple(
        Stage(name=kind, kind=kind, rounds=t.rounds, local_steps=t.local_steps, batch_size=t.batch_size,
              learning_rate=t.learning_rate, lr_schedule=t.lr_schedule, warmup_steps=t.warmup_steps,
              max_seq_len=t.max_seq_len)
        for kind in PARADIGMS[cfg.schedule.paradigm]
    )
    return Schedule(stages)
