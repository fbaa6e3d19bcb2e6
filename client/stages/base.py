"""What every stage objective shares: token examples, padding, and the causal-LM loss on labelled tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from common.records import StageData

IGNORE = -100  # label value the loss skips (prompt, padding)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]  # IGNORE where no loss is taken


class Objective(Protocol):
    def examples(self, data: StageData) -> list: ...

    def collate(self, examples: list) -> dict[str, torch.Tensor]: ...

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...


def pad_examples(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example in the batch (dynamic padding: no compute spent on a fixed length)."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def causal_lm_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over labelled tokens; returns (loss, labelled tokens)."""
    device = next(p for p in model.parameters() if p.requires_grad).device
    logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
    targets = batch["labels"][:, 1:].to(device)
    logits = logits[:, :-1]
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=IGNORE)
    return loss, int((targets != IGNORE).sum())


class PerSampleObjective(Objective, Protocol):
    """An objective that can also score each record apart, as DP-SGD needs (one privacy unit per row)."""

    def per_sample_loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...


def causal_lm_per_sample_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Each sequence's own mean next-token cross-entropy, shape (batch,); returns (losses, labelled tokens).

    DP-SGD clips each record's gradient, so the batch loss must be the mean of per-record losses (what
    Opacus' ``loss_reduction="mean"`` assumes), not a token mean that lets long records weigh more.
    """
    device = next(p for p in model.parameters() if p.requires_grad).device
    logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
    targets = batch["labels"][:, 1:].to(device)
    logits = logits[:, :-1]
    token_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                                 ignore_index=IGNORE, reduction="none").view(targets.shape)
    labelled = targets != IGNORE
    return (token_loss * labelled).sum(1) / labelled.sum(1).clamp(min=1), int(labelled.sum())
