"""The adapter exchange: which tensors travel between the coordinator and a hospital, at what rank and
precision, and the one checked decode of what arrives.

One owner for what both sides agree on: the hospital sends ``travelling`` tensors (``LoadedModel.
trainable_adapter_state``), the coordinator sends and expects the same names (``AdapterExchange``), and
SecAgg+ orders its masked vector by them (``privacy.secagg``). ``decode`` is the only way a received
adapter becomes tensors: every payload checked against its header, then names, shapes, wire dtype and
finiteness against the spec, each payload decoded once (``common.wire.validate``).

Flower's strategies aggregate float32 numpy arrays: ``to_arrayrecord``/``from_arrayrecord`` are the one
conversion between those and the coordinator's tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from flwr.app import Array, ArrayRecord

from common import lowrank, wire
from common.config import RunConfig

FROZEN_A = "ffa-lora"  # the adapter.method whose lora_A never moves: every party holds the seeded initialisation


def travelling(state: dict[str, torch.Tensor], method: str) -> dict[str, torch.Tensor]:
    """The tensors that are exchanged and aggregated: all of them, but lora_A under FFA-LoRA."""
    if method == FROZEN_A:
        return {k: v for k, v in state.items() if lowrank.LORA_A not in k}
    return state


@dataclass(frozen=True)
class AdapterExchange:
    """The adapter on the wire, as both sides see it.

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
        """The tensors that are exchanged and aggregated (``travelling``)."""
        return travelling(state, self.method)

    def outgoing(self, state: dict[str, torch.Tensor], rank: int) -> dict[str, torch.Tensor]:
        """What a hospital training at ``rank`` receives: the global adapter's best rank-``rank`` version."""
        self.check_rank(rank)
        return self.shared(lowrank.at_rank(state, rank, self.alpha) if rank != self.rank else state)

    def spec(self, state: dict[str, torch.Tensor], rank: int) -> wire.AdapterSpec:
        """What a reply from a hospital of ``rank`` must hold: the same names and shapes as ``outgoing``."""
        self.check_rank(rank)
        return wire.AdapterSpec.of(self.shared(state), self.dtype, self.block_size).at_rank(rank)

    def encode(self, state: dict[str, torch.Tensor]) -> ArrayRecord:
        return wire.encode(state, self.dtype, self.block_size)

    def decode(self, record: ArrayRecord, spec: wire.AdapterSpec) -> dict[str, torch.Tensor]:
        """The float32 tensors of ``record`` once it matches ``spec`` (raises ``wire.WireError``)."""
        return wire.validate(record, spec)

    def check_rank(self, rank: int) -> None:
        if rank == self.rank:
            return
        if not self.mixed_ranks:
            raise wire.WireError(f"adapter rank {rank} differs from adapter.rank={self.rank}; hospitals with "
                                 f"their own rank need strategy.aggregation=exact")
        if not 1 <= rank <= self.rank:
            raise wire.WireError(f"adapter rank {rank} is outside 1..adapter.rank={self.rank}")


def to_arrayrecord(state: dict[str, torch.Tensor]) -> ArrayRecord:
    """float32 ArrayRecord for Flower's strategies, which aggregate numpy arrays."""
    return ArrayRecord({k: Array(v.detach().cpu().float().numpy()) for k, v in state.items()})


def from_arrayrecord(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """The inverse of ``to_arrayrecord``: float32 tensors by name."""
    return {k: float32(v.numpy()) for k, v in record.items()}


def float32(array) -> torch.Tensor:
    """A numpy array (or anything ``np.asarray`` takes) as a float32 tensor that owns its memory."""
    return torch.from_numpy(np.array(array, dtype=np.float32))
