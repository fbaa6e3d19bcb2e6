"""What a federated round costs with the real base model: time, throughput, bytes and memory.

    python -m simulations.benchmarks.round_cost --out runs/benchmarks/round_cost.json

Two parts, each in one process:

- ``reference``: medfed's local IFT loop (``client.train.train_round`` on its packed rows, LM head on the
  labelled positions only) beside a plain PEFT loop on the same model, the same conversations, packed into
  full ``max-seq-len`` rows (the usual constant-length packing: rows cut from the concatenated token stream,
  ``model(input_ids, labels=labels).loss``, AdamW, clipping). The two alternate, A, B, A, B, so that load
  from other processes on the machine falls on both alike; the ratio of their tokens/s is the number to
  read (absolute speeds are only as good as the machine was quiet).
- ``simulation``: the default simulation (3 synthetic hospitals, SmolLM2-135M-Instruct, IFT) with each
  ``--modes`` quantisation, per round: wall time of the training phase, the hospitals' summed local training
  time (simulated hospitals train one after another on these cores), the federation overhead (the
  difference) and its share, the evaluation phase's share of the round, tokens/s per hospital, adapter bytes
  each hospital sends and their ratio to the full base model, and peak RSS of the hospitals' worker and of
  the coordinator. Round 1 includes the one-off model load and data preparation; steady rounds are 2 and later.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from client.data import prepare_hospital_data
from client.stages import stage_objective
from client.train import train_round
from common.config import RunConfig
from common.model import build_adapter_model
from common.stages import build_schedule
from common.tokens import IGNORE
from simulations.run import ensure_synthetic_hospitals, parse_overrides, simulate

TARGET_BYTES_RATIO = 0.01
TARGET_OVERHEAD_SHARE = 0.10
TARGET_REFERENCE_RATIO = 1.0


# -- medfed's loop beside a plain PEFT loop -------------------------------------------------------------


def full_rows(examples: list, length: int) -> tuple[list[list[int]], list[list[int]]]:
    """The examples' tokens and labels concatenated and cut into rows of exactly ``length`` (the tail dropped)."""
    ids = [t for e in examples for t in e.input_ids]
    labels = [t for e in examples for t in e.labels]
    cut = len(ids) - len(ids) % length
    return ([ids[i:i + length] for i in range(0, cut, length)], [labels[i:i + length] for i in range(0, cut, length)])


