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
from pathlib import Path
from typing import Any

from client.data.card import DataCard
from client.data.layout import input_paths
from common.config import DataSection
from common.private_files import private_folder, write_private
from common.records import Conversation, Message, Note, PreferencePair, StageData

FORMAT_VERSION = 2  # bump when processing changes what a cached entry would contain


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def inputs_digest(data_dir: Path) -> str:
    """Hash of the name and bytes of every file the loader may read (the manifest and the files it names,
    wherever they are, or every file discovery finds), and of the errors met finding them."""
    files, errors = input_paths(data_dir)
    h = hashlib.sha256()
    for name, path in files:
        h.update(name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:  # the loader reports it; the key only needs to differ from a readable file's
            h.update(f"unreadable {e.errno}".encode())
        h.update(b"\0")
    h.update(json.dumps(errors).encode())
    return h.hexdigest()


def cache_folder(data_dir: Path, data: DataSection) -> Path:
    return Path(data.cache_dir) if data.cache_dir else data_dir / ".medfed-cache"


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
        entry = {name: dataclasses.asdict(data) for name, data in parts.items()} | {"card": card.to_json()}
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8")
        write_private(private_folder(self.folder) / f"{key}.json", data)  # de-identified text: owner only


def _stage_from_json(raw: dict[str, list]) -> StageData:
    return StageData(
        [Note(**n) for n in raw["notes"]],
        [Conversation(tuple(Message(**m) for m in c["messages"]), c["source"], c.get("patient_id", ""))
         for c in raw["conversations"]],
        [PreferencePair(**p) for p in raw["preferences"]],
    )
