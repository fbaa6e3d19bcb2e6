"""Quality filter: strip what is not clinical content, then drop records that are empty, out of length
bounds, or too poor in medical terms (scored against the vocabulary shipped in ``resources/``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from client.data.texts import Record

_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Numeric citation marks "[3]", "[2, 5-7]" and author-year ones "(Smith et al., 2020)".
_CITATION = re.compile(r"\s?\[\d+(?:\s*[,\u2013-]\s*\d+)*\]|\s?\([A-Z][A-Za-z-]+ et al\.?,? \d{4}[a-z]?\)")
# Lines that exports add to every document and that carry nothing clinical.
_BOILERPLATE = re.compile(
    r"^\s*(?:electronically signed\b.*|dictated but not (?:read|reviewed)\b.*|page \d+ of \d+|"
    r"this (?:message|document|note|record) (?:is|contains|may contain) (?:strictly )?confidential.*|"
    r"printed (?:on|by)\b.*|-{3,}|={3,}|_{3,}|\*{3,})\s*$", re.IGNORECASE)
_HEADER = re.compile(r"^\s*[A-Za-z][A-Za-z /&()-]{0,40}:\s*(?:n/?a|none|nil|-+|\.)?\s*$", re.IGNORECASE)
_WORD = re.compile(r"[a-z][a-z-]+")
# Word endings that mark medical terms the vocabulary may lack (diseases, procedures, findings).
_MEDICAL_SUFFIXES = ("itis", "emia", "aemia", "ectomy", "otomy", "ostomy", "osis", "pathy", "algia", "oma",
                     "plasty", "scopy", "graphy", "gram", "uria", "penia", "cardia", "plegia", "trophy", "ology")


@lru_cache(maxsize=1)
def medical_vocabulary() -> frozenset[str]:
    text = resources.files("client.data.resources").joinpath("medical_terms.toml").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in tomllib.loads(text)["terms"])


def clean_text(text: str) -> str:
    """``text`` without URLs, citation marks, boilerplate lines and section headers left without content."""
    text = _CITATION.sub("", _URL.sub("", text))
    lines = [line.rstrip() for line in text.splitlines() if not _BOILERPLATE.match(line)]
    kept = []
    for i, line in enumerate(lines):
        following = next((n for n in lines[i + 1:] if n.strip()), None)
        if _HEADER.match(line) and (following is None or _HEADER.match(following) or not line.strip().endswith(":")
                                    or i + 1 < len(lines) and not lines[i + 1].strip()):
            continue  # a header whose section is empty or "N/A"
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def medical_density(text: str) -> float:
    """Share of words that are in the medical vocabulary or end like a medical term."""
    words = _WORD.findall(text.lower())
    if not words:
        return 0.0
    vocab = medical_vocabulary()
    hits = sum(1 for w in words if w in vocab or w.rstrip("s") in vocab or w.endswith(_MEDICAL_SUFFIXES))
    return hits / len(words)


@dataclass(frozen=True)
class QualityFilter:
    min_chars: int
    max_chars: int
    min_medical_density: float

    def clean(self, record: Record) -> Record:
        return record.with_texts([clean_text(t) for t in record.texts()])

    def verdict(self, record: Record) -> str | None:
        """Why ``record`` (already cleaned) is dropped, or None to keep it."""
        texts = record.texts()
        if any(not t for t in texts):
            return "empty-after-cleaning"
        size = sum(map(len, texts))
        if size < self.min_chars:
            return "too-short"
        if size > self.max_chars:
            return "too-long"
        if medical_density(" ".join(texts)) < self.min_medical_density:
            return "low-medical-density"
        return None
