"""On-disk cache of processed datasets, keyed by a hash of the input files and of the config that shaped them.

Two levels: de-identified records (keyed by inputs, loading and de-identification settings) and final
datasets (also keyed by filtering, split and evaluation sets), so changing a filter threshold reruns
the cheap steps but never de-identification. Entries hold de-identified text only and stay in the
hospital; the folder is created private to its owner.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from client.data.card import DataCard
from common.config import RunConfig
from common.records import Conversation, Message, Note, PreferencePair, StageData

FORMAT_VERSION = 1  # bump when processing changes what a cached entry would contain


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def inputs_digest(data_dir: Path) -> str:
    """Hash of every file's relative path and bytes, hidden entries (the default cache folder) excluded."""
    h = hashlib.sha256()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        h.update(relative.as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def cache_folder(data_dir: Path, cfg: RunConfig) -> Path:
    return Path(cfg.data.cache_dir) if cfg.data.cache_dir else data_dir / ".medfed-cache"


class DatasetCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, key: str) -> tuple[StageData, DataCard] | None:
        path = self.folder / f"{key}.json"
        if not path.exists():
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
        return _stage_from_json(entry["data"]), DataCard.from_json(entry["card"])

    def load_split(self, key: str) -> tuple[StageData, StageData, DataCard] | None:
        path = self.folder / f"{key}.json"
        if not path.exists():
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
        return _stage_from_json(entry["train"]), _stage_from_json(entry["heldout"]), DataCard.from_json(entry["card"])

    def save(self, key: str, card: DataCard, **parts: StageData) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry = {name: dataclasses.asdict(data) for name, data in parts.items()} | {"card": card.to_json()}
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.folder / f"{key}.json")  # atomic: a crash never leaves half an entry


def _stage_from_json(raw: dict[str, list]) -> StageData:
    return StageData(
        [Note(**n) for n in raw["notes"]],
        [Conversation(tuple(Message(**m) for m in c["messages"]), c["source"], c.get("patient_id", ""))
         for c in raw["conversations"]],
        [PreferencePair(**p) for p in raw["preferences"]],
    )
