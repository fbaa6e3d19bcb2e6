"""What travels between the coordinator and one hospital, given the adapter method and the hospital's rank."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from common import lowrank, wire
from common.config import RunConfig


@dataclass(frozen=True)
class AdapterExchange:
    """The coordinator's view of the adapter on the wire.

    Args:
        method: ``adapter.method``; for 'ffa-lora' lora_A never travels (every party holds the same
            seeded initialisation) and only lora_B is sent and aggregated.
        rank: the global LoRA rank (``adapter.rank``).
        alpha: LoRA alpha.
        mixed_ranks: whether hospitals may train at a rank below ``rank`` (``strategy.aggregation=exact``).
        dtype, block_size: the wire encoding (``wire.dtype``, ``wire.block-size``).
    """

    method: str
    rank: int
    alpha: float
    mixed_ranks: bool
    dtype: str
    block_size: int

    @classmethod
    def from_config(cls, cfg: RunConfig) -> AdapterExchange:
        return cls(cfg.adapter.method, cfg.adapter.rank, cfg.adapter.alpha, cfg.strategy.aggregation == "exact",
                   cfg.wire.dtype, cfg.wire.block_size)

    def shared(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors that are exchanged and aggregated (all but the frozen lora_A under FFA-LoRA)."""
        if self.method == "ffa-lora":
            return {k: v for k, v in state.items() if lowrank.LORA_A not in k}
        return state

    def outgoing(self, state: dict[str, torch.Tensor], rank: int) -> dict[str, torch.Tensor]:
        """What a hospital training at ``rank`` receives: the global adapter's best rank-``rank`` version."""
        self.check_rank(rank)
        return self.shared(lowrank.at_rank(state, rank, self.alpha) if rank != self.rank else state)

    def spec(self, state: dict[str, torch.Tensor], rank: int) -> wire.AdapterSpec:
        """What a reply from a hospital of ``rank`` must hold: the same names and shapes as ``outgoing``."""
        self.check_rank(rank)
        return wire.AdapterSpec.of(self.shared(state), self.dtype, self.block_size).at_rank(rank)

    def encode(self, state: dict[str, torch.Tensor]):
        return wire.encode(state, self.dtype, self.block_size)

    def check_rank(self, rank: int) -> None:
        if rank == self.rank:
            return
        if not self.mixed_ranks:
            raise wire.WireError(f"adapter rank {rank} differs from adapter.rank={self.rank}; hospitals with "
                                 f"their own rank need strategy.aggregation=exact")
        if not 1 <= rank <= self.rank:
            raise wire.WireError(f"adapter rank {rank} is outside 1..adapter.rank={self.rank}")
