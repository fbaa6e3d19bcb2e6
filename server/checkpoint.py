"""Per-round checkpoints of the global adapter, written atomically so a crash never leaves half a file, and
owner-only (0600): an adapter trained on hospitals' notes can hold what it memorised of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from common.private_files import write_private

_NAME = re.compile(r"round-(\d{5})\.safetensors$")


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """A safetensors file written atomically (tensors made contiguous, as the format requires)."""
    write_private(path, safetensors_bytes({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata))


class Checkpointer:
    """``<run>/checkpoints/round-NNNNN.safetensors``: the global adapter after round N, with its metadata."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir / "checkpoints"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, server_round: int, part: str = "") -> Path:
        """The adapter checkpoint of a round, or a companion file (``part="strategy"``) written before it."""
        return self.dir / f"round-{server_round:05d}{'.' + part if part else ''}.safetensors"

    def save(self, server_round: int, state: dict[str, torch.Tensor], meta: dict) -> Path:
        path = self.path(server_round)
        atomic_save_tensors(path, state, {"meta": json.dumps(meta)})
        return path

    def latest(self) -> tuple[int, dict[str, torch.Tensor], dict] | None:
        """(round, adapter state, metadata) of the newest checkpoint, or None."""
        rounds = sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := _NAME.search(p.name)))
        if not rounds:
            return None
        path = self.dir / f"round-{rounds[-1]:05d}.safetensors"
        with safe_open(str(path), "pt") as f:
            meta = json.loads(f.metadata()["meta"])
        return rounds[-1], load_file(str(path)), meta
