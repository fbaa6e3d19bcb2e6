"""Stage schedule, recipes, objectives (CP packing, IFT mask, DPO/SimPO/ORPO) and prompt tuning, on the tiny model."""

from __future__ import annotations

import math

import pytest
import torch
from flwr.app import RecordDict

from client.stages import stage_objective
from client.stages.cp import ContinuedPretraining
from client.stages.ha import PreferenceAlignment, dpo_losses, orpo_losses, simpo_losses
from client.stages.ift import InstructionTuning
from client.stages.reference import reference_round, with_references
from common.config import AdapterSection, ConfigError, ModelSection, RunConfig, reference_markdown
from common.model import build_adapter_model
from common.recipes import RECIPES
from common.records import Conversation, Message, Note, PreferencePair, StageData
from common.stages import PARADIGMS, Stage, build_schedule, stage_metrics
from common.tokens import IGNORE, causal_lm_loss, token_logits

pytestmark = pytest.mark.usefixtures("one_thread")


# -- schedule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("paradigm", sorted(PARADIGMS))
def test_paradigm_presets_expand_to_their_stage_kinds(paradigm):
    schedule = build_schedule(RunConfig.from_flat({"schedule.paradigm": paradigm, "train.rounds": 2}))
    assert tuple(s.kind for s in schedule.stages) == PARADIGMS[paradigm]
    assert schedule.total_rounds == 2 * len(PARADIGMS[paradigm])


def test_schedule_switches_stage_at_the_right_round():
    cfg = RunConfig.from_flat({"schedule.stages": "cp,ift,ift-curated,ha", "train.rounds": 2,
                               "stage.cp.rounds": 3, "stage.ift-curated.rounds": 1})
    schedule = build_schedule(cfg)
    located = [(schedule.locate(r)[1].name, schedule.locate(r)[2]) for r in range(1, schedule.total_rounds + 1)]
    assert located == [("cp", 1), ("cp", 2), ("cp", 3), ("ift", 1), ("ift", 2), ("ift-curated", 1),
                       ("ha", 1), ("ha", 2)]
    with pytest.raises(ValueError):
        schedule.locate(9)


def test_stage_settings_fall_back_to_train_strategy_and_align():
    cfg = RunConfig.from_flat({
        "schedule.stages": "ift,ift-curated,ha", "train.learning-rate": 1e-3, "strategy.name": "fedprox",
        "stage.ift-curated.learning-rate": 1e-4, "stage.ift-curated.data": "dialogues*",
        "stage.ift-curated.handoff": "stack", "stage.ha.strategy": "fedavg", "stage.ha.loss": "orpo",
        "stage.ha.local-epochs": 1.5, "align.beta": 0.2})
    ift, curated, ha = build_schedule(cfg).stages
    assert (ift.learning_rate, ift.options.data, ift.strategy, ift.handoff) == (1e-3, "*", "fedprox", "continue")
    assert (curated.kind, curated.learning_rate, curated.options.data, curated.handoff) == ("ift", 1e-4, "dialogues*", "stack")
    assert (ha.kind, ha.strategy, ha.options.loss, ha.options.beta) == ("ha", "fedavg", "orpo", 0.2)
    assert ha.for_examples(10).local_steps == math.ceil(1.5 * 10 / ha.batch_size)
    assert ift.for_examples(10).local_steps == ift.local_steps
    assert Stage.from_config(ha.to_config()) == ha
    assert RunConfig.from_flat(cfg.to_flat()) == cfg
    assert "stage.<name>.learning-rate" in reference_markdown()


