"""Closed-question scoring checked against a plain second scorer, and training that must move the answer."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from common.config import RunConfig
from common.evaluation import MultipleChoiceItem, PromptBuilder
from common.evaluation.option_loglik import option_logliks, predict_all
from common.evaluation.scoring import option_text_logliks, score_prompts

# One token each in the tiny tokenizer, as yes/no/maybe are in SmolLM2's (there they are not: "maybe" is 5).
LABELS = ("A", "B", "C")
WORDS = ("patients treatment clinical blood pressure therapy disease cardiac risk outcome trial mortality dose "
         "infection surgery diabetes insulin renal hepatic stroke cancer tumour biopsy diagnosis symptoms fever "
         "antibiotic vaccine hospital admission").split()


def _items(n: int, offset: int = 0) -> list[MultipleChoiceItem]:
    """PubMedQA-shaped items, each with its own clinical-sounding question and context."""
    import random

    rng = random.Random(offset)
    return [MultipleChoiceItem(str(offset + i), f"Does {rng.choice(WORDS)} change {rng.choice(WORDS)} in cohort {i}?",
                               tuple((label, label) for label in LABELS), LABELS[i % 3],
                               context=" ".join(rng.sample(WORDS, 12))) for i in range(n)]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def test_independent_scorer_agrees_with_the_one_pass_scorer_item_by_item(tiny):
    model, tokenizer = tiny
    items = _items(9)
    prompts = [PromptBuilder(tokenizer).render(item) for item in items]
    # Letters are one token each here, so the one-pass first-token read and the full likelihood must coincide.
    letters = ("A", "B", "C")
    one_pass = score_prompts(model, tokenizer, prompts, [letters] * len(items), ["A"] * len(items), batch_size=4)
    independent = predict_all(model, tokenizer, prompts, [letters] * len(items))
    assert all(s.token_counts == (1, 1, 1) for s in independent)
    assert one_pass.predictions == [s.best(letters) for s in independent]
    for probability, scores in zip(one_pass.correct_probability, independent):
        assert probability == pytest.approx(float(torch.softmax(torch.tensor(scores.logliks), 0)[0]), abs=1e-4)


def test_batched_option_text_likelihood_matches_the_plain_one(tiny):
    model, tokenizer = tiny
    prompt = PromptBuilder(tokenizer).render(_items(1)[0])
    options = ["Chronic sinusitis", "Diabetes", "Panic disorder with palpitations"]
    batched = option_text_logliks(model, tokenizer, prompt, options)
    plain = option_logliks(model, tokenizer, prompt, options)
    assert [n for _, n in batched] == list(plain.token_counts) and max(plain.token_counts) > 1
    assert [s for s, _ in batched] == pytest.approx(list(plain.logliks), abs=1e-4)


def test_cached_prompt_option_scoring_matches_the_plain_one_through_a_lora_adapter(tiny_model_dir):
    # The shared prompt cache must carry the adapter's keys and values: B starts random, not zero, so LoRA counts.
    from peft import LoraConfig, get_peft_model

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False)).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = PromptBuilder(tokenizer).render(_items(1)[0])
    options = ["Panic disorder with palpitations", "Diabetes", "Injury to the knee", "Injury to the hip joint"]
    batched = option_text_logliks(model, tokenizer, prompt, options)
    plain = option_logliks(model, tokenizer, prompt, options)
    with model.disable_adapter():
        without = option_logliks(model, tokenizer, prompt, options)
    assert [s for s, _ in batched] == pytest.approx(list(plain.logliks), abs=1e-4)
    assert list(plain.logliks) != pytest.approx(list(without.logliks), abs=1e-3)


@pytest.mark.slow
def test_training_on_one_answer_makes_both_scorers_prefer_it(tiny_model_dir, tmp_path):
    from simulations.benchmarks.scoring_sanity import run

    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none", "deid.enabled": False,
                               "train.learning-rate": 3e-2, "train.batch-size": 8, "adapter.dropout": 0.1,
                               "data.contamination-check": False})
    report = run(cfg, _items(16), _items(6, offset=100), steps=10, workdir=tmp_path, answers=("A", "B"))
    assert report["base-agreement-passes"]
    for answer in ("A", "B"):
        trained = report["trained"][answer]
        assert trained["predicted-shares"].get(answer, 0) >= 0.9, trained
        assert trained["agreement-one-pass-vs-independent"] == 1.0
        checks = trained["alignment"]
        # Every training example's prompt is the scoring prompt, and its first labelled token the scored one.
        assert checks["prompt-identical-to-scoring-prompt"] == checks["examples"] == 16
        assert checks["first-labelled-token-is-scored-answer-token"] == 16
        assert checks["max-gap-train-logprob-vs-scorer-logprob"] < 1e-4
        adapter = trained["adapter"]
        assert adapter["lora-B-norm-initial"] == 0 and adapter["lora-B-norm-trained"] > 0
        assert adapter["eval-mode-while-scoring"]
        assert adapter["reloaded-adapter-max-probability-gap"] < 1e-5
        assert adapter["adapter-off-vs-base-max-probability-gap"] < 1e-5
        assert trained["training"]["steps"] == 10
    assert report["passes"]
