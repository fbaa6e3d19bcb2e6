"""The optimiser state inside Flower's strategies, saved beside each round's adapter checkpoint.

A restarted coordinator must continue exactly where it stopped: the global adapter alone is not enough
for stateful server optimisers (FedAdam/FedYogi keep moments ``m_t``/``v_t``, FedAvgM a momentum vector,
both the arrays they last sent), nor for adaptive client-level DP (the clipping norm it has learnt).
Flower's strategies keep that state in plain attributes and have no state-dict API, so this module reads
and writes those attributes by name, on every strategy of a wrapper chain (DP wrapper -> LoRA wrapper ->
Flower strategy, each holding the next as ``.strategy``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord
from flwr.serverapp.strategy import Strategy
from safetensors import safe_open
from safetensors.torch import load_file

from server.checkpoint import atomic_save_tensors

# Attributes of Flower 1.41 strategies that change from round to round (see fedopt.py, fedadam.py, fedavgm.py).
STATE_ATTRIBUTES = ("current_arrays", "m_t", "v_t", "momentum_vector", "clipping_norm")


def _chain(strategy: Strategy) -> list[Strategy]:
    """``strategy`` and the strategies it wraps, outermost first."""
    chain = [strategy]
    while isinstance(getattr(chain[-1], "strategy", None), Strategy):
        chain.append(chain[-1].strategy)
    return chain


def _flatten(value) -> tuple[str, dict[str, np.ndarray]] | None:
    """(kind, name -> array) for the container types those attributes hold, None when unset."""
    if value is None:
        return None
    if isinstance(value, ArrayRecord):
        return "arrayrecord", {k: v.numpy() for k, v in value.items()}
    if isinstance(value, dict):
        return "dict", dict(value)
    if isinstance(value, list):
        return "list", {str(i): v for i, v in enumerate(value)}
    if isinstance(value, float):
        return "float", {"value": np.array([value])}
    raise TypeError(f"unsupported strategy state of type {type(value).__name__}")


def _unflatten(kind: str, arrays: dict[str, np.ndarray]):
    if kind == "arrayrecord":
        return ArrayRecord({k: Array(v) for k, v in arrays.items()})
    if kind == "dict":
        return arrays
    if kind == "float":
        return float(arrays["value"][0])
    return [arrays[str(i)] for i in range(len(arrays))]


def capture(strategies: list[Strategy]) -> tuple[dict[str, torch.Tensor], dict]:
    """The strategies' state as tensors ``"<stage>.<depth>/<attribute>/<name>"`` plus a JSON layout to rebuild it."""
    tensors, layout = {}, {}
    for index, outer in enumerate(strategies):
        for depth, strategy in enumerate(_chain(outer)):
            for attribute in STATE_ATTRIBUTES:
                flat = _flatten(getattr(strategy, attribute, None))
                if flat is None:
                    continue
                kind, arrays = flat
                key = f"{index}.{depth}/{attribute}"
                layout[key] = {"kind": kind, "dtypes": {k: str(np.asarray(v).dtype) for k, v in arrays.items()}}
                for name, array in arrays.items():
                    tensors[f"{key}/{name}"] = torch.from_numpy(np.ascontiguousarray(array)).clone()
    return tensors, layout


def restore(strategies: list[Strategy], tensors: dict[str, torch.Tensor], layout: dict) -> None:
    """Put state produced by ``capture`` back into freshly built strategies of the same configuration."""
    for key, entry in layout.items():
        position, attribute = key.split("/")
        index, depth = map(int, position.split("."))
        prefix = f"{key}/"
        arrays = {name[len(prefix):]: t.numpy().astype(entry["dtypes"][name[len(prefix):]])
                  for name, t in tensors.items() if name.startswith(prefix)}
        setattr(_chain(strategies[index])[depth], attribute, _unflatten(entry["kind"], arrays))


def save(path: Path, strategies: list[Strategy], extra: dict) -> None:
    """Write the strategies' state and a JSON ``extra`` (e.g. data cards) atomically."""
    tensors, layout = capture(strategies)
    atomic_save_tensors(path, tensors, {"layout": json.dumps(layout), "extra": json.dumps(extra)})


def load(path: Path, strategies: list[Strategy]) -> dict:
    """Restore the strategies from ``path``; returns the JSON ``extra`` saved with them."""
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    restore(strategies, load_file(str(path)), json.loads(metadata["layout"]))
    return json.loads(metadata["extra"])
