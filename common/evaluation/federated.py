"""Scores a hospital computes on its own held-out split during federated evaluation.

Only numbers leave: the hospital reports these scores with its held-out example count, and the
coordinator's strategy averages them weighted by that count, keeping each hospital's own curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from common.evaluation.prompts import render_chat
from common.evaluation.scoring import parse_label, score_prompts
from common.records import Conversation


def closed_answer_scores(model: torch.nn.Module, tokenizer, conversations: Sequence[Conversation],
                         labels: Sequence[str], *, batch_size: int = 4, max_items: int = 0) -> dict[str, float]:
    """Accuracy on held-out single-turn conversations whose reference answer starts with one of ``labels``
    (yes/no/maybe questions, lettered options), scored by label likelihood in one forward pass each.

    Returns ``{}`` when the split has no such conversation, so hospitals without closed questions report
    nothing rather than a meaningless zero.
    """
    prompts, answers = [], []
    for conversation in conversations:
        messages = conversation.messages
        if len(messages) != 2 or messages[0].role != "user" or messages[1].role != "assistant":
            continue
        answer = parse_label(messages[1].content, labels)
        if answer is not None:
            prompts.append(render_chat(tokenizer, messages[0].content))
            answers.append(answer)
        if max_items and len(prompts) == max_items:
            break
    if not prompts:
        return {}
    result = score_prompts(model, tokenizer, prompts, [tuple(labels)] * len(prompts), answers, batch_size=batch_size)
    return {"eval-answer-accuracy": result.accuracy, "eval-answer-n": result.n}


def heldout_scores(model: torch.nn.Module, tokenizer, heldout_conversations: Sequence[Conversation],
                   answer_labels: str, *, max_items: int) -> dict[str, float]:
    """Answer accuracy on the held-out conversations whose answer is one of ``answer_labels`` (at most
    ``max_items`` of them).

    Always the same two keys, with ``eval-answer-n = 0`` where the split has no closed question: Flower's
    strategies refuse to aggregate replies whose metric keys differ. ``aggregate_answer_scores`` then gives
    such a hospital no weight.
    """
    labels = [label.strip() for label in answer_labels.split(",") if label.strip()]
    scores = closed_answer_scores(model, tokenizer, heldout_conversations, labels, max_items=max_items) \
        if labels and heldout_conversations else {}
    return scores or {"eval-answer-accuracy": 0.0, "eval-answer-n": 0}


def aggregate_answer_scores(hospitals: dict[str, dict[str, float]]) -> dict[str, float]:
    """Answer accuracy over the federation, each hospital weighted by the closed questions it scored.

    Flower's strategies weight every metric by ``num-examples`` and sum over the replies that have it; a
    score that only some hospitals report (not every split has closed questions) needs its own count as
    weight. ``hospitals`` is ``RoundRecord.hospitals``: hospital id -> its ``evaluate.*`` metrics.
    """
    pairs = [(m["evaluate.eval-answer-accuracy"], m["evaluate.eval-answer-n"]) for m in hospitals.values()
             if "evaluate.eval-answer-accuracy" in m and m.get("evaluate.eval-answer-n")]
    total = sum(n for _, n in pairs)
    if not total:
        return {}
    return {"eval-answer-accuracy": sum(a * n for a, n in pairs) / total, "eval-answer-n": total}
