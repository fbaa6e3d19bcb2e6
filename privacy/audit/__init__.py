"""Privacy audit of a finished run: canary exposure and membership inference against its global adapter."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from common.config import ModelSection
from common.model import load_exported_adapter
from privacy.audit.canary import Canary, canary_exposures, make_canaries, plant, sequence_losses
from privacy.audit.membership import auc, calibrated_scores

__all__ = ["AuditReport", "Canary", "audit_adapter", "make_canaries", "plant"]


@dataclass
class AuditReport:
    planted_exposure: float  # mean exposure of the canaries planted in the hospital's notes
    reference_exposure: float  # mean exposure of canaries never shown: what chance looks like
    max_exposure: float  # log2(alternatives + 1): the highest measurable
    membership_auc: float  # loss-threshold attack calibrated by the base model; 0.5 = no signal
    members: int
    non_members: int

    def to_dict(self) -> dict:
        return asdict(self)


def audit_adapter(model_cfg: ModelSection, adapter_dir: Path, planted: list[Canary], reference: list[Canary],
                  members: list[str], non_members: list[str], *, seed: int, alternatives: int = 100) -> AuditReport:
    """Audit the adapter exported to ``adapter_dir`` (on ``model_cfg``'s base, full precision); ``seed`` draws
    the canaries' alternatives."""
    model, tokenizer = load_exported_adapter(model_cfg, adapter_dir)
    planted_exp = canary_exposures(model, tokenizer, planted, alternatives, seed)
    reference_exp = canary_exposures(model, tokenizer, reference, alternatives, seed + 1)
    trained = sequence_losses(model, tokenizer, members + non_members)
    with model.disable_adapter():
        base = sequence_losses(model, tokenizer, members + non_members)
    scores = calibrated_scores(base, trained)
    return AuditReport(statistics.fmean(planted_exp), statistics.fmean(reference_exp),
                       math.log2(alternatives + 1),
                       auc(scores[:len(members)], scores[len(members):]), len(members), len(non_members))
