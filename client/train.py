"""Local training and evaluation of one stage on one hospital's data: a loop to read top to bottom."""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass

import torch

from client.stages.base import Objective
from common.stages import Stage
from privacy.dp import DPStep, make_private


@dataclass
class TrainReport:
    loss: float  # mean over the round's steps
    first_loss: float
    last_loss: float
    steps: int
    tokens: int  # tokens the model processed (padding excluded)
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def lr_factor(schedule: str, step: int, warmup: int, total: int) -> float:
    """Multiplier of the peak learning rate at ``step`` of a stage of ``total`` steps.

    A pure function of the stage step (not a stateful torch scheduler) because the optimizer is rebuilt
    every round while the schedule spans the whole stage.
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if schedule == "linear":
        return max(0.0, 1 - progress)
    return 1.0


def batches(examples: list, batch_size: int, rng: random.Random):
    """Endless shuffled batches: every example once per pass, a fresh order each pass."""
    order = list(range(len(examples)))
    size = min(batch_size, len(order))
    while True:
        rng.shuffle(order)
        for start in range(0, len(order) - size + 1, size):
            yield [examples[i] for i in order[start:start + size]]


class PlainSteps:
    """Ordinary local steps: shuffled batches, the objective's batch loss, clipped gradients.

    ``privacy.dp.PrivateTraining`` is its DP-SGD counterpart with the same calls, so the loop below
    reads the same with and without differential privacy.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, steps: int, batch_size: int,
                 max_grad_norm: float, rng: random.Random) -> None:
        self.model, self.optimizer, self.steps = model, optimizer, steps
        self.batch_size, self.max_grad_norm, self.rng = batch_size, max_grad_norm, rng

    def batches(self, examples: list):
        return itertools.islice(batches(examples, self.batch_size, self.rng), self.steps)

    def loss(self, objective: Objective, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return objective.loss(self.model, batch)[0]

    def step(self) -> None:
        if self.max_grad_norm > 0:
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def close(self) -> None:
        pass


def train_round(model: torch.nn.Module, objective: Objective, examples: list, stage: Stage, *,
                round_in_stage: int, rng: random.Random, proximal_mu: float = 0.0,
                weight_decay: float = 0.0, max_grad_norm: float = 1.0, dp: DPStep | None = None) -> TrainReport:
    """Run ``stage.local_steps`` optimizer steps from the adapter weights the model holds now.

    With ``dp``, the steps are DP-SGD steps (Opacus): Poisson batches, per-example clipping to
    ``dp.max_grad_norm`` and Gaussian noise; ``max_grad_norm`` (batch clipping) is then unused.
    """
    if not examples:
        raise ValueError(f"no {stage.kind} training examples at this hospital")
    if dp is not None and proximal_mu > 0:
        raise ValueError("FedProx's proximal term is not a per-example loss; DP training needs strategy.name != fedprox")
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    # FedProx: penalise drift from the global adapter this round started from.
    anchor = [p.detach().clone() for p in params] if proximal_mu > 0 else None
    optimizer = torch.optim.AdamW(params, lr=stage.learning_rate, weight_decay=weight_decay)
    stage_steps = stage.rounds * stage.local_steps
    first_step = (round_in_stage - 1) * stage.local_steps
    steps = (make_private(model, optimizer, examples, dp, steps=stage.local_steps, seed=rng.randrange(2**31))
             if dp is not None else PlainSteps(model, optimizer, steps=stage.local_steps, batch_size=stage.batch_size,
                                               max_grad_norm=max_grad_norm, rng=rng))

    losses, tokens = [], 0
    start = time.perf_counter()
    try:
        for step, chunk in enumerate(steps.batches(examples)):
            for group in optimizer.param_groups:
                group["lr"] = stage.learning_rate * lr_factor(stage.lr_schedule, first_step + step,
                                                              stage.warmup_steps, stage_steps)
            batch = objective.collate(chunk)
            loss = steps.loss(objective, batch)
            losses.append(loss.item())
            if anchor is not None:
                loss = loss + proximal_mu / 2 * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))
            loss.backward()
            steps.step()
            tokens += int(batch["attention_mask"].sum())
    finally:
        steps.close()
    seconds = time.perf_counter() - start
    if not losses:  # under DP every Poisson draw of the round can come up empty
        losses = [float("nan")]
    return TrainReport(sum(losses) / len(losses), losses[0], losses[-1], len(losses), tokens, seconds)


@torch.no_grad()
def evaluate(model: torch.nn.Module, objective: Objective, examples: list, batch_size: int,
             max_batches: int) -> tuple[float, int]:
    """Token-weighted mean loss over the first ``max_batches`` held-out batches; (loss, examples scored)."""
    model.eval()
    total, count, scored = 0.0, 0, 0
    for start in range(0, min(len(examples), batch_size * max_batches), batch_size):
        chunk = examples[start:start + batch_size]
        loss, n_tokens = objective.loss(model, objective.collate(chunk))
        total += loss.item() * n_tokens
        count += n_tokens
        scored += len(chunk)
    if not count:  # nothing held out for this stage here: weight 0, so the federation's mean stays finite
        return 0.0, 0
    return total / count, scored
