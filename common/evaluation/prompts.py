"""Prompts for closed and open questions, zero- or few-shot, through the model's own chat template.

The same user message is used to train on benchmark-style items (``simulations.realdata``) and to score
them, so a model is asked in evaluation exactly what it was taught. Contexts are cut by words, not tokens,
so that data written without a tokenizer and prompts rendered with one agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from common.evaluation.items import MultipleChoiceItem


def truncate_words(text: str, max_words: int, *, keep_end: bool = False) -> str:
    """The first (or, with ``keep_end``, the last) ``max_words`` words of ``text`` (0: all of it)."""
    words = text.split()
    if max_words <= 0 or len(words) <= max_words:
        return text
    return "... " + " ".join(words[-max_words:]) if keep_end else " ".join(words[:max_words]) + " ..."


def _or_list(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def question_message(item: MultipleChoiceItem, max_context_words: int = 0) -> str:
    """The user turn that asks ``item``: its context, question, options (when they are not the labels)."""
    parts = []
    if item.context:  # cut from the front: an abstract's results, which bear on the answer, come last
        parts.append(f"Context: {truncate_words(item.context, max_context_words, keep_end=True)}")
    parts.append(f"Question: {item.question}")
    if any(label != text for label, text in item.options):
        parts.append("Options:\n" + "\n".join(f"{label}. {text}" for label, text in item.options))
    parts.append(f"Answer with {_or_list(item.labels)}.")
    return "\n\n".join(parts)


@dataclass(frozen=True)
class PromptBuilder:
    """Chat prompts for closed questions; ``shots`` are solved items shown first as earlier turns."""

    tokenizer: object
    max_context_words: int = 0
    shots: tuple[MultipleChoiceItem, ...] = field(default=())

    def messages(self, item: MultipleChoiceItem) -> list[dict[str, str]]:
        turns = []
        for shot in self.shots:
            turns.append({"role": "user", "content": question_message(shot, self.max_context_words)})
            turns.append({"role": "assistant", "content": shot.answer})
        turns.append({"role": "user", "content": question_message(item, self.max_context_words)})
        return turns

    def render(self, item: MultipleChoiceItem) -> str:
        """The prompt text up to where the model's answer starts."""
        return self.tokenizer.apply_chat_template(self.messages(item), tokenize=False, add_generation_prompt=True)


def render_chat(tokenizer, user_message: str) -> str:
    """A single-turn open question, ready for generation."""
    return tokenizer.apply_chat_template([{"role": "user", "content": user_message}], tokenize=False,
                                         add_generation_prompt=True)
