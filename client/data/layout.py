"""Which files in a hospital's data folder hold which kind of records.

An optional manifest (``medfed-data.toml`` or ``medfed-data.json``) lists each file and its kind;
then only the listed files are read. Without one, every file in the folder (recursively, hidden
entries skipped) must be recognisable from its name (``notes.csv``, ``ehr/patients.csv``, ...) or,
failing that, from the fields of its first record.

Every file is read at most once and nothing blocks: symbolic links are followed only to files and
folders inside the data folder that were not read already (so no cycle, no second copy), and FIFOs,
devices and sockets are refused without being opened.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tomllib
from collections.abc import Callable
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
    manifest = find_manifest(data_dir)
    if manifest is not None:
        return _from_manifest(data_dir, manifest, policy)
    found = []
    for path, name in walk(data_dir, policy.handle):
        try:
            fmt = format_of(path)
            if fmt is None:
                raise DataError(Location(name), "unknown-format",
                                f"extensions read are {', '.join(sorted(k for k in READERS if k != 'dataset'))} "
                                "or a datasets save_to_disk folder; list files in medfed-data.toml to be explicit")
            found.append(InputFile(path, name, _kind_from_name(path) or _kind_from_fields(path, name, fmt), fmt))
        except DataError as e:
            policy.handle(e)
        except OSError as e:
            policy.handle(unreadable(name, e))
    return found


def find_manifest(data_dir: Path) -> Path | None:
    """The manifest of ``data_dir``, if it has one (a FIFO or a link out of the folder is an error)."""
    for name in MANIFEST_NAMES:
        path = data_dir / name
        if path.is_symlink() or path.exists():
            check_input(path, name, data_dir if path.is_symlink() else None)
            return path
    return None


def unreadable(name: str, error: OSError) -> DataError:
    return DataError(Location(name), "unreadable-file", f"cannot be read ({error.strerror or type(error).__name__})")


def check_input(path: Path, name: str, inside: Path | None = None) -> os.stat_result:
    """``path``'s status, following links; a ``DataError`` for a dangling or looping link, a link out of
    ``inside`` (when given), and anything but a regular file or a folder (never opened: a FIFO blocks)."""
    try:
        target = path.resolve(strict=True)
        status = target.stat()
    except FileNotFoundError:
        raise DataError(Location(name), "dangling-link" if path.is_symlink() else "missing-file",
                        "the symbolic link points to nothing" if path.is_symlink() else "not found") from None
    except RuntimeError:  # Path.resolve's report of a symbolic link loop
        raise DataError(Location(name), "symlink-loop", "the symbolic link points back to itself") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise DataError(Location(name), "symlink-loop", "the symbolic link points back to itself") from None
        raise unreadable(name, e) from None
    if inside is not None and not target.is_relative_to(inside.resolve()):
        raise DataError(Location(name), "link-outside", "the symbolic link leads out of the data folder")
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        raise DataError(Location(name), "not-a-regular-file",
                        "a FIFO, device or socket, not a file; export the data to a regular file")
    return status


def walk(data_dir: Path, on_error: Callable[[DataError], None]) -> list[tuple[Path, str]]:
    """(path, name) of every candidate input under ``data_dir``: regular files and ``datasets`` folders.

    Real entries are walked first; then each symbolic link is followed if it stays inside the folder and
    leads to a file or folder not read yet (else ``repeated-link``): every file is read once, and a link
    to an ancestor (``sub -> .``) cannot make the walk loop.
    """
    root = data_dir.resolve()
    seen: set[Path] = set()  # real paths of every file and folder taken
    found: list[tuple[Path, str]] = []
    links: list[tuple[Path, str]] = []

    def visit(folder: Path) -> None:
        seen.add(folder.resolve())
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:
            on_error(unreadable(relative_name(folder, data_dir) or ".", e))
            return
        for path in entries:
            name = relative_name(path, data_dir)
            if path.name.startswith(".") or path.name in MANIFEST_NAMES or _IGNORED.match(path.name):
                continue
            if path.is_symlink():
                links.append((path, name))
            else:
                take(path, name)

    def take(path: Path, name: str) -> None:
        try:
            status = check_input(path, name, root)
        except DataError as e:
            on_error(e)
            return
        real = path.resolve()
        if real in seen:
            on_error(DataError(Location(name), "repeated-link",
                               "a symbolic link to a file or folder already read (each is read once)"))
        elif stat.S_ISDIR(status.st_mode) and format_of(path) is None:
            visit(path)
        else:
            seen.add(real)
            found.append((path, name))

    visit(data_dir)
    while links:  # links found inside linked folders join the queue
        take(*links.pop(0))
    return sorted(found, key=lambda entry: entry[1])


def input_paths(data_dir: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Every (name, file) the loader may read, manifest-named files outside the folder included, and the
    errors met on the way (what the cache key must cover)."""
    errors: list[DataError] = []
    try:
        manifest = find_manifest(data_dir)
    except DataError as e:
        return [], [str(e)]
    if manifest is None:
        entries = walk(data_dir, errors.append)
    else:
        entries = [(manifest, manifest.name)]
        for path in _manifest_paths(data_dir, manifest):
            try:
                check_input(path, relative_name(path, data_dir))
                entries.append((path, relative_name(path, data_dir)))
            except DataError as e:
                errors.append(e)
    files = []
    for path, name in entries:
        if path.is_dir():  # a datasets folder: its files (regular ones only, links not followed)
            files += [(f"{name}/{p.relative_to(path).as_posix()}", p) for p in sorted(path.rglob("*"))
                      if p.is_file() and not p.is_symlink()]
        else:
            files.append((name, path))
    return files, [str(e) for e in errors]


def _manifest_paths(data_dir: Path, manifest: Path) -> list[Path]:
    try:
        spec = _read_manifest(manifest)
    except DataError:
        return []
    entries = spec.get("files") if isinstance(spec, dict) else None
    return [data_dir / e["path"] for e in entries or [] if isinstance(e, dict) and isinstance(e.get("path"), str)]


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


def _read_manifest(manifest: Path) -> object:
    where = Location(manifest.name)
    try:
        raw = manifest.read_bytes().decode("utf-8-sig")
        return tomllib.loads(raw) if manifest.suffix == ".toml" else json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise DataError(where, "malformed-manifest", type(e).__name__) from None
    except OSError as e:
        raise unreadable(manifest.name, e) from None


def _from_manifest(data_dir: Path, manifest: Path, policy: BadInputPolicy) -> list[InputFile]:
    where = Location(manifest.name)
    spec = _read_manifest(manifest)
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
            try:
                check_input(path, name)  # listed explicitly, so it may live outside the folder
            except DataError as e:
                raise DataError(e.where, e.reason, e.detail if e.reason != "missing-file" else
                                "listed in the manifest but not found", f"{field}.path") from None
            fmt = entry.get("format") or format_of(path)
            if fmt not in READERS:
                raise DataError(Location(name), "unknown-format", f"format must be one of {', '.join(READERS)}",
                                f"{field}.format")
            found.append(InputFile(path, name, entry["kind"], fmt))
        except DataError as e:
            policy.handle(e)
    return found