@pytest.mark.parametrize("flat, message", [
    ({"stage.ift.learning-rat": 1.0}, "stage.ift.learning-rat"),
    ({"stage.ift.rounds": 0}, "stage.ift.rounds"),
    ({"stage.ift.rounds": "2"}, "stage.ift.rounds"),
    ({"stage.Bad Name.rounds": 2}, "stage.Bad Name.rounds"),
    ({"stage.ift.loss": "ppo"}, "stage.ift.loss"),
])
def test_bad_stage_keys_are_rejected_with_the_key(flat, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        RunConfig.from_flat(flat)


@pytest.mark.parametrize("flat, message", [
    ({"schedule.stages": "ift,ift"}, "repeats ift"),
    ({"schedule.stages": "warmup"}, "stage.warmup.kind"),
    ({"schedule.stages": "ift", "stage.cp.rounds": 2}, r"stage\.cp\.\*"),
    ({"schedule.stages": "cp,ift", "stage.cp.data": "x*"}, r"stage\.cp\.data"),
    ({"schedule.stages": "ift,ift-b", "schedule.handoff": "stack", "adapter.method": "prompt-tuning"}, "stack"),
])
def test_inconsistent_schedules_are_rejected(flat, message):
    with pytest.raises(ConfigError, match=message):
        build_schedule(RunConfig.from_flat(flat))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_builds_and_explicit_keys_win(name):
    cfg = RunConfig.from_flat({"schedule.recipe": name, "model.quantization": "none"})
    assert cfg.model.quantization == "none"
    assert build_schedule(cfg).stages
    assert RECIPES[name].modelled_on


def test_stage_metrics_summarise_first_and_last_evaluation_per_stage():
    rows = [{"server_round": r, "stage": s, "evaluate": {"eval-loss": loss} if loss else {},
             "hospitals": {"h0": {"evaluate.eval-loss": loss}} if loss else {}}
            for r, s, loss in ((1, "cp", 3.0), (2, "cp", 2.0), (3, "ift", None), (4, "ift", 1.0))]
    summary = stage_metrics(rows)
    assert summary["cp"]["first"]["eval-loss"] == 3.0 and summary["cp"]["last"]["eval-loss"] == 2.0
    assert summary["ift"]["rounds"] == [3, 4] and summary["ift"]["hospitals"]["h0"]["eval-loss"] == 1.0


# -- objectives on the tiny model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none",
                               "adapter.target-modules": "all-linear"})
    return build_adapter_model(cfg.model, cfg.adapter, seed=0)


def test_ift_mask_labels_exactly_the_assistant_turns(tiny):
    tok = tiny.tokenizer
    conversation = Conversation((Message("system", "Be brief."), Message("user", "What treats asthma?"),
                                 Message("assistant", "Inhaled corticosteroids."), Message("user", "And tests?"),
                                 Message("assistant", "Spirometry.")))
    example = InstructionTuning(tok, 256).encode(conversation)
    labelled = [t for t, label in zip(example.input_ids, example.labels) if label != IGNORE]
    assert all(label in (IGNORE, t) for t, label in zip(example.input_ids, example.labels))
    assert tok.decode(labelled) == "Inhaled corticosteroids.<|im_end|>\nSpirometry.<|im_end|>\n"
    prompt_part = tok.decode([t for t, label in zip(example.input_ids, example.labels) if label == IGNORE])
    assert "What treats asthma?" in prompt_part and "Inhaled" not in prompt_part


def test_ift_stage_data_selects_sources(tiny):
    data = StageData(conversations=[Conversation.from_pair("Q1?", "A1.", source="instructions.jsonl"),
                                    Conversation.from_pair("Q2?", "A2.", source="dialogues.jsonl")])
    assert len(InstructionTuning(tiny.tokenizer, 64, sources="dialogues*").examples(data)) == 1
    assert len(InstructionTuning(tiny.tokenizer, 64).examples(data)) == 2


def _notes(*texts):
    return StageData(notes=[Note(f"n{i}", f"p{i}", "2020-01-01", t) for i, t in enumerate(texts)])


def test_cp_packs_documents_without_attention_across_them(tiny):
    tok = tiny.tokenizer
    data = _notes("Patient with asthma treated with inhaled corticosteroids.", "Spirometry confirmed the diagnosis.")
    packed = ContinuedPretraining(tok, 64).examples(data)
    alone = ContinuedPretraining(tok, 64, packing=False).examples(data)
    assert len(packed) == 1 and len(alone) == 2
    row = packed[0]
    first = len(alone[0].input_ids)
    assert row.input_ids == alone[0].input_ids + alone[1].input_ids
    assert row.position_ids[first] == 0 and row.labels[first] == IGNORE  # 2nd document: fresh positions, no target
    tiny.model.eval()
    with torch.no_grad():
        together = token_logits(tiny.model, ContinuedPretraining(tok, 64).collate(packed))[0, first:]
        second = token_logits(tiny.model, ContinuedPretraining(tok, 64, packing=False).collate([alone[1]]))[0]
    torch.testing.assert_close(together, second, atol=1e-4, rtol=1e-4)


