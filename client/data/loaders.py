"""Read every input file of a hospital into records of ``common.records``, kind by kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.data.ehr import EhrTables
from client.data.errors import BadInputPolicy, DataError, Location
from client.data.formats import READERS, csv_header
from client.data.knowledge import Fact, facts_to_records, parse_knowledge_row
from client.data.layout import InputFile, discover, unreadable
from client.data.schemas import KINDS
from common.records import StageData


@dataclass
class LoadedHospital:
    data: StageData
    files: Counter[str] = field(default_factory=Counter)  # kind -> files read
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)  # patient id -> deny-list fields


def load_hospital(data_dir: Path, policy: BadInputPolicy, max_record_bytes: int) -> LoadedHospital:
    """Every valid record in ``data_dir``; bad ones go to ``policy`` (raise or count and skip)."""
    loaded = LoadedHospital(StageData())
    ehr, facts = EhrTables(), []
    for f in discover(data_dir, policy):
        kind = KINDS[f.kind]
        try:
            if f.format == ".csv":
                kind.check_header(csv_header(f.path), Location(f.name, 1))
            loaded.files[f.kind] += 1
            for where, row in READERS[f.format](f.path, f.name, policy, max_record_bytes):
                try:
                    _add(loaded.data, f, kind.name, where, row, ehr, facts)
                except DataError as e:
                    policy.handle(e)
        except DataError as e:
            policy.handle(e)
        except OSError as e:  # permissions, a folder listed as a file, a disk error: the records read so far stay
            policy.handle(unreadable(f.name, e))
    if ehr:
        loaded.data.notes.extend(ehr.narratives(policy))
        loaded.identities = ehr.patient_identities()
    if facts:
        pairs, texts = facts_to_records(facts)
        loaded.data.conversations.extend(pairs)
        loaded.data.notes.extend(texts)
    return loaded


def _add(data: StageData, f: InputFile, kind: str, where: Location, row: dict, ehr: EhrTables,
         facts: list[Fact]) -> None:
    if kind == "notes":
        data.notes.append(KINDS[kind].parse(row, where, f.name))
    elif kind in ("instructions", "dialogues"):
        data.conversations.append(KINDS[kind].parse(row, where, f.name))
    elif kind == "preferences":
        data.preferences.append(KINDS[kind].parse(row, where, f.name))
    elif kind == "knowledge":
        facts.extend(parse_knowledge_row(row, where))
    else:
        ehr.add(kind, where, row)
