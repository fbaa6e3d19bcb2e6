"""Readers for each file format a hospital export comes in; each yields ``(Location, row dict)``.

A reader only knows syntax (JSON Lines, a JSON array, CSV, what ``datasets`` reads); whether a row
is a valid note or instruction pair is ``schemas``' job. Bad rows go to the ``BadInputPolicy``:
raised in strict mode, counted and skipped in lenient mode, so one bad line never costs the others.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from client.data.errors import BadInputPolicy, DataError, Location

Row = dict[str, Any]
Rows = Iterator[tuple[Location, Row]]

# csv's own field limit (128 KiB) would abort the whole file on one large field; records are bounded
# by ``max_record_bytes`` below instead, which names the line and lets the rest of the file through.
csv.field_size_limit(2**31 - 1)


def _check_text(text: str, where: Location, name: str) -> None:
    """Bytes that were not UTF-8 survive decoding as lone surrogates (U+DC80..U+DCFF), and a JSON escape
    such as ``\\ud800`` makes one too: no such string can be written as UTF-8 later, so name it now."""
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            if "\udc80" <= ch <= "\udcff":
                raise DataError(where, "not-utf8", "value contains bytes that are not valid UTF-8", name)
            raise DataError(where, "bad-escape", "value contains an unpaired surrogate escape (\\ud800-\\udfff)",
                            name)


def _check_strings(row: Row, where: Location, prefix: str = "") -> None:
    """Find the field whose name or value holds text that is not valid Unicode."""
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(key, str):
            _check_text(key, where, prefix.rstrip(".") or "(field name)")
        if isinstance(value, str):
            _check_text(value, where, name)
        elif isinstance(value, dict):
            _check_strings(value, where, f"{name}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _check_strings(item, where, f"{name}[{i}].")
                elif isinstance(item, str):
                    _check_strings({f"[{i}]": item}, where, name)


def _checked(where: Location, row: Any, size: int, max_bytes: int) -> Row:
    if size > max_bytes:
        raise DataError(where, "record-too-large", f"{size} bytes, the limit (data.max-record-bytes) is {max_bytes}")
    if not isinstance(row, dict):
        raise DataError(where, "not-an-object", f"expected a JSON object, got {type(row).__name__}")
    _check_strings(row, where)
    return row


def open_text(path: Path) -> io.TextIOWrapper:
    """``path`` as text: a UTF-8 BOM dropped, bytes that are not UTF-8 kept as lone surrogates (for
    ``_check_strings`` to name), and every newline convention (``\\n``, ``\\r\\n``, a bare ``\\r``) read as one."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline=None)


def read_jsonl(path: Path, name: str, policy: BadInputPolicy, max_bytes: int) -> Rows:
    with open_text(path) as f:
        for lineno, line in enumerate(_bounded_lines(f, max_bytes), start=1):
            where = Location(name, lineno)
            try:
                if line is None:
                    raise DataError(where, "record-too-large", f"line exceeds data.max-record-bytes ({max_bytes})")
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:  # e.msg names the syntax problem, not the content
                    raise DataError(where, "malformed-json", f"{e.msg} at column {e.colno}") from None
                yield where, _checked(where, row, len(line.encode("utf-8", "surrogateescape")), max_bytes)
            except DataError as e:
                policy.handle(e)


def _bounded_lines(f: io.TextIOWrapper, max_bytes: int) -> Iterator[str | None]:
    """Lines of ``f``; a line longer than ``max_bytes`` comes out as ``None`` without being held in memory
    (a character is at least one byte, so ``max_bytes`` characters bound it)."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith("\n"):
            while (rest := f.readline(1 << 20)) and not rest.endswith("\n"):
                pass
            yield None
        else:
            yield line


def read_json(path: Path, name: str, policy: BadInputPolicy, max_bytes: int) -> Rows:
    """A JSON array of objects (the Alpaca file layout); records are located by their index."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig", errors="surrogateescape"))
    except json.JSONDecodeError as e:
        policy.handle(DataError(Location(name, e.lineno), "malformed-json", f"{e.msg} at column {e.colno}"))
        return
    if not isinstance(data, list):
        policy.handle(DataError(Location(name), "not-an-array", "a .json file must hold an array of records"))
        return
    for index, row in enumerate(data, start=1):
        where = Location(name, index)
        try:
            yield where, _checked(where, row, len(json.dumps(row, ensure_ascii=False)), max_bytes)
        except DataError as e:
            policy.handle(e)


def read_csv(path: Path, name: str, policy: BadInputPolicy, max_bytes: int) -> Rows:
    """A CSV table with a header row; quoted fields may span lines (notes do), lines are counted in the file."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            policy.handle(DataError(Location(name, 1), "empty-file", "no header row"))
            return
        header = [h.strip() for h in header]
        first_line = reader.line_num + 1
        for values in reader:
            where = Location(name, first_line)
            first_line = reader.line_num + 1
            try:
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    raise DataError(where, "wrong-column-count", f"{len(values)} values, the header has {len(header)}")
                yield where, _checked(where, dict(zip(header, values)), sum(map(len, values)), max_bytes)
            except DataError as e:
                policy.handle(e)


def csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        return [h.strip() for h in next(csv.reader(f), [])]


def read_datasets(path: Path, name: str, policy: BadInputPolicy, max_bytes: int) -> Rows:
    """Anything ``datasets`` reads from disk: parquet or arrow files, or a folder from ``save_to_disk``."""
    import datasets  # heavy; only hospitals with such files pay for it

    try:
        if path.is_dir():
            data = datasets.load_from_disk(str(path))
            if isinstance(data, datasets.DatasetDict):
                data = datasets.concatenate_datasets(list(data.values()))
        elif path.suffix == ".parquet":
            data = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
        else:
            data = datasets.Dataset.from_file(str(path), in_memory=True)
    except Exception as e:  # datasets raises many types; the file is unreadable either way
        policy.handle(DataError(Location(name), "unreadable-dataset", type(e).__name__))
        return
    for index, row in enumerate(data, start=1):
        where = Location(name, index)
        try:
            yield where, _checked(where, row, len(json.dumps(row, ensure_ascii=False, default=str)), max_bytes)
        except DataError as e:
            policy.handle(e)


Reader = Callable[[Path, str, BadInputPolicy, int], Rows]
READERS: dict[str, Reader] = {".jsonl": read_jsonl, ".ndjson": read_jsonl, ".json": read_json, ".csv": read_csv,
                              ".parquet": read_datasets, ".arrow": read_datasets, "dataset": read_datasets}


def format_of(path: Path) -> str | None:
    """The reader key for ``path``: its extension, or ``dataset`` for a ``save_to_disk`` folder."""
    if path.is_dir():
        return "dataset" if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() else None
    return path.suffix.lower() if path.suffix.lower() in READERS else None
