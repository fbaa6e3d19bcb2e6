"""What every stage objective offers; the token examples and losses they share are in ``common.tokens``."""

from __future__ import annotations

import functools
from typing import Protocol

import torch

from common.config import AdapterSection, DPSection, RunConfig
from common.logs import get_logger
from common.records import StageData
from common.stages import Stage

log = get_logger("stages")


class Objective(Protocol):
    """What the local training loop (``client.train``) calls."""

    def examples(self, data: StageData) -> list: ...

    def collate(self, examples: list) -> dict[str, torch.Tensor]: ...

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...

    def per_sample_loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One loss per example, shape (examples,): DP-SGD clips each example's gradient apart."""
        ...

    def eval_metrics(self, model: torch.nn.Module, examples: list, loss: float, batch_size: int,
                     max_batches: int) -> dict[str, float]:
        """Stage-specific held-out metrics beside the loss (CP perplexity, HA reward accuracy)."""
        ...


class StageObjective:
    """The base of a registered stage objective: how a stage builds it, and the round steps a kind may add.

    A subclass implements the ``Objective`` calls and ``for_stage``; the two hooks do nothing unless it
    overrides them.
    """

    @classmethod
    def for_stage(cls, stage: Stage, tokenizer, cfg: RunConfig) -> StageObjective:
        """The objective of ``stage``: from its kind's options (``stage.options``) and the run's settings."""
        raise NotImplementedError

    def with_round_state(self, model: torch.nn.Module, examples: dict[str, list], state, *, stage_name: str,
                         round_in_stage: int, batch_size: int, hospital_id: str) -> dict[str, list]:
        """``examples`` per split with what the stage keeps between rounds in the node's ``state`` (HA: DPO
        references scored on first use)."""
        return examples

    def heldout_metrics(self, model: torch.nn.Module, heldout: StageData, *, max_items: int) -> dict[str, float]:
        """Scores on the held-out records themselves, beside ``eval_metrics`` (IFT: closed-answer accuracy)."""
        return {}


OBJECTIVES: dict[str, type[StageObjective]] = {}  # stage kind -> its objective class


def objective(kind: str):
    """Class decorator: register the objective of stage kind ``kind``."""
    def register(cls: type[StageObjective]) -> type[StageObjective]:
        if kind in OBJECTIVES:
            raise ValueError(f"stage kind {kind!r} already has an objective ({OBJECTIVES[kind].__name__})")
        OBJECTIVES[kind] = cls
        return cls
    return register


def packing(stage: Stage, dp: DPSection, adapter: AdapterSection) -> bool:
    """Whether ``stage`` packs several records per row: as its ``pack`` option asks, unless the run rules it out.

    Under sample-level DP-SGD a row must be one privacy unit (Opacus clips per row), so no packing: with the
    record as unit CP keeps one note per row (its first window only), with the patient as unit every window
    of the patient's notes. PEFT prompt tuning drops the position ids that keep packed records apart.
    """
    if not stage.options.pack:
        return False
    reason = ("sample-level DP (dp.enabled): a row must be one privacy unit" if dp.enabled else
              "prompt tuning: PEFT drops the position ids that keep packed records apart"
              if adapter.method == "prompt-tuning" else "")
    if reason:
        _packing_off(stage.name, reason)
    return not reason


@functools.cache
def _packing_off(stage_name: str, reason: str) -> None:
    log.info("stage %s: packing off under %s", stage_name, reason)  # once per process, not every round
