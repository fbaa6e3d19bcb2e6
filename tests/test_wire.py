"""The adapter wire format: round trips at every precision, and the receiver's checks."""

from __future__ import annotations

import pytest
import torch

from common import wire
from common.config import AdapterSection, ModelSection
from common.model import build_adapter_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return build_adapter_model(ModelSection(name=str(tiny_model_dir), quantization="none"),
                               AdapterSection(rank=4), seed=0)


def test_state_holds_only_trainable_adapter_tensors(loaded):
    state = loaded.adapter_state()
    trainable = {n for n, p in loaded.model.named_parameters() if p.requires_grad}
    assert state and all("lora_" in name for name in state)
    assert sum(t.numel() for t in state.values()) == sum(
        p.numel() for n, p in loaded.model.named_parameters() if n in trainable)


@pytest.mark.parametrize("dtype, tolerance", [("float32", 0.0), ("float16", 1e-3), ("bfloat16", 1e-2)])
def test_round_trip_within_precision(loaded, dtype, tolerance):
    state = {k: v + torch.randn_like(v) * 0.1 for k, v in loaded.adapter_state().items()}
    record = wire.encode(state, dtype)
    spec = wire.AdapterSpec.of(state, dtype)
    wire.validate(record, spec)
    decoded = wire.decode(record)
    assert decoded.keys() == state.keys()
    for name, tensor in state.items():
        assert decoded[name].dtype == torch.float32
        assert torch.allclose(decoded[name], tensor, atol=tolerance * max(1.0, tensor.abs().max().item()))
    payload = sum(t.numel() for t in state.values()) * wire.WIRE_DTYPES[dtype].itemsize
    assert payload <= wire.record_bytes(record) <= payload + 160 * len(state)  # numpy headers at most


def test_loading_decoded_weights_restores_the_model(loaded):
    original = loaded.adapter_state()
    changed = {k: torch.full_like(v, 0.5) for k, v in original.items()}
    loaded.load_adapter_state(wire.decode(wire.encode(changed, "float32")))
    assert all(torch.equal(v, changed[k]) for k, v in loaded.adapter_state().items())
    loaded.load_adapter_state(original)


def _spec_and_state(loaded, dtype="float16"):
    state = loaded.adapter_state()
    return wire.AdapterSpec.of(state, dtype), state


def test_rejects_missing_and_extra_names(loaded):
    spec, state = _spec_and_state(loaded)
    name = next(iter(state))
    with pytest.raises(wire.WireError, match="1 missing"):
        wire.validate(wire.encode({k: v for k, v in state.items() if k != name}, "float16"), spec)
    with pytest.raises(wire.WireError, match="1 unexpected"):
        wire.validate(wire.encode({**state, "model.embed_tokens.weight": torch.zeros(3)}, "float16"), spec)


def test_rejects_wrong_shape_dtype_and_non_finite(loaded):
    spec, state = _spec_and_state(loaded)
    name = next(iter(state))
    with pytest.raises(wire.WireError, match="shape"):
        wire.validate(wire.encode({**state, name: torch.zeros(1, 1)}, "float16"), spec)
    with pytest.raises(wire.WireError, match="dtype float32, expected float16"):
        wire.validate(wire.encode(state, "float32"), spec)
    bad = state[name].clone()
    bad.view(-1)[0] = float("nan")
    with pytest.raises(wire.WireError, match="NaN or Inf"):
        wire.validate(wire.encode({**state, name: bad}, "float16"), spec)
