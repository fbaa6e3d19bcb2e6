"""A 2-hospital, 2-round federation end to end on Flower's simulation engine, with the tiny model.

Every message in both directions is recorded on the way: none may carry anything but adapter tensors.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from flwr.superlink.grid import InMemoryGrid
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from simulations.run import simulate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory):
    """Run the federation once for this module; return (run folder, every message sent and received)."""
    tmp = tmp_path_factory.mktemp("sim")
    seen = []
    original = InMemoryGrid.send_and_receive

    def recording(self, messages, *, timeout=None):
        messages = list(messages)
        seen.extend(("down", m) for m in messages)
        replies = list(original(self, messages, timeout=timeout))
        seen.extend(("up", r) for r in replies)
        return replies

    patch = pytest.MonkeyPatch()
    patch.setattr(InMemoryGrid, "send_and_receive", recording)
    try:
        simulate({"model.name": str(tiny_model_dir), "model.quantization": "none",
                  "adapter.target-modules": "all-linear", "train.rounds": 2, "train.local-steps": 8,
                  "train.learning-rate": 1e-2, "simulation.num-hospitals": 2, "simulation.scale": 40,
                  "data.root": str(tmp / "hospitals"), "run.output-dir": str(tmp / "runs"), "deid.enabled": False})
    finally:
        patch.undo()
    return tmp / "runs" / "default", seen


def test_loss_falls_and_every_round_is_recorded(run):
    run_dir, _ = run
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["server_round"] for r in rounds] == [1, 2]
    assert all(len(r["hospitals"]) == 2 and not r["rejected"] for r in rounds)
    assert rounds[1]["train"]["train-loss"] < rounds[0]["train"]["train-loss"]
    assert rounds[1]["evaluate"]["eval-loss"] < rounds[0]["evaluate"]["eval-loss"]
    # The federation's perplexity is that of its mean loss (a mean of perplexities would overstate it).
    assert all(r["evaluate"]["eval-perplexity"] == pytest.approx(math.exp(r["evaluate"]["eval-loss"])) for r in rounds)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rounds"] == 2 and set(summary["data_cards"]) == {"hospital-0", "hospital-1"}
    assert {"round-00001.safetensors", "round-00002.safetensors"} <= {p.name for p in (run_dir / "checkpoints").iterdir()}


def test_messages_carry_only_adapter_tensors_in_both_directions(run, tiny_model_dir):
    _, seen = run
    base_names = set(AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict())
    directions = {direction for direction, _ in seen}
    assert directions == {"down", "up"}
    with_arrays = 0
    for direction, message in seen:
        if message.has_error():
            continue
        for record in message.content.array_records.values():
            with_arrays += 1
            names = set(record.keys())
            assert names and all(".lora_A." in n or ".lora_B." in n for n in names), direction
            # PEFT names wrap the base names; no array is a base tensor under its own name.
            assert not names & base_names
    assert with_arrays >= 8  # 2 rounds x 2 hospitals x (train down + train up), plus evaluation downloads


def test_exported_adapter_loads_with_peft_and_generates(run, tiny_model_dir):
    run_dir, _ = run
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = PeftModel.from_pretrained(base, run_dir / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "adapter")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What treats asthma?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, min_new_tokens=5, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 5
    # The export holds the trained global adapter, not the initial one: lora_B starts at zero.
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "merged")
    with torch.no_grad():
        assert torch.allclose(merged(**prompt).logits, model(**prompt).logits, atol=1e-4)
