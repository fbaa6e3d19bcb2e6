"""Opacus around one round of local training: per-sample gradients, clipping, noise, Poisson batches.

``make_private`` plays the role of Opacus' ``PrivacyEngine.make_private`` for the medfed loop. It is
built from Opacus' own pieces (``GradSampleModule``, ``DPOptimizer``, ``UniformWithReplacementSampler``)
rather than ``PrivacyEngine`` itself because the privacy unit here is an ``Example`` list turned into
batches by a stage objective (not a tensor ``Dataset``, which Opacus' ``DPDataLoader`` needs to shape
empty batches), and because the accountant lives in the hospital's ledger across rounds and stages
instead of in one engine object.

Three traps it handles:

- Hooks are added to the process-wide shared model every round, so ``close`` removes them again
  (otherwise every round stacks another set and per-sample gradients are computed many times over).
- Opacus only sees gradients of modules it hooks. Every trainable parameter must belong to a hooked
  module; ``make_private`` checks that each adapter tensor actually received a per-sample gradient
  after the first step, so a silently frozen adapter (ε growing, weights not moving) fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from opacus.utils.uniform_sampler import UniformWithReplacementSampler


@dataclass(frozen=True)
class DPStep:
    """How each DP-SGD step of a round is privatised."""

    noise_multiplier: float  # σ: Gaussian noise std relative to the clipping norm
    max_grad_norm: float  # C: per-sample gradient clipping norm
    batch_size: int  # expected (Poisson) batch size: sample rate × examples


class PrivateTraining:
    """One round's DP-SGD machinery around a model and its optimizer; ``close()`` when the round ends."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, num_examples: int,
                 step: DPStep, *, steps: int, seed: int) -> None:
        if num_examples < 1:
            raise ValueError("DP-SGD needs at least one training example")
        self.sample_rate = min(1.0, step.batch_size / num_examples)
        self.noise_multiplier = step.noise_multiplier
        if getattr(model, "is_activation_checkpointing", False):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": True})
        self.module = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        generator = torch.Generator().manual_seed(seed)
        self.optimizer = DPOptimizer(optimizer, noise_multiplier=step.noise_multiplier,
                                     max_grad_norm=step.max_grad_norm,
                                     expected_batch_size=max(1, round(self.sample_rate * num_examples)),
                                     generator=generator)
        self.sampler = UniformWithReplacementSampler(num_samples=num_examples, sample_rate=self.sample_rate,
                                                     generator=generator, steps=steps)
        self._params = [p for p in self.module.parameters() if p.requires_grad]
        self._checked = False

    def batches(self, examples: list) -> Iterator[list]:
        """Poisson-sampled batches: each example joins each batch independently with the sample rate.

        An empty draw still takes its step, noise alone, as the accountant assumes; it is not yielded.
        """
        for indices in self.sampler:
            if indices:
                yield [examples[i] for i in indices]
            else:
                for p in self._params:
                    p.grad_sample = torch.zeros((1, *p.shape), dtype=p.dtype, device=p.device)
                self.step()

    def loss(self, objective, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean of per-example losses, which Opacus' per-sample gradients (loss_reduction='mean') assume."""
        per_example, _ = objective.per_sample_loss(self.module, batch)
        return per_example.mean()

    def step(self) -> None:
        """Clip each example's gradient, add noise, take the optimizer step."""
        if not self._checked:
            missing = sum(1 for p in self._params if getattr(p, "grad_sample", None) is None)
            if missing:
                raise RuntimeError(f"{missing} of {len(self._params)} trainable tensors got no per-sample gradient: "
                                   f"Opacus cannot see them, so DP training would leave them frozen")
            self._checked = True
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def close(self) -> None:
        """Remove Opacus' hooks and per-sample buffers from the (shared) model."""
        self.optimizer.zero_grad(set_to_none=True)
        self.module.cleanup()


def make_private(model: torch.nn.Module, optimizer: torch.optim.Optimizer, num_examples: int, step: DPStep,
                 *, steps: int, seed: int) -> PrivateTraining:
    """Wrap ``model`` and ``optimizer`` for ``steps`` DP-SGD steps over ``num_examples`` records."""
    return PrivateTraining(model, optimizer, num_examples, step, steps=steps, seed=seed)
