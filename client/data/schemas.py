"""What each kind of hospital record must contain, and how a row becomes a record of ``common.records``.

Field names follow the formats hospitals already export: Alpaca (instruction/input/output, as
ChatDoctor ships), OpenAI ``messages`` and ShareGPT ``conversations`` dialogues, DPO triples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from client.data.errors import DataError, Location
from common.records import Conversation, Message, Note, PreferencePair

Row = dict[str, Any]


def text_field(row: Row, key: str, where: Location, *, required: bool = True, allow_empty: bool = False) -> str:
    """``row[key]`` as a string; missing, mistyped or blank values raise a ``DataError`` naming ``key``."""
    value = row.get(key)
    if value is None:
        if required:
            raise DataError(where, "missing-field", "required field is missing", key)
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not allow_empty:
        return str(value)  # numeric ids and lab values are fine as text
    if not isinstance(value, str):
        raise DataError(where, "wrong-type", f"expected text, got {type(value).__name__}", key)
    if required and not allow_empty and not value.strip():
        raise DataError(where, "empty-text", "value is empty", key)
    return value


def parse_note(row: Row, where: Location, source: str) -> Note:
    return Note(text_field(row, "note_id", where), text_field(row, "patient_id", where),
                text_field(row, "date", where), text_field(row, "text", where))


def parse_instruction(row: Row, where: Location, source: str) -> Conversation:
    instruction = text_field(row, "instruction", where)
    context = text_field(row, "input", where, required=False)
    return Conversation.from_pair(instruction, text_field(row, "output", where), context, source,
                                  text_field(row, "patient_id", where, required=False))


_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "bot": "assistant",
          "chatgpt": "assistant", "system": "system"}


def parse_dialogue(row: Row, where: Location, source: str) -> Conversation:
    """OpenAI style ``{"messages": [{"role", "content"}]}`` or ShareGPT ``{"conversations": [{"from", "value"}]}``."""
    key = "messages" if "messages" in row else "conversations" if "conversations" in row else None
    if key is None:
        raise DataError(where, "missing-field", "a dialogue needs 'messages' or 'conversations'", "messages")
    turns = row[key]
    if not isinstance(turns, list) or not turns:
        raise DataError(where, "wrong-type", "expected a non-empty list of turns", key)
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise DataError(where, "wrong-type", f"expected an object, got {type(turn).__name__}", f"{key}[{i}]")
        role_key, content_key = ("role", "content") if "role" in turn else ("from", "value")
        role = _ROLES.get(str(turn.get(role_key, "")).lower())
        if role is None:
            raise DataError(where, "unknown-role", f"role must be one of {', '.join(sorted(_ROLES))}",
                            f"{key}[{i}].{role_key}")
        content = text_field(turn, content_key, Location(where.file, where.line))
        messages.append(Message(role, content))
    if not any(m.role == "assistant" for m in messages):
        raise DataError(where, "no-assistant-turn", "a dialogue needs at least one assistant turn", key)
    return Conversation(tuple(messages), source, text_field(row, "patient_id", where, required=False))


def parse_preference(row: Row, where: Location, source: str) -> PreferencePair:
    return PreferencePair(text_field(row, "prompt", where), text_field(row, "chosen", where),
                          text_field(row, "rejected", where), text_field(row, "patient_id", where, required=False))


@dataclass(frozen=True)
class Kind:
    """One kind of record: the columns a table of it must have (any one alternative), and its parser."""

    name: str
    required: tuple[tuple[str, ...], ...]
    parse: Callable[[Row, Location, str], Any] | None = None  # None: rows are assembled later (EHR, knowledge)

    def check_header(self, header: list[str], where: Location) -> None:
        if any(all(c in header for c in alternative) for alternative in self.required):
            return
        best = min(self.required, key=lambda alt: sum(c not in header for c in alt))
        missing = [c for c in best if c not in header]
        raise DataError(where, "wrong-header", f"a {self.name} table needs the columns {', '.join(best)}",
                        ", ".join(missing))


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("notes", (("note_id", "patient_id", "date", "text"),), parse_note),
    Kind("instructions", (("instruction", "output"),), parse_instruction),
    Kind("dialogues", (("messages",), ("conversations",)), parse_dialogue),
    Kind("preferences", (("prompt", "chosen", "rejected"),), parse_preference),
    Kind("knowledge", (("head", "relation", "tail"), ("subject", "predicate", "object"), ("disease",))),
    Kind("ehr-patients", (("patient_id", "birth_date", "sex"),)),
    Kind("ehr-encounters", (("encounter_id", "patient_id", "date"),)),
    Kind("ehr-diagnoses", (("encounter_id", "description"),)),
    Kind("ehr-medications", (("encounter_id", "name"),)),
    Kind("ehr-labs", (("encounter_id", "test", "value"),)),
)}
