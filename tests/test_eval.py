"""Benchmark loaders, one-pass likelihood scoring, generation parsing, metrics and federated aggregation,
on hand-made items whose answers are known."""

from __future__ import annotations

import contextlib
import json
import math
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoTokenizer

from common.evaluation import (
    MultipleChoiceItem,
    PromptBuilder,
    bleu,
    load_medmcqa,
    load_medqa,
    load_open_qa,
    load_pubmedqa,
    load_pubmedqa_ids,
    perplexity,
    rouge_l,
    score_by_likelihood,
)
from common.evaluation.federated import aggregate_answer_scores, closed_answer_scores
from common.evaluation.scoring import answer_token_ids, parse_label
from common.jsonfiles import RecordFileError
from common.records import Conversation

# -- loaders -------------------------------------------------------------------------------------------


def test_pubmedqa_published_format_and_official_split(tmp_path):
    items = {str(pmid): {"QUESTION": f"Does drug {pmid} work?", "CONTEXTS": ["Background.", "Results."],
                         "LONG_ANSWER": "It does.", "final_decision": answer}
             for pmid, answer in ((101, "yes"), (102, "no"), (103, "maybe"))}
    (tmp_path / "ori_pqal.json").write_text(json.dumps(items))
    (tmp_path / "test_ground_truth.json").write_text(json.dumps({"102": "no", "103": "maybe"}))
    test_ids = load_pubmedqa_ids(tmp_path / "test_ground_truth.json")
    test = load_pubmedqa(tmp_path / "ori_pqal.json", include=test_ids)
    train = load_pubmedqa(tmp_path / "ori_pqal.json", exclude=test_ids)
    assert [(i.item_id, i.answer) for i in test] == [("102", "no"), ("103", "maybe")]
    assert [i.item_id for i in train] == ["101"]
    assert train[0].labels == ("yes", "no", "maybe") and train[0].context == "Background.\nResults."


def test_medqa_and_medmcqa_published_formats(tmp_path):
    (tmp_path / "medqa.jsonl").write_text(json.dumps(
        {"question": "Q?", "options": {"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"}, "answer_idx": "C",
         "answer": "c"}) + "\n")
    (tmp_path / "medmcqa.jsonl").write_text(json.dumps(
        {"id": "x1", "question": "Q?", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 4}) + "\n")
    medqa, medmcqa = load_medqa(tmp_path / "medqa.jsonl")[0], load_medmcqa(tmp_path / "medmcqa.jsonl")[0]
    assert medqa.labels == ("A", "B", "C", "D", "E") and medqa.answer == "C"
    assert medmcqa.labels == ("A", "B", "C", "D") and medmcqa.answer == "D" and medmcqa.item_id == "x1"


def test_open_qa_reads_chatdoctor_records(tmp_path):
    (tmp_path / "chat.json").write_text(json.dumps([{"instruction": "Be a doctor.", "input": "I cough.",
                                                     "output": "Rest."}]))
    item = load_open_qa(tmp_path / "chat.json")[0]
    assert item.prompt == "Be a doctor.\n\nI cough." and item.reference == "Rest."


@pytest.mark.parametrize("line, message", [
    ('{"question": "secret words", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0}', "field 'cop'"),
    ('{"question": "secret words", "opa": "a", "opb": "b", "opc": "c", "cop": 1}', "missing field 'opd'"),
    ('{"question": "secret words", ', "malformed JSON"),
])
def test_bad_records_name_file_line_and_field_not_text(tmp_path, line, message):
    path = tmp_path / "medmcqa.jsonl"
    path.write_text('{"question": "ok", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 1}\n' + line + "\n")
    with pytest.raises(RecordFileError, match=message) as info:
        load_medmcqa(path)
    assert f"{path}:2" in str(info.value) and "secret" not in str(info.value)


# -- scoring -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


