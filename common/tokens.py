"""Token examples, padding, packing, and the causal-LM loss on labelled tokens.

Shared by the hospitals' stage objectives (``client.stages``) and by what scores a model apart from
training (``privacy.audit``), so it lives on the common side.

The loss helpers apply the LM head only where a label is: the model's body runs on every position, a
pre-hook on the output embedding keeps the hidden states whose next token is labelled, and the head and
the log-softmax run on those rows alone. The head is vocabulary x hidden (a fifth of SmolLM2's FLOPs)
and the log-softmax is vocabulary-wide, while IFT and HA label only the answers: most of both was
spent on positions the loss throws away. The numbers are those of the full logits (same rows, same
matmul), through PEFT LoRA, a 4-bit base, prompt tuning and Opacus alike (the hook sits on the head,
whatever wraps the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE = -100  # label value the loss skips (prompt, padding)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]  # IGNORE where no loss is taken
    # Packed rows only: positions restart at 0 at each document, which keeps attention inside documents.
    position_ids: list[int] | None = None
    unit: str = ""  # the patient it is about, when its record names one (the privacy unit under dp.unit=patient)


def pack(examples: list[Example], max_len: int) -> list[Example]:
    """Several examples per row of at most ``max_len`` tokens, each keeping its own labels.

    Best-fit decreasing (each example, longest first, into the fullest row it still fits), so rows come out
    nearly full; inside a row the examples keep their order, and rows are in the order of their first example.
    Positions restart at each example, from which transformers builds a block-diagonal causal mask (see
    ``token_inputs``); an example's first label is dropped, as it would be predicted from the one before.
    """
    rows: list[list[int]] = []
    free: dict[int, list[int]] = {}  # tokens left -> rows with that much room
    for i in sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids)):
        size = len(examples[i].input_ids)
        if size > max_len:
            raise ValueError(f"an example of {size} tokens does not fit a row of {max_len}")
        room = next((r for r in range(size, max_len + 1) if free.get(r)), None)
        row = free[room].pop() if room is not None else len(rows)
        if room is None:
            rows.append([])
            room = max_len
        rows[row].append(i)
        free.setdefault(room - size, []).append(row)
    return [_concatenate([examples[i] for i in sorted(row)]) for row in sorted(rows, key=min)]


def _concatenate(examples: list[Example]) -> Example:
    ids, labels, positions = [], [], []
    for e in examples:
        ids += e.input_ids
        labels += [IGNORE] + e.labels[1:]
        positions += range(len(e.input_ids))
    return Example(ids, labels, positions)


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


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def token_inputs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's keyword inputs for ``batch``.

    A packed batch goes in with ``position_ids`` and no attention mask: transformers then builds a
    block-diagonal causal mask from where positions restart, so no token attends across documents.
    """
    device = _device(model)
    inputs = {"input_ids": batch["input_ids"].to(device)}
    if "position_ids" in batch:
        inputs["position_ids"] = batch["position_ids"].to(device)
    else:
        inputs["attention_mask"] = batch["attention_mask"].to(device)
    return inputs


def token_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits at every position, aligned with ``batch["input_ids"]`` (B, L, V); prompt tuning's virtual
    tokens are dropped. For inspection and tests: the losses below never build these."""
    logits = model(**token_inputs(model, batch)).logits
    return logits[:, -batch["input_ids"].size(1):]


def _output_head(model: torch.nn.Module) -> torch.nn.Module:
    # Opacus' GradSampleModule keeps the model as ``_module``; PEFT forwards the call to the base model.
    return getattr(model, "_module", model).get_output_embeddings()


def labelled_logits(model: torch.nn.Module,
                    batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits (N, V) at the N positions whose next token is labelled, their targets (N,), and the batch row
    of each (N,); the LM head runs on those N hidden states only."""
    device = _device(model)
    width = batch["input_ids"].size(1)
    targets = batch["labels"][:, 1:].to(device)
    keep = targets != IGNORE

    def labelled_only(_head, args):
        # Prompt tuning prepends virtual tokens: the last ``width`` positions are the batch's; the last one
        # predicts nothing.
        return (args[0][:, -width:-1][keep],)

    handle = _output_head(model).register_forward_pre_hook(labelled_only)
    try:
        logits = model(**token_inputs(model, batch)).logits
    finally:
        handle.remove()
    return logits, targets[keep], keep.nonzero()[:, 0]


def _per_row(values: torch.Tensor, rows: torch.Tensor, batch_rows: int) -> torch.Tensor:
    """Sum of ``values`` by batch row (batch_rows,)."""
    return torch.zeros(batch_rows, dtype=values.dtype, device=values.device).index_add_(0, rows, values)


def token_log_probs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probability of each row's labelled tokens (B,), and how many there are (B,)."""
    logits, targets, rows = labelled_logits(model, batch)
    picked = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    counts = _per_row(torch.ones_like(picked), rows, batch["input_ids"].size(0))
    return _per_row(picked, rows, batch["input_ids"].size(0)), counts


def causal_lm_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over labelled tokens; returns (loss, labelled tokens)."""
    logits, targets, _ = labelled_logits(model, batch)
    if not targets.numel():  # as the full-vocabulary cross-entropy does with nothing to score
        return logits.sum() * float("nan"), 0
    return F.cross_entropy(logits.float(), targets), targets.numel()


def causal_lm_per_sample_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Each sequence's own mean next-token cross-entropy, shape (batch,); returns (losses, labelled tokens).

    DP-SGD clips each record's gradient, so the batch loss must be the mean of per-record losses (what
    Opacus' ``loss_reduction="mean"`` assumes), not a token mean that lets long records weigh more.
    """
    logits, targets, rows = labelled_logits(model, batch)
    token_loss = F.cross_entropy(logits.float(), targets, reduction="none")
    rows_in_batch = batch["input_ids"].size(0)
    counts = _per_row(torch.ones_like(token_loss), rows, rows_in_batch)
    return _per_row(token_loss, rows, rows_in_batch) / counts.clamp(min=1), targets.numel()