def plain_peft_steps(model: torch.nn.Module, rows: tuple[list[list[int]], list[list[int]]], *, steps: int,
                     batch_size: int, learning_rate: float, max_grad_norm: float,
                     rng: random.Random) -> tuple[int, float]:
    """The reference: a textbook PEFT loop over fixed full rows; returns (tokens, seconds)."""
    ids, labels = rows
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate)
    device = next(model.parameters()).device
    model.train()
    tokens, start = 0, time.perf_counter()
    for _ in range(steps):
        chosen = rng.sample(range(len(ids)), min(batch_size, len(ids)))
        batch_ids = torch.tensor([ids[i] for i in chosen], device=device)
        loss = model(input_ids=batch_ids, labels=torch.tensor([labels[i] for i in chosen], device=device)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += batch_ids.numel()
    return tokens, time.perf_counter() - start


def throughput_ratio(trials: list[dict]) -> dict:
    """medfed's tokens/s over the reference's from interleaved trials (each: loop, tokens, seconds).

    Pooled over all trials of each loop, and per adjacent (reference, medfed) pair, whose spread says how
    much the machine's load moved between trials.
    """
    def rate(loop: str, chosen=None) -> float:
        picked = [t for t in (chosen or trials) if t["loop"] == loop]
        return sum(t["tokens"] for t in picked) / sum(t["seconds"] for t in picked)

    pairs = [trials[i:i + 2] for i in range(0, len(trials) - 1, 2)]
    pair_ratios = [rate("medfed", p) / rate("reference", p) for p in pairs]
    return {"reference_tokens_per_second": rate("reference"), "medfed_tokens_per_second": rate("medfed"),
            "ratio": rate("medfed") / rate("reference"), "pair_ratios": pair_ratios,
            "median_pair_ratio": statistics.median(pair_ratios)}


def reference_comparison(overrides: dict, *, pairs: int, steps: int) -> dict:
    """Interleaved trials of both loops on one hospital's IFT conversations (de-identification off: only the
    token counts matter here, and they are the same either way)."""
    cfg = RunConfig.from_flat({**overrides, "deid.enabled": False})
    hospital = ensure_synthetic_hospitals(cfg)[0]
    loaded = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
    stage = next(s for s in build_schedule(cfg).stages if s.kind == "ift")
    conversations = prepare_hospital_data(hospital, cfg).train
    objective = stage_objective(stage, loaded.tokenizer, cfg)
    packed = objective.examples(conversations)
    unpacked = stage_objective(dataclasses.replace(stage, options=dataclasses.replace(stage.options, pack=False)),
                               loaded.tokenizer, cfg).examples(conversations)
    rows = full_rows(unpacked, stage.max_seq_len)
    labelled = sum(t != IGNORE for r in rows[1] for t in r) / sum(map(len, rows[1]))
    initial = loaded.adapter_state()

    def medfed(seed: int, steps: int) -> tuple[int, float]:
        report = train_round(loaded.model, objective, packed, dataclasses.replace(stage, local_steps=steps),
                             round_in_stage=1, rng=random.Random(seed), max_grad_norm=cfg.train.max_grad_norm)
        return report.tokens, report.seconds

    def reference(seed: int, steps: int) -> tuple[int, float]:
        return plain_peft_steps(loaded.model, rows, steps=steps, batch_size=stage.batch_size,
                                learning_rate=stage.learning_rate, max_grad_norm=cfg.train.max_grad_norm,
                                rng=random.Random(seed))

    for loop in (reference, medfed):  # warm-up: first-call allocations and kernel choices are not the loop's cost
        loaded.load_adapter_state(initial)
        loop(-1, 1)
    trials = []
    for trial in range(2 * pairs):
        name, loop = ("reference", reference) if trial % 2 == 0 else ("medfed", medfed)
        loaded.load_adapter_state(initial)
        tokens, seconds = loop(trial // 2, steps)
        trials.append({"loop": name, "tokens": tokens, "seconds": seconds})
    result = throughput_ratio(trials)
    return {**result, "trials": trials, "steps_per_trial": steps, "batch_rows": stage.batch_size,
            "max_seq_len": stage.max_seq_len, "conversations": len(conversations.conversations),
            "medfed_rows": len(packed), "medfed_row_fill": sum(len(e.input_ids) for e in packed)
            / (len(packed) * stage.max_seq_len), "labelled_share": labelled, "quantization": loaded.quantization,
            "threads": torch.get_num_threads(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "target_ratio_ge_1": result["ratio"] >= TARGET_REFERENCE_RATIO}


# -- the simulation's rounds ----------------------------------------------------------------------------


def round_rows(rounds: list[dict]) -> list[dict]:
    """Per round, from the coordinator's ``metrics.jsonl`` rows: times, shares, throughput, bytes, memory."""
    rows = []
    for r in rounds:
        hospitals = {h: m for h, m in r["hospitals"].items() if "train.train-seconds" in m}
        local = sum(m["train.train-seconds"] for m in hospitals.values())
        rows.append({
            "round": r["server_round"],
            "round_seconds": r["seconds"],
            "train_phase_seconds": r["train_seconds"],
            "evaluate_phase_seconds": r["evaluate_seconds"],
            "local_training_seconds": local,
            "overhead_seconds": r["train_seconds"] - local,
            "overhead_share": (r["train_seconds"] - local) / r["train_seconds"],
            "evaluation_share": r["evaluate_seconds"] / r["seconds"],
            "tokens_per_second": {h: m["train.tokens-per-second"] for h, m in hospitals.items()},
            "bytes_up_per_hospital": r["bytes_up"] / max(1, len(hospitals)),
            "bytes_down_per_hospital": r["bytes_down"] / max(1, len(r["hospitals"])),
            "quantized_4bit": {h: m["train.quantized-4bit"] for h, m in hospitals.items()},
            "hospital_peak_rss_mb": max(m["train.peak-rss-mb"] for m in hospitals.values()),
        })
    return rows


def summarise(rows: list[dict], base_model_bytes: int) -> dict:
    steady = rows[1:] or rows
    bytes_ratio = max(r["bytes_up_per_hospital"] for r in rows) / base_model_bytes
    overhead = max(r["overhead_share"] for r in steady)
    return {
        "rounds": rows,
        "base_model_bytes_at_wire_precision": base_model_bytes,
        "bytes_ratio_per_hospital_round": bytes_ratio,
        "steady_overhead_share_max": overhead,
        "steady_evaluation_share_mean": sum(r["evaluation_share"] for r in steady) / len(steady),
        "mean_tokens_per_second": sum(v for r in steady for v in r["tokens_per_second"].values())
        / sum(len(r["tokens_per_second"]) for r in steady),
        "targets": {"bytes_ratio_le_1pct": bytes_ratio <= TARGET_BYTES_RATIO,
                    "overhead_le_10pct": overhead <= TARGET_OVERHEAD_SHARE},
    }


def measure(quantization: str, overrides: dict, workdir: Path) -> dict:
    run_dir = workdir / quantization
    simulate({**overrides, "model.quantization": quantization, "run.name": quantization,
              "run.output-dir": str(workdir), "run.resume": False})
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    return summarise(round_rows(rounds), summary["base_model_bytes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/round_cost.json"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="nf4,none", help="model.quantization values to simulate (empty: none)")
    parser.add_argument("--reference-pairs", type=int, default=2, help="(reference, medfed) trial pairs; 0: skip")
    parser.add_argument("--reference-steps", type=int, default=3, help="optimizer steps per trial")
    parser.add_argument("--run-config", default="", help="extra key=value overrides (TOML values) for both parts")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"train.rounds": args.rounds, "data.root": str(Path(tmp) / "hospitals"),
                     **parse_overrides(args.run_config)}
        if args.reference_pairs:
            results["reference"] = reference_comparison({**overrides, "model.quantization": "nf4"},
                                                        pairs=args.reference_pairs, steps=args.reference_steps)
        for mode in filter(None, args.modes.split(",")):
            results["qlora" if mode == "nf4" else "lora"] = measure(mode, overrides, Path(tmp))
            # This process is the coordinator (the hospitals run in Ray workers), after the reference part.
            results["coordinator_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk not in ("rounds", "trials")}
                      for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
