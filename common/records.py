"""The record types that hospital data is turned into; each stage kind trains on one list of them
(``common.stage_kinds``).

Every loader, cleaner and generator produces these; every trainer consumes them. Each record gives
its texts (``texts``) and a copy with them rewritten (``with_texts``), so every data step handles
every record type alike. They hold text only inside a hospital: nothing here is ever sent over the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Note:
    """One unstructured clinical document (note, report, narrative EHR summary): CP data."""

    note_id: str
    patient_id: str
    date: str
    text: str

    def texts(self) -> list[str]:
        return [self.text]

    def with_texts(self, texts: list[str]) -> Note:
        return replace(self, text=texts[0])


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

    def texts(self) -> list[str]:
        return [m.content for m in self.messages]

    def with_texts(self, texts: list[str]) -> Conversation:
        return replace(self, messages=tuple(Message(m.role, t) for m, t in zip(self.messages, texts)))


@dataclass(frozen=True)
class PreferencePair:
    """HA data: one prompt with a preferred and a dispreferred answer (the DP privacy unit in HA)."""

    prompt: str
    chosen: str
    rejected: str
    patient_id: str = ""  # optional, as for Conversation

    def texts(self) -> list[str]:
        return [self.prompt, self.chosen, self.rejected]

    def with_texts(self, texts: list[str]) -> PreferencePair:
        prompt, chosen, rejected = texts
        return replace(self, prompt=prompt, chosen=chosen, rejected=rejected)


@dataclass
class StageData:
    """A hospital's processed data: one list per record type, each the records of the stage kinds that read it."""

    notes: list[Note] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    preferences: list[PreferencePair] = field(default_factory=list)
