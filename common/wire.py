"""The adapter wire format: trainable adapter tensors by name in a Flower ArrayRecord.

Only adapter tensors travel, in both directions, at the precision named by ``wire.dtype``.
float32 and float16 travel as Flower's own numpy arrays; bfloat16 has no numpy dtype, so it travels
as raw little-endian bytes with ``stype = "medfed.raw"`` (Flower's Array accepts explicit bytes).
Receivers decode to float32 and check every name, shape and dtype against an ``AdapterSpec``.

``int8`` is a compressed wire: each tensor is cut into blocks of ``block_size`` consecutive values
(0: the whole tensor is one block), and each block travels as symmetric 8-bit codes with one float32
scale (absmax / 127), as raw bytes ``[scales][codes]`` with ``stype = "medfed.q8:<block_size>"``.
Decoding reconstructs every value to within half a quantisation step: ``|x - x̂| <= absmax(block) / 254``
(see ``int8_error_bound``). Block-wise scales keep one outlier from coarsening a whole tensor; their cost
is 4 bytes per block (block 64: 1.0625 bytes per value, 3.76x fewer bytes than float32).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from flwr.app import Array, ArrayRecord
from flwr.common.constant import SType

RAW_STYPE = "medfed.raw"
WIRE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
QUANT_STYPE = "medfed.q8"
QUANT_DTYPE = "int8"
DEFAULT_BLOCK_SIZE = 64
_NUMPY_DTYPES = ("float32", "float16")  # what travels as Flower's own numpy arrays


class WireError(ValueError):
    """An adapter message does not match what the receiver expects."""


@dataclass(frozen=True)
class AdapterSpec:
    """The adapter tensors a run exchanges: name -> shape, and the wire dtype they travel in."""

    shapes: dict[str, tuple[int, ...]]
    dtype: str
    block_size: int = DEFAULT_BLOCK_SIZE  # int8 wire only: values per quantisation scale (0: per tensor)

    @classmethod
    def of(cls, state: dict[str, torch.Tensor], dtype: str, block_size: int = DEFAULT_BLOCK_SIZE) -> AdapterSpec:
        return cls({k: tuple(v.shape) for k, v in state.items()}, dtype, block_size)

    def at_rank(self, rank: int) -> AdapterSpec:
        """The same adapter at LoRA rank ``rank``: lora_A is (rank, in), lora_B is (out, rank)."""
        def resized(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
            if ".lora_A." in name:
                return (rank, *shape[1:])
            if ".lora_B." in name:
                return (shape[0], rank, *shape[2:])
            return shape
        return AdapterSpec({k: resized(k, s) for k, s in self.shapes.items()}, self.dtype, self.block_size)

    @property
    def num_parameters(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())

    @property
    def num_bytes(self) -> int:
        if self.dtype == QUANT_DTYPE:
            return sum(math.prod(s) + 4 * _num_blocks(math.prod(s), self.block_size) for s in self.shapes.values())
        return self.num_parameters * WIRE_DTYPES[self.dtype].itemsize


def _num_blocks(numel: int, block_size: int) -> int:
    return 1 if block_size == 0 else -(-numel // block_size)


def quantize_int8(tensor: torch.Tensor, block_size: int = DEFAULT_BLOCK_SIZE) -> Array:
    """Symmetric 8-bit block-wise quantisation of one tensor into a raw Flower Array."""
    flat = tensor.detach().to("cpu", torch.float32).reshape(-1)
    numel = flat.numel()
    blocks = _num_blocks(numel, block_size)
    size = numel if block_size == 0 else block_size
    padded = torch.nn.functional.pad(flat, (0, blocks * size - numel)).reshape(blocks, max(size, 1))
    scales = padded.abs().amax(dim=1) / 127
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))  # an all-zero block: codes 0, scale 0
    codes = torch.round(padded / safe[:, None]).clamp(-127, 127).to(torch.int8).reshape(-1)[:numel]
    data = scales.numpy().astype("<f4").tobytes() + codes.numpy().tobytes()
    return Array(dtype=QUANT_DTYPE, shape=tuple(tensor.shape), stype=f"{QUANT_STYPE}:{block_size}", data=data)


def _block_size(array: Array) -> int:
    try:
        block_size = int(array.stype.split(":", 1)[1])
    except (IndexError, ValueError):
        raise WireError("int8 array with a malformed encoding") from None
    if block_size < 0:
        raise WireError("int8 array with a negative block size")
    return block_size


def _dequantize_int8(array: Array) -> torch.Tensor:
    """Inverse of ``quantize_int8`` (float32), on a payload ``check_payload`` has passed."""
    block_size = _block_size(array)
    numel = math.prod(array.shape)
    blocks = _num_blocks(numel, block_size)
    scales = torch.from_numpy(np.frombuffer(array.data, dtype="<f4", count=blocks).copy())
    codes = torch.from_numpy(np.frombuffer(array.data, dtype=np.int8, offset=4 * blocks).copy()).float()
    size = numel if block_size == 0 else block_size
    per_value = scales.repeat_interleave(max(size, 1))[:numel]
    return (codes * per_value).reshape(array.shape)


def check_payload(array: Array) -> None:
    """Raise WireError unless ``array``'s bytes hold exactly what its header (shape, dtype, encoding) declares.

    Runs before anything decodes a payload: a header can claim a small tensor while the bytes hold a large
    one (numpy's own ``.npy`` header inside the payload names its shape separately), and decoding trusts
    the bytes. The message names no received string (a peer's header is not quoted).
    """
    shape = tuple(array.shape)
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise WireError(f"shape {shape} is not a list of sizes")
    numel = math.prod(shape)
    size = len(array.data)
    if array.stype.startswith(QUANT_STYPE + ":"):
        if array.dtype != QUANT_DTYPE:
            raise WireError("int8 encoding with another dtype in its header")
        expected = 4 * _num_blocks(numel, _block_size(array)) + numel
    elif array.stype == RAW_STYPE:
        if array.dtype not in WIRE_DTYPES:
            raise WireError("raw encoding of an unknown dtype")
        expected = numel * WIRE_DTYPES[array.dtype].itemsize
    elif array.stype == SType.NUMPY:
        if array.dtype not in _NUMPY_DTYPES:
            raise WireError("numpy encoding of an unexpected dtype")
        stream = io.BytesIO(array.data)
        try:
            version = np.lib.format.read_magic(stream)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[version]
            npy_shape, fortran, npy_dtype = read_header(stream)
        except (KeyError, ValueError, SyntaxError, TypeError):
            raise WireError("numpy payload without a valid .npy header") from None
        if fortran or tuple(npy_shape) != shape or npy_dtype != np.dtype(array.dtype):
            raise WireError(f"numpy payload does not hold the {shape} {array.dtype} array its header declares")
        expected = stream.tell() + numel * npy_dtype.itemsize
    else:
        raise WireError("unknown array encoding")
    if size != expected:
        raise WireError(f"array of shape {shape}: {size} payload bytes, expected {expected}")


def int8_error_bound(tensor: torch.Tensor, block_size: int = DEFAULT_BLOCK_SIZE) -> torch.Tensor:
    """Per-value bound on the int8 wire's reconstruction error: half a step, absmax(block) / 254."""
    flat = tensor.detach().float().reshape(-1)
    size = flat.numel() if block_size == 0 else block_size
    blocks = _num_blocks(flat.numel(), block_size)
    padded = torch.nn.functional.pad(flat, (0, blocks * size - flat.numel())).reshape(blocks, max(size, 1))
    return (padded.abs().amax(dim=1) / 254).repeat_interleave(max(size, 1))[:flat.numel()].reshape(tensor.shape)


def encode(state: dict[str, torch.Tensor], dtype: str, block_size: int = DEFAULT_BLOCK_SIZE) -> ArrayRecord:
    """Adapter tensors -> ArrayRecord at wire precision (``block_size``: int8 only, see the module doc)."""
    record = ArrayRecord()
    for name, tensor in state.items():
        if dtype == QUANT_DTYPE:
            record[name] = quantize_int8(tensor, block_size)
            continue
        t = tensor.detach().to("cpu", WIRE_DTYPES[dtype]).contiguous()
        if dtype == "bfloat16":
            raw = t.view(torch.int16).numpy().tobytes()
            record[name] = Array(dtype="bfloat16", shape=tuple(t.shape), stype=RAW_STYPE, data=raw)
        else:
            record[name] = Array(t.numpy())
    return record


def decode(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """ArrayRecord -> float32 adapter tensors. Each payload is checked against its header, once, before it is
    decoded (``check_payload``); names, shapes and finiteness are ``validate``'s."""
    out = {}
    for name, array in record.items():
        check_payload(array)
        if array.stype.startswith(QUANT_STYPE):
            out[name] = _dequantize_int8(array)
            continue
        if array.stype == RAW_STYPE:
            t = torch.frombuffer(bytearray(array.data), dtype=WIRE_DTYPES[array.dtype]).reshape(array.shape)
        else:
            t = torch.from_numpy(np.array(array.numpy()))
        out[name] = t.to(torch.float32)
    return out


def validate(record: ArrayRecord, spec: AdapterSpec) -> dict[str, torch.Tensor]:
    """The checked decode: ``record``'s float32 tensors, decoded once, if it holds exactly the spec's tensors,
    shapes and wire dtype, all finite; else WireError.

    Messages quote only what the receiver expects (a missing name, an expected dtype), never a string from
    the record: the peer's text must not reach the receiver's logs.
    """
    names = set(record.keys())
    expected = set(spec.shapes)
    if names != expected:
        missing, extra = sorted(expected - names), len(names - expected)
        raise WireError(f"adapter names differ: {len(missing)} missing {missing[:3]}, {extra} unexpected")
    for name, array in record.items():
        if tuple(array.shape) != spec.shapes[name]:
            raise WireError(f"{name}: shape {tuple(array.shape)}, expected {spec.shapes[name]}")
        if array.dtype != spec.dtype:
            shown = array.dtype if array.dtype in (*WIRE_DTYPES, QUANT_DTYPE) else "of another kind"
            raise WireError(f"{name}: dtype {shown}, expected {spec.dtype}")
        if spec.dtype == QUANT_DTYPE and array.stype != f"{QUANT_STYPE}:{spec.block_size}":
            raise WireError(f"{name}: int8 encoding differs from the expected block size {spec.block_size}")
    tensors = decode(record)
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise WireError(f"{name}: contains NaN or Inf")
    return tensors


def relative_error(state: dict[str, torch.Tensor], record: ArrayRecord) -> float:
    """What the wire did to ``state``: ||decoded - state|| / ||state|| over all tensors (0 when lossless)."""
    decoded = decode(record)
    diff = sum(float((decoded[k] - v.float()).pow(2).sum()) for k, v in state.items())
    norm = sum(float(v.float().pow(2).sum()) for v in state.values())
    return math.sqrt(diff / norm) if norm > 0 else math.sqrt(diff)


def record_bytes(record: ArrayRecord) -> int:
    """Payload bytes of an ArrayRecord's tensors (what the wire carries, headers aside)."""
    return sum(len(array.data) for array in record.values())
