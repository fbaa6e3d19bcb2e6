"""Privacy benchmark: canary exposure, membership inference, step time and held-out loss, with and without DP.

    python -m simulations.benchmarks.privacy --out privacy.json                 # SmolLM2, modest settings
    python -m simulations.benchmarks.privacy --model /path/to/tiny --rounds 1  # a quick smoke run

For each mode (no DP; DP at ``--epsilon``, δ=1e-5) it generates fresh synthetic hospitals, plants
canaries repeated in hospital-0's notes, runs the federation (by default continued pretraining alone: the
stage that trains on notes; ``--stages cp,ift`` adds instruction tuning after it), and audits the exported
global adapter. De-identification is off so that DP alone is measured (the
canary secrets look like identifiers and would otherwise be redacted before training).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from client.data import prepare_hospital_data
from common.config import RunConfig
from common.model import load_tokenizer
from privacy.audit import audit_adapter, make_canaries, plant
from server.report import AUDIT_FILE, write_report
from simulations.run import ensure_synthetic_hospitals, simulate


def run_mode(name: str, overrides: dict, work: Path, args) -> dict:
    overrides = {**overrides, "data.root": str(work / name / "hospitals"), "run.output-dir": str(work / name / "runs"),
                 "run.name": name, "run.resume": False}
    cfg = RunConfig.from_flat(overrides)
    ensure_synthetic_hospitals(cfg)
    canaries = make_canaries(2 * args.canaries, cfg.run.seed)
    planted, reference = canaries[:args.canaries], canaries[args.canaries:]
    hospital = Path(cfg.data.root) / "hospital-0"
    marker = hospital / ".canaries-planted"
    if not marker.exists():
        plant(hospital / "notes.jsonl", planted, args.repeats, cfg.run.seed)
        marker.write_text(str(len(planted)))
    if not args.audit_only:
        simulate(overrides)
    run_dir = Path(cfg.run.output_dir) / name
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    step_seconds = [h["train.train-seconds"] / cfg.train.local_steps
                    for r in rows for h in r["hospitals"].values() if "train.train-seconds" in h]
    tokenizer = load_tokenizer(cfg.model)
    prepared = prepare_hospital_data(hospital, cfg, deidentifier=None,
                                     count_tokens=lambda t: len(tokenizer(t, add_special_tokens=False)["input_ids"]))
    members = [n.text for n in prepared.train.notes][:args.mia_records]
    non_members = [n.text for n in prepared.heldout.notes][:args.mia_records]
    report = audit_adapter(cfg.model, Path(summary["adapter_dir"]), planted, reference, members, non_members,
                           seed=cfg.run.seed, alternatives=args.alternatives)
    (run_dir / AUDIT_FILE).write_text(json.dumps(report.to_dict(), indent=2))
    write_report(run_dir)  # the run's own report now shows its audit
    return {"audit": report.to_dict(), "final_eval_loss": summary["eval_loss"][-1],
            "step_seconds_median": statistics.median(step_seconds), "privacy": summary["privacy"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--stages", default="cp", help="schedule.stages of both runs")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per stage")
    parser.add_argument("--local-steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--scale", type=int, default=60, help="records of the largest synthetic hospital")
    parser.add_argument("--canaries", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--alternatives", type=int, default=100)
    parser.add_argument("--mia-records", type=int, default=24)
    parser.add_argument("--epsilon", type=float, default=8.0)
    parser.add_argument("--work", default=".medfed/bench-privacy")
    parser.add_argument("--out", default="privacy-benchmark.json")
    parser.add_argument("--audit-only", action="store_true",
                        help="audit the runs an earlier call trained under --work (same settings) without retraining")
    args = parser.parse_args(argv)
    base = {"model.name": args.model, "model.quantization": "none", "schedule.stages": args.stages,
            "train.rounds": args.rounds, "train.local-steps": args.local_steps, "train.batch-size": args.batch_size,
            "train.learning-rate": args.learning_rate, "train.max-seq-len": 128, "train.eval-batches": 4,
            "simulation.num-hospitals": 2, "simulation.scale": args.scale, "deid.enabled": False,
            "data.contamination-check": False}
    work = Path(args.work)
    results = {"settings": vars(args),
               "no_dp": run_mode("no-dp", base, work, args),
               "dp": run_mode("dp", {**base, "dp.enabled": True, "dp.target-epsilon": args.epsilon, "dp.delta": 1e-5},
                              work, args)}
    results["dp_step_time_ratio"] = results["dp"]["step_seconds_median"] / results["no_dp"]["step_seconds_median"]
    results["dp_eval_loss_cost"] = results["dp"]["final_eval_loss"] - results["no_dp"]["final_eval_loss"]
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps({k: results[k] for k in ("dp_step_time_ratio", "dp_eval_loss_cost")} |
                     {m: results[m]["audit"] for m in ("no_dp", "dp")}, indent=2))


if __name__ == "__main__":
    main()
