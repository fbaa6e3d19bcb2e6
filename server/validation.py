"""Server-side checks on hospital updates before they reach the aggregator.

A reply is rejected (and logged with its node id; the round goes on with the rest) when

- its adapter tensors do not match the run's adapter: names, shapes or wire dtype (``common.wire.validate``);
- any tensor holds NaN or Inf (``common.wire.validate``);
- its metrics are not finite scalars;
- its update is a norm outlier. The rule: an update's size is ``‖w_i − w_global‖₂`` over all adapter tensors.
  It is rejected when it exceeds ``validation.norm-factor`` times the median size of the *other* replies in
  the round (a leave-one-out median, so the outlier cannot raise its own bar, and it works from two replies
  on), or when it exceeds ``validation.max-update-norm``. Either bound is off when set to 0.

These checks catch broken or hostile updates that would otherwise poison a FedAvg mean; robust aggregators
(``strategy.name = "fedmedian"`` or ``"fedtrimmedavg"``) bound the influence of the subtler ones.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch
from flwr.app import MetricRecord

from common.config import ValidationSection

_TINY = 1e-12  # the median of updates that did not move at all still bounds the others


class UpdateRejected(ValueError):
    """A hospital's reply is unusable; the message says why without quoting its content."""


def check_metrics(metrics: MetricRecord) -> None:
    """Raise UpdateRejected unless every metric is a finite int or float."""
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UpdateRejected(f"metric {key!r} is a {type(value).__name__}, expected a scalar")
        if not math.isfinite(value):
            raise UpdateRejected(f"metric {key!r} is not finite")


def update_norm(update: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    """``‖update − reference‖₂`` over all tensors together."""
    total = sum(float(torch.sum((update[k].float() - reference[k].float()) ** 2)) for k in reference)
    return math.sqrt(total)


@dataclass(frozen=True)
class NormOutlierRule:
    """The norm rule described in the module docstring."""

    factor: float  # reject beyond factor x median of the others (0: off)
    max_norm: float  # reject beyond this absolute norm (0: off)

    @classmethod
    def from_config(cls, cfg: ValidationSection) -> NormOutlierRule:
        return cls(cfg.norm_factor, cfg.max_update_norm)

    def outliers(self, norms: dict[int, float]) -> dict[int, str]:
        """node id -> reason, for each node whose update norm breaks the rule."""
        rejected = {}
        for node, norm in norms.items():
            if self.max_norm and norm > self.max_norm:
                rejected[node] = f"update norm {norm:.4g} exceeds validation.max-update-norm={self.max_norm:g}"
                continue
            others = [n for other, n in norms.items() if other != node]
            if self.factor and others:
                bar = self.factor * max(statistics.median(others), _TINY)
                if norm > bar:
                    rejected[node] = (f"update norm {norm:.4g} is over {self.factor:g}x the median of the other "
                                      f"replies ({bar / self.factor:.4g})")
        return rejected
