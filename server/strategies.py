"""Flower's own strategies, chosen by name in ``strategy.name`` and configured from ``[strategy]``.

The coordinator keeps one strategy instance per stage, so stateful server optimisers (FedAdam's
moments, FedAvgM's momentum) start fresh when the objective changes.
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.serverapp.strategy import FedAdam, FedAvg, FedAvgM, FedMedian, FedProx, FedTrimmedAvg, FedYogi, Strategy

from common.config import StrategySection


def build_strategy(cfg: StrategySection, weighted_by_key: str = "num-examples",
                   evaluate_metrics_aggr_fn: Callable | None = None) -> Strategy:
    """The Flower strategy named by ``cfg.name``, with node counts and its own hyperparameters.

    ``weighted_by_key``: the reply metric each hospital is weighted by in the mean;
    ``evaluate_metrics_aggr_fn``: Flower's hook for aggregating evaluation metrics (None: by that weight).
    """
    nodes = dict(fraction_train=cfg.fraction_train, fraction_evaluate=cfg.fraction_evaluate,
                 min_train_nodes=cfg.min_nodes, min_evaluate_nodes=cfg.min_nodes, min_available_nodes=cfg.min_nodes,
                 weighted_by_key=weighted_by_key, evaluate_metrics_aggr_fn=evaluate_metrics_aggr_fn)
    builders = {
        "fedavg": lambda: FedAvg(**nodes),
        "fedprox": lambda: FedProx(proximal_mu=cfg.proximal_mu, **nodes),
        "fedadam": lambda: FedAdam(eta=cfg.eta, tau=cfg.tau, **nodes),
        "fedyogi": lambda: FedYogi(eta=cfg.eta, tau=cfg.tau, **nodes),
        "fedavgm": lambda: FedAvgM(server_learning_rate=cfg.server_learning_rate,
                                   server_momentum=cfg.server_momentum, **nodes),
        "fedmedian": lambda: FedMedian(**nodes),
        "fedtrimmedavg": lambda: FedTrimmedAvg(beta=cfg.trim_beta, **nodes),
    }
    return builders[cfg.name]()
