"""SecAgg+ through Flower's workflow: the secure mean equals the plain mean within quantisation error.

Both runs combine SecAgg+ with sample-level DP (seeded noise) and client-side clipping, so the test
also shows that those combinations run; the client-level noise is 0 so the two runs are comparable.
"""

from __future__ import annotations

import json

import pytest
import torch
from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict
from flwr.common import parameters_to_ndarrays
from flwr.compat.common import recorddict_compat as compat
from safetensors.torch import load_file

from common import wire
from common.config import ConfigError, RunConfig
from common.exchange import AdapterExchange
from privacy.secagg import legacy_reply, medfed_message
from server.secure import check_compatible, fit_ins
from simulations.run import simulate


def _run(tiny_model_dir, tmp_path, name: str, secagg: bool) -> tuple[dict, dict]:
    overrides = {"model.name": str(tiny_model_dir), "model.quantization": "none", "adapter.target-modules": "all-linear",
                 "adapter.dropout": 0.0, "wire.dtype": "float32", "train.rounds": 1, "train.local-steps": 2,
                 "train.learning-rate": 1e-2, "simulation.num-hospitals": 3, "simulation.scale": 30,
                 "data.root": str(tmp_path / "hospitals"), "run.output-dir": str(tmp_path / "runs"), "run.name": name,
                 "run.resume": False, "deid.enabled": False, "strategy.min-nodes": 3,
                 "dp.enabled": True, "dp.noise-multiplier": 0.5, "dp.target-epsilon": 0.0,
                 "dp.client-level": "client-fixed", "dp.client-noise-multiplier": 0.0, "dp.client-clipping-norm": 1.0,
                 "secagg.enabled": secagg, "secagg.max-weight": 100.0}
    simulate(overrides)
    run_dir = tmp_path / "runs" / name
    return load_file(str(run_dir / "checkpoints" / "round-00001.safetensors")), json.loads((run_dir / "summary.json").read_text())


def test_secure_aggregate_matches_plain_aggregate(tiny_model_dir, tmp_path):
    plain, plain_summary = _run(tiny_model_dir, tmp_path, "plain", secagg=False)
    secure, secure_summary = _run(tiny_model_dir, tmp_path, "secure", secagg=True)
    assert plain.keys() == secure.keys()
    moved = max(float(t.abs().max()) for k, t in plain.items() if "lora_B" in k)
    assert moved > 1e-3  # the hospitals did train: the comparison is not of two zero tensors
    for name in plain:
        # Quantisation step 2·8/2^22 ≈ 3.8e-6 (client-level DP weighs every hospital 1, so no rescaling).
        torch.testing.assert_close(secure[name], plain[name], atol=5e-5, rtol=0)
    # Each hospital's ε still reaches the summary: metrics travel in the clear, adapters masked.
    assert set(secure_summary["privacy"]["hospitals"]) == {"hospital-0", "hospital-1", "hospital-2"}
    assert secure_summary["privacy"]["hospitals"] == plain_summary["privacy"]["hospitals"]


def test_secagg_refuses_aggregations_that_need_each_update():
    with pytest.raises(ConfigError, match="mean-based"):
        check_compatible(RunConfig.from_flat({"secagg.enabled": True, "strategy.name": "fedmedian"}))
    with pytest.raises(ConfigError, match="server-fixed"):
        check_compatible(RunConfig.from_flat({"secagg.enabled": True, "dp.client-level": "server-fixed"}))


def test_secagg_refuses_exact_aggregation_of_a_mean_of_factors():
    # The coordinator would see only mean(A), mean(B): their product is not the mean of the products.
    with pytest.raises(ConfigError, match="product of those means"):
        check_compatible(RunConfig.from_flat({"secagg.enabled": True, "strategy.aggregation": "exact"}))
    check_compatible(RunConfig.from_flat({"secagg.enabled": True, "adapter.method": "ffa-lora"}))  # exact already


def test_secagg_checks_every_stages_own_strategy():
    with pytest.raises(ConfigError, match="fedmedian \\(stage ift\\)"):
        check_compatible(RunConfig.from_flat({"secagg.enabled": True, "stage.ift.strategy": "fedmedian"}))


def test_the_fit_layout_carries_the_exchanged_tensors_by_name_both_ways(flower_task):
    # FFA-LoRA: lora_A never travels, under SecAgg+ as without it; names travel with the arrays, in order.
    cfg = RunConfig.from_flat({"adapter.method": "ffa-lora", "wire.dtype": "float32"})
    state = {"m.lora_A.weight": torch.ones(2, 3), "m.lora_B.weight": torch.full((3, 2), 2.0),
             "n.lora_A.weight": torch.ones(2, 3), "n.lora_B.weight": torch.full((3, 2), 3.0)}
    shared = AdapterExchange.from_config(cfg).shared(state)
    train = Message(RecordDict({"config": ConfigRecord({"server-round": 1}),
                                "run-config": ConfigRecord(cfg.to_flat())}), dst_node_id=1, message_type="train")
    request = Message(compat.fitins_to_recorddict(fit_ins(train, shared), keep_input=True), dst_node_id=1,
                      message_type="train")
    received = medfed_message(request)
    assert list(received.content["arrays"].keys()) == ["m.lora_B.weight", "n.lora_B.weight"]
    assert dict(received.content["run-config"]) == cfg.to_flat()
    back = {k: v + 1 for k, v in reversed(list(wire.decode(received.content["arrays"]).items()))}
    reply = Message(RecordDict({"arrays": wire.encode(back, "float32"),
                                "metrics": MetricRecord({"num-examples": 4}),
                                "hospital": ConfigRecord({"hospital-id": "h"})}), reply_to=received)
    fitres = compat.recorddict_to_fitres(legacy_reply(reply, received, 4).content, keep_input=True)
    arrays = parameters_to_ndarrays(fitres.parameters)  # in the order the coordinator sent, whatever the reply's
    assert [float(a.flat[0]) for a in arrays] == [3.0, 4.0]
    assert fitres.num_examples == 4
    assert fitres.metrics == {"metrics/num-examples": 4, "hospital/hospital-id": "h"}
