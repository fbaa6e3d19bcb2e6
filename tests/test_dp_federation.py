"""The whole federation with DP on (tiny model, 2 hospitals): ε per hospital in the summary, refusal once spent."""

from __future__ import annotations

import json

import pytest

from common.config import RunConfig
from privacy.dp import LedgerEntry, PrivacyLedger, epsilon_of
from simulations.run import simulate


def test_federation_reports_epsilon_and_hospitals_refuse_once_spent(tiny_model_dir, tmp_path):
    overrides = {"model.name": str(tiny_model_dir), "model.quantization": "none", "adapter.target-modules": "all-linear",
                 "train.rounds": 2, "train.local-steps": 3, "train.learning-rate": 1e-2,
                 "simulation.num-hospitals": 2, "simulation.scale": 40, "data.root": str(tmp_path / "hospitals"),
                 "run.output-dir": str(tmp_path / "runs"), "run.resume": False, "deid.enabled": False,
                 "dp.enabled": True, "dp.noise-multiplier": 0.8, "dp.client-level": "client-fixed",
                 "dp.client-noise-multiplier": 0.1, "dp.client-clipping-norm": 10.0}
    # Batches larger than any hospital make the sample rate 1, so one round's ε is known up front:
    # the budget fits one round of 3 steps and not two.
    overrides["train.batch-size"] = 1000
    cfg = RunConfig.from_flat(overrides)
    one_round = epsilon_of([LedgerEntry(1, "ift", 0.8, 1.0, 3)], cfg.dp.delta)
    two_rounds = epsilon_of([LedgerEntry(1, "ift", 0.8, 1.0, 6)], cfg.dp.delta)
    overrides["dp.target-epsilon"] = round((one_round + two_rounds) / 2, 3)
    simulate(overrides)

    run_dir = tmp_path / "runs" / "default"
    summary = json.loads((run_dir / "summary.json").read_text())
    hospitals = summary["privacy"]["hospitals"]
    assert set(hospitals) == {"hospital-0", "hospital-1"}
    for spent in hospitals.values():
        assert 0 < spent["epsilon"] <= overrides["dp.target-epsilon"] + 1e-3 and spent["round"] == 1
    # Client-level: one noisy aggregate (round 2 had no hospital left to aggregate), accounted by Flower's
    # accountant; Opacus' RDP accountant, an independent implementation, agrees on that one release.
    client_level = summary["privacy"]["client_level"]
    assert client_level["releases"] == 1
    opacus_epsilon = epsilon_of([LedgerEntry(1, "client-level", 0.1, 1.0, 1)], cfg.dp.delta)
    assert client_level["epsilon"] == pytest.approx(opacus_epsilon, rel=0.05)
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("privacy budget spent" in reason for _, reason in rounds[1]["rejected"])
    # Each hospital kept its own ledger beside its data, with exactly the round it trained.
    ledger = PrivacyLedger.load(tmp_path / "hospitals" / "hospital-0" / ".medfed-privacy" / "default.json")
    assert [e.server_round for e in ledger.entries] == [1]
    assert ledger.epsilon() == hospitals["hospital-0"]["epsilon"]
