"""Instruction fine-tuning: conversations through the model's chat template, loss on assistant tokens only.

Conversations are short (85 tokens on average in the synthetic hospitals) beside ``max_seq_len``, so by
default several are packed into one row (``common.tokens.pack``, as CP packs notes): position ids restart
at each conversation, so attention stays inside it, and each keeps its assistant-only labels.
"""

from __future__ import annotations

import math
from fnmatch import fnmatch

from client.stages.base import StageObjective, objective, packing
from common.config import RunConfig
from common.evaluation.federated import heldout_scores
from common.records import Conversation, StageData
from common.stages import Stage
from common.tokens import IGNORE, Example, causal_lm_loss, causal_lm_per_sample_loss, pack, pad_examples


@objective("ift")
class InstructionTuning(StageObjective):
    def __init__(self, tokenizer, max_seq_len: int, *, sources: str = "*", packing: bool = False,
                 answer_labels: str = "") -> None:
        """``sources``: comma-separated fnmatch patterns of the source file names whose conversations to use
        (a curated subset for a second IFT stage); ``"*"`` uses all. ``packing``: several conversations per
        row; without it each conversation is a row of its own (what DP-SGD needs, a row being one privacy
        unit, and what a model that drops position ids, PEFT prompt tuning, can take). ``answer_labels``:
        held-out answers that start with one of these comma-separated labels are also scored as closed
        questions (``heldout_metrics``)."""
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.packing = packing
        self.sources = [p.strip() for p in sources.split(",") if p.strip()]
        self.answer_labels = answer_labels

    @classmethod
    def for_stage(cls, stage: Stage, tokenizer, cfg: RunConfig) -> InstructionTuning:
        return cls(tokenizer, stage.max_seq_len, sources=stage.options.data, packing=packing(stage, cfg.dp, cfg.adapter),
                   answer_labels=cfg.eval.answer_labels)

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

    def heldout_metrics(self, model, heldout: StageData, *, max_items: int) -> dict[str, float]:
        """Closed-answer accuracy where held-out answers are labels (yes/no/maybe), over every source. Scores only."""
        return heldout_scores(model, self.tokenizer, heldout.conversations, self.answer_labels, max_items=max_items)
