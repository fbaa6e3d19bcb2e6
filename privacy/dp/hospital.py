"""A hospital's differential privacy in one object: open a round, take its private steps, close it.

As Opacus' ``PrivacyEngine`` is one entry point to its machinery, ``HospitalPrivacy`` is the one the
ClientApp calls; behind it are the ledger (``privacy.dp.account``, ``privacy.dp.ledger``), the noise
calibration (``privacy.dp.calibrate``), DP-SGD (``privacy.dp.engine``) and Flower's client-level clipping
(``privacy.dp.client_level``)::

    privacy = HospitalPrivacy(dp, run_name=..., data_dir=..., state=context.state)
    step = privacy.open_round(server_round, stage, plan)  # DP-SGD steps admitted against the budget
    train_round(..., dp=step)                             # the private steps (privacy.dp.engine)
    update, metrics = privacy.close_round(update, received, round_config)  # charged, saved, clipped

The sample rate of every stage is computed once, in the run's plan (``PlanPhase.of``): the noise is
calibrated over the plan's rates, and a round's ledger entry and its Poisson sampler read its stage's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from common.config import DPSection
from common.stages import Stage
from privacy.dp.account import STATE_KEY, PrivacyAccount
from privacy.dp.client_level import clip_update
from privacy.dp.engine import DPStep, count_units, sample_rate
from privacy.dp.ledger import LedgerEntry, PrivacyLedger


@dataclass(frozen=True)
class PlanPhase:
    """One stage of the run as the ε budget must cover it at this hospital."""

    stage: str
    sample_rate: float  # Poisson rate of one privacy unit joining a batch
    steps: int  # DP-SGD steps over the whole stage

    @classmethod
    def of(cls, stage: Stage, examples: list, unit: str) -> PlanPhase:
        """``stage`` over this hospital's training ``examples``, counted and sized (``Stage.for_examples``)
        in privacy units (``dp.unit``)."""
        units = count_units(examples, unit)
        sized = stage.for_examples(units)
        return cls(stage.name, sample_rate(sized.batch_size, units), sized.rounds * sized.local_steps)


class HospitalPrivacy:
    """What one train message does about privacy at one hospital.

    Args:
        dp: the run's ``[dp]`` section. Without ``dp.enabled`` only client-level clipping applies.
        run_name: names the ledger file (``<ledger folder>/<run.name>.json``).
        data_dir: the hospital's data folder; its ledger lives beside it unless ``dp.ledger-dir`` says where.
        state: the ClientApp's ``context.state``, where the ledger is kept between rounds of one process.
    """

    def __init__(self, dp: DPSection, *, run_name: str, data_dir: Path, state) -> None:
        self.dp, self.state = dp, state
        # Never reset by the coordinator (run.resume=false included): spent ε stays spent.
        self.account = PrivacyAccount.for_hospital(dp, run_name, data_dir, state.get(STATE_KEY)) \
            if dp.enabled else None
        self._entry: LedgerEntry | None = None

    def open_round(self, server_round: int, stage: Stage, plan: list[PlanPhase]) -> DPStep | None:
        """The DP-SGD steps of this round of ``stage`` (already sized for this hospital), or None without
        sample-level DP. ``PrivacyBudgetExhausted`` when they would take ε past the budget."""
        if self.account is None:
            return None
        phase = next(p for p in plan if p.stage == stage.name)
        sigma = self.account.noise_multiplier([(p.sample_rate, p.steps) for p in plan])
        self._entry = LedgerEntry(server_round, stage.name, sigma, phase.sample_rate, stage.local_steps)
        self.account.admit(self._entry)
        return DPStep(sigma, self.dp.max_grad_norm, phase.sample_rate, self.dp.unit, self.dp.max_records_per_patient)

    def epsilon_after_round(self) -> float:
        """ε of this run once the open round's steps are spent."""
        return self.account.ledger.epsilon([self._entry])

    def other_runs_epsilon(self) -> float:
        """ε spent in this hospital's other runs (their ledgers beside this one): a new run.name is no fresh budget."""
        return sum(PrivacyLedger.load(p).epsilon() for p in sorted(self.account.path.parent.glob("*.json"))
                   if p != self.account.path)

    def close_round(self, update: dict[str, torch.Tensor], received: dict[str, torch.Tensor],
                    round_config) -> tuple[dict[str, torch.Tensor], dict[str, float | int]]:
        """Charge the round's steps to the ledger (saved, and kept in ``state``), and clip ``update`` as the
        round's config asks under client-level DP; (the update to send, the privacy metrics to report)."""
        metrics: dict[str, float | int] = {}
        if self.account is not None:
            self.account.record(self._entry)
            self.state[STATE_KEY] = self.account.ledger.to_record()
            metrics.update(self.account.metrics())
        clipped = {name: tensor.clone() for name, tensor in update.items()}  # Flower's helper clips in place
        metrics.update(clip_update(clipped, received, round_config))
        return clipped, metrics
