"""A second, deliberately plain closed-question scorer, to check the one-pass scorer against.

Each option is scored by the full log-likelihood of its tokens after the identical prompt: one unpadded
forward pass per option, the log-probabilities of the option's tokens summed. It shares no code with
``common.evaluation.scoring`` (no padding, no first-token shortcut), so the two agreeing item by item is
evidence that neither reads the wrong position, token or adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OptionScores:
    """One item: each option's summed log-likelihood and its token count (to see any length effect)."""

    logliks: tuple[float, ...]
    token_counts: tuple[int, ...]

    def best(self, labels: Sequence[str]) -> str:
        return labels[max(range(len(labels)), key=self.logliks.__getitem__)]


@torch.no_grad()
def option_logliks(model: torch.nn.Module, tokenizer, prompt: str, options: Sequence[str]) -> OptionScores:
    """log p(option | prompt) for every option, one forward pass each, summed over the option's tokens."""
    model.eval()
    device = next(model.parameters()).device
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    logliks, counts = [], []
    for option in options:
        full = tokenizer(prompt + option, add_special_tokens=False)["input_ids"]
        if full[:len(prompt_ids)] != prompt_ids:
            raise ValueError(f"option {option!r} changes the prompt's own tokens; it cannot be scored after it")
        option_ids = full[len(prompt_ids):]
        logits = model(input_ids=torch.tensor([full], device=device)).logits[0].float()
        log_probs = torch.log_softmax(logits, dim=-1)
        # The token at position p is predicted by the logits at position p - 1.
        logliks.append(sum(float(log_probs[len(prompt_ids) + k - 1, token]) for k, token in enumerate(option_ids)))
        counts.append(len(option_ids))
    return OptionScores(tuple(logliks), tuple(counts))


def predict_all(model: torch.nn.Module, tokenizer, prompts: Sequence[str],
                label_sets: Sequence[Sequence[str]]) -> list[OptionScores]:
    """``option_logliks`` for every (prompt, labels) pair, in order."""
    return [option_logliks(model, tokenizer, prompt, labels) for prompt, labels in zip(prompts, label_sets)]
