"""Packing and the labelled-only LM head (common.tokens): packed conversations keep their labels and their
attention to themselves, and the losses equal those of the full logits in every stage and adapter kind."""

from __future__ import annotations

import logging
import random

import pytest
import torch
import torch.nn.functional as F

from client.stages import stage_objective
from client.stages.base import _packing_off
from client.stages.cp import ContinuedPretraining
from client.stages.ha import PreferenceAlignment
from client.stages.ift import InstructionTuning
from client.train import evaluate
from common.config import AdapterSection, ModelSection, RunConfig
from common.model import build_adapter_model
from common.records import Conversation, Message, Note, PreferencePair, StageData
from common.stages import build_schedule
from common.tokens import IGNORE, Example, causal_lm_loss, causal_lm_per_sample_loss, pack, token_logits

pytestmark = pytest.mark.usefixtures("one_thread")


def _trained_looking(loaded):
    """LoRA B starts at zero; random adapter values make the adapter's path count in every comparison."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in loaded.model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
    loaded.model.eval()
    return loaded


def _model(tiny_model_dir, method="lora", quantization="none"):
    return _trained_looking(build_adapter_model(
        ModelSection(name=str(tiny_model_dir), quantization=quantization),
        AdapterSection(method=method, dropout=0.0, target_modules="all-linear", virtual_tokens=3), seed=0))


@pytest.fixture(scope="module")
def lora(tiny_model_dir):
    return _model(tiny_model_dir)


def _conversations(n=7, seed=0):
    rng = random.Random(seed)
    words = "asthma wheeze spirometry inhaled steroid fever cough insulin diet rest".split()
    out = []
    for i in range(n):
        turns = [Message("user", " ".join(rng.choices(words, k=rng.randrange(2, 12))) + "?"),
                 Message("assistant", " ".join(rng.choices(words, k=rng.randrange(1, 15))) + ".")]
        if i % 3 == 0:  # a multi-turn dialogue
            turns += [Message("user", "And then?"), Message("assistant", " ".join(rng.choices(words, k=4)) + ".")]
        out.append(Conversation(tuple(turns), source="instructions.jsonl"))
    return StageData(conversations=out)


def _segments(row: Example) -> list[tuple[int, int]]:
    """(start, end) of each packed example in ``row``: where positions restart."""
    starts = [i for i, p in enumerate(row.position_ids) if p == 0] + [len(row.input_ids)]
    return list(zip(starts, starts[1:]))


def test_pack_fills_rows_best_fit_and_keeps_each_example_once():
    examples = [Example(list(range(1, n + 1)), list(range(1, n + 1))) for n in (9, 2, 7, 3, 5, 1, 4)]
    rows = pack(examples, 10)
    # 31 tokens in four rows, the fewest possible; rows in the order of their first example.
    assert sorted(len(r.input_ids) for r in rows) == [2, 9, 10, 10] and rows[0].input_ids[:9] == list(range(1, 10))
    pieces = sorted(tuple(r.input_ids[s:e]) for r in rows for s, e in _segments(r))
    assert pieces == sorted(tuple(e.input_ids) for e in examples)
    assert all(r.labels[s] == IGNORE for r in rows for s, _ in _segments(r))
    with pytest.raises(ValueError, match="does not fit"):
        pack([Example([1] * 11, [1] * 11)], 10)


def test_packed_ift_labels_every_response_token_once_and_attends_only_within_a_conversation(lora):
    data = _conversations()
    alone = InstructionTuning(lora.tokenizer, 96).examples(data)
    packed = InstructionTuning(lora.tokenizer, 96, packing=True).examples(data)
    assert len(packed) < len(alone)
    # Every conversation is in exactly one row, with the targets it has alone (a target is labels[1:]).
    found = []
    for row in packed:
        for start, end in _segments(row):
            match = [i for i, e in enumerate(alone) if e.input_ids == row.input_ids[start:end]]
            assert match and row.labels[start + 1:end] == alone[match[0]].labels[1:]
            assert row.labels[start] == IGNORE
            found.append(match[0])
    assert sorted(found) == list(range(len(alone)))
    assert sum(t != IGNORE for r in packed for t in r.labels[1:]) == sum(t != IGNORE for e in alone for t in e.labels[1:])

    objective = InstructionTuning(lora.tokenizer, 96, packing=True)
    with torch.no_grad():
        together = token_logits(lora.model, objective.collate(packed))  # padded batch of rows
        for r, row in enumerate(packed):
            for start, end in _segments(row):
                single = next(e for e in alone if e.input_ids == row.input_ids[start:end])
                by_itself = token_logits(lora.model, objective.collate([single]))[0]
                torch.testing.assert_close(together[r, start:end], by_itself, atol=1e-4, rtol=1e-4)


def _full_token_losses(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy at every position from the full logits, as the loss was computed before, and the mask."""
    logits = token_logits(model, batch)[:, :-1].float()
    targets = batch["labels"][:, 1:]
    losses = F.cross_entropy(logits.transpose(1, 2), targets.clamp(min=0), reduction="none")
    return losses, targets != IGNORE


