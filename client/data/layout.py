"""Which files in a hospital's data folder hold which kind of records.

An optional manifest (``medfed-data.toml`` or ``medfed-data.json``) lists each file and its kind;
then only the listed files are read. Without one, every file in the folder (recursively, hidden
entries skipped) must be recognisable from its name (``notes.csv``, ``ehr/patients.csv``, ...) or,
failing that, from the fields of its first record.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from client.data.errors import BadInputPolicy, DataError, Location, relative_name
from client.data.formats import READERS, csv_header, format_of
from client.data.schemas import KINDS

MANIFEST_NAMES = ("medfed-data.toml", "medfed-data.json")
_IGNORED = re.compile(r"^(readme|license)(\..*)?$", re.IGNORECASE)

# File-name words that say what a file holds, checked in this order (EHR tables before notes).
_NAME_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ehr-patients", ("patients", "demographics")),
    ("ehr-encounters", ("encounters", "visits", "admissions")),
    ("ehr-diagnoses", ("diagnoses", "diagnosis", "problems")),
    ("ehr-medications", ("medications", "prescriptions", "meds")),
    ("ehr-labs", ("labs", "lab", "results")),
    ("knowledge", ("knowledge", "kg", "triples")),
    ("preferences", ("preferences", "preference", "dpo", "comparisons")),
    ("dialogues", ("dialogues", "dialogue", "dialogs", "conversations", "chats", "sharegpt")),
    ("instructions", ("instructions", "instruction", "alpaca", "qa")),
    ("notes", ("notes", "note", "reports", "discharge", "documents")),
)


@dataclass(frozen=True)
class InputFile:
    path: Path
    name: str  # relative to the data folder; what messages and the card show
    kind: str
    format: str


def discover(data_dir: Path, policy: BadInputPolicy) -> list[InputFile]:
    """The input files of ``data_dir`` in a stable order; unrecognisable files go to ``policy``."""
    manifest = next((data_dir / m for m in MANIFEST_NAMES if (data_dir / m).exists()), None)
    if manifest is not None:
        return _from_manifest(data_dir, manifest, policy)
    found = []
    for path in _candidates(data_dir):
        name = relative_name(path, data_dir)
        try:
            fmt = format_of(path)
            if fmt is None:
                raise DataError(Location(name), "unknown-format",
                                f"extensions read are {', '.join(sorted(k for k in READERS if k != 'dataset'))} "
                                "or a datasets save_to_disk folder; list files in medfed-data.toml to be explicit")
            found.append(InputFile(path, name, _kind_from_name(path) or _kind_from_fields(path, name, fmt), fmt))
        except DataError as e:
            policy.handle(e)
    return found


def _candidates(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in MANIFEST_NAMES or _IGNORED.match(path.name):
            continue
        if path.is_dir() and format_of(path) is None:
            out.extend(_candidates(path))
        else:
            out.append(path)
    return out


def _kind_from_name(path: Path) -> str | None:
    words = re.split(r"[^a-z0-9]+", path.stem.lower())
    return next((kind for kind, hints in _NAME_HINTS if any(w in hints for w in words)), None)


def _kind_from_fields(path: Path, name: str, fmt: str) -> str:
    if fmt == ".csv":
        fields = csv_header(path)
    else:
        probe = BadInputPolicy("lenient")
        first = next(READERS[fmt](path, name, probe, 1 << 30), None)
        fields = list(first[1]) if first else []
    for kind in KINDS.values():
        if any(all(c in fields for c in alternative) for alternative in kind.required):
            return kind.name
    raise DataError(Location(name), "unknown-kind",
                    "neither the file name nor its fields say which kind of records it holds; "
                    f"name it in medfed-data.toml with one of: {', '.join(KINDS)}")


def _from_manifest(data_dir: Path, manifest: Path, policy: BadInputPolicy) -> list[InputFile]:
    where = Location(manifest.name)
    try:
        raw = manifest.read_bytes().decode("utf-8")
        spec = tomllib.loads(raw) if manifest.suffix == ".toml" else json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise DataError(where, "malformed-manifest", type(e).__name__) from None
    entries = spec.get("files") if isinstance(spec, dict) else None
    if not isinstance(entries, list):
        raise DataError(where, "malformed-manifest", "expected a list 'files' of {path, kind}", "files")
    found = []
    for i, entry in enumerate(entries):
        field = f"files[{i}]"
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise DataError(where, "malformed-manifest", "each entry needs a 'path' string", f"{field}.path")
            if entry.get("kind") not in KINDS:
                raise DataError(where, "unknown-kind", f"kind must be one of {', '.join(KINDS)}", f"{field}.kind")
            path = data_dir / entry["path"]
            name = relative_name(path, data_dir)
            if not path.exists():
                raise DataError(Location(name), "missing-file", "listed in the manifest but not found", f"{field}.path")
            fmt = entry.get("format") or format_of(path)
            if fmt not in READERS:
                raise DataError(Location(name), "unknown-format", f"format must be one of {', '.join(READERS)}",
                                f"{field}.format")
            found.append(InputFile(path, name, entry["kind"], fmt))
        except DataError as e:
            policy.handle(e)
    return found
