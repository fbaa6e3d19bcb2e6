"""LoRA-aware aggregation: which adapter tensors travel, at what rank, and how they are combined.

Which tensors travel and at what rank is ``common.exchange``'s. Adding a LoRA aggregation: its name in
``strategy.aggregation``'s choices (``common/config.py``) and its row in ``AGGREGATIONS`` here, with the
Strategy wrapper that does it (in its own module beside ``exact.py``, that module is a third file).

Choices (each a config key; FedAvg of factors stays the baseline):

- ``strategy.aggregation=factors``: Flower's strategy averages lora_A and lora_B separately.
- ``strategy.aggregation=exact``: ``ExactLoRA`` wraps the strategy so it acts on ΔW = (alpha/r)·B·A and
  re-factorises to ``adapter.rank`` by truncated SVD; hospitals may train at lower ranks.
- ``adapter.method=ffa-lora``: lora_A frozen at its shared seeded initialisation, only lora_B trained,
  sent and aggregated; B·A is linear in B, so plain averaging of B is already the exact mean of products.
- ``wire.dtype`` float32/float16/bfloat16/int8 (``wire.block-size``) applies to every choice.

Valid combinations with the server strategies (``strategy.name``):

| aggregation \\ strategy | fedavg, fedprox | fedadam, fedyogi, fedavgm | fedmedian, fedtrimmedavg | mixed hospital ranks |
|---|---|---|---|---|
| factors (lora) | yes (baseline) | yes, on each factor | yes, per factor coordinate | no |
| exact (lora) | yes: exact mean of products | yes: server step on the product's pseudo-gradient | yes, per coordinate of ΔW | yes |
| factors (ffa-lora) | yes: exact | yes: exact (ΔW is linear in B) | yes | no |
| exact (ffa-lora) | rejected: re-factorising would move the frozen A | rejected | rejected | no |

The server optimisers under ``factors`` step on A and B separately; their updates are well-defined but
inherit FedAvg-of-factors' cross-term error.
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.serverapp.strategy import Strategy

from common import lowrank
from common.config import ConfigError, RunConfig
from server.aggregation.exact import ExactLoRA

__all__ = ["AGGREGATIONS", "ExactLoRA", "check_aggregation", "wrap_strategy"]


def check_aggregation(cfg: RunConfig) -> None:
    """Reject the combinations the table in this module's doc marks as invalid."""
    if cfg.adapter.method == "ffa-lora" and cfg.strategy.aggregation == "exact":
        raise ConfigError("adapter.method=ffa-lora with strategy.aggregation=exact: FFA-LoRA's averaging is "
                          "already exact, and re-factorising would move its frozen lora_A; use "
                          "strategy.aggregation=factors")
    mixed = any(r != cfg.adapter.rank for r in lowrank.hospital_ranks(cfg.adapter))
    if mixed and cfg.strategy.aggregation != "exact":
        raise ConfigError("adapter.hospital-ranks differ from adapter.rank: mixed ranks need "
                          "strategy.aggregation=exact")


# strategy.aggregation -> the wrapper that makes a Flower strategy aggregate that way ('factors': none)
AGGREGATIONS: dict[str, Callable[[Strategy, RunConfig], Strategy]] = {
    "factors": lambda strategy, cfg: strategy,
    "exact": lambda strategy, cfg: ExactLoRA(strategy, rank=cfg.adapter.rank, alpha=cfg.adapter.alpha),
}


def wrap_strategy(cfg: RunConfig, strategy: Strategy) -> Strategy:
    """``strategy`` made LoRA-aware as ``strategy.aggregation`` asks (unchanged for 'factors')."""
    check_aggregation(cfg)
    return AGGREGATIONS[cfg.strategy.aggregation](strategy, cfg)
