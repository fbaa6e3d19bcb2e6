"""The adapter wire format: trainable adapter tensors by name in a Flower ArrayRecord.

Only adapter tensors travel, in both directions, at the precision named by ``wire.dtype``.
float32 and float16 travel as Flower's own numpy arrays; bfloat16 has no numpy dtype, so it travels
as raw little-endian bytes with ``stype = "medfed.raw"`` (Flower's Array accepts explicit bytes).
Receivers decode to float32 and check every name, shape and dtype against an ``AdapterSpec``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from flwr.app import Array, ArrayRecord

RAW_STYPE = "medfed.raw"
WIRE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class WireError(ValueError):
    """An adapter message does not match what the receiver expects."""


@dataclass(frozen=True)
class AdapterSpec:
    """The adapter tensors a run exchanges: name -> shape, and the wire dtype they travel in."""

    shapes: dict[str, tuple[int, ...]]
    dtype: str

    @classmethod
    def of(cls, state: dict[str, torch.Tensor], dtype: str) -> AdapterSpec:
        return cls({k: tuple(v.shape) for k, v in state.items()}, dtype)

    @property
    def num_parameters(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())

    @property
    def num_bytes(self) -> int:
        return self.num_parameters * WIRE_DTYPES[self.dtype].itemsize


def encode(state: dict[str, torch.Tensor], dtype: str) -> ArrayRecord:
    """Adapter tensors -> ArrayRecord at wire precision."""
    record = ArrayRecord()
    for name, tensor in state.items():
        t = tensor.detach().to("cpu", WIRE_DTYPES[dtype]).contiguous()
        if dtype == "bfloat16":
            raw = t.view(torch.int16).numpy().tobytes()
            record[name] = Array(dtype="bfloat16", shape=tuple(t.shape), stype=RAW_STYPE, data=raw)
        else:
            record[name] = Array(t.numpy())
    return record


def decode(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """ArrayRecord -> float32 adapter tensors (no checks: see ``validate``)."""
    out = {}
    for name, array in record.items():
        if array.stype == RAW_STYPE:
            t = torch.frombuffer(bytearray(array.data), dtype=WIRE_DTYPES[array.dtype]).reshape(array.shape)
        else:
            t = torch.from_numpy(np.array(array.numpy()))
        out[name] = t.to(torch.float32)
    return out


def validate(record: ArrayRecord, spec: AdapterSpec) -> None:
    """Raise WireError unless ``record`` holds exactly the spec's tensors, shapes and wire dtype, all finite."""
    names = set(record.keys())
    expected = set(spec.shapes)
    if names != expected:
        missing, extra = sorted(expected - names), sorted(names - expected)
        raise WireError(f"adapter names differ: {len(missing)} missing {missing[:3]}, "
                        f"{len(extra)} unexpected {extra[:3]}")
    for name, array in record.items():
        if tuple(array.shape) != spec.shapes[name]:
            raise WireError(f"{name}: shape {tuple(array.shape)}, expected {spec.shapes[name]}")
        if array.dtype != spec.dtype:
            raise WireError(f"{name}: dtype {array.dtype}, expected {spec.dtype}")
    for name, tensor in decode(record).items():
        if not torch.isfinite(tensor).all():
            raise WireError(f"{name}: contains NaN or Inf")


def record_bytes(record: ArrayRecord) -> int:
    """Payload bytes of an ArrayRecord's tensors (what the wire carries, headers aside)."""
    return sum(len(array.data) for array in record.values())
