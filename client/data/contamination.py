"""Contamination check: training records that share a long word n-gram with an evaluation text are dropped.

The n-gram overlap test used by GPT-3 and Apollo. Evaluation texts shorter than ``n`` words (short
benchmark questions) are matched whole, as long as they have at least ``MIN_SHORT_WORDS`` words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from client.data.dedup import normalized_words
from client.data.errors import BadInputPolicy
from client.data.formats import READERS, format_of
from client.data.texts import Record, joined_text

MIN_SHORT_WORDS = 8


def eval_texts(eval_sets: Sequence[str | Path]) -> list[str]:
    """A ``str`` is an evaluation text; a ``Path`` is a file (any readable format, or plain text) of them."""
    texts: list[str] = []
    for item in eval_sets:
        if isinstance(item, str):
            texts.append(item)
            continue
        fmt = format_of(item)
        if fmt is None:
            texts.append(item.read_text(encoding="utf-8"))
            continue
        for _, row in READERS[fmt](item, item.name, BadInputPolicy("strict"), 1 << 30):
            texts.extend(_strings(row))
    return texts


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


class ContaminationIndex:
    """Hashes of every evaluation n-gram (and of whole short evaluation texts), checked against each record."""

    def __init__(self, texts: Iterable[str], n: int) -> None:
        self.grams: set[int] = set()
        lengths = {n}
        for text in texts:
            words = normalized_words(text)
            if len(words) >= n:
                self.grams.update(hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1))
            elif len(words) >= MIN_SHORT_WORDS:
                self.grams.add(hash(tuple(words)))
                lengths.add(len(words))
        self.lengths = sorted(lengths)

    @classmethod
    def build(cls, eval_sets: Sequence[str | Path], n: int) -> ContaminationIndex:
        return cls(eval_texts(eval_sets), n)

    def verdict(self, record: Record) -> str | None:
        words = normalized_words(joined_text(record))
        for k in self.lengths:
            if any(hash(tuple(words[i:i + k])) in self.grams for i in range(len(words) - k + 1)):
                return "overlaps-eval-set"
        return None
