"""CP → IFT → HA (DPO) on the synthetic hospitals with SmolLM2: does each stage move its own metric?

    python -m simulations.benchmarks.stages --out stages.json

Two federated runs of the same schedule on the in-process grid (the real ServerApp loop and ClientApp,
without simulator start-up): a baseline with learning rate 0, whose evaluations score the untouched base
model on each stage's held-out data, and the trained run. Reported per stage, aggregated over hospitals
and per hospital: CP held-out perplexity on notes, IFT held-out loss on assistant tokens, HA reward
accuracy and margin (at the start of HA the policy is its own reference: margin 0, accuracy 0).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from simulations.inprocess import simulate_in_process

SCHEDULE = {"schedule.stages": "cp,ift,ha", "train.learning-rate": 1e-3, "stage.ha.learning-rate": 5e-4,
            "stage.ha.loss": "dpo", "align.beta": 0.1}


def _stage_numbers(summary: dict) -> dict:
    keys = ("eval-perplexity", "eval-loss", "eval-reward-accuracy", "eval-reward-margin")
    return {stage: {"aggregated": {k: m["last"][k] for k in keys if k in m["last"]},
                    "hospitals": {h: {k: v[k] for k in keys if k in v} for h, v in m["hospitals"].items()}}
            for stage, m in summary["stage_metrics"].items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--hospitals", type=int, default=2)
    parser.add_argument("--scale", type=int, default=60)
    parser.add_argument("--quantization", choices=("none", "nf4"), default="none")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per stage")
    parser.add_argument("--steps", type=int, default=4, help="local steps per round")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--eval-batches", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=Path("stages.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    schedule = {**SCHEDULE, "train.rounds": args.rounds, "train.local-steps": args.steps,
                "train.batch-size": args.batch_size, "train.max-seq-len": args.seq_len,
                "train.eval-batches": args.eval_batches}

    with tempfile.TemporaryDirectory() as tmp:
        common = {**schedule, "model.name": args.model, "model.quantization": args.quantization,
                  "simulation.num-hospitals": args.hospitals, "simulation.scale": args.scale,
                  "data.root": f"{tmp}/hospitals", "run.output-dir": f"{tmp}/runs", "run.resume": False,
                  "deid.enabled": False}
        started = time.perf_counter()
        baseline = simulate_in_process({**common, "run.name": "baseline", "train.learning-rate": 0.0,
                                        "stage.ha.learning-rate": 0.0, "train.rounds": 1, "train.local-steps": 1})
        trained = simulate_in_process({**common, "run.name": "trained"})
        seconds = time.perf_counter() - started

    before, after = _stage_numbers(baseline), _stage_numbers(trained)
    cp = (before["cp"]["aggregated"]["eval-perplexity"], after["cp"]["aggregated"]["eval-perplexity"])
    ift = (before["ift"]["aggregated"]["eval-loss"], after["ift"]["aggregated"]["eval-loss"])
    accuracy = after["ha"]["aggregated"]["eval-reward-accuracy"]
    result = {
        "model": args.model, "quantization": args.quantization, "hospitals": args.hospitals, "scale": args.scale,
        "schedule": schedule, "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
        "before": before, "after": after,
        "checks": {"cp_perplexity_falls": cp[1] < cp[0], "ift_loss_falls": ift[1] < ift[0],
                   "dpo_reward_accuracy_above_half": accuracy > 0.5},
        "cp_perplexity": {"before": cp[0], "after": cp[1]},
        "ift_loss": {"before": ift[0], "after": ift[1]},
        "ha": after["ha"]["aggregated"],
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("cp_perplexity", "ift_loss", "ha", "checks", "seconds")}, indent=2))


if __name__ == "__main__":
    main()
