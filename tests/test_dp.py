"""DP-SGD on the tiny model: the adapter really trains, zero noise matches plain training, the ledger composes."""

from __future__ import annotations

import random

import pytest
import torch
from flwr.app import ConfigRecord, RecordDict
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM, KEY_NORM_BIT
from opacus.accountants import RDPAccountant

from client.stages.cp import ContinuedPretraining
from client.train import train_round
from common.config import AdapterSection, ConfigError, DPSection, ModelSection
from common.model import build_adapter_model
from common.stages import Stage
from common.tokens import Example, causal_lm_loss, causal_lm_per_sample_loss
from privacy.dp import (
    STATE_KEY,
    DPStep,
    HospitalPrivacy,
    LedgerEntry,
    PlanPhase,
    PrivacyAccount,
    PrivacyBudgetExhausted,
    PrivacyLedger,
    count_units,
    epsilon_of,
    noise_for_budget,
)


def _model(tiny_model_dir, **model_kw):
    model_kw = {"quantization": "none", **model_kw}
    return build_adapter_model(ModelSection(name=str(tiny_model_dir), **model_kw),
                               AdapterSection(dropout=0.0, target_modules="all-linear"), seed=0)


def _examples(n: int, length: int = 12, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ids = [rng.randrange(5, 500) for _ in range(length)]
        out.append(Example(ids, list(ids)))
    return out


def _stage(**kw) -> Stage:
    values = dict(name="cp", kind="cp", rounds=1, local_steps=3, batch_size=4, learning_rate=1e-2,
                  lr_schedule="constant", warmup_steps=0, max_seq_len=64)
    values.update(kw)
    return Stage(**values)


def _dp_round(loaded, examples: int, local_steps: int, step: DPStep) -> tuple[dict, list[str]]:
    """One DP round on ``loaded``; (adapter state after it, names of the adapter tensors it left unchanged)."""
    before = loaded.adapter_state()
    train_round(loaded.model, _objective(loaded), _examples(examples), _stage(local_steps=local_steps),
                round_in_stage=1, rng=random.Random(0), dp=step)
    after = loaded.adapter_state()
    return after, [k for k in before if torch.equal(before[k], after[k])]


def _objective(loaded):
    return ContinuedPretraining(loaded.tokenizer, 64)


def test_adapter_weights_change_under_dp(tiny_model_dir):
    loaded = _model(tiny_model_dir)
    # Noise is off, so any change comes from the clipped per-example gradients: every LoRA tensor moves.
    _, frozen = _dp_round(loaded, 16, 3, DPStep(noise_multiplier=0.0, max_grad_norm=1.0, sample_rate=4 / 16))
    assert not frozen, f"adapter tensors left frozen under DP: {frozen[:3]}"
    # And Opacus' hooks are gone: the shared model trains normally afterwards.
    assert not any(hasattr(p, "grad_sample") and p.grad_sample is not None for p in loaded.model.parameters())
    assert not loaded.model._forward_hooks and all(not m._forward_hooks for m in loaded.model.modules())


def test_zero_noise_huge_clip_matches_plain_training(tiny_model_dir):
    examples = _examples(6)  # equal lengths: the token mean and the per-example mean coincide
    stage = _stage(local_steps=3, batch_size=6)  # sample rate 1: Poisson batches hold every example
    plain, private = _model(tiny_model_dir), _model(tiny_model_dir)
    train_round(plain.model, _objective(plain), examples, stage, round_in_stage=1, rng=random.Random(0),
                max_grad_norm=0.0)
    train_round(private.model, _objective(private), examples, stage, round_in_stage=1, rng=random.Random(0),
                dp=DPStep(noise_multiplier=0.0, max_grad_norm=1e6, sample_rate=1.0))
    a, b = plain.adapter_state(), private.adapter_state()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=2e-5, rtol=1e-3)


def test_dp_with_gradient_checkpointing_matches_without(tiny_model_dir):
    results = []
    for checkpointing in (False, True):
        loaded = _model(tiny_model_dir, gradient_checkpointing=checkpointing)
        after, frozen = _dp_round(loaded, 8, 2, DPStep(noise_multiplier=0.0, max_grad_norm=1.0, sample_rate=4 / 8))
        assert not frozen
        results.append(after)
    for name in results[0]:
        torch.testing.assert_close(results[0][name], results[1][name], atol=1e-5, rtol=1e-4)


