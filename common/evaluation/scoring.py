"""Scoring closed questions by answer likelihood (one forward pass per item) and by generation.

Likelihood scoring compares the model's next-token log-probabilities, right after the prompt, of each
option label's first token. Every option is read off the same distribution, so an item costs one forward
pass whatever its number of options; labels must therefore differ in their first token (yes/no/maybe and
A-E do, and ``answer_token_ids`` checks it). Items are batched, right-padded, and each row is read at its
own last prompt token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from common.evaluation.items import MultipleChoiceItem
from common.evaluation.prompts import PromptBuilder


@dataclass
class ChoiceResult:
    """Accuracy over scored items, with each item's prediction (labels only: no text)."""

    method: str
    predictions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    correct_probability: list[float] = field(default_factory=list)  # likelihood scoring only

    @property
    def n(self) -> int:
        return len(self.answers)

    @property
    def accuracy(self) -> float:
        return sum(p == a for p, a in zip(self.predictions, self.answers)) / self.n if self.n else float("nan")

    def metrics(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}-accuracy": self.accuracy, f"{prefix}-n": self.n}
        if self.correct_probability:
            out[f"{prefix}-correct-prob"] = sum(self.correct_probability) / self.n
        return out


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _right_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.full((len(rows), max(map(len, rows))), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


def answer_token_ids(tokenizer, prompt: str, labels: Sequence[str]) -> list[int]:
    """The token each label starts with when it directly follows ``prompt``."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = []
    for label in labels:
        full = tokenizer(prompt + label, add_special_tokens=False)["input_ids"]
        if full[:len(prompt_ids)] != prompt_ids or len(full) == len(prompt_ids):
            raise ValueError(f"label {label!r} merges with the end of the prompt; use labels that start a new token")
        ids.append(full[len(prompt_ids)])
    if len(set(ids)) != len(ids):
        raise ValueError(f"labels {list(labels)} share a first token; one-pass scoring needs distinct first tokens")
    return ids


@torch.no_grad()
def next_token_logprobs(model: torch.nn.Module, tokenizer, prompts: list[str], max_length: int | None = None
                        ) -> torch.Tensor:
    """log p(next token | prompt) for every prompt: one batched forward pass, shape (len(prompts), vocab).

    Long prompts are cut from the left (``max_length``), so the end of the prompt, where the answer goes,
    is always kept.
    """
    rows = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    if max_length:
        rows = [r[-max_length:] for r in rows]
    ids, mask = _right_pad(rows, tokenizer.pad_token_id)
    device = _device(model)
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
    last = torch.tensor([len(r) - 1 for r in rows], device=device)
    return torch.log_softmax(logits[torch.arange(len(rows), device=device), last].float(), dim=-1).cpu()


def score_by_likelihood(model: torch.nn.Module, builder: PromptBuilder, items: Sequence[MultipleChoiceItem], *,
                        batch_size: int = 4, max_length: int | None = None) -> ChoiceResult:
    """Predict the option whose label the model finds likeliest; one forward pass per item."""
    return score_prompts(model, builder.tokenizer, [builder.render(item) for item in items],
                         [item.labels for item in items], [item.answer for item in items],
                         batch_size=batch_size, max_length=max_length)


def score_prompts(model: torch.nn.Module, tokenizer, prompts: Sequence[str], label_sets: Sequence[tuple[str, ...]],
                  answers: Sequence[str], *, batch_size: int = 4, max_length: int | None = None) -> ChoiceResult:
    """Likelihood scoring of already rendered prompts, each with its labels and its answer."""
    model.eval()
    result = ChoiceResult("loglik")
    token_ids: dict[tuple[str, ...], list[int]] = {}
    for start in range(0, len(prompts), batch_size):
        chunk = range(start, min(start + batch_size, len(prompts)))
        logprobs = next_token_logprobs(model, tokenizer, [prompts[i] for i in chunk], max_length)
        for i, row in zip(chunk, logprobs):
            labels = tuple(label_sets[i])
            if labels not in token_ids:
                token_ids[labels] = answer_token_ids(tokenizer, prompts[i], labels)
            option_scores = torch.softmax(row[token_ids[labels]], dim=-1)
            result.predictions.append(labels[int(option_scores.argmax())])
            result.answers.append(answers[i])
            result.correct_probability.append(float(option_scores[labels.index(answers[i])]))
    return result


@torch.no_grad()
def option_text_logliks(model: torch.nn.Module, tokenizer, prompt: str, options: Sequence[str]
                        ) -> list[tuple[float, int]]:
    """(summed log-probability, token count) of each option's text after ``prompt``.

    For options that are words or names rather than labels with distinct first tokens ("Chronic sinusitis"
    against "Chronic pancreatitis"); the caller picks the sum or the per-token mean. The prompt runs once
    and its key/value cache is shared by the options, which then run together as one short batch: an item
    costs its prompt plus its options' tokens, not the prompt once per option (on 2 CPU cores the prompts
    were three quarters of every arm's evaluation).
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    rows = [tokenizer(prompt + option, add_special_tokens=False)["input_ids"] for option in options]
    if any(row[:len(prompt_ids)] != prompt_ids or len(row) == len(prompt_ids) for row in rows):
        raise ValueError("an option merges with the end of the prompt; end the prompt where a new token starts")
    tails = [row[len(prompt_ids):] for row in rows]
    device = _device(model)
    head = model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True, logits_to_keep=1)
    first = torch.log_softmax(head.logits[0, -1].float(), -1)  # predicts every option's first token
    later = None
    width = max(map(len, tails))
    if width > 1:  # the options' own tokens after the first, right-padded, over the repeated prompt cache
        cache = head.past_key_values
        cache.batch_repeat_interleave(len(tails))
        ids, mask = _right_pad([tail[:-1] for tail in tails], tokenizer.pad_token_id)
        mask = torch.cat([torch.ones(len(tails), len(prompt_ids), dtype=mask.dtype), mask], dim=1)
        positions = (len(prompt_ids) + torch.arange(ids.size(1))).expand(len(tails), -1)
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                       past_key_values=cache, use_cache=False).logits.float()
        later = torch.log_softmax(logits, -1)  # position k predicts the option's token k + 1
    out = []
    for i, tail in enumerate(tails):
        total = float(first[tail[0]])
        total += sum(float(later[i, k, token]) for k, token in enumerate(tail[1:]))
        out.append((total, len(tail)))
    return out