class OracleLM(torch.nn.Module):
    """A stub causal LM that knows the answers: where a row holds an item's marker token, the position
    after its last real token predicts that item's answer token. Every other position, padding included,
    predicts ``decoy``, so reading the wrong position gives a wrong answer. Counts forward passes."""

    def __init__(self, vocab: int, answer_of_marker: dict[int, int], decoy: int) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.vocab, self.answer_of_marker, self.decoy = vocab, answer_of_marker, decoy
        self.calls = 0

    def forward(self, input_ids, attention_mask):
        self.calls += 1
        logits = torch.zeros(*input_ids.shape, self.vocab)
        logits[..., self.decoy] = 5.0
        for row, ids in enumerate(input_ids):
            last = int(attention_mask[row].sum()) - 1
            answer = next(self.answer_of_marker[int(t)] for t in ids if int(t) in self.answer_of_marker)
            logits[row, last] = 0.0
            logits[row, last, answer] = 5.0
        return SimpleNamespace(logits=logits)


def _items(answers: list[str], labels=("yes", "no", "maybe")) -> list[MultipleChoiceItem]:
    # Questions of different lengths, so batches are padded.
    return [MultipleChoiceItem(str(i), "word " * (i + 1) + f"marker{i}", tuple((label, label) for label in labels), a)
            for i, a in enumerate(answers)]


def _oracle(tokenizer, items, wrong: set[int] = frozenset()) -> OracleLM:
    builder = PromptBuilder(tokenizer)
    prompt = builder.render(items[0])
    label_ids = dict(zip(items[0].labels, answer_token_ids(tokenizer, prompt, items[0].labels)))
    markers = {}
    for i, item in enumerate(items):
        marker = tokenizer(f" marker{i}", add_special_tokens=False)["input_ids"]
        answer = next(label for label in item.labels if label != item.answer) if i in wrong else item.answer
        markers[marker[-1]] = label_ids[answer]
    assert len(markers) == len(items), "markers must tokenize apart"
    decoy = label_ids[next(label for label in items[0].labels if all(label != it.answer for it in items))]
    return OracleLM(len(tokenizer), markers, decoy)


def test_likelihood_scoring_reads_each_item_at_its_own_last_token(tokenizer):
    items = _items(["yes", "no", "yes", "no", "no"])
    model = _oracle(tokenizer, items, wrong={3})
    result = score_by_likelihood(model, PromptBuilder(tokenizer), items, batch_size=2)
    assert result.predictions == ["yes", "no", "yes", "yes", "no"]
    assert result.accuracy == pytest.approx(4 / 5)
    assert result.correct_probability[0] > 0.9 and result.correct_probability[3] < 0.1


def test_likelihood_scoring_costs_one_forward_pass_per_item(tokenizer):
    items = _items(["yes", "no", "yes"])
    model = _oracle(tokenizer, items)
    score_by_likelihood(model, PromptBuilder(tokenizer), items, batch_size=1)
    assert model.calls == len(items)


def test_real_model_scores_lettered_options_few_shot(tiny_model_dir, tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    items = _items(["A", "C", "B"], labels=("A", "B", "C", "D"))
    builder = PromptBuilder(tokenizer, shots=(items[0],))
    assert builder.render(items[1]).count("<|im_start|>user") == 2
    result = score_by_likelihood(model, builder, items[1:])
    assert result.n == 2 and set(result.predictions) <= {"A", "B", "C", "D"}


def test_labels_sharing_a_first_token_are_refused(tokenizer):
    with pytest.raises(ValueError, match="share a first token"):
        answer_token_ids(tokenizer, "Answer:\n", ["A", "A"])


LETTERS, DECISIONS = ("A", "B", "C"), ("yes", "no", "maybe")


@pytest.mark.parametrize("text, labels, expected", [
    ("B", LETTERS, "B"), ("(b) because", LETTERS, "B"), ("I think so", LETTERS, None), ("", LETTERS, None),
    ("Yes, since", DECISIONS, "yes"), ("maybe.", DECISIONS, "maybe"), ("Noted", DECISIONS, None)])
def test_generated_answers_are_parsed_by_their_first_word(text, labels, expected):
    assert parse_label(text, labels) == expected


# -- open QA and perplexity ----------------------------------------------------------------------------


def test_rouge_l_and_bleu_on_known_pairs():
    assert rouge_l(["take ibuprofen twice daily"], ["take ibuprofen twice daily"]) == pytest.approx(1.0)
    assert rouge_l(["rest"], ["ibuprofen"]) == 0.0
    assert bleu(["take ibuprofen twice daily with food"], ["take ibuprofen twice daily with food"]) == pytest.approx(100)
    assert bleu(["rest at home"], ["ibuprofen twice daily please"]) < 1


class UniformLM(torch.nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.vocab = vocab

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, self.vocab))


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size(tokenizer):
    value, tokens = perplexity(UniformLM(len(tokenizer)), tokenizer, ["chest pain and fever", "cough"], max_length=3)
    assert value == pytest.approx(len(tokenizer), rel=1e-4)
    assert tokens > 0


