"""Aggregation through the coordinator's path (wire decode, checks, Flower strategy) against hand-computed values."""

from __future__ import annotations

import pytest
import torch
from flwr.app import ConfigRecord, Message, MessageType, MetricRecord, RecordDict

from common import wire
from common.config import RunConfig
from common.exchange import from_arrayrecord
from server.federation import Federation, RoundRecord
from server.strategies import build_strategy


@pytest.fixture(scope="module")
def federation(tiny_model_dir, tmp_path_factory):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none", "adapter.rank": 2,
                               "run.output-dir": str(tmp_path_factory.mktemp("runs"))})
    return Federation(cfg, grid=None)


def _reply(federation, value: float, examples: int, hospital: str, dtype: str = "float16") -> Message:
    state = {k: torch.full_like(v, value) for k, v in federation.global_state.items()}
    content = RecordDict({"arrays": wire.encode(state, dtype),
                          "metrics": MetricRecord({"num-examples": examples, "train-loss": value}),
                          "hospital": ConfigRecord({"hospital-id": hospital}),
                          "data-card": ConfigRecord({"data.split.conversations.train": examples})})
    # Each hospital replies from its own node: the coordinator binds a hospital id to one node.
    request = Message(content=RecordDict(), dst_node_id=ord(hospital), message_type=MessageType.TRAIN)
    return Message(content=content, reply_to=request)


def _aggregate(federation, strategy_name: str, replies, **strategy_cfg):
    cfg = federation.cfg.replace(**{"strategy.name": strategy_name, **strategy_cfg})
    record = RoundRecord(1, "ift", 0)
    accepted = federation._strategy_replies(federation._accept(replies, record, federation.schedule.stages[0], "train"))
    arrays, metrics = build_strategy(cfg.strategy).aggregate_train(1, accepted)
    return from_arrayrecord(arrays), metrics, record


def test_fedavg_weights_by_examples(federation, flower_task):
    # (1.0 * 1 + 3.0 * 3) / 4 = 2.5 in every adapter entry; 1.0 and 3.0 are exact in float16.
    state, metrics, record = _aggregate(federation, "fedavg", [_reply(federation, 1.0, 1, "a"),
                                                               _reply(federation, 3.0, 3, "b")])
    assert all(torch.equal(t, torch.full_like(t, 2.5)) for t in state.values())
    assert metrics["train-loss"] == pytest.approx(2.5)
    assert set(record.hospitals) == {"a", "b"} and not record.rejected
    assert record.bytes_up == 2 * wire.record_bytes(wire.encode(federation.global_state, "float16"))


def test_fedmedian_and_trimmed_mean_ignore_an_outlier(federation, flower_task):
    replies = [_reply(federation, v, 1, h) for v, h in ((1.0, "a"), (2.0, "b"), (1000.0, "c"))]
    median, _, _ = _aggregate(federation, "fedmedian", replies)
    assert all(torch.equal(t, torch.full_like(t, 2.0)) for t in median.values())
    replies = [_reply(federation, v, 1, h) for v, h in ((1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"),
                                                       (1000.0, "e"))]
    trimmed, _, _ = _aggregate(federation, "fedtrimmedavg", replies, **{"strategy.trim-beta": 0.2})
    assert all(torch.allclose(t, torch.full_like(t, 3.0)) for t in trimmed.values())  # mean of 2, 3, 4


def test_a_malformed_update_is_rejected_and_the_round_goes_on(federation, flower_task):
    replies = [_reply(federation, 1.0, 1, "a"), _reply(federation, 5.0, 1, "b", dtype="float32"),
               _reply(federation, 3.0, 1, "c")]
    state, _, record = _aggregate(federation, "fedavg", replies)
    assert all(torch.equal(t, torch.full_like(t, 2.0)) for t in state.values())
    assert len(record.rejected) == 1 and "dtype float32, expected float16" in record.rejected[0][1]
    assert set(record.hospitals) == {"a", "c"}
