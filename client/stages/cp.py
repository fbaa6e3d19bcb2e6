"""Continued pretraining: causal-LM loss on every token of de-identified unstructured text."""

from __future__ import annotations

from client.stages.base import Example, causal_lm_loss, causal_lm_per_sample_loss, pad_examples
from common.records import StageData


class ContinuedPretraining:
    def __init__(self, tokenizer, max_seq_len: int) -> None:
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len

    def examples(self, data: StageData) -> list[Example]:
        """One example per window of ``max_seq_len`` tokens; a window never spans two documents."""
        eos = self.tokenizer.eos_token_id
        examples = []
        for note in data.notes:
            ids = self.tokenizer(note.text, add_special_tokens=False)["input_ids"] + [eos]
            for start in range(0, len(ids), self.max_seq_len):
                window = ids[start:start + self.max_seq_len]
                if len(window) > 1:
                    examples.append(Example(window, list(window)))
        return examples

    def collate(self, examples: list[Example]):
        return pad_examples(examples, self.tokenizer.pad_token_id)

    loss = staticmethod(causal_lm_loss)
    per_sample_loss = staticmethod(causal_lm_per_sample_loss)
