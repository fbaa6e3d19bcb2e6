"""The configured benchmarks (``[eval]``) run on one model: what ``python -m simulations.evaluate`` prints.

Closed benchmarks are scored zero- or few-shot by likelihood and/or generation; open QA by ROUGE-L and
BLEU; with a judge model, the answers are also rated on the seven dimensions and compared pairwise with
the base model (the same network with its adapter switched off).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import torch

from common.config import EvalSection
from common.evaluation.items import MultipleChoiceItem
from common.evaluation.judge import LLMJudge, compare_pairwise, rate_answers
from common.evaluation.loaders import load_medmcqa, load_medqa, load_open_qa, load_pubmedqa, load_pubmedqa_ids
from common.evaluation.open_qa import open_answers, score_open_qa
from common.evaluation.prompts import PromptBuilder
from common.evaluation.scoring import score_by_generation, score_by_likelihood

OPEN_ANSWER_TOKENS = 128  # room for a short clinical answer, for the metrics and the judge alike


def closed_benchmarks(cfg: EvalSection) -> dict[str, tuple[list[MultipleChoiceItem], list[MultipleChoiceItem]]]:
    """Benchmark name -> (few-shot pool, scored items), for every benchmark whose file is configured.

    PubMedQA scores the official test ids and draws shots from outside them; the others take their shots
    from the head of the file and score the rest.
    """
    out = {}
    if cfg.pubmedqa_path:
        test_ids = load_pubmedqa_ids(Path(cfg.pubmedqa_test_ids)) if cfg.pubmedqa_test_ids else None
        scored = load_pubmedqa(Path(cfg.pubmedqa_path), include=test_ids)
        pool = load_pubmedqa(Path(cfg.pubmedqa_path), exclude=test_ids) if test_ids else scored[:cfg.few_shot]
        out["pubmedqa"] = (pool, scored if test_ids else scored[cfg.few_shot:])
    for name, path, loader in (("medqa", cfg.medqa_path, load_medqa), ("medmcqa", cfg.medmcqa_path, load_medmcqa)):
        if path:
            items = loader(Path(path))
            out[name] = (items[:cfg.few_shot], items[cfg.few_shot:])
    return out


def run_benchmarks(model: torch.nn.Module, tokenizer, cfg: EvalSection,
                   base_context: Callable[[], contextlib.AbstractContextManager] | None = None) -> dict[str, float]:
    """Every configured benchmark on ``model``; ``base_context`` switches it to the base for the judge's pairs."""
    scores: dict[str, float] = {}
    cap = (lambda items: items[:cfg.max_items]) if cfg.max_items else (lambda items: items)
    for name, (pool, items) in closed_benchmarks(cfg).items():
        builder = PromptBuilder(tokenizer, cfg.context_words, tuple(pool[:cfg.few_shot]))
        shots = f"{cfg.few_shot}shot"
        if cfg.method in ("loglik", "both"):
            scores.update(score_by_likelihood(model, builder, cap(items)).metrics(f"{name}-{shots}-loglik"))
        if cfg.method in ("generate", "both"):
            scores.update(score_by_generation(model, builder, cap(items)).metrics(f"{name}-{shots}-generate"))
    if cfg.open_qa_path:
        items = cap(load_open_qa(Path(cfg.open_qa_path)))
        questions = [item.prompt for item in items]
        open_scores, answers = score_open_qa(model, tokenizer, items, max_new_tokens=OPEN_ANSWER_TOKENS)
        scores.update({f"openqa-{k}": v for k, v in open_scores.items()})
        if cfg.judge_model:
            judge = LLMJudge.from_path(cfg.judge_model)
            scores.update({f"judge-{dim}": value for dim, value in rate_answers(judge, questions, answers).items()})
            if base_context is not None:
                with base_context():
                    base_answers = open_answers(model, tokenizer, questions, OPEN_ANSWER_TOKENS)
                rates = compare_pairwise(judge, questions, answers, base_answers).rates()
                scores.update({f"judge-vs-base-{k}": v for k, v in rates.items()})
    return scores
