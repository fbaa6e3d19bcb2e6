"""FFA-LoRA on the tiny model: lora_A stays at the seeded initialisation every party shares; only B moves."""

import torch

from common.config import RunConfig
from common.exchange import AdapterExchange
from common.model import build_adapter_model


def test_ffa_lora_trains_and_sends_only_b_and_keeps_the_shared_a(tiny_model_dir):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none",
                               "adapter.method": "ffa-lora", "adapter.target-modules": "all-linear"})
    coordinator = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed, trainable=False)
    hospital = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
    initial = coordinator.adapter_state()
    sent = hospital.trainable_adapter_state()
    assert sent and all(".lora_B." in k for k in sent)
    assert set(sent) == set(AdapterExchange.from_config(cfg).shared(initial))

    params = [p for p in hospital.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    ids = torch.randint(0, hospital.tokenizer.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    for _ in range(3):
        hospital.model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    after = hospital.adapter_state()
    for name, tensor in initial.items():
        if ".lora_A." in name:  # frozen, and the same in every process built from the run seed
            assert torch.equal(after[name], tensor)
    assert any(not torch.equal(after[k], initial[k]) for k in sent)
