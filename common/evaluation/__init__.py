"""Evaluation: medical benchmarks from local files, one-pass multiple-choice scoring, open-QA metrics,
perplexity, and an LLM judge with position-swapped pairwise comparison."""

from common.evaluation.items import MultipleChoiceItem, OpenItem
from common.evaluation.judge import DIMENSIONS, Judge, LLMJudge, PairwiseResult, compare_pairwise, rate_answers
from common.evaluation.loaders import load_medmcqa, load_medqa, load_open_qa, load_pubmedqa, load_pubmedqa_ids
from common.evaluation.open_qa import bleu, rouge_l, score_open_qa
from common.evaluation.prompts import PromptBuilder, question_message, truncate_words
from common.evaluation.scoring import ChoiceResult, perplexity, score_by_generation, score_by_likelihood

__all__ = ["DIMENSIONS", "ChoiceResult", "Judge", "LLMJudge", "MultipleChoiceItem", "OpenItem",
           "PairwiseResult", "PromptBuilder", "bleu", "compare_pairwise", "load_medmcqa", "load_medqa",
           "load_open_qa", "load_pubmedqa", "load_pubmedqa_ids", "perplexity", "question_message", "rate_answers",
           "rouge_l", "score_by_generation", "score_by_likelihood", "score_open_qa", "truncate_words"]
