"""Time of one exact LoRA aggregation on SmolLM2-135M-shaped layers: factored mean vs dense products.

    nice -n 15 python -m simulations.benchmarks.exact_aggregation --out runs/benchmarks/exact_aggregation.json

Random factors (nothing is loaded) for every linear layer LoRA adapts in SmolLM2-135M: 30 layers of
q/k/v/o (hidden 576, 3 KV heads of 64) and gate/up/down (MLP 1536), ``--rank`` 16, ``--hospitals`` 3 of
unequal weight. ``factored``: the weighted mean as FedAvg/FedProx take it (``lowrank.weighted_sum``, SVD from
thin QRs); ``dense``: the same mean formed as dense products and SVD'd, the arithmetic a server optimiser's
aggregate goes through. Both are timed once in this process and their products compared; timings are only
as good as the machine was quiet.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from common import lowrank

HIDDEN, MLP, KV = 576, 1536, 192
SHAPES = {"q_proj": (HIDDEN, HIDDEN), "k_proj": (KV, HIDDEN), "v_proj": (KV, HIDDEN), "o_proj": (HIDDEN, HIDDEN),
          "gate_proj": (MLP, HIDDEN), "up_proj": (MLP, HIDDEN), "down_proj": (HIDDEN, MLP)}  # (out, in)
ALPHA = 32.0


def random_adapter(shapes: dict[str, tuple[int, int]], layers: int, rank: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for layer in range(layers):
        for name, (out, inp) in shapes.items():
            block = "mlp" if name in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            prefix = f"model.layers.{layer}.{block}.{name}"
            state[f"{prefix}.lora_A.weight"] = 0.01 * torch.randn(rank, inp, generator=g)
            state[f"{prefix}.lora_B.weight"] = 0.01 * torch.randn(out, rank, generator=g)
    return state


def measure(layers: int, rank: int, hospitals: int, shapes: dict[str, tuple[int, int]] = SHAPES) -> dict:
    states = [random_adapter(shapes, layers, rank, seed) for seed in range(hospitals)]
    weights = [float(k + 1) for k in range(hospitals)]
    weights = [w / sum(weights) for w in weights]
    pairs = lowrank.lora_pairs(states[0])

    started = time.perf_counter()
    factored = lowrank.factorise(lowrank.weighted_sum([lowrank.factored_products(s, ALPHA) for s in states],
                                                      weights), pairs, rank, ALPHA)
    factored_seconds = time.perf_counter() - started

    started = time.perf_counter()
    per_hospital = [lowrank.products(s, ALPHA) for s in states]
    dense = lowrank.factorise({p: sum(w * h[p] for h, w in zip(per_hospital, weights)) for p in pairs}, pairs,
                              rank, ALPHA)
    dense_seconds = time.perf_counter() - started

    got, expected = lowrank.products(factored.state, ALPHA), lowrank.products(dense.state, ALPHA)
    difference = max(float((got[p] - expected[p]).norm() / expected[p].norm()) for p in pairs)
    return {"layers": len(pairs), "rank": rank, "hospitals": hospitals, "threads": torch.get_num_threads(),
            "factored_seconds": factored_seconds, "dense_seconds": dense_seconds,
            "speedup": dense_seconds / factored_seconds, "max_relative_product_difference": difference,
            "truncation_error": factored.relative_error}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/exact_aggregation.json"))
    parser.add_argument("--layers", type=int, default=30, help="decoder layers (SmolLM2-135M: 30)")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--hospitals", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure(args.layers, args.rank, args.hospitals)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
