"""Peak memory of a hospital's local training at about 1B parameters: LoRA, QLoRA, QLoRA + checkpointing.

    python -m simulations.benchmarks.memory --out runs/benchmarks/memory.json

A Llama-shaped model of about 1.07B parameters (Llama-3.2-1B's layers: hidden 2048, 16 layers, MLP 8192,
32 heads, 8 KV heads; SmolLM2's tokenizer and its 49,152-token vocabulary, tied embeddings) is built from a
config with random weights (nothing is downloaded) and saved once. Each mode then runs in a process of
its own, so that one mode's allocations never inflate another's peak: it loads the model the way a
hospital does (``common.model.build_adapter_model``), takes a few IFT optimizer steps on full rows, and
reports its peak resident memory twice: over the whole process (loading included) and over training
alone (the kernel's high-water mark reset after loading, ``/proc/self/clear_refs``), beside the
resident memory of the interpreter and libraries before loading (the fixed part no quantisation shrinks).
On a GPU the numbers are CUDA's peak allocation instead. Speeds are not reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

# Every mode returns freed memory to the OS (model.release-freed-memory), so that the peaks compare the models
# and not glibc's heap retention; a hospital that keeps the default trades that memory for speed.
MODES = {  # name -> run-config overrides
    "lora": {"model.quantization": "none", "model.release-freed-memory": True},
    "qlora": {"model.quantization": "nf4", "model.release-freed-memory": True},
    "qlora+checkpointing": {"model.quantization": "nf4", "model.gradient-checkpointing": True,
                            "model.release-freed-memory": True},
}
LLAMA_1B = {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
            "num_key_value_heads": 8, "max_position_embeddings": 4096, "tie_word_embeddings": True}
TARGET_QLORA_SHARE = 0.5


def build_random_model(target: Path, shape: dict) -> int:
    """Save a random-weight Llama of ``shape`` with SmolLM2's tokenizer to ``target``; returns its parameters."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from common.model import resolve_model_dir

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir("smollm2-135m-instruct"))
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **shape)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)  # bfloat16 on disk: half the bytes to write
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return sum(p.numel() for p in model.parameters())


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM")


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def run_mode(model_dir: Path, mode: str, *, steps: int, batch_size: int, seq_len: int) -> dict:
    """One mode in this process: load, train ``steps`` steps, report peak memory."""
    import random

    from client.stages.ift import InstructionTuning
    from client.train import train_round
    from common.config import RunConfig
    from common.model import build_adapter_model
    from common.stages import build_schedule
    from common.tokens import IGNORE, Example

    cfg = RunConfig.from_flat({"model.name": str(model_dir), **MODES[mode], "train.max-seq-len": seq_len,
                               "train.batch-size": batch_size, "train.local-steps": steps})
    imports_rss_mb = _peak_rss_mb()
    cuda = torch.cuda.is_available()
    started = time.perf_counter()
    loaded = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
    loading = {"load_seconds": time.perf_counter() - started, "load_peak_rss_mb": _peak_rss_mb()}
    if cuda:
        loading["load_peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
    _reset_peak_rss()
    # Full rows of half prompt, half answer: the activation memory of the worst case, a row of max-seq-len.
    rng = random.Random(0)
    rows = []
    for _ in range(batch_size * steps):
        ids = [rng.randrange(10, len(loaded.tokenizer)) for _ in range(seq_len)]
        rows.append(Example(ids, [IGNORE] * (seq_len // 2) + ids[seq_len // 2:]))
    stage = build_schedule(cfg).stages[0]
    report = train_round(loaded.model, InstructionTuning(loaded.tokenizer, seq_len), rows, stage, round_in_stage=1,
                         rng=rng)
    result = {"imports_rss_mb": imports_rss_mb, **loading, "mode": mode, "quantization": loaded.quantization,
              "base_parameters": loaded.base_parameters, "steps": report.steps, "batch_rows": batch_size, "seq_len": seq_len, "loss": report.loss,
              "train_peak_rss_mb": _peak_rss_mb(), "device": "cuda" if cuda else "cpu",
              "threads": torch.get_num_threads()}
    if cuda:
        result["train_peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def extrapolate(measured: dict, parameters_1b: int) -> dict:
    """What 3B and 8B bases would need, scaled linearly in parameter count from the 1B measurement.

    An estimate, labelled so: weights scale with parameters, while activations scale with hidden size x
    layers x row length, which grows a little slower; the estimate errs high for activations.
    """
    sizes = {"1B (measured)": parameters_1b, "3B (extrapolated)": 3.21e9, "8B (extrapolated)": 8.03e9}
    return {mode: {size: round(m["train_peak_mb"] * n / parameters_1b / 1024, 1) for size, n in sizes.items()}
            for mode, m in measured.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/memory.json"))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--layers", type=int, default=LLAMA_1B["num_hidden_layers"],
                        help="fewer layers for a quick check of the script itself")
    parser.add_argument("--child", nargs=2, metavar=("MODEL_DIR", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_mode(Path(args.child[0]), args.child[1], steps=args.steps, batch_size=args.batch_size,
                                  seq_len=args.seq_len)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        parameters = build_random_model(Path(tmp), {**LLAMA_1B, "num_hidden_layers": args.layers})
        results = {}
        for mode in args.modes.split(","):
            out = subprocess.run([sys.executable, "-m", "simulations.benchmarks.memory", "--child", tmp, mode,
                                  "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                                  "--seq-len", str(args.seq_len)],
                                 capture_output=True, text=True, check=True, env=os.environ.copy())
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    peak = "train_peak_cuda_mb" if torch.cuda.is_available() else "train_peak_rss_mb"
    measured = {mode: {"train_peak_mb": r[peak], "load_peak_mb": r.get("load_peak_cuda_mb", r["load_peak_rss_mb"]),
                       "imports_rss_mb": r["imports_rss_mb"]} for mode, r in results.items()}
    summary = {"parameters": parameters, "peak_measure": peak, "modes": results, "measured": measured,
               "need_gb": extrapolate(measured, parameters)}
    if {"lora", "qlora"} <= measured.keys():
        share = measured["qlora"]["train_peak_mb"] / measured["lora"]["train_peak_mb"]
        summary["qlora_share_of_lora"] = share
        summary["target_qlora_le_half_of_lora"] = share <= TARGET_QLORA_SHARE
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "modes"}, indent=2))


if __name__ == "__main__":
    main()
