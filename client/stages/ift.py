"""Instruction fine-tuning: conversations through the model's chat template, loss on assistant tokens only.

Conversations are short (85 tokens on average in the synthetic hospitals) beside ``max_seq_len``, so by
default several are packed into one row (``common.tokens.pack``, as CP packs notes): position ids restart
at each conversation, so attention stays inside it, and each keeps its assistant-only labels.
"""

from __future__ import annotations

import math
from fnmatch import fnmatch

from common.records import Conversation, StageData
from common.tokens import IGNORE, Example, causal_lm_loss, causal_lm_per_sample_loss, pack, pad_examples


class InstructionTuning:
    def __init__(self, tokenizer, max_seq_len: int, *, sources: str = "*", packing: bool = False) -> None:
        """``sources``: comma-separated fnmatch patterns of the source file names whose conversations to use
        (a curated subset for a second IFT stage); ``"*"`` uses all. ``packing``: several conversations per
        row; without it each conversation is a row of its own (what DP-SGD needs, a row being one privacy
        unit, and what a model that drops position ids, PEFT prompt tuning, can take)."""
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.packing = packing
        self.sources = [p.strip() for p in sources.split(",") if p.strip()]

    def examples(self, data: StageData) -> list[Example]:
        """Encoded conversations from the selected sources; one whose replies were all truncated away teaches
        nothing and is dropped."""
        encoded = (self.encode(c) for c in data.conversations if any(fnmatch(c.source, p) for p in self.sources))
        kept = [e for e in encoded if any(label != IGNORE for label in e.labels)]
        return pack(kept, self.max_seq_len) if self.packing else kept

    def encode(self, conversation: Conversation) -> Example:
        """Render with the chat template and label exactly the assistant replies (and their end-of-turn)."""
        messages = [{"role": m.role, "content": m.content} for m in conversation.messages]
        text = self._render(messages)
        # Character ranges of assistant content: render each prefix and see where every message lands.
        # Rendering prefixes (rather than re-implementing one template's markup) works for any chat template.
        spans = []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before, through = self._render(messages[:i]), self._render(messages[: i + 1])
            start = through.index(message["content"].strip(), len(before))
            spans.append((start, len(through)))
        encoding = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                  truncation=True, max_length=self.max_seq_len)
        labels = [
            token if any(s <= start < e for s, e in spans) else IGNORE
            for token, (start, _) in zip(encoding["input_ids"], encoding["offset_mapping"])
        ]
        return Example(encoding["input_ids"], labels, unit=conversation.patient_id)

    def _render(self, messages: list[dict[str, str]]) -> str:
        if not messages:
            return ""
        return self.tokenizer.apply_chat_template(messages, tokenize=False)

    def collate(self, examples: list[Example]):
        return pad_examples(examples, self.tokenizer.pad_token_id)

    loss = staticmethod(causal_lm_loss)
    per_sample_loss = staticmethod(causal_lm_per_sample_loss)

    def eval_metrics(self, model, examples, loss: float, batch_size: int, max_batches: int) -> dict[str, float]:
        return {"perplexity": math.exp(min(loss, 50.0))}  # of the assistant tokens; capped against overflow
