"""Server-side norm checks on hospital updates before they reach the aggregator.

Every reply first passes ``server.inbox`` (protocol records and keys, numbers only, each array's payload
against its header, names, shapes, wire dtype, NaN/Inf, example counts, the hospital's identity). What
is left is the norm rule. An update's size is ``‖w_i − w_global‖₂`` over all adapter tensors. It is
rejected when it exceeds ``validation.norm-factor`` times the median size of the *other* replies in the
round (a leave-one-out median, so the outlier cannot raise its own bar, and it works from two replies on),
or when it exceeds ``validation.max-update-norm``. Either bound is off when set to 0.

The rule also looks at the aggregate's step from the global adapter: over ``validation.max-update-norm``,
or, where the aggregate is a weighted mean of the updates, over ``norm-factor`` times the median accepted
update, the aggregate is refused and the global adapter kept. A mean never moves further than its largest
update (which is below factor x the median of the others, itself at most the median of all), so only
forged weights take it there.

These checks catch broken or hostile updates that would otherwise poison a FedAvg mean; robust aggregators
(``strategy.name = "fedmedian"`` or ``"fedtrimmedavg"``) bound the influence of the subtler ones.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch

from common.config import ValidationSection

_TINY = 1e-12  # the median of updates that did not move at all still bounds the others


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

    def step_excess(self, step: float, norms: list[float]) -> str | None:
        """Why an aggregate's step breaks the rule, None if it does not. ``norms``: the accepted updates' sizes
        where the aggregate is a weighted mean of them (empty: only the absolute bound applies)."""
        if self.max_norm and step > self.max_norm:
            return f"step {step:.4g} exceeds validation.max-update-norm={self.max_norm:g}"
        if self.factor and norms:
            median = max(statistics.median(norms), _TINY)
            if step > self.factor * median:
                return f"step {step:.4g} is over {self.factor:g}x the median accepted update ({median:.4g})"
        return None
