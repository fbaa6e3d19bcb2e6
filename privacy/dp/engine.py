"""Opacus around one round of local training: per-sample gradients, clipping, noise, Poisson batches.

``make_private`` plays the role of Opacus' ``PrivacyEngine.make_private`` for the medfed loop. It is
built from Opacus' own pieces (``GradSampleModule``, ``DPOptimizer``, ``UniformWithReplacementSampler``)
rather than ``PrivacyEngine`` itself because the privacy unit here is an ``Example`` list turned into
batches by a stage objective (not a tensor ``Dataset``, which Opacus' ``DPDataLoader`` needs to shape
empty batches), and because the accountant lives in the hospital's ledger across rounds and stages
instead of in one engine object.

The privacy unit is one example (``dp.unit=record``: a CP window, an IFT conversation, an HA pair) or
one patient (``dp.unit=patient``: every record naming the patient, at most ``dp.max-records-per-patient``
of them per round).

The traps it handles:

- Hooks are added to the process-wide shared model every round, so ``close`` removes them again
  (otherwise every round stacks another set and per-sample gradients are computed many times over).
- Opacus only sees gradients of modules it hooks. Every trainable parameter must belong to a hooked
  module; ``make_private`` checks that each adapter tensor actually received a per-sample gradient
  after the first step, so a silently frozen adapter (ε growing, weights not moving) fails loudly.
- Opacus clips per batch row. A preference pair is two rows and a patient several; their rows' gradients
  are summed before clipping, or a unit could move the model by a multiple of C while the noise assumes C.
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
    max_grad_norm: float  # C: clipping norm of each privacy unit's gradient
    sample_rate: float  # Poisson rate of each unit joining a batch: the one the ledger accounts (PlanPhase)
    unit: str = "record"  # 'record': every example alone; 'patient': all of one patient's examples together
    max_records_per_unit: int = 0  # 'patient': at most this many of a patient's examples in a round (0: all)


def privacy_units(examples: list, unit: str) -> list[str]:
    """The privacy unit of each example: the example itself, or the patient it names (else itself)."""
    if unit == "record":
        return [f"record:{i}" for i in range(len(examples))]
    return [f"patient:{e.unit}" if e.unit else f"record:{i}" for i, e in enumerate(examples)]


def count_units(examples: list, unit: str) -> int:
    return len(set(privacy_units(examples, unit)))


def sample_rate(batch_size: int, num_units: int) -> float:
    """Poisson sample rate of ``batch_size`` expected units out of ``num_units``. Computed once per stage, in
    the hospital's plan (``privacy.dp.hospital.PlanPhase``): the ledger accounts it, σ is calibrated for it
    and the sampler draws with it, so they cannot disagree."""
    return min(1.0, batch_size / max(1, num_units))


class PrivateTraining:
    """One round's DP-SGD machinery around a model and its optimizer; ``close()`` when the round ends.

    Poisson sampling, clipping and noise act on privacy units. A unit with several rows in a batch (a
    patient's records; a preference pair's chosen and rejected rows) has its rows' per-sample gradients
    summed before clipping, so C bounds the whole unit's contribution, which is what the accountant assumes.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, examples: list,
                 step: DPStep, *, steps: int, seed: int) -> None:
        units = privacy_units(examples, step.unit)
        if not units:
            raise ValueError("DP-SGD needs at least one training example")
        generator = torch.Generator().manual_seed(seed)
        self.groups = _groups(units, step.max_records_per_unit, generator)  # unit -> indices of its examples
        self.sample_rate = step.sample_rate
        if getattr(model, "is_activation_checkpointing", False):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": True})
        self.module = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        self.optimizer = DPOptimizer(optimizer, noise_multiplier=step.noise_multiplier,
                                     max_grad_norm=step.max_grad_norm,
                                     expected_batch_size=max(1, round(self.sample_rate * len(self.groups))),
                                     generator=generator)
        self.sampler = UniformWithReplacementSampler(num_samples=len(self.groups), sample_rate=self.sample_rate,
                                                     generator=generator, steps=steps)
        self._params = [p for p in self.module.parameters() if p.requires_grad]
        self._example_units: torch.Tensor | None = None  # the batch's examples -> their unit's slot in the batch
        self._units_in_batch = 0
        self._checked = False

    def batches(self, examples: list) -> Iterator[list]:
        """Poisson-sampled batches: each unit joins each batch independently with the sample rate.

        An empty draw still takes its step, noise alone, as the accountant assumes; it is not yielded.
        """
        for drawn in self.sampler:
            if drawn:
                chosen = [(slot, i) for slot, unit in enumerate(drawn) for i in self.groups[unit]]
                self._example_units = torch.tensor([slot for slot, _ in chosen])
                self._units_in_batch = len(drawn)
                yield [examples[i] for _, i in chosen]
            else:
                self._example_units = None
                for p in self._params:
                    p.grad_sample = torch.zeros((1, *p.shape), dtype=p.dtype, device=p.device)
                self.step()

    def loss(self, objective, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean of per-example losses, which Opacus' per-sample gradients (loss_reduction='mean') assume."""
        per_example, _ = objective.per_sample_loss(self.module, batch)
        return per_example.mean()

    def step(self) -> None:
        """Sum each unit's rows, clip each unit's gradient, add noise, take the optimizer step."""
        if not self._checked:
            missing = sum(1 for p in self._params if getattr(p, "grad_sample", None) is None)
            if missing:
                raise RuntimeError(f"{missing} of {len(self._params)} trainable tensors got no per-sample gradient: "
                                   f"Opacus cannot see them, so DP training would leave them frozen")
            self._checked = True
        if self._example_units is not None:
            self._sum_rows_per_unit()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _sum_rows_per_unit(self) -> None:
        examples, rows = len(self._example_units), self._params[0].grad_sample.shape[0]
        if rows == self._units_in_batch:
            return  # one row per unit: Opacus' per-sample gradients are already per unit
        if rows % examples:
            raise RuntimeError(f"{rows} per-sample gradient rows for {examples} examples")
        # Objectives with several rows per example lay them out in blocks (HA: every chosen row, then every
        # rejected row), so row r belongs to example r mod examples.
        row_units = self._example_units.repeat(rows // examples)
        for p in self._params:
            # Opacus scaled each row by the rows in the batch (loss_reduction='mean'); the loss is a mean
            # over examples, so a row's share of it is examples / rows of that scale.
            summed = torch.zeros((self._units_in_batch, *p.shape), dtype=p.grad_sample.dtype,
                                 device=p.grad_sample.device)
            p.grad_sample = summed.index_add_(0, row_units.to(p.grad_sample.device), p.grad_sample * (examples / rows))

    def close(self) -> None:
        """Remove Opacus' hooks and per-sample buffers from the (shared) model."""
        self.optimizer.zero_grad(set_to_none=True)
        self.module.cleanup()


def _groups(units: list[str], cap: int, generator: torch.Generator) -> list[list[int]]:
    """Example indices per unit (in order of first appearance); at most ``cap`` of each, drawn at random."""
    by_unit: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        by_unit.setdefault(unit, []).append(index)
    groups = list(by_unit.values())
    if cap:
        groups = [[g[i] for i in sorted(torch.randperm(len(g), generator=generator)[:cap].tolist())]
                  if len(g) > cap else g for g in groups]
    return groups


def make_private(model: torch.nn.Module, optimizer: torch.optim.Optimizer, examples: list, step: DPStep,
                 *, steps: int, seed: int) -> PrivateTraining:
    """Wrap ``model`` and ``optimizer`` for ``steps`` DP-SGD steps over ``examples``, privatised per ``step.unit``."""
    return PrivateTraining(model, optimizer, examples, step, steps=steps, seed=seed)