def score_option_texts(model: torch.nn.Module, builder: PromptBuilder, items: Sequence[MultipleChoiceItem]
                       ) -> tuple[ChoiceResult, ChoiceResult]:
    """Predict the option whose text is likeliest after the prompt: (summed log-likelihood, per-token mean)."""
    model.eval()
    results = (ChoiceResult("option-loglik"), ChoiceResult("option-loglik-per-token"))
    for item in items:
        scores = option_text_logliks(model, builder.tokenizer, builder.render(item), [text for _, text in item.options])
        for result, values in zip(results, ([t for t, _ in scores], [t / n for t, n in scores])):
            result.predictions.append(item.labels[max(range(len(values)), key=values.__getitem__)])
            result.answers.append(item.answer)
            probabilities = torch.softmax(torch.tensor(values), dim=0)
            result.correct_probability.append(float(probabilities[item.labels.index(item.answer)]))
    return results


@torch.no_grad()
def generate(model: torch.nn.Module, tokenizer, prompt: str, max_new_tokens: int) -> str:
    """Greedy continuation of ``prompt`` (deterministic, so runs compare)."""
    device = _device(model)
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                         do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """The label a generated answer starts with ("B", "B.", "(b) ...", "Yes, because"), or None."""
    match = re.match(r"\W*(\w+)", text)
    if match is None:
        return None
    word = match.group(1).lower()
    return next((label for label in labels if label.lower() == word), None)


def score_by_generation(model: torch.nn.Module, builder: PromptBuilder, items: Sequence[MultipleChoiceItem], *,
                        max_new_tokens: int = 4) -> ChoiceResult:
    """Let the model answer freely and read the label it starts with; an unreadable answer counts as wrong."""
    model.eval()
    result = ChoiceResult("generate")
    for item in items:
        answer = parse_label(generate(model, builder.tokenizer, builder.render(item), max_new_tokens), item.labels)
        result.predictions.append(answer or "")
        result.answers.append(item.answer)
    return result


@torch.no_grad()
def perplexity(model: torch.nn.Module, tokenizer, texts: Sequence[str], *, max_length: int = 256,
               batch_size: int = 4) -> tuple[float, int]:
    """Token-level perplexity of ``texts`` cut into ``max_length`` windows; returns (perplexity, tokens scored)."""
    model.eval()
    windows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        windows += [ids[s:s + max_length] for s in range(0, len(ids), max_length) if len(ids[s:s + max_length]) > 1]
    total, count = 0.0, 0
    device = _device(model)
    for start in range(0, len(windows), batch_size):
        chunk = windows[start:start + batch_size]
        ids, mask = _right_pad(chunk, tokenizer.pad_token_id)
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, :-1].float()
        targets = ids[:, 1:].to(device)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        keep = mask[:, 1:].to(device).bool()
        total += float(nll[keep].sum())
        count += int(keep.sum())
    return (math.exp(total / count) if count else float("nan")), count
