"""Evaluation items: what every benchmark loader produces and every scorer consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MultipleChoiceItem:
    """One closed question. ``options`` are (label, text) pairs; the model answers with a label.

    PubMedQA's labels are the answers themselves (yes, no, maybe); MedQA/MedMCQA use letters.
    """

    item_id: str
    question: str
    options: tuple[tuple[str, str], ...]
    answer: str  # one of the labels
    context: str = ""
    explanation: str = ""  # the reference reasoning when the benchmark has one (PubMedQA long answer)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.options)


@dataclass(frozen=True)
class OpenItem:
    """One open question with a reference answer, scored by ROUGE-L and BLEU."""

    item_id: str
    prompt: str
    reference: str
