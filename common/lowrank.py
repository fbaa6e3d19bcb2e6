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


Factored = tuple[torch.Tensor, torch.Tensor]  # (left, right) standing for the matrix left @ right, float64


def factored_products(state: dict[str, torch.Tensor], alpha: float) -> dict[str, Factored]:
    """Layer prefix -> (s·B, A) in float64 with s = alpha/r: ΔW without forming the (out, in) matrix."""
    s = scaling(alpha, rank_of(state))
    return {prefix: (s * state[b].double(), state[a].double()) for prefix, (a, b) in lora_pairs(state).items()}


def products(state: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """Layer prefix -> ΔW = (alpha/r)·B·A in float32 (dense: for strategies that act per coordinate of ΔW)."""
    return {prefix: (left @ right).float() for prefix, (left, right) in factored_products(state, alpha).items()}


def weighted_sum(terms: list[dict[str, Factored]], weights: list[float]) -> dict[str, Factored]:
    """Layer prefix -> Σ_k w_k·L_k·R_k as one factored pair [w_1·L_1 | … | w_K·L_K] @ [R_1; …; R_K].

    A sum of K matrices of rank r has rank at most K·r, and this concatenation is that sum exactly
    (block matrix product), so a mean of LoRA products never needs the dense (out, in) matrices.
    """
    return {prefix: (torch.cat([w * term[prefix][0] for term, w in zip(terms, weights)], dim=1),
                     torch.cat([term[prefix][1] for term in terms], dim=0))
            for prefix in terms[0]}


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


def _svd_of_factored(left: torch.Tensor, right: torch.Tensor):
    """Thin SVD (U, S, Vᵀ) of left @ right without forming it.

    With left = Q_L·R_L and rightᵀ = Q_R·R_R (thin QRs), left @ right = Q_L·(R_L·R_Rᵀ)·Q_Rᵀ, and Q_L, Q_R
    have orthonormal columns: the SVD U'SV'ᵀ of the small core R_L·R_Rᵀ (at most k×k for inner size k)
    gives the product's own singular values S, with U = Q_L·U' and Vᵀ = V'ᵀ·Q_Rᵀ. Exact, in
    O((out + in)·k²) instead of the dense SVD's O(out·in·min(out, in)).
    """
    q_left, r_left = torch.linalg.qr(left)
    q_right, r_right = torch.linalg.qr(right.T)
    u, sigma, vh = torch.linalg.svd(r_left @ r_right.T, full_matrices=False)
    return q_left @ u, sigma, vh @ q_right.T


def factorise(layers: dict[str, torch.Tensor | Factored], names: dict[str, tuple[str, str]], rank: int,
              alpha: float) -> Factorisation:
    """Truncated SVD of each layer's matrix into LoRA factors: B = U√(S/s), A = √(S/s)Vᵀ with s = alpha/rank.

    A layer is a dense (out, in) matrix (an aggregate a server optimiser stepped on) or a ``Factored``
    pair (a weighted mean of products, ``weighted_sum``), whose SVD is taken without forming it.
    Splitting √S evenly keeps A and B at comparable norms, so neither factor's learning rate dominates
    the next local round.
    """
    s = scaling(alpha, rank)
    state, discarded, total, worst = {}, 0.0, 0.0, 0.0
    for prefix, layer in layers.items():
        if isinstance(layer, torch.Tensor):
            u, sigma, vh = torch.linalg.svd(layer.double(), full_matrices=False)
        else:
            u, sigma, vh = _svd_of_factored(*layer)
        kept = min(rank, sigma.numel())
        root = (sigma[:kept] / s).sqrt()
        b = torch.zeros(u.shape[0], rank, dtype=torch.float64)
        a = torch.zeros(rank, vh.shape[1], dtype=torch.float64)
        b[:, :kept] = u[:, :kept] * root
        a[:kept] = root[:, None] * vh[:kept]
        a_name, b_name = names[prefix]
        state[a_name], state[b_name] = a.float(), b.float()
        cut, energy = float(sigma[kept:].pow(2).sum()), float(sigma.pow(2).sum())
        discarded, total = discarded + cut, total + energy
        worst = max(worst, (cut / energy) ** 0.5 if energy > 0 else 0.0)
    return Factorisation(state, discarded, total, worst)
