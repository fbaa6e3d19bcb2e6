"""Human alignment on preference pairs: DPO, and the reference-free SimPO and ORPO.

DPO compares the policy with a reference policy, here the model as it entered the HA stage. Rather
than holding a second model, each hospital scores its pairs once with the adapter it holds on entering
HA and keeps those log-probabilities (``client.stages.reference``); a pair then carries its reference.
SimPO and ORPO need no reference at all, for sites that cannot afford even the one scoring pass.

Losses are computed per pair and then averaged, so a per-sample privacy mechanism (DP-SGD) can clip
each pair's gradient on its own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from client.stages.base import StageObjective, objective
from client.stages.ift import InstructionTuning
from client.stages.reference import with_references
from common.config import RunConfig
from common.records import Conversation, StageData
from common.stages import Stage
from common.tokens import Example, pad_examples, token_log_probs


@dataclass(frozen=True)
class PreferenceExample:
    chosen: Example  # prompt + preferred answer, labels on the answer only
    rejected: Example
    reference: tuple[float, float] | None = None  # DPO: reference log-probs of (chosen, rejected) answers
    unit: str = ""  # the patient the pair is about, when named (the privacy unit under dp.unit=patient)


@dataclass
class PreferenceOutput:
    losses: torch.Tensor  # (pairs,)
    chosen_rewards: torch.Tensor  # (pairs,), detached
    rejected_rewards: torch.Tensor


def dpo_losses(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, reference_chosen: torch.Tensor,
               reference_rejected: torch.Tensor, beta: float) -> PreferenceOutput:
    """DPO (Rafailov et al. 2023) on summed answer log-probs; implicit reward beta * log(pi / pi_ref)."""
    chosen = beta * (policy_chosen - reference_chosen)
    rejected = beta * (policy_rejected - reference_rejected)
    return PreferenceOutput(-F.logsigmoid(chosen - rejected), chosen.detach(), rejected.detach())


def simpo_losses(mean_chosen: torch.Tensor, mean_rejected: torch.Tensor, beta: float,
                 gamma: float) -> PreferenceOutput:
    """SimPO (Meng et al. 2024): reward beta * length-normalised log-prob, with a target margin gamma."""
    chosen, rejected = beta * mean_chosen, beta * mean_rejected
    return PreferenceOutput(-F.logsigmoid(chosen - rejected - gamma), chosen.detach(), rejected.detach())


def orpo_losses(mean_chosen: torch.Tensor, mean_rejected: torch.Tensor, beta: float) -> PreferenceOutput:
    """ORPO (Hong et al. 2024): NLL of the chosen answer plus beta times the odds-ratio preference term."""
    # log odds(y) = log p - log(1 - p) with p the length-normalised probability; clamped so p = 1 stays finite.
    def log_odds(mean_log_prob: torch.Tensor) -> torch.Tensor:
        return mean_log_prob - torch.log1p(-torch.exp(mean_log_prob).clamp(max=1 - 1e-6))

    ratio = F.logsigmoid(log_odds(mean_chosen) - log_odds(mean_rejected))
    return PreferenceOutput(-mean_chosen - beta * ratio, (beta * mean_chosen).detach(),
                            (beta * mean_rejected).detach())


@objective("ha")
class PreferenceAlignment(StageObjective):
    def __init__(self, tokenizer, max_seq_len: int, *, loss: str = "dpo", beta: float = 0.1,
                 simpo_gamma: float = 0.5) -> None:
        self.tokenizer = tokenizer
        self.encoder = InstructionTuning(tokenizer, max_seq_len)  # same template and assistant-only labels
        self.loss_name = loss
        self.beta = beta
        self.simpo_gamma = simpo_gamma

    @classmethod
    def for_stage(cls, stage: Stage, tokenizer, cfg: RunConfig) -> PreferenceAlignment:
        # HA pairs are never packed: a pair is two rows of its own.
        return cls(tokenizer, stage.max_seq_len, loss=stage.options.loss, beta=stage.options.beta,
                   simpo_gamma=cfg.align.simpo_gamma)

    def with_round_state(self, model, examples, state, *, stage_name, round_in_stage, batch_size, hospital_id):
        """DPO: the pairs with their reference log-probs, scored with the adapter that entered the stage."""
        return with_references(self, model, examples, state, stage_name=stage_name, round_in_stage=round_in_stage,
                               batch_size=batch_size, hospital_id=hospital_id)

    @property
    def needs_reference(self) -> bool:
        return self.loss_name == "dpo"

    def examples(self, data: StageData) -> list[PreferenceExample]:
        examples = []
        for pair in data.preferences:
            chosen = self.encoder.encode(Conversation.from_pair(pair.prompt, pair.chosen))
            rejected = self.encoder.encode(Conversation.from_pair(pair.prompt, pair.rejected))
            # A pair whose prompt left no room for an answer is skipped.
            if any(t >= 0 for t in chosen.labels[1:]) and any(t >= 0 for t in rejected.labels[1:]):
                examples.append(PreferenceExample(chosen, rejected, unit=pair.patient_id))
        return examples

    def collate(self, examples: list[PreferenceExample]) -> dict[str, torch.Tensor]:
        """Chosen rows then rejected rows in one padded batch: one forward pass scores both answers."""
        batch = pad_examples([e.chosen for e in examples] + [e.rejected for e in examples],
                             self.tokenizer.pad_token_id)
        if self.needs_reference:
            if any(e.reference is None for e in examples):
                raise ValueError("DPO pairs lack reference log-probabilities; score them with with_reference first")
            batch["reference"] = torch.tensor([e.reference for e in examples], dtype=torch.float32)
        return batch

    @staticmethod
    def answer_log_probs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed log-prob of each row's answer tokens, and the answer lengths, for all 2 x pairs rows."""
        return token_log_probs(model, batch)

    def outputs(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> PreferenceOutput:
        sums, lengths = self.answer_log_probs(model, batch)
        pairs = sums.size(0) // 2
        if self.loss_name == "dpo":
            reference = batch["reference"].to(sums.device)
            return dpo_losses(sums[:pairs], sums[pairs:], reference[:, 0], reference[:, 1], self.beta)
        means = sums / lengths.clamp(min=1)
        if self.loss_name == "simpo":
            return simpo_losses(means[:pairs], means[pairs:], self.beta, self.simpo_gamma)
        return orpo_losses(means[:pairs], means[pairs:], self.beta)

    def per_sample_loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One loss per preference pair, shape (pairs,): the pair is the privacy unit under DP."""
        losses = self.outputs(model, batch).losses
        return losses, losses.numel()

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Mean of the per-pair losses; the count returned is pairs (the weight of this batch in a mean)."""
        losses, pairs = self.per_sample_loss(model, batch)
        return losses.mean(), pairs

    @torch.no_grad()
    def with_reference(self, model: torch.nn.Module, examples: list[PreferenceExample],
                       batch_size: int) -> list[PreferenceExample]:
        """The pairs with the model's current answer log-probs attached as their DPO reference."""
        model.eval()
        scored = []
        for start in range(0, len(examples), batch_size):
            chunk = examples[start:start + batch_size]
            sums, _ = self.answer_log_probs(model, pad_examples([e.chosen for e in chunk] + [e.rejected for e in chunk],
                                                                self.tokenizer.pad_token_id))
            sums = sums.cpu().tolist()
            scored += [dataclasses.replace(e, reference=(sums[i], sums[len(chunk) + i])) for i, e in enumerate(chunk)]
        return scored

    @torch.no_grad()
    def eval_metrics(self, model: torch.nn.Module, examples: list[PreferenceExample], loss: float,
                     batch_size: int, max_batches: int) -> dict[str, float]:
        """Reward accuracy (share of pairs whose chosen answer earns the higher reward) and mean reward margin."""
        model.eval()
        margins = []
        for start in range(0, min(len(examples), batch_size * max_batches), batch_size):
            out = self.outputs(model, self.collate(examples[start:start + batch_size]))
            margins.append((out.chosen_rewards - out.rejected_rewards).float().cpu())
        if not margins:  # same keys from every hospital (Flower aggregates only matching records); weight 0
            return {"reward-accuracy": 0.0, "reward-margin": 0.0}
        margin = torch.cat(margins)
        return {"reward-accuracy": float((margin > 0).float().mean()), "reward-margin": float(margin.mean())}
