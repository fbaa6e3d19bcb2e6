"""The record lists of a hospital's data, filtered, rewritten and counted uniformly so every step handles all
stages alike (each record reads and rewrites its own texts: ``common.records``)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

from common.records import Conversation, Note, PreferencePair, StageData

Record = Note | Conversation | PreferencePair
RECORD_LISTS = tuple(f.name for f in dataclasses.fields(StageData))  # one per record type


def joined_text(record: Record) -> str:
    return "\n".join(record.texts())


def filter_stage(data: StageData, verdict: Callable[[str, Record], str | None]
                 ) -> tuple[StageData, dict[str, Counter[str]]]:
    """Keep the records for which ``verdict(kind, record)`` is None; count the others by the reason it gave."""
    kept, dropped = StageData(), {kind: Counter() for kind in RECORD_LISTS}
    for kind in RECORD_LISTS:
        out = getattr(kept, kind)
        for record in getattr(data, kind):
            reason = verdict(kind, record)
            if reason is None:
                out.append(record)
            else:
                dropped[kind][reason] += 1
    return kept, dropped


def map_stage(data: StageData, fn: Callable[[Record], Record]) -> StageData:
    return StageData(*([fn(r) for r in getattr(data, kind)] for kind in RECORD_LISTS))


def count(data: StageData) -> dict[str, int]:
    return {kind: len(getattr(data, kind)) for kind in RECORD_LISTS}