def test_cp_splits_long_documents_into_windows_and_reports_perplexity(tiny):
    objective = ContinuedPretraining(tiny.tokenizer, 16)
    examples = objective.examples(_notes("asthma " * 40))
    assert all(len(e.input_ids) <= 16 for e in examples) and len(examples) >= 3
    loss, tokens = causal_lm_loss(tiny.model, objective.collate(examples[:2]))
    assert tokens > 0 and objective.eval_metrics(tiny.model, examples, loss.item(), 2, 1)["perplexity"] == \
        pytest.approx(math.exp(loss.item()))


def test_dpo_loss_matches_a_hand_computed_value():
    out = dpo_losses(torch.tensor([-10.0, -5.0]), torch.tensor([-12.0, -4.0]), torch.tensor([-11.0, -5.0]),
                     torch.tensor([-11.0, -5.0]), beta=0.5)
    # pair 1: rewards 0.5 * (+1) = 0.5 and 0.5 * (-1) = -0.5 -> -log sigmoid(1.0) = log(1 + e^-1)
    # pair 2: rewards 0 and 0.5 -> -log sigmoid(-0.5) = log(1 + e^0.5)
    torch.testing.assert_close(out.losses, torch.tensor([math.log1p(math.exp(-1.0)), math.log1p(math.exp(0.5))]))
    torch.testing.assert_close(out.chosen_rewards - out.rejected_rewards, torch.tensor([1.0, -0.5]))


def test_reference_free_losses_match_hand_computed_values():
    simpo = simpo_losses(torch.tensor([-1.0]), torch.tensor([-2.0]), beta=2.0, gamma=0.5)
    assert simpo.losses.item() == pytest.approx(math.log1p(math.exp(-(2.0 * -1 - 2.0 * -2 - 0.5))))
    orpo = orpo_losses(torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.2)]), beta=0.1)
    log_odds_ratio = math.log(0.5 / 0.5) - math.log(0.2 / 0.8)
    expected = -math.log(0.5) + 0.1 * math.log1p(math.exp(-log_odds_ratio))
    assert orpo.losses.item() == pytest.approx(expected, rel=1e-5)


def _preferences():
    return StageData(preferences=[
        PreferencePair("What treats asthma?", "Inhaled corticosteroids.", "Search the internet."),
        PreferencePair("Which test confirms asthma?", "Spirometry.", "It is probably nothing."),
        PreferencePair("How is hypertension treated?", "Lisinopril and diet.", "Nothing will help."),
    ])


def test_dpo_against_its_own_reference_gives_log_two_then_learns(tiny):
    objective = PreferenceAlignment(tiny.tokenizer, 128, loss="dpo", beta=0.1)
    pairs = objective.with_reference(tiny.model, objective.examples(_preferences()), batch_size=2)
    loss, count = objective.loss(tiny.model, objective.collate(pairs))
    assert count == 3 and loss.item() == pytest.approx(math.log(2), abs=1e-4)
    metrics = objective.eval_metrics(tiny.model, pairs, loss.item(), 2, 4)
    assert metrics["reward-margin"] == pytest.approx(0.0, abs=1e-4)

    state = {k: v.clone() for k, v in tiny.adapter_state().items()}
    tiny.model.train()
    optimizer = torch.optim.AdamW([p for p in tiny.model.parameters() if p.requires_grad], lr=5e-3)
    for _ in range(15):
        objective.loss(tiny.model, objective.collate(pairs))[0].backward()
        optimizer.step()
        optimizer.zero_grad()
    metrics = objective.eval_metrics(tiny.model, pairs, 0.0, 2, 4)
    tiny.load_adapter_state(state)
    assert metrics["reward-accuracy"] > 0.5 and metrics["reward-margin"] > 0


def test_dpo_pairs_without_reference_are_refused(tiny):
    objective = PreferenceAlignment(tiny.tokenizer, 128)
    with pytest.raises(ValueError, match="reference"):
        objective.collate(objective.examples(_preferences()))


