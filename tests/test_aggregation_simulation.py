"""End to end (Ray simulation, tiny model, ~1 min): mixed hospital ranks with exact aggregation on the int8 wire."""

import json

from simulations.run import simulate


def test_mixed_ranks_exact_aggregation_over_int8_wire(tiny_model_dir, tmp_path):
    simulate({"model.name": str(tiny_model_dir), "model.quantization": "none", "adapter.target-modules": "all-linear",
              "adapter.rank": 4, "adapter.hospital-ranks": "4,2", "strategy.aggregation": "exact",
              "wire.dtype": "int8", "train.rounds": 2, "train.local-steps": 2, "train.learning-rate": 1e-2,
              "simulation.num-hospitals": 2, "simulation.scale": 30, "data.root": str(tmp_path / "hospitals"),
              "run.output-dir": str(tmp_path / "runs"), "run.resume": False, "deid.enabled": False})
    rows = [json.loads(line) for line in (tmp_path / "runs" / "default" / "metrics.jsonl").read_text().splitlines()]
    assert [r["rejected"] for r in rows] == [[], []]
    assert all(r["evaluate"]["eval-loss"] > 0 for r in rows)
    last = rows[-1]
    assert 0 <= last["train"]["truncation-error"] < 1
    by_rank = {h["train.adapter-rank"]: h for h in last["hospitals"].values()}
    assert set(by_rank) == {4, 2}
    # Once the coordinator knows a hospital's rank, it sends the global adapter at that rank.
    assert by_rank[2]["train.bytes-down"] < by_rank[4]["train.bytes-down"]
    assert by_rank[2]["train.bytes-up"] == by_rank[2]["train.bytes-down"]
    for h in by_rank.values():
        assert 0 < h["train.wire-error"] < 0.02 and 0 <= h["train.wire-error-down"] < 0.02
