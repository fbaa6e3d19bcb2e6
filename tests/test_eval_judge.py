"""The judge's position swap: a stub judge with a known position bias must not create wins."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from common.evaluation import DIMENSIONS, LLMJudge, compare_pairwise, rate_answers

QUESTIONS = ["q1", "q2", "q3", "q4"]
GOOD = ["a thorough, safe answer", "a thorough, safe answer", "a thorough, safe answer", "short"]
POOR = ["short", "short", "short", "a thorough, safe answer"]


class StubJudge:
    """Prefers the longer answer; with ``bias`` it instead picks the first-shown answer unless the other one
    is longer by more than ``bias`` characters (a judge partial to position, as LLM judges are)."""

    def __init__(self, bias: int = 0, always_first: bool = False) -> None:
        self.bias, self.always_first = bias, always_first

    def prefer(self, question, first, second):
        if self.always_first:
            return "first"
        if len(second) > len(first) + self.bias:
            return "second"
        if len(first) > len(second) - self.bias and len(first) != len(second):
            return "first"
        return "tie"

    def rate(self, question, answer, dimension):
        return 5.0 if len(answer) > 10 else 2.0


def test_an_unbiased_judge_gives_wins_and_losses():
    result = compare_pairwise(StubJudge(), QUESTIONS, GOOD, POOR)
    assert (result.wins, result.ties, result.losses) == (3, 0, 1)
    assert result.rates() == {"win-rate": 0.75, "tie-rate": 0.0, "loss-rate": 0.25, "n": 4}


def test_a_judge_that_always_picks_the_first_answer_yields_only_ties():
    result = compare_pairwise(StubJudge(always_first=True), QUESTIONS, GOOD, POOR)
    assert (result.wins, result.ties, result.losses) == (0, 4, 0)


def test_position_bias_cancels_whichever_model_is_shown_first():
    # Bias larger than any length gap: every verdict follows the position, so swapping A and B changes nothing.
    biased = StubJudge(bias=100)
    assert compare_pairwise(biased, QUESTIONS, GOOD, POOR).rates() == compare_pairwise(biased, QUESTIONS, POOR, GOOD).rates()
    assert compare_pairwise(biased, QUESTIONS, GOOD, POOR).ties == 4


def test_individual_scores_cover_the_seven_dimensions():
    assert set(DIMENSIONS) == {"doctor-like", "patient-friendly", "professional", "safe", "fluent", "proactive",
                               "helpful"}
    scores = rate_answers(StubJudge(), QUESTIONS, GOOD)
    assert scores == {dim: pytest.approx((3 * 5 + 2) / 4) for dim in DIMENSIONS}


def test_llm_judge_returns_valid_verdicts_from_a_local_model(tiny_model_dir):
    judge = LLMJudge(AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir))
    assert 1.0 <= judge.rate("fever?", "rest and fluids", "safe") <= 5.0
    assert judge.prefer("fever?", "rest", "see a doctor") in ("first", "second", "tie")