def test_references_are_scored_once_and_kept_in_node_state(tiny):
    objective = PreferenceAlignment(tiny.tokenizer, 128)
    pairs = objective.examples(_preferences())
    state = RecordDict()
    first = with_references(objective, tiny.model, {"train": pairs[:2], "heldout": pairs[2:]}, state,
                            stage_name="ha", round_in_stage=1, batch_size=2, hospital_id="h0")
    assert reference_round(state, "ha") == 1
    saved = {k: v.clone() for k, v in tiny.adapter_state().items()}
    with torch.no_grad():  # the adapter moves on; the reference must not
        for p in tiny.model.parameters():
            if p.requires_grad:
                p.add_(0.05)
    again = with_references(objective, tiny.model, {"heldout": pairs[2:]}, state, stage_name="ha",
                            round_in_stage=2, batch_size=2, hospital_id="h0")
    tiny.load_adapter_state(saved)
    assert [r for p in again["heldout"] for r in p.reference] == \
        pytest.approx([r for p in first["heldout"] for r in p.reference])
    reference_free = PreferenceAlignment(tiny.tokenizer, 128, loss="simpo")
    assert with_references(reference_free, tiny.model, {"train": pairs}, RecordDict(), stage_name="ha",
                           round_in_stage=1, batch_size=2, hospital_id="h0")["train"] == pairs


@pytest.mark.parametrize("loss", ["simpo", "orpo"])
def test_reference_free_objectives_train_without_reference(tiny, loss):
    stage = build_schedule(RunConfig.from_flat({"schedule.stages": "ha", "stage.ha.loss": loss})).stages[0]
    objective = stage_objective(stage, tiny.tokenizer, RunConfig())
    value, count = objective.loss(tiny.model, objective.collate(objective.examples(_preferences())))
    assert count == 3 and torch.isfinite(value) and value.requires_grad


def test_prompt_tuning_adapter_trains_and_round_trips(tiny_model_dir):
    model_cfg = ModelSection(name=str(tiny_model_dir), quantization="none")
    loaded = build_adapter_model(model_cfg, AdapterSection(method="prompt-tuning", virtual_tokens=4), seed=0)
    state = loaded.adapter_state()
    assert list(state) == ["prompt_embeddings"] and state["prompt_embeddings"].shape[0] == 4
    objective = InstructionTuning(loaded.tokenizer, 64)
    batch = objective.collate(objective.examples(StageData(conversations=[Conversation.from_pair("Q?", "Asthma.")])))
    assert token_logits(loaded.model, batch).shape[1] == batch["input_ids"].shape[1]
    loss, _ = causal_lm_loss(loaded.model, batch)
    loss.backward()
    assert loaded.model.prompt_encoder["default"].embedding.weight.grad.abs().sum() > 0
    loaded.load_adapter_state({"prompt_embeddings": torch.zeros_like(state["prompt_embeddings"])})
    assert loaded.adapter_state()["prompt_embeddings"].abs().sum() == 0
    cp = stage_objective(Stage("cp", "cp", 1, 1, 1, 1e-3, "constant", 0, 32), loaded.tokenizer,
                         RunConfig.from_flat({"adapter.method": "prompt-tuning"}))
    assert cp.packing is False  # PEFT prompt tuning drops the position ids packing relies on


def test_stacked_adapters_travel_together_and_only_the_newest_trains(tiny_model_dir):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none",
                               "schedule.stages": "ift,ift-curated", "stage.ift-curated.handoff": "stack"})
    schedule = build_schedule(cfg)
    assert (schedule.adapter_count, schedule.segment(0), schedule.segment(1)) == (2, 0, 1)
    loaded = build_adapter_model(cfg.model, cfg.adapter, seed=0, adapters=schedule.adapter_count)
    state = loaded.adapter_state()
    stacked = [k for k in state if k.startswith("stack-1/")]
    assert stacked and len(stacked) == len(state) // 2
    trainable = lambda: {n for n, p in loaded.model.named_parameters() if p.requires_grad}  # noqa: E731
    assert all(".default." in n for n in trainable())
    loaded.activate(1)
    assert trainable() and all(".stack-1." in n for n in trainable())
    assert set(loaded.model.base_model.active_adapters) == {"default", "stack-1"}
    changed = {k: v + 1 for k, v in state.items()}
    loaded.load_adapter_state(changed)
    assert all(torch.equal(loaded.adapter_state()[k], changed[k]) for k in state)
