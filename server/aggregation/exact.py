"""Exact aggregation of LoRA adapters: the strategy acts on the products ΔW = (alpha/r)·B·A, not on A and B.

FedAvg of factors computes mean(B)·mean(A), which is not mean(B·A): the cross terms between
hospitals' factors are error that grows with client drift. Here each hospital's factors are turned
into their product per layer, any Flower strategy aggregates those products (a weighted mean for FedAvg;
FedAdam/FedYogi/FedAvgM take their server step on the product's pseudo-gradient), and the result is
re-factorised to the global rank by truncated SVD: the best rank-r approximation of the aggregate.

What "mean of products" means here. Every hospital starts a round from the global factors, so for
equal ranks mean_i(P_i) = P_g + mean_i(P_i - P_g): averaging full products and averaging product
deltas agree, and server optimisers see the usual pseudo-gradient mean_i(P_i) - P_g. A hospital of
lower rank r_i starts from P_g truncated to r_i, not from P_g; its full product would drag the
global towards rank r_i. So its contribution is rank-corrected, P_g + (P_i - P_g^(r_i)): its own
change, applied to the global it was cut from. For equal ranks this is exactly P_i.
"""

from __future__ import annotations

from collections.abc import Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from common import lowrank

ARRAYS = "arrays"


class ExactLoRA(Strategy):
    """Aggregate LoRA adapters in product space with ``strategy`` and re-factorise to the global rank.

    Args:
        strategy: the Flower strategy that aggregates; it sees one array per adapted layer (ΔW, shape
            (out, in)) plus any non-LoRA adapter tensor unchanged.
        rank: the global LoRA rank the aggregate is re-factorised to (``adapter.rank``).
        alpha: LoRA alpha; hospital i's product is scaled by alpha / r_i.

    Metrics added to the train aggregate: ``truncation-error`` (||P - P_r||_F / ||P||_F over all
    layers) and ``truncation-error-worst-layer``. Memory: the server holds one dense (out, in) matrix
    per adapted layer per reply (and the wrapped optimiser's state at that size).
    """

    def __init__(self, strategy: Strategy, *, rank: int, alpha: float) -> None:
        self.strategy = strategy
        self.rank = rank
        self.alpha = alpha
        self._global: dict | None = None
        self._global_products: dict | None = None

    def summary(self) -> None:
        self.strategy.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self._global = arrays.to_torch_state_dict()
        self._global_products = self._to_products(self._global)
        return self.strategy.configure_train(server_round, ArrayRecord(self._global_products), config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        if self._global is None:
            raise RuntimeError("ExactLoRA.aggregate_train called before configure_train")
        replies = list(replies)
        for reply in replies:
            if not reply.has_error() and ARRAYS in reply.content:
                state = reply.content[ARRAYS].to_torch_state_dict()
                reply.content[ARRAYS] = ArrayRecord(self.rank_corrected_products(state))
        arrays, metrics = self.strategy.aggregate_train(server_round, replies)
        if arrays is None:
            return None, metrics
        aggregate = arrays.to_torch_state_dict()
        pairs = lowrank.lora_pairs(self._global)
        result = lowrank.factorise({p: aggregate[p] for p in pairs}, pairs, self.rank, self.alpha)
        others = {k: v for k, v in aggregate.items() if k not in pairs}
        metrics = MetricRecord(dict(metrics or {}))
        metrics["truncation-error"] = result.relative_error
        metrics["truncation-error-worst-layer"] = result.worst_layer
        return ArrayRecord({**others, **result.state}), metrics

    def rank_corrected_products(self, state: dict) -> dict:
        """A hospital's adapter as products it contributes: P_g + (P_i - P_g at its rank); see the module doc."""
        own = self._to_products(state)
        rank = lowrank.rank_of(state)
        if rank == lowrank.rank_of(self._global):
            return own
        start = self._to_products(lowrank.at_rank(self._global, rank, self.alpha))
        return {k: self._global_products[k] + v - start[k] if k in start else v for k, v in own.items()}

    def _to_products(self, state: dict) -> dict:
        pairs = lowrank.lora_pairs(state)
        paired = {name for pair in pairs.values() for name in pair}
        return {**{k: v for k, v in state.items() if k not in paired}, **lowrank.products(state, self.alpha)}

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)
