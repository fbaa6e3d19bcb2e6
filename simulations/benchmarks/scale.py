"""Round time against total data with 1, 2, 4, 8 and 16 simulated hospitals, on a tiny model.

    python -m simulations.benchmarks.scale --out runs/benchmarks/scale.json    # and scale.png beside it

Each federation size runs the real simulation (Flower's engine, Ray workers, the real apps) on a tiny
config-built Llama with SmolLM2's tokenizer and random weights (nothing downloaded), de-identification
off (its cost is per record, measured by ``simulations.benchmarks.pipeline``), LoRA, one local epoch per
round, so a round's work is proportional to the federation's data. Hospitals differ in size (the
synthetic generator makes later ones smaller), so total data is the x axis, not the hospital count.

Reported per size: the steady rounds' training-phase seconds (round 1 holds the model load and data
preparation; evaluation runs only after the last round), total training rows and tokens per round, and
the most base-model loads any worker process reported (``process-model-loads``: 1 means one load per
worker process, never one per hospital or round). The line is a least-squares fit of seconds on tokens;
the target is every point within 15% of it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from simulations.benchmarks.memory import build_random_model
from simulations.run import simulate

SIZES = (1, 2, 4, 8, 16)
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 1024, "tie_word_embeddings": True}
TARGET_LINE_DEVIATION = 0.15


def federation_point(hospitals: int, rounds: list[dict]) -> dict:
    """One federation size from its ``metrics.jsonl`` rows: steady training seconds and data per round."""
    steady = rounds[1:] or rounds
    trained = [m for r in steady for m in r["hospitals"].values() if "train.train-tokens" in m]
    return {
        "hospitals": hospitals,
        "train_phase_seconds": sum(r["train_seconds"] for r in steady) / len(steady),
        "round_seconds": sum(r["seconds"] for r in steady) / len(steady),
        "rows_per_round": sum(m["train.num-examples"] for m in trained) / len(steady),
        "tokens_per_round": sum(m["train.train-tokens"] for m in trained) / len(steady),
        "max_model_loads_per_process": max(m["train.process-model-loads"] for r in rounds
                                           for m in r["hospitals"].values() if "train.process-model-loads" in m),
    }


def linear_fit(points: list[dict], x: str = "tokens_per_round", y: str = "train_phase_seconds") -> dict:
    """Least-squares line y = a + b x through the points, and each point's relative distance from it."""
    xs, ys = [p[x] for p in points], [p[y] for p in points]
    n, mx, my = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((v - mx) ** 2 for v in xs)
    slope = sum((u - mx) * (v - my) for u, v in zip(xs, ys)) / spread if spread else 0.0
    intercept = my - slope * mx
    deviations = [abs(v - (intercept + slope * u)) / (intercept + slope * u) for u, v in zip(xs, ys)]
    return {"intercept_seconds": intercept, "seconds_per_token": slope, "relative_deviation": deviations,
            "points": n, "within_15pct": all(d <= TARGET_LINE_DEVIATION for d in deviations)}


def plot(points: list[dict], fit: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p["tokens_per_round"] for p in points]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(xs, [p["train_phase_seconds"] for p in points], "o")
    for p in points:
        ax.annotate(str(p["hospitals"]), (p["tokens_per_round"], p["train_phase_seconds"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=8)
    ends = [0, max(xs)]
    ax.plot(ends, [fit["intercept_seconds"] + fit["seconds_per_token"] * v for v in ends], "-", lw=1)
    ax.set_xlabel("training tokens per round (all hospitals)")
    ax.set_ylabel("training phase of a steady round (s)")
    ax.set_title("round time against total data (labels: hospitals)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/scale.json"))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=60, help="records of the largest synthetic hospital")
    args = parser.parse_args(argv)
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "tiny-model"
        build_random_model(model_dir, TINY)
        for size in map(int, args.sizes.split(",")):
            name = f"hospitals-{size}"
            simulate({"model.name": str(model_dir), "model.quantization": "none", "deid.enabled": False,
                      "simulation.num-hospitals": size, "simulation.scale": args.scale, "strategy.min-nodes": 1,
                      "train.rounds": args.rounds, "train.local-epochs": 1.0, "train.eval-every": args.rounds,
                      "data.root": f"{tmp}/data-{size}", "run.output-dir": tmp, "run.name": name,
                      "run.resume": False})
            rounds = [json.loads(line) for line in (Path(tmp) / name / "metrics.jsonl").read_text().splitlines()]
            points.append(federation_point(size, rounds))
    fit = linear_fit(points)
    result = {"points": points, "fit": fit, "settings": {"rounds": args.rounds, "scale": args.scale, "model": TINY},
              "one_model_load_per_process": all(p["max_model_loads_per_process"] == 1 for p in points)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(points, fit, args.out.with_suffix(".png"))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
