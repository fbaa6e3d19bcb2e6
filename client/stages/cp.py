"""Continued pretraining: causal-LM loss on every token of de-identified unstructured text.

Documents are packed into rows of ``max_seq_len`` tokens so no compute goes to padding
(``common.tokens.pack``). Position ids restart at each document, from which transformers builds a
block-diagonal causal mask: a token never attends to another document, and the first token of a
document is not predicted from the one before. Models that cannot take position ids (PEFT prompt
tuning drops them) get one document window per row.
"""

from __future__ import annotations

import math

from client.stages.base import StageObjective, objective, packing
from common.config import RunConfig
from common.records import StageData
from common.stages import Stage
from common.tokens import Example, causal_lm_loss, causal_lm_per_sample_loss, pack, pad_examples


@objective("cp")
class ContinuedPretraining(StageObjective):
    def __init__(self, tokenizer, max_seq_len: int, *, packing: bool = True, one_window_per_note: bool = False) -> None:
        """``one_window_per_note``: keep only each note's first window, so every example is exactly one note
        (what DP-SGD's per-example clipping protects); otherwise a long note yields several windows."""
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.packing = packing
        self.one_window_per_note = one_window_per_note

    @classmethod
    def for_stage(cls, stage: Stage, tokenizer, cfg: RunConfig) -> ContinuedPretraining:
        return cls(tokenizer, stage.max_seq_len, packing=packing(stage, cfg.dp, cfg.adapter),
                   one_window_per_note=cfg.dp.enabled and cfg.dp.unit == "record")

    def windows(self, data: StageData) -> list[tuple[list[int], str]]:
        """Each note (plus end-of-text) cut into windows of at most ``max_seq_len`` tokens, with its patient."""
        eos = self.tokenizer.eos_token_id
        windows = []
        for note in data.notes:
            ids = self.tokenizer(note.text, add_special_tokens=False)["input_ids"] + [eos]
            for start in range(0, self.max_seq_len if self.one_window_per_note else len(ids), self.max_seq_len):
                window = ids[start:start + self.max_seq_len]
                if len(window) > 1:  # a lone token has nothing to predict
                    windows.append((window, note.patient_id))
        return windows

    def examples(self, data: StageData) -> list[Example]:
        documents = [Example(w, list(w), unit=patient) for w, patient in self.windows(data)]
        return pack(documents, self.max_seq_len) if self.packing else documents

    def collate(self, examples: list[Example]):
        return pad_examples(examples, self.tokenizer.pad_token_id)

    loss = staticmethod(causal_lm_loss)
    per_sample_loss = staticmethod(causal_lm_per_sample_loss)

    def eval_metrics(self, model, examples, loss: float, batch_size: int, max_batches: int) -> dict[str, float]:
        return {"perplexity": math.exp(min(loss, 50.0))}  # capped: an untrained model must not overflow to inf
