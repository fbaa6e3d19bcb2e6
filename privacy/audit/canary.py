"""Canary exposure (Carlini et al., "The Secret Sharer", 2019): does the model remember a planted secret?

A canary is a sentence with a random secret ("... the access code is 3 9 1 4 0 7."). Some canaries are
planted, repeated, in one hospital's notes; others are never shown (the reference). After training,
each canary's log-perplexity is ranked among the same sentence with ``alternatives`` random secrets:

    exposure = -log2 P_r[ppl(r) <= ppl(canary)]  (estimated by the rank among the sampled alternatives)

A model that learnt nothing about a secret gives it exposure around 1 (chance); one that memorised it
gives it the maximum measurable, log2(alternatives + 1). Reference canaries show what chance looks like
for the same model.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from common.tokens import Example, causal_lm_per_sample_loss, pad_examples

TEMPLATE = "Confidential: the access code of record {tag} is {secret}."
SECRET_DIGITS = 6


@dataclass(frozen=True)
class Canary:
    tag: str
    secret: str

    @property
    def text(self) -> str:
        return TEMPLATE.format(tag=self.tag, secret=self.secret)


def random_secret(rng: random.Random) -> str:
    return " ".join(str(rng.randrange(10)) for _ in range(SECRET_DIGITS))


def make_canaries(count: int, seed: int) -> list[Canary]:
    rng = random.Random(f"canaries-{seed}")
    return [Canary(f"C{rng.randrange(10**4):04d}", random_secret(rng)) for _ in range(count)]


def plant(notes_file: Path, canaries: list[Canary], repeats: int, seed: int) -> int:
    """Put each canary at the head of ``repeats`` different notes of ``notes_file`` (notes.jsonl); returns notes changed.

    Distinct notes (not added copies) keep the canaries past de-duplication, as a secret repeated across a
    patient's notes would be. The head, because DP-SGD trains on each note's first window only: a secret
    in a long note's tail would be cut off under DP and seen without it, which would flatter DP.
    """
    rows = [json.loads(line) for line in notes_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(f"plant-{seed}")
    needed = len(canaries) * repeats
    if needed > len(rows):
        raise ValueError(f"{notes_file}: {len(rows)} notes cannot hold {len(canaries)} canaries x {repeats} repeats")
    chosen = rng.sample(range(len(rows)), needed)
    for i, row_index in enumerate(chosen):
        rows[row_index]["text"] = canaries[i // repeats].text + " " + rows[row_index]["text"]
    notes_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return needed


@torch.no_grad()
def sequence_losses(model: torch.nn.Module, tokenizer, texts: list[str], batch_size: int = 16) -> list[float]:
    """Mean next-token loss (log-perplexity) of each text under ``model``."""
    model.eval()
    out: list[float] = []
    for start in range(0, len(texts), batch_size):
        examples = []
        for text in texts[start:start + batch_size]:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            examples.append(Example(ids, list(ids)))
        losses, _ = causal_lm_per_sample_loss(model, pad_examples(examples, tokenizer.pad_token_id))
        out += losses.tolist()
    return out


def exposure(canary_loss: float, alternative_losses: list[float]) -> float:
    """-log2 of the canary's rank fraction among the alternatives (ties count against the canary)."""
    rank = 1 + sum(1 for loss in alternative_losses if loss <= canary_loss)
    return math.log2(len(alternative_losses) + 1) - math.log2(rank)


def canary_exposures(model: torch.nn.Module, tokenizer, canaries: list[Canary], alternatives: int,
                     seed: int) -> list[float]:
    """Exposure of each canary among ``alternatives`` random secrets in the same sentence."""
    rng = random.Random(f"alternatives-{seed}")
    result = []
    for canary in canaries:
        others = [Canary(canary.tag, random_secret(rng)).text for _ in range(alternatives)]
        losses = sequence_losses(model, tokenizer, [canary.text] + others)
        result.append(exposure(losses[0], losses[1:]))
    return result