# -- federated evaluation -------------------------------------------------------------------------------


def test_hospital_scores_only_its_closed_held_out_questions(tokenizer):
    items = _items(["yes", "no"])
    conversations = [Conversation.from_pair(PromptBuilder(tokenizer).messages(items[0])[-1]["content"], "yes. Because."),
                     Conversation.from_pair("Open question marker1", "Rest and fluids."),
                     Conversation.from_pair(PromptBuilder(tokenizer).messages(items[1])[-1]["content"], "no")]
    model = _oracle(tokenizer, items)
    scores = closed_answer_scores(model, tokenizer, conversations, ["yes", "no", "maybe"])
    assert scores == {"eval-answer-accuracy": 1.0, "eval-answer-n": 2}
    assert closed_answer_scores(model, tokenizer, conversations[1:2], ["yes", "no", "maybe"]) == {}


def test_federated_answer_accuracy_weights_each_hospital_by_its_own_count():
    hospitals = {"a": {"evaluate.eval-answer-accuracy": 1.0, "evaluate.eval-answer-n": 30, "evaluate.eval-loss": 1},
                 "b": {"evaluate.eval-answer-accuracy": 0.5, "evaluate.eval-answer-n": 10},
                 "c": {"evaluate.eval-loss": 2.0}}  # no closed questions: must not pull the mean down
    assert aggregate_answer_scores(hospitals) == {"eval-answer-accuracy": pytest.approx(35 / 40), "eval-answer-n": 40}
    assert aggregate_answer_scores({"c": {"evaluate.eval-loss": 2.0}}) == {}
    assert not math.isnan(aggregate_answer_scores(hospitals)["eval-answer-accuracy"])


# -- the configured suite -------------------------------------------------------------------------------


def test_suite_runs_every_configured_benchmark_few_shot_with_judge(tmp_path, tiny_model_dir, tokenizer):
    from transformers import AutoModelForCausalLM

    from common.config import RunConfig
    from common.evaluation.suite import run_benchmarks

    pubmed = {str(p): {"QUESTION": "Does it help?", "CONTEXTS": ["Trial."], "final_decision": a}
              for p, a in ((1, "yes"), (2, "no"), (3, "maybe"), (4, "yes"))}
    (tmp_path / "pqal.json").write_text(json.dumps(pubmed))
    (tmp_path / "test.json").write_text(json.dumps({"3": "maybe", "4": "yes"}))
    (tmp_path / "medqa.jsonl").write_text("".join(json.dumps(
        {"question": f"Q{i}?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer_idx": "B"}) + "\n"
        for i in range(3)))
    (tmp_path / "open.json").write_text(json.dumps([{"instruction": "Fever?", "input": "", "output": "Rest."}]))
    cfg = RunConfig.from_flat({"eval.pubmedqa-path": str(tmp_path / "pqal.json"),
                               "eval.pubmedqa-test-ids": str(tmp_path / "test.json"),
                               "eval.medqa-path": str(tmp_path / "medqa.jsonl"),
                               "eval.open-qa-path": str(tmp_path / "open.json"), "eval.few-shot": 1,
                               "eval.method": "both", "eval.judge-model": str(tiny_model_dir)}).eval
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    scores = run_benchmarks(model, tokenizer, cfg, base_context=contextlib.nullcontext)
    assert scores["pubmedqa-1shot-loglik-n"] == 2 and scores["medqa-1shot-generate-n"] == 2
    assert 0 <= scores["openqa-rouge-l"] <= 1 and "judge-safe" in scores
    assert scores["judge-vs-base-n"] == 1
