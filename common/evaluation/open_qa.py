"""Open questions: generate an answer and compare it with the reference by ROUGE-L (rouge-score) and BLEU
(sacrebleu), the libraries the published numbers use."""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu
import torch
from rouge_score import rouge_scorer

from common.evaluation.items import OpenItem
from common.evaluation.prompts import render_chat
from common.evaluation.scoring import generate


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 (stemmed), in [0, 1]."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]
    return sum(scores) / len(scores) if scores else float("nan")


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU with sacrebleu's standard tokenisation, in [0, 100]."""
    return sacrebleu.corpus_bleu(list(predictions), [list(references)]).score if predictions else float("nan")


def open_answers(model: torch.nn.Module, tokenizer, questions: Sequence[str], max_new_tokens: int) -> list[str]:
    """The model's greedy answer to each question, asked as a single user turn."""
    model.eval()
    return [generate(model, tokenizer, render_chat(tokenizer, q), max_new_tokens) for q in questions]


def score_open_qa(model: torch.nn.Module, tokenizer, items: Sequence[OpenItem], *, max_new_tokens: int = 64
                  ) -> tuple[dict[str, float], list[str]]:
    """Generate an answer to every item; (ROUGE-L, BLEU and n against the references, the answers)."""
    predictions = open_answers(model, tokenizer, [item.prompt for item in items], max_new_tokens)
    references = [item.reference for item in items]
    return {"rouge-l": rouge_l(predictions, references), "bleu": bleu(predictions, references),
            "n": len(items)}, predictions
