"""JSON and JSON Lines files read record by record; errors name the file, line and field, never the content.

Hospital data has its own reader with size bounds and a lenient mode (``client.data.formats``); this one
serves evaluation sets and the de-identification CLI, where one bad record stops the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class RecordFileError(ValueError):
    """A file or record that cannot be read; the message says where, never what."""


def json_records(path: Path) -> Iterator[tuple[str, dict]]:
    """(location, record) for every object of a ``.jsonl`` file, or of a JSON list or id -> object file.

    Records of an id -> object file get their id as ``_id``.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordFileError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordFileError(f"{path}:{line_no}: malformed JSON (column {exc.colno})") from None
            if not isinstance(record, dict):
                raise RecordFileError(f"{path}:{line_no}: expected an object")
            yield f"{path}:{line_no}", record
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordFileError(f"{path}:{exc.lineno}: malformed JSON (column {exc.colno})") from None
    entries = data.items() if isinstance(data, dict) else enumerate(data)
    for key, record in entries:
        if not isinstance(record, dict):
            raise RecordFileError(f"{path}: item {key}: expected an object")
        yield f"{path}: item {key}", record if isinstance(data, list) else {"_id": str(key), **record}


def field(record: dict, key: str, where: str, kind: type = str) -> Any:
    """``record[key]``, which must exist and be a ``kind``."""
    if key not in record:
        raise RecordFileError(f"{where}: missing field '{key}'")
    value = record[key]
    if not isinstance(value, kind):
        raise RecordFileError(f"{where}: field '{key}' must be {kind.__name__}, got {type(value).__name__}")
    return value
