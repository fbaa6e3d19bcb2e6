"""Resume: a coordinator killed mid-run and restarted ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord
from flwr.serverapp.strategy import DifferentialPrivacyClientSideAdaptiveClipping, FedAdam, FedAvgM
from safetensors.torch import load_file

from server import strategy_state
from server.aggregation import ExactLoRA
from server.checkpoint import Checkpointer
from tests.federation_harness import CrashedFederation, LocalGrid, make_hospitals, run_federation, tiny_config


def test_strategy_state_round_trips_through_a_file(tmp_path):
    adam, avgm = FedAdam(), FedAvgM()
    adam.m_t = {"a": np.arange(4, dtype=np.float32)}
    adam.v_t = {"a": np.full(4, 0.5, dtype=np.float32)}
    avgm.momentum_vector = [np.ones((2, 2), np.float32), np.zeros(3, np.float32)]
    avgm.current_arrays = ArrayRecord({"w": Array(np.eye(2, dtype=np.float32))})

    strategy_state.save(tmp_path / "s.safetensors", [adam, avgm], {"data_cards": {"h": {"notes": 3}}})
    fresh = [FedAdam(), FedAvgM()]
    extra = strategy_state.load(tmp_path / "s.safetensors", fresh)

    assert extra == {"data_cards": {"h": {"notes": 3}}}
    np.testing.assert_array_equal(fresh[0].m_t["a"], adam.m_t["a"])
    np.testing.assert_array_equal(fresh[0].v_t["a"], adam.v_t["a"])
    assert [m.shape for m in fresh[1].momentum_vector] == [(2, 2), (3,)]
    np.testing.assert_array_equal(fresh[1].current_arrays["w"].numpy(), np.eye(2))


def _wrapped() -> DifferentialPrivacyClientSideAdaptiveClipping:
    return DifferentialPrivacyClientSideAdaptiveClipping(ExactLoRA(FedAdam(), rank=4, alpha=8), 0.1, 2,
                                                         initial_clipping_norm=1.0)


def test_strategy_state_reaches_inside_wrappers(tmp_path):
    # DP wrapper -> exact LoRA -> FedAdam: the learnt clipping norm and the optimiser's moments both return.
    outer = _wrapped()
    outer.clipping_norm = 0.37
    adam = outer.strategy.strategy
    adam.m_t = {"a": np.arange(3, dtype=np.float32)}

    strategy_state.save(tmp_path / "s.safetensors", [outer], {})
    fresh = _wrapped()
    strategy_state.load(tmp_path / "s.safetensors", [fresh])

    assert fresh.clipping_norm == 0.37
    np.testing.assert_array_equal(fresh.strategy.strategy.m_t["a"], adam.m_t["a"])


def test_checkpoints_are_owner_only_and_the_newest_is_read_back(tmp_path):
    # An adapter trained on hospitals' notes can hold what it memorised of them: no group or world access.
    checkpointer = Checkpointer(tmp_path)
    for server_round in (1, 2):
        path = checkpointer.save(server_round, {"w": torch.full((2,), float(server_round))}, {"round": server_round})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    server_round, state, meta = checkpointer.latest()
    assert (server_round, meta) == (2, {"round": 2})
    torch.testing.assert_close(state["w"], torch.full((2,), 2.0))
    assert sorted(p.name for p in checkpointer.dir.iterdir()) == ["round-00001.safetensors", "round-00002.safetensors"]


def _final(run_dir):
    checkpoints = sorted((run_dir / "checkpoints").glob("round-?????.safetensors"))
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return load_file(str(checkpoints[-1])), rounds


@pytest.mark.slow
def test_killed_and_restarted_run_equals_an_uninterrupted_one(tmp_path, tiny_model_dir):
    hospitals = make_hospitals(tmp_path / "hospitals", count=2)
    # Two stages of two rounds with FedAdam: the crash falls in the second stage, after its moments exist.
    overrides = {"schedule.paradigm": "cp-ift", "train.rounds": 2, "strategy.name": "fedadam", "strategy.eta": 0.05}
    reference_cfg = tiny_config(tiny_model_dir, tmp_path / "runs", **overrides, **{"run.name": "uninterrupted"})
    resumed_cfg = reference_cfg.replace(**{"run.name": "resumed"})

    reference = run_federation(reference_cfg, LocalGrid(hospitals))
    with pytest.raises(CrashedFederation):
        run_federation(resumed_cfg, LocalGrid(hospitals, crash_at_round=4))
    assert not (tmp_path / "runs/resumed/checkpoints/round-00004.safetensors").exists()
    resumed = run_federation(resumed_cfg, LocalGrid(hospitals))

    expected_state, expected_rounds = _final(tmp_path / "runs/uninterrupted")
    state, rounds = _final(tmp_path / "runs/resumed")
    assert state.keys() == expected_state.keys()
    for name in state:
        assert torch.equal(state[name], expected_state[name]), name
    assert [r["server_round"] for r in rounds] == [1, 2, 3, 4]
    assert [(r["stage"], r["stage_index"]) for r in rounds] == [(r["stage"], r["stage_index"]) for r in expected_rounds]
    assert resumed["train_loss"] == reference["train_loss"]
    assert resumed["data_cards"] == reference["data_cards"]
