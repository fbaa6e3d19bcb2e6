"""What every stage objective offers; the token examples and losses they share are in ``common.tokens``."""

from __future__ import annotations

from typing import Protocol

import torch

from common.records import StageData


class Objective(Protocol):
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
