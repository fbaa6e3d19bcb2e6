"""Exact aggregation of LoRA adapters: the strategy acts on the products ΔW = (alpha/r)·B·A, not on A and B.

FedAvg of factors computes mean(B)·mean(A), which is not mean(B·A): the cross terms between
hospitals' factors are error that grows with client drift. Here each hospital's factors are turned
into their product per layer, any Flower strategy aggregates those products (a weighted mean for FedAvg;
FedAdam/FedYogi/FedAvgM take their server step on the product's pseudo-gradient), and the result is
re-factorised to the global rank by truncated SVD: the best rank-r approximation of the aggregate.

Two ways to the same numbers. A weighted mean (FedAvg, FedProx) of K products of rank <= r has rank
<= K·r, so it stays factored (``lowrank.weighted_sum``) and its SVD comes from thin QRs of the factors
(``lowrank.factorise``): no dense (out, in) matrix is formed. Server optimisers and robust statistics
(FedAdam/FedYogi/FedAvgM, FedMedian, FedTrimmedAvg) act per coordinate of ΔW, so they get the dense
products and the dense SVD.

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
from server.flower_strategies import FLOWER_STRATEGIES

ARRAYS = "arrays"
# Exactly these types: FedAdam, FedYogi and FedAvgM subclass FedAvg but step on the mean per coordinate.
WEIGHTED_MEANS = tuple(s.cls for s in FLOWER_STRATEGIES.values() if s.aggregate == "mean")


class ExactLoRA(Strategy):
    """Aggregate LoRA adapters in product space with ``strategy`` and re-factorise to the global rank.

    Args:
        strategy: the Flower strategy that aggregates. A weighted mean (FedAvg, FedProx) is taken here
            on the factored products and the strategy aggregates the metrics and any non-LoRA tensor;
            any other strategy sees one dense array per adapted layer (ΔW, shape (out, in)) plus any
            non-LoRA adapter tensor unchanged.
        rank: the global LoRA rank the aggregate is re-factorised to (``adapter.rank``).
        alpha: LoRA alpha; hospital i's product is scaled by alpha / r_i.

    Metrics added to the train aggregate: ``truncation-error`` (||P - P_r||_F / ||P||_F over all
    layers) and ``truncation-error-worst-layer``. Memory: under a weighted mean, the factors only
    ((out + in)·K·r per layer for K replies); under any other strategy one dense (out, in) matrix per
    adapted layer per reply (and the wrapped optimiser's state at that size).
    """

    def __init__(self, strategy: Strategy, *, rank: int, alpha: float) -> None:
        self.strategy = strategy
        self.rank = rank
        self.alpha = alpha
        self.factored = type(strategy) in WEIGHTED_MEANS
        self._global: dict | None = None
        self._global_products: dict | None = None

    def summary(self) -> None:
        self.strategy.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self._global = arrays.to_torch_state_dict()
        if self.factored:  # a weighted mean keeps no arrays: the coordinator sends each hospital its factors
            return self.strategy.configure_train(server_round, arrays, config, grid)
        self._global_products = self._to_products(self._global)
        return self.strategy.configure_train(server_round, ArrayRecord(self._global_products), config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        if self._global is None:
            raise RuntimeError("ExactLoRA.aggregate_train called before configure_train")
        pairs = lowrank.lora_pairs(self._global)
        replies = list(replies)
        contributions, contributors = [], []
        for reply in replies:
            if not reply.has_error() and ARRAYS in reply.content:
                state = reply.content[ARRAYS].to_torch_state_dict()
                if self.factored:
                    contributions.append(self.rank_corrected_factors(state))
                    contributors.append(reply)
                    paired = self._paired(state)
                    reply.content[ARRAYS] = ArrayRecord({k: v for k, v in state.items() if k not in paired})
                else:
                    reply.content[ARRAYS] = ArrayRecord(self.rank_corrected_products(state))
        # The strategy checks the replies, aggregates their metrics and (factored: only) the non-LoRA tensors.
        arrays, metrics = self.strategy.aggregate_train(server_round, replies)
        if arrays is None:
            return None, metrics
        aggregate = arrays.to_torch_state_dict()
        if self.factored:  # the strategy has checked every reply's metrics carry its weight key
            weights = [float(next(iter(r.content.metric_records.values()))[self.strategy.weighted_by_key])
                       for r in contributors]
            total = sum(weights)
            layers = lowrank.weighted_sum(contributions, [w / total for w in weights])
        else:
            layers = {p: aggregate[p] for p in pairs}
        result = lowrank.factorise(layers, pairs, self.rank, self.alpha)
        others = {k: v for k, v in aggregate.items() if k not in pairs}
        metrics = MetricRecord(dict(metrics or {}))
        metrics["truncation-error"] = result.relative_error
        metrics["truncation-error-worst-layer"] = result.worst_layer
        return ArrayRecord({**others, **result.state}), metrics

    def rank_corrected_factors(self, state: dict) -> dict[str, lowrank.Factored]:
        """A hospital's contribution P_i + (P_g - P_g at its rank), factored; see the module doc.

        ``at_rank`` keeps the global's leading r_i components at an unchanged product scale, so
        P_g - P_g^(r_i) is exactly the global's trailing components s_g·B_g[:, r_i:]·A_g[r_i:]: the
        corrected contribution is again a product of rank <= r, as two blocks side by side.
        """
        rank, global_rank = lowrank.rank_of(state), lowrank.rank_of(self._global)
        if rank > global_rank:
            raise ValueError(f"a hospital replied at rank {rank} above the global rank {global_rank}")
        own = lowrank.factored_products(state, self.alpha)
        trailing = {p: (left[:, rank:], right[rank:])
                    for p, (left, right) in lowrank.factored_products(self._global, self.alpha).items()}
        return lowrank.weighted_sum([own, trailing], [1.0, 1.0])

    def rank_corrected_products(self, state: dict) -> dict:
        """A hospital's adapter as products it contributes: P_g + (P_i - P_g at its rank); see the module doc."""
        own = self._to_products(state)
        rank = lowrank.rank_of(state)
        if rank == lowrank.rank_of(self._global):
            return own
        start = self._to_products(lowrank.at_rank(self._global, rank, self.alpha))
        return {k: self._global_products[k] + v - start[k] if k in start else v for k, v in own.items()}

    @staticmethod
    def _paired(state: dict) -> set[str]:
        return {name for pair in lowrank.lora_pairs(state).values() for name in pair}

    def _to_products(self, state: dict) -> dict:
        paired = self._paired(state)
        return {**{k: v for k, v in state.items() if k not in paired}, **lowrank.products(state, self.alpha)}

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)
