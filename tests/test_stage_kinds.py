"""A new stage kind needs its declaration (common side) and its objective (client side), nothing else.

The toy kind below is declared and implemented in this file alone, as a new kind would be in
``common/stage_kinds.py`` and its own ``client/stages/<kind>.py``; it then goes through every part
that dispatches on a stage's kind: the configuration and its reference, the schedule, the round
message, the hospital's policy, the objective registry, local training and evaluation, the data card.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import pytest
import torch

from client.data.card import DataCard
from client.data.pipeline import token_counts
from client.policy import HospitalPolicy, PolicyRefused
from client.stages import OBJECTIVES, objective, stage_objective
from client.stages.cp import ContinuedPretraining
from client.train import evaluate, train_round
from common.config import ConfigError, RunConfig, option, reference_markdown
from common.model import build_adapter_model
from common.records import Note, StageData
from common.stage_kinds import KINDS, StageKind, register_kind
from common.stages import Stage, build_schedule


@dataclass(frozen=True)
class ScaledOptions:
    scale: float = option(1.0, "Toy only: factor on the causal-LM loss.", min=0.0)


class ScaledLM(ContinuedPretraining):
    """Continued pretraining with its loss multiplied by the stage's ``scale`` option."""

    def __init__(self, tokenizer, max_seq_len: int, *, scale: float) -> None:
        super().__init__(tokenizer, max_seq_len, packing=False)
        self.scale = scale

    @classmethod
    def for_stage(cls, stage: Stage, tokenizer, cfg: RunConfig) -> ScaledLM:
        return cls(tokenizer, stage.max_seq_len, scale=stage.options.scale)

    def loss(self, model, batch):
        loss, tokens = super().loss(model, batch)
        return self.scale * loss, tokens


@pytest.fixture
def toy_kind():
    register_kind(StageKind("toy", records="notes", options=ScaledOptions, card_count="data.tokens.cp.{split}"))
    objective("toy")(ScaledLM)
    yield KINDS["toy"]
    del KINDS["toy"], OBJECTIVES["toy"]


def test_a_registered_kind_is_configured_scheduled_sent_and_trained(toy_kind, tiny_model_dir):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none",
                               "schedule.stages": "cp,toy-scaled", "stage.toy-scaled.scale": 0.5,
                               "train.max-seq-len": 32, "train.local-steps": 2})
    assert RunConfig.from_flat(cfg.to_flat()) == cfg
    assert "`stage.<name>.scale`" in reference_markdown()
    cp, toy = build_schedule(cfg).stages
    assert (toy.kind, toy.options) == ("toy", ScaledOptions(0.5))
    assert cp.options.pack  # the built-in kinds keep theirs
    assert Stage.from_config(toy.to_config()) == toy  # as the round message carries it
    # A hospital trains the kind only when its policy lists it.
    HospitalPolicy(allowed_stages="cp,toy").check_stage(toy, "hospital-0")
    with pytest.raises(PolicyRefused, match="kind toy"):
        HospitalPolicy(allowed_stages="cp").check_stage(toy, "hospital-0")

    loaded = build_adapter_model(cfg.model, cfg.adapter, seed=0)
    scaled, plain = stage_objective(toy, loaded.tokenizer, cfg), stage_objective(cp, loaded.tokenizer, cfg)
    assert type(scaled) is ScaledLM and scaled.scale == 0.5
    data = StageData(notes=[Note(f"n{i}", f"p{i}", "2020-01-01", f"Patient {i} has a cough and fever.")
                            for i in range(4)])
    examples = scaled.examples(data)
    batch = scaled.collate(examples)
    assert scaled.loss(loaded.model, batch)[0].item() == pytest.approx(0.5 * plain.loss(loaded.model, batch)[0].item())
    before = loaded.adapter_state()
    report = train_round(loaded.model, scaled, examples, toy, round_in_stage=1, rng=random.Random(0))
    assert report.steps == 2 and torch.isfinite(torch.tensor(report.loss))
    assert any(not torch.equal(before[k], v) for k, v in loaded.adapter_state().items())
    assert evaluate(loaded.model, scaled, examples, 2, 1)[1] == 2
    assert scaled.heldout_metrics(loaded.model, data, max_items=4) == {}  # the hooks default to nothing
    # Its records are counted once, under the first kind that reads them.
    assert set(token_counts(data, StageData(), None)) == {"cp", "ift", "ha"}
    assert "cp" in DataCard(tokens=token_counts(data, StageData(), None)).to_text()


def test_a_kinds_options_are_refused_on_other_kinds(toy_kind):
    with pytest.raises(ConfigError, match=r"stage\.cp\.scale' applies to toy stages; 'cp' is a cp stage"):
        build_schedule(RunConfig.from_flat({"schedule.stages": "cp,toy", "stage.cp.scale": 2.0}))
    with pytest.raises(ConfigError, match=r"stage\.toy\.scale' is -1\.0"):
        RunConfig.from_flat({"stage.toy.scale": -1.0})
    with pytest.raises(ValueError, match="already registered"):
        register_kind(dataclasses.replace(toy_kind))
    # An option may not shadow a shared setting, nor redefine another kind's option.
    clashing = {"rounds": "a setting every stage has", "beta": "differs from kind 'ha'"}
    for name, message in clashing.items():
        options = dataclasses.make_dataclass("Clash", [(name, int, option(1, "x"))], frozen=True)
        with pytest.raises(ValueError, match=message):
            register_kind(StageKind("clash", "notes", options, "data.tokens.cp.{split}"))


def test_an_unregistered_kind_is_refused_by_name():
    with pytest.raises(ConfigError, match="stage.toy.kind"):
        build_schedule(RunConfig.from_flat({"schedule.stages": "toy"}))
    with pytest.raises(ConfigError, match="'stage.x.kind' is 'toy'"):
        RunConfig.from_flat({"stage.x.kind": "toy"})


def test_each_kinds_card_count_is_a_key_of_a_real_data_card(tmp_path):
    # The coordinator bounds a kind's claimed examples by this data-card count.
    from client.data import prepare_hospital_data
    from simulations.synthetic.hospital import generate_hospital

    generate_hospital(tmp_path / "h", 0, seed=0, scale=16)
    cfg = RunConfig().replace(**{"deid.enabled": False, "data.cache": False})
    card = prepare_hospital_data(tmp_path / "h", cfg).card.to_metrics()
    for kind in KINDS.values():
        assert {kind.card_count.format(split=split) for split in ("train", "heldout")} <= set(card), kind.name
