"""The int8 wire: block-wise 8-bit codes with float32 scales, checked like every other wire dtype."""

import pytest
import torch
from flwr.app import Array

from common import wire


def _state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {"layer.lora_A.weight": torch.randn(8, 100, generator=g),
             "layer.lora_B.weight": torch.randn(60, 8, generator=g) * 1e-3}
    state["layer.lora_B.weight"][0, 0] = 5.0  # one outlier: block-wise scales must contain its damage
    return state


@pytest.mark.parametrize("block_size", [0, 1, 64, 1000])
def test_round_trip_error_within_half_a_step(block_size):
    state = _state()
    decoded = wire.decode(wire.encode(state, "int8", block_size))
    for name, tensor in state.items():
        bound = wire.int8_error_bound(tensor, block_size)
        assert decoded[name].shape == tensor.shape
        assert ((decoded[name] - tensor).abs() <= bound * (1 + 1e-6) + 1e-12).all()


def test_block_scales_confine_an_outlier_to_its_block():
    state = _state()
    blocked = wire.decode(wire.encode(state, "int8", 64))["layer.lora_B.weight"]
    whole = wire.decode(wire.encode(state, "int8", 0))["layer.lora_B.weight"]
    # Per-tensor: the outlier's scale (5/127) rounds every small value away; per block only its own block.
    assert (whole[1:] == 0).float().mean() > 0.9
    assert (blocked[-1] != 0).all()


def test_bytes_are_at_least_3_5x_fewer_than_float32():
    state = _state()
    q8 = wire.record_bytes(wire.encode(state, "int8", 64))
    fp32 = wire.record_bytes(wire.encode(state, "float32"))
    assert fp32 / q8 >= 3.5
    assert q8 == wire.AdapterSpec.of(state, "int8", 64).num_bytes


def test_zero_tensor_round_trips_exactly():
    zero = {"z.lora_B.weight": torch.zeros(3, 5)}
    assert torch.equal(wire.decode(wire.encode(zero, "int8"))["z.lora_B.weight"], zero["z.lora_B.weight"])
    assert wire.relative_error(zero, wire.encode(zero, "int8")) == 0.0


def test_validate_checks_block_size_and_byte_count():
    state = _state()
    spec = wire.AdapterSpec.of(state, "int8", 64)
    wire.validate(wire.encode(state, "int8", 64), spec)
    with pytest.raises(wire.WireError, match="block size"):
        wire.validate(wire.encode(state, "int8", 32), spec)
    record = wire.encode(state, "int8", 64)
    good = record["layer.lora_A.weight"]
    record["layer.lora_A.weight"] = Array(dtype=good.dtype, shape=tuple(good.shape), stype=good.stype,
                                          data=good.data[:-1])
    with pytest.raises(wire.WireError, match="bytes"):
        wire.validate(record, spec)


def test_spec_at_rank_resizes_only_the_rank_dimension():
    spec = wire.AdapterSpec.of(_state(), "float16")
    assert spec.at_rank(3).shapes == {"layer.lora_A.weight": (3, 100), "layer.lora_B.weight": (60, 3)}
