"""What a federated round costs with the real base model: time, throughput, bytes and memory.

    python -m simulations.benchmarks.round_cost --out runs/benchmarks/round_cost.json

Runs the default simulation (3 synthetic hospitals, SmolLM2-135M-Instruct, IFT) once with QLoRA and
once with LoRA and writes, per round: wall time of the training phase, the hospitals' summed local
training time (simulated hospitals train one after another on these cores), the federation overhead
(the difference) and its share, tokens/s per hospital, adapter bytes each hospital sends and their ratio
to the full base model, and peak RSS of the hospitals' worker and of the coordinator.
Round 1 includes the one-off model load and data preparation; steady-state rounds are 2 and later.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from pathlib import Path

from simulations.run import simulate

TARGET_BYTES_RATIO = 0.01
TARGET_OVERHEAD_SHARE = 0.10


def measure(quantization: str, overrides: dict, workdir: Path) -> dict:
    run_dir = workdir / quantization
    simulate({**overrides, "model.quantization": quantization, "run.name": quantization,
              "run.output-dir": str(workdir), "run.resume": False})
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
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
            "tokens_per_second": {h: m["train.tokens-per-second"] for h, m in hospitals.items()},
            "bytes_up_per_hospital": r["bytes_up"] / max(1, len(hospitals)),
            "bytes_down_per_hospital": r["bytes_down"] / max(1, len(r["hospitals"])),
            "quantized_4bit": {h: m["train.quantized-4bit"] for h, m in hospitals.items()},
            "hospital_peak_rss_mb": max(m["train.peak-rss-mb"] for m in hospitals.values()),
        })
    steady = rows[1:] or rows
    bytes_ratio = max(r["bytes_up_per_hospital"] for r in rows) / summary["base_model_bytes"]
    overhead = max(r["overhead_share"] for r in steady)
    return {
        "rounds": rows,
        "base_model_bytes_at_wire_precision": summary["base_model_bytes"],
        "bytes_ratio_per_hospital_round": bytes_ratio,
        "steady_overhead_share_max": overhead,
        "mean_tokens_per_second": sum(v for r in steady for v in r["tokens_per_second"].values())
        / sum(len(r["tokens_per_second"]) for r in steady),
        "targets": {"bytes_ratio_le_1pct": bytes_ratio <= TARGET_BYTES_RATIO,
                    "overhead_le_10pct": overhead <= TARGET_OVERHEAD_SHARE},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/round_cost.json"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="nf4,none", help="model.quantization values to measure")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"train.rounds": args.rounds, "data.root": str(Path(tmp) / "hospitals")}
        for mode in args.modes.split(","):
            results["qlora" if mode == "nf4" else "lora"] = measure(mode, overrides, Path(tmp))
    results["coordinator_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk != "rounds"}
                      for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