def _assert_loss_and_grads_match(loaded, batch):
    params = [p for p in loaded.model.parameters() if p.requires_grad]
    loss, tokens = causal_lm_loss(loaded.model, batch)
    grads = torch.autograd.grad(loss, params)
    losses, mask = _full_token_losses(loaded.model, batch)
    full = losses[mask].mean()
    assert tokens == int(mask.sum())
    torch.testing.assert_close(loss, full, atol=1e-5, rtol=1e-5)
    for got, want in zip(grads, torch.autograd.grad(full, params)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    per_sample, _ = causal_lm_per_sample_loss(loaded.model, batch)
    torch.testing.assert_close(per_sample, (losses * mask).sum(1) / mask.sum(1).clamp(min=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("packing", [False, True])
def test_labelled_only_ift_loss_equals_the_full_loss(lora, packing):
    objective = InstructionTuning(lora.tokenizer, 96, packing=packing)
    _assert_loss_and_grads_match(lora, objective.collate(objective.examples(_conversations())[:4]))


def test_labelled_only_cp_loss_equals_the_full_loss(lora):
    notes = StageData(notes=[Note(f"n{i}", f"p{i}", "2020-01-01", "Asthma treated with inhaled steroids. " * (i + 1))
                             for i in range(4)])
    objective = ContinuedPretraining(lora.tokenizer, 48)
    _assert_loss_and_grads_match(lora, objective.collate(objective.examples(notes)[:3]))


@pytest.mark.parametrize("method, quantization", [("prompt-tuning", "none"), ("lora", "nf4")])
def test_labelled_only_loss_equals_the_full_loss_with_prompt_tuning_and_a_4bit_base(tiny_model_dir, method,
                                                                                     quantization):
    loaded = _model(tiny_model_dir, method, quantization)
    assert loaded.quantization == quantization
    objective = InstructionTuning(loaded.tokenizer, 96)
    _assert_loss_and_grads_match(loaded, objective.collate(objective.examples(_conversations())[:3]))


def test_labelled_only_answer_log_probs_equal_the_full_ones(lora):
    objective = PreferenceAlignment(lora.tokenizer, 96, loss="dpo")
    pairs = objective.examples(StageData(preferences=[
        PreferencePair("What treats asthma?", "Inhaled corticosteroids.", "Nothing."),
        PreferencePair("Which test confirms asthma?", "Spirometry.", "It is probably nothing at all."),
    ]))
    batch = objective.collate(objective.with_reference(lora.model, pairs, batch_size=2))
    sums, lengths = objective.answer_log_probs(lora.model, batch)
    with torch.no_grad():
        log_probs = torch.log_softmax(token_logits(lora.model, batch)[:, :-1].float(), -1)
    targets = batch["labels"][:, 1:]
    mask = targets != IGNORE
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(sums, (picked * mask).sum(-1), atol=1e-4, rtol=1e-5)
    assert lengths.tolist() == mask.sum(-1).tolist()


def test_held_out_evaluation_loss_equals_the_full_token_mean(lora):
    objective = InstructionTuning(lora.tokenizer, 96, packing=True)
    examples = objective.examples(_conversations(9, seed=3))
    loss, scored = evaluate(lora.model, objective, examples, batch_size=2, max_batches=2)
    total, count = 0.0, 0
    for start in range(0, 4, 2):
        with torch.no_grad():
            losses, mask = _full_token_losses(lora.model, objective.collate(examples[start:start + 2]))
        total, count = total + float(losses[mask].sum()), count + int(mask.sum())
    assert scored == 4 and loss == pytest.approx(total / count, rel=1e-5)


def test_packing_is_on_by_default_and_off_with_a_logged_reason_under_dp(lora, caplog):
    stage = build_schedule(RunConfig()).stages[0]
    assert stage.options.pack and stage_objective(stage, lora.tokenizer, RunConfig()).packing
    unpacked = RunConfig.from_flat({"train.pack": False})
    assert not stage_objective(build_schedule(unpacked).stages[0], lora.tokenizer, unpacked).packing
    _packing_off.cache_clear()
    logging.getLogger("medfed").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="medfed"):
            private = stage_objective(stage, lora.tokenizer, RunConfig.from_flat({"dp.enabled": True}))
    finally:
        logging.getLogger("medfed").removeHandler(caplog.handler)
    assert not private.packing
    assert any("packing off" in r.getMessage() and "privacy unit" in r.getMessage() for r in caplog.records)
    # Under DP every row is one conversation: the unit Opacus clips is the unit the ledger counts.
    rows = private.examples(_conversations())
    assert len(rows) == 7 and all(r.position_ids is None for r in rows)
    cp = build_schedule(RunConfig.from_flat({"schedule.stages": "cp", "stage.cp.pack": False})).stages[0]
    assert not stage_objective(cp, lora.tokenizer, RunConfig()).packing