def test_dp_over_a_4bit_base_trains_the_adapter_and_leaves_the_base_alone(tiny_model_dir):
    loaded = _model(tiny_model_dir, quantization="nf4")
    assert loaded.quantization == "nf4"
    base = {k: v.clone() for k, v in loaded.model.state_dict().items() if "lora_" not in k}
    after, frozen = _dp_round(loaded, 8, 2, DPStep(noise_multiplier=1.0, max_grad_norm=1.0, sample_rate=4 / 8))
    assert not frozen, f"adapter tensors left frozen under DP on a 4-bit base: {frozen[:3]}"
    assert all(torch.isfinite(v).all() for v in after.values())
    state = loaded.model.state_dict()
    assert all(torch.equal(base[k], state[k]) for k in base), "DP training touched the quantised base"
    assert any(v.dtype == torch.uint8 for v in base.values())  # the NF4 weights really are packed 4-bit


def test_per_sample_loss_is_a_mean_of_each_records_token_mean(tiny_model_dir):
    loaded = _model(tiny_model_dir)
    objective = _objective(loaded)
    short, long = _examples(1, length=4, seed=1)[0], _examples(1, length=20, seed=2)[0]
    batch = objective.collate([short, long])
    with torch.no_grad():
        per_example, tokens = causal_lm_per_sample_loss(loaded.model, batch)
        alone = [causal_lm_loss(loaded.model, objective.collate([e]))[0] for e in (short, long)]
    assert per_example.shape == (2,) and tokens == 3 + 19
    torch.testing.assert_close(per_example, torch.stack(alone), atol=1e-5, rtol=1e-4)


def test_ledger_over_two_stages_equals_one_accountant_over_the_same_steps():
    ledger = PrivacyLedger(delta=1e-5)
    ledger.record(LedgerEntry(1, "cp", 1.1, 0.02, 30))
    ledger.record(LedgerEntry(2, "cp", 1.1, 0.02, 30))
    ledger.record(LedgerEntry(3, "ift", 1.1, 0.05, 40))
    single = RDPAccountant()
    for rate, steps in ((0.02, 60), (0.05, 40)):
        for _ in range(steps):
            single.step(noise_multiplier=1.1, sample_rate=rate)
    assert ledger.epsilon() == pytest.approx(single.get_epsilon(delta=1e-5), rel=1e-9)
    # ...and more than either stage alone.
    assert ledger.epsilon() > epsilon_of(ledger.entries[:2], 1e-5) > 0


def test_calibrated_noise_spends_the_target_over_the_planned_stages():
    plan = [(0.02, 60), (0.05, 40)]
    sigma = noise_for_budget(plan, 8.0, 1e-5)
    spent = epsilon_of([LedgerEntry(0, "s", sigma, q, t) for q, t in plan], 1e-5)
    assert 7.9 <= spent <= 8.0
    assert noise_for_budget(plan, 2.0, 1e-5) > sigma  # a tighter budget needs more noise


def test_budget_exhaustion_refuses_and_says_so(tmp_path):
    cfg = DPSection(enabled=True, target_epsilon=1.0, noise_multiplier=2.0)
    account = PrivacyAccount.open(cfg, tmp_path / "ledger.json")
    entry = LedgerEntry(1, "ift", 2.0, 0.05, 5)  # ε≈0.41 alone
    rounds = 0
    with pytest.raises(PrivacyBudgetExhausted, match=r"privacy budget spent: ε=.* of 1"):
        while True:
            account.admit(entry)
            account.record(entry)
            rounds += 1
    assert rounds >= 1 and account.ledger.epsilon() <= 1.0 + 1e-3


