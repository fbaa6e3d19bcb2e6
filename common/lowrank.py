"""LoRA factors seen as low-rank matrices: pair A and B per layer, change rank, form and re-factorise products.

A LoRA layer adds ``ΔW = (alpha / r) · B · A`` to a frozen weight (PEFT's default scaling), with
``A: (r, in)`` and ``B: (out, r)``. The coordinator (exact aggregation) and the hospitals (receiving the
global adapter at their own rank) both need these operations, so they live here once.

Factors produced by ``factorise`` are in SVD order: the leading k components of a rank-r adapter
are the best rank-k approximation of its product (Eckart–Young), so moving an adapter to a lower rank
is slicing plus a change of LoRA scaling (``at_rank``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from common.config import AdapterSection, ConfigError

LORA_A, LORA_B = ".lora_A.", ".lora_B."


def lora_pairs(names) -> dict[str, tuple[str, str]]:
    """Layer prefix -> (lora_A name, lora_B name) for every layer that has both factors."""
    names = set(names)
    pairs = {}
    for a in names:
        if LORA_A in a:
            prefix = a.split(LORA_A)[0]
            b = a.replace(LORA_A, LORA_B)
            if b in names:
                pairs[prefix] = (a, b)
    return dict(sorted(pairs.items()))


def hospital_ranks(adapter_cfg: AdapterSection) -> list[int]:
    """Simulated hospitals' ranks from ``adapter.hospital-ranks`` (empty list: all at ``adapter.rank``)."""
    text = adapter_cfg.hospital_ranks.strip()
    if not text:
        return []
    try:
        ranks = [int(r) for r in text.split(",")]
    except ValueError:
        raise ConfigError(f"config key 'adapter.hospital-ranks' is {text!r}; expected comma-separated "
                          f"integers") from None
    if any(not 1 <= r <= adapter_cfg.rank for r in ranks):
        raise ConfigError(f"config key 'adapter.hospital-ranks' is {text!r}; every rank must be in "
                          f"1..adapter.rank={adapter_cfg.rank}")
    return ranks


def rank_of(state: dict[str, torch.Tensor]) -> int:
    """The LoRA rank of an adapter state (the leading dimension of its lora_A tensors)."""
    ranks = {int(t.shape[0]) for k, t in state.items() if LORA_A in k}
    if len(ranks) != 1:
        raise ValueError(f"adapter state has lora_A ranks {sorted(ranks)}; expected exactly one")
    return ranks.pop()


def scaling(alpha: float, rank: int) -> float:
    return alpha / rank


def at_rank(state: dict[str, torch.Tensor], rank: int, alpha: float) -> dict[str, torch.Tensor]:
    """The adapter moved down to ``rank``: its leading components, rescaled for LoRA scaling alpha / rank.

    Exact for the best rank-``rank`` approximation when the factors are in SVD order (see the module doc);
    the products keep their scale: (alpha/rank)·B'A' equals (alpha/r)·B[:, :rank]A[:rank].
    """
    current = rank_of(state)
    if rank > current:
        raise ValueError(f"cannot raise an adapter's rank from {current} to {rank}; the global rank "
                         f"(adapter.rank) must be at least every hospital's rank")
    if rank == current:
        return dict(state)
    gain = (scaling(alpha, current) / scaling(alpha, rank)) ** 0.5
    out = {}
    for name, tensor in state.items():
        if LORA_A in name:
            out[name] = tensor[:rank] * gain
        elif LORA_B in name:
            out[name] = tensor[:, :rank] * gain
        else:
            out[name] = tensor
    return out


def products(state: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """Layer prefix -> ΔW = (alpha/r)·B·A in float32."""
    s = scaling(alpha, rank_of(state))
    return {prefix: s * (state[b].float() @ state[a].float()) for prefix, (a, b) in lora_pairs(state).items()}


@dataclass
class Factorisation:
    """Factors of the best rank-r approximation of some products, and what truncation dropped."""

    state: dict[str, torch.Tensor]
    discarded: float  # sum over layers of the squared singular values cut off
    total: float  # sum over layers of all squared singular values (the products' squared Frobenius norm)
    worst_layer: float  # largest per-layer relative truncation error

    @property
    def relative_error(self) -> float:
        """||P - P_r||_F / ||P||_F over all layers: 0 when every product already had rank <= r."""
        return (self.discarded / self.total) ** 0.5 if self.total > 0 else 0.0


def factorise(layer_products: dict[str, torch.Tensor], names: dict[str, tuple[str, str]], rank: int,
              alpha: float) -> Factorisation:
    """Truncated SVD of each product into LoRA factors: B = U√(S/s), A = √(S/s)Vᵀ with s = alpha/rank.

    Splitting √S evenly keeps A and B at comparable norms, so neither factor's learning rate dominates
    the next local round.
    """
    s = scaling(alpha, rank)
    state, discarded, total, worst = {}, 0.0, 0.0, 0.0
    for prefix, product in layer_products.items():
        u, sigma, vh = torch.linalg.svd(product.double(), full_matrices=False)
        kept = min(rank, sigma.numel())
        root = (sigma[:kept] / s).sqrt()
        b = torch.zeros(product.shape[0], rank, dtype=torch.float64)
        a = torch.zeros(rank, product.shape[1], dtype=torch.float64)
        b[:, :kept] = u[:, :kept] * root
        a[:kept] = root[:, None] * vh[:kept]
        a_name, b_name = names[prefix]
        state[a_name], state[b_name] = a.float(), b.float()
        cut, energy = float(sigma[kept:].pow(2).sum()), float(sigma.pow(2).sum())
        discarded, total = discarded + cut, total + energy
        worst = max(worst, (cut / energy) ** 0.5 if energy > 0 else 0.0)
    return Factorisation(state, discarded, total, worst)
