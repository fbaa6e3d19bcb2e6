"""Flower's own strategies, chosen by name in ``strategy.name``, and the stack each stage aggregates with.

The coordinator keeps one stack per stage, so stateful server optimisers (FedAdam's moments, FedAvgM's
momentum) start fresh when the objective changes. Adding a Flower strategy: its name in
``common.config.STRATEGIES`` and its row in ``server.flower_strategies.FLOWER_STRATEGIES``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flwr.serverapp.strategy import Strategy

from common.config import RunConfig, StrategySection
from privacy.dp.client_level import CoordinatorPrivacy, held_out_metrics_by_examples
from server.aggregation import wrap_strategy
from server.flower_strategies import FLOWER_STRATEGIES


def build_strategy(cfg: StrategySection, weighted_by_key: str = "num-examples",
                   evaluate_metrics_aggr_fn: Callable | None = None) -> Strategy:
    """The Flower strategy named by ``cfg.name``, with node counts and its own hyperparameters.

    ``weighted_by_key``: the reply metric each hospital is weighted by in the mean;
    ``evaluate_metrics_aggr_fn``: Flower's hook for aggregating evaluation metrics (None: by that weight).
    """
    nodes = dict(fraction_train=cfg.fraction_train, fraction_evaluate=cfg.fraction_evaluate,
                 min_train_nodes=cfg.min_nodes, min_evaluate_nodes=cfg.min_nodes, min_available_nodes=cfg.min_nodes,
                 weighted_by_key=weighted_by_key, evaluate_metrics_aggr_fn=evaluate_metrics_aggr_fn)
    chosen = FLOWER_STRATEGIES[cfg.name]
    return chosen.cls(**chosen.options(cfg), **nodes)


def build_stack(cfg: RunConfig, name: str, privacy: CoordinatorPrivacy) -> Strategy:
    """One stage's strategy stack, outermost first (each layer holds the next as ``.strategy``):

    1. client-level DP (``privacy.wrap``; unchanged under ``dp.client-level=none``): Flower's wrapper clips
       each update against the adapter it sent (``server-*``; ``client-*`` asks the hospitals to) and noises
       what the layers inside return. Outermost, so it clips what the hospitals sent, the factors, and its
       noise is on the very release that becomes the global adapter and that the accountant charges.
    2. LoRA-aware aggregation (``strategy.aggregation``; unchanged under 'factors'): ``ExactLoRA`` turns
       factors into products on the way in and re-factorises the aggregate on the way out.
    3. Flower's strategy ``name`` (``stage.<name>.strategy``, hyperparameters from ``[strategy]``): samples
       hospitals and aggregates what reaches it, weighing hospitals by ``privacy.weight_key``.
    """
    flower = build_strategy(dataclasses.replace(cfg.strategy, name=name), privacy.weight_key,
                            held_out_metrics_by_examples)
    return privacy.wrap(wrap_strategy(cfg, flower))
