"""The record types that hospital data is turned into, one per training stage.

Every loader, cleaner and generator produces these; every trainer consumes them.
They hold text only inside a hospital: nothing here is ever sent over the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Note:
    """One unstructured clinical document (note, report, narrative EHR summary): CP data."""

    note_id: str
    patient_id: str
    date: str
    text: str


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Conversation:
    """Instruction data: a single-turn pair is a conversation of one user and one assistant turn.

    Loss is taken on assistant turns only. ``patient_id`` (optional) is the patient the conversation is
    about: under patient-level DP all of one patient's records form one privacy unit.
    """

    messages: tuple[Message, ...]
    source: str = ""
    patient_id: str = ""

    @classmethod
    def from_pair(cls, instruction: str, output: str, input: str = "", source: str = "",
                  patient_id: str = "") -> Conversation:
        prompt = f"{instruction}\n\n{input}" if input else instruction
        return cls((Message("user", prompt), Message("assistant", output)), source, patient_id)


@dataclass(frozen=True)
class PreferencePair:
    """HA data: one prompt with a preferred and a dispreferred answer (the DP privacy unit in HA)."""

    prompt: str
    chosen: str
    rejected: str
    patient_id: str = ""  # optional, as for Conversation


@dataclass
class StageData:
    """A hospital's processed data for every stage kind, split into train and held-out parts."""

    notes: list[Note] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    preferences: list[PreferencePair] = field(default_factory=list)
