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
    # Packed rows only: positions restart at 0 at each document, which keeps attention inside documents.
    position_ids: list[int] | None = None
    unit: str = ""  # the patient it is about, when its record names one (the privacy unit under dp.unit=patient)


class Objective(Protocol):
    def examples(self, data: StageData) -> list: ...

    def collate(self, examples: list) -> dict[str, torch.Tensor]: ...

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]: ...

    def eval_metrics(self, model: torch.nn.Module, examples: list, loss: float, batch_size: int,
                     max_batches: int) -> dict[str, float]:
        """Stage-specific held-out metrics beside the loss (CP perplexity, HA reward accuracy)."""
        ...


def pad_examples(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example in the batch (dynamic padding: no compute spent on a fixed length)."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    packed = examples[0].position_ids is not None
    positions = torch.zeros((len(examples), width), dtype=torch.long) if packed else None
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
        if packed:
            # Padding counts as one more document (positions from 0), so it stays out of real documents' attention.
            positions[row, :n] = torch.tensor(e.position_ids)
            positions[row, n:] = torch.arange(width - n)
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if packed:
        batch["position_ids"] = positions
    return batch


def token_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits aligned with ``batch["input_ids"]`` (B, L, V).

    A packed batch goes in with ``position_ids`` and no attention mask: transformers then builds a
    block-diagonal causal mask from where positions restart, so no token attends across documents.
    Prompt tuning prepends virtual tokens, whose logits are dropped here.
    """
    device = next(model.parameters()).device
    inputs = {"input_ids": batch["input_ids"].to(device)}
    if "position_ids" in batch:
        inputs["position_ids"] = batch["position_ids"].to(device)
    else:
        inputs["attention_mask"] = batch["attention_mask"].to(device)
    logits = model(**inputs).logits
    return logits[:, -batch["input_ids"].size(1):]


def token_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probability of each next label (B, L-1), and the mask of labelled positions."""
    targets = labels[:, 1:].to(logits.device)
    mask = targets != IGNORE
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return picked * mask, mask


def causal_lm_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over labelled tokens; returns (loss, labelled tokens)."""
    logits = token_logits(model, batch)
    targets = batch["labels"][:, 1:].to(logits.device)
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
    device = next(model.parameters()).device
    logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
    targets = batch["labels"][:, 1:].to(device)
    logits = logits[:, :-1]
    token_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                                 ignore_index=IGNORE, reduction="none").view(targets.shape)
    labelled = targets != IGNORE
    return (token_loss * labelled).sum(1) / labelled.sum(1).clamp(min=1), int(labelled.sum())
