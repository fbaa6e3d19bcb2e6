"""Flower's own strategies as ``strategy.name`` selects them, and how each one combines the replies.

The one table of them: ``server.strategies`` builds them from it, the exact LoRA aggregation and SecAgg+
read from it which ones are a plain weighted mean. It imports nothing else of the server, so every part of
the server can read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flwr.serverapp.strategy import FedAdam, FedAvg, FedAvgM, FedMedian, FedProx, FedTrimmedAvg, FedYogi, Strategy

from common.config import StrategySection


@dataclass(frozen=True)
class FlowerStrategy:
    """One Flower strategy as ``strategy.name`` selects it (by its class name, lower-cased).

    Args:
        cls: the Flower Message-API strategy class.
        options: its own hyperparameters, from ``[strategy]``.
        aggregate: how it combines the replies: 'mean' (the weighted mean itself), 'server-step' (a server
            optimiser's step on the weighted mean), 'robust' (per coordinate, from each update in the clear).
    """

    cls: type[Strategy]
    options: Callable[[StrategySection], dict]
    aggregate: str

    @property
    def mean_based(self) -> bool:
        """Whether it needs only the weighted mean of the updates: what a secure sum can feed."""
        return self.aggregate != "robust"


FLOWER_STRATEGIES: dict[str, FlowerStrategy] = {s.cls.__name__.lower(): s for s in (
    FlowerStrategy(FedAvg, lambda c: {}, "mean"),
    FlowerStrategy(FedProx, lambda c: {"proximal_mu": c.proximal_mu}, "mean"),
    FlowerStrategy(FedAdam, lambda c: {"eta": c.eta, "tau": c.tau}, "server-step"),
    FlowerStrategy(FedYogi, lambda c: {"eta": c.eta, "tau": c.tau}, "server-step"),
    FlowerStrategy(FedAvgM, lambda c: {"server_learning_rate": c.server_learning_rate,
                                       "server_momentum": c.server_momentum}, "server-step"),
    FlowerStrategy(FedMedian, lambda c: {}, "robust"),
    FlowerStrategy(FedTrimmedAvg, lambda c: {"beta": c.trim_beta}, "robust"),
)}