def test_the_hospitals_privacy_opens_charges_and_closes_a_round(tmp_path):
    dp = DPSection(enabled=True, target_epsilon=0.0, noise_multiplier=1.5, max_grad_norm=0.5)
    stage = _stage(name="ift", kind="ift", batch_size=4, local_steps=3)
    plan = [PlanPhase.of(_stage(), _examples(40), "record"), PlanPhase.of(stage, _examples(20), "record")]
    assert [p.sample_rate for p in plan] == [0.1, 0.2] and plan[1].steps == 3  # the sample rate, once per stage
    state = RecordDict()
    privacy = HospitalPrivacy(dp, run_name="r", data_dir=tmp_path, state=state)
    step = privacy.open_round(7, stage, plan)
    assert step == DPStep(1.5, 0.5, 0.2, "record", dp.max_records_per_patient)  # the ledger's rate is the sampler's
    update, received = {"w": torch.full((4,), 3.0)}, {"w": torch.zeros(4)}
    sent, metrics = privacy.close_round(update, received, ConfigRecord({KEY_CLIPPING_NORM: 1.0}))
    assert metrics["dp-steps"] == 3 and metrics["dp-epsilon"] > 0 and metrics[KEY_NORM_BIT] == 1
    assert torch.linalg.norm(sent["w"]) == pytest.approx(1.0) and torch.equal(update["w"], torch.full((4,), 3.0))
    # The ledger is kept in the node's state and in the hospital's file, entry by entry.
    assert PrivacyLedger.from_record(state[STATE_KEY]).entries == [LedgerEntry(7, "ift", 1.5, 0.2, 3)]
    assert PrivacyLedger.load(tmp_path / ".medfed-privacy" / "r.json").steps == 3
    # Without sample-level DP only the coordinator's client-level clipping applies.
    plain = HospitalPrivacy(DPSection(), run_name="r", data_dir=tmp_path, state=RecordDict())
    assert plain.open_round(1, stage, plan) is None
    sent, metrics = plain.close_round(update, received, ConfigRecord())
    assert metrics == {} and torch.equal(sent["w"], update["w"])


def test_resume_restores_the_ledger_from_the_hospitals_file(tmp_path):
    cfg = DPSection(enabled=True, noise_multiplier=1.0)
    path = tmp_path / "run.json"
    first = PrivacyAccount.open(cfg, path)
    eps = first.record(LedgerEntry(1, "cp", 1.0, 0.1, 5))
    # A new process (empty context.state) finds the ledger the hospital saved.
    again = PrivacyAccount.open(cfg, path)
    assert again.ledger.entries == first.ledger.entries and again.ledger.epsilon() == eps
    # The state record (what the ClientApp keeps between rounds) round-trips too.
    assert PrivacyLedger.from_record(first.ledger.to_record()).entries == first.ledger.entries
    # A different δ is an error, not a silent mix.
    with pytest.raises(ConfigError, match="δ"):
        PrivacyAccount.open(DPSection(enabled=True, noise_multiplier=1.0, delta=1e-6), path)


def test_under_dp_each_cp_row_is_one_privacy_unit(tiny_model_dir):
    # Packing or windowing would put one note into several examples (or several notes into one),
    # and per-example clipping would then no longer bound a single record's influence.
    from transformers import AutoTokenizer

    from client.stages import stage_objective
    from common.config import RunConfig
    from common.records import Note, StageData
    from common.stages import build_schedule

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    long_note = Note("n1", "p1", "2020-01-01", "Chest pain and troponin rise. " * 40)
    notes = StageData(notes=[long_note, Note("n2", "p2", "2020-01-02", "Asthma, wheezing."),
                             Note("n3", "p3", "2020-01-03", "Sepsis, lactate high.")])
    for dp, expected in ((True, 3), (False, None)):
        cfg = RunConfig.from_flat({"schedule.paradigm": "cp-ift", "train.max-seq-len": 32, "dp.enabled": dp})
        examples = stage_objective(build_schedule(cfg).stages[0], tokenizer, cfg).examples(notes)
        if expected is not None:
            assert len(examples) == expected and all(len(e.input_ids) <= 32 for e in examples)
        else:
            assert len(examples) > 3  # the long note spans several windows when records need no isolation
    # With the patient as the unit every window of the note stays, each row still one patient's.
    cfg = RunConfig.from_flat({"schedule.paradigm": "cp-ift", "train.max-seq-len": 32, "dp.enabled": True,
                               "dp.unit": "patient"})
    examples = stage_objective(build_schedule(cfg).stages[0], tokenizer, cfg).examples(notes)
    assert len(examples) > 3 and [e.unit for e in examples].count("p1") == len(examples) - 2
    assert count_units(examples, "patient") == 3


def test_per_sample_loss_scores_a_frozen_model(tiny_model_dir):
    # The privacy audit scores an exported adapter loaded for inference, where nothing requires grad.
    from transformers import AutoModelForCausalLM

    from common.tokens import Example, causal_lm_per_sample_loss, pad_examples

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).requires_grad_(False)
    losses, tokens = causal_lm_per_sample_loss(model, pad_examples([Example([5, 6, 7], [5, 6, 7])], 0))
    assert losses.shape == (1,) and tokens == 2
