"""The text inside each record type, read and rewritten uniformly so every step handles all stages alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from common.records import Conversation, Message, Note, PreferencePair, StageData

Record = Note | Conversation | PreferencePair
RECORD_LISTS = ("notes", "conversations", "preferences")  # the StageData fields, one per stage


def texts_of(record: Record) -> list[str]:
    if isinstance(record, Note):
        return [record.text]
    if isinstance(record, Conversation):
        return [m.content for m in record.messages]
    return [record.prompt, record.chosen, record.rejected]


def with_texts(record: Record, texts: list[str]) -> Record:
    if isinstance(record, Note):
        return replace(record, text=texts[0])
    if isinstance(record, Conversation):
        return replace(record, messages=tuple(Message(m.role, t) for m, t in zip(record.messages, texts)))
    prompt, chosen, rejected = texts
    return replace(record, prompt=prompt, chosen=chosen, rejected=rejected)


def joined_text(record: Record) -> str:
    return "\n".join(texts_of(record))


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
