"""Server-side update validation: every kind of bad update is rejected with its node id, the round goes on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

from client.outbox import OutboxError, check_reply
from common import wire
from server.inbox import ReplyRefused, check_numbers
from server.validation import NormOutlierRule
from tests.federation_harness import LocalGrid, make_hospitals, run_federation, tiny_config

# -- the rules on their own ---------------------------------------------------------------------------------

def test_norm_rule_rejects_only_the_update_far_beyond_the_others():
    rule = NormOutlierRule(factor=10.0, max_norm=0.0)
    assert set(rule.outliers({1: 1.0, 2: 1.3, 3: 0.8, 4: 50.0})) == {4}
    assert rule.outliers({1: 1.0, 2: 9.0}) == {}  # within the factor
    assert set(rule.outliers({1: 1.0, 2: 11.0})) == {2}  # two replies suffice: each is judged by the other


def test_norm_rule_absolute_bound_and_off_switch():
    assert set(NormOutlierRule(factor=0.0, max_norm=5.0).outliers({1: 4.0, 2: 6.0})) == {2}
    assert NormOutlierRule(factor=0.0, max_norm=0.0).outliers({1: 1.0, 2: 1e9}) == {}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, 2.0]])
def test_metrics_must_be_finite_scalars(value):
    with pytest.raises(ReplyRefused, match="loss"):
        check_numbers("metric", MetricRecord({"loss": value}))
    check_numbers("metric", MetricRecord({"loss": 1.5, "num-examples": 3}))


def test_outbox_refuses_text_and_non_adapter_tensors():
    adapter = {"lora_A": np.zeros((2, 2), np.float32)}
    ok = RecordDict({"arrays": ArrayRecord({"lora_A": Array(adapter["lora_A"])}),
                     "metrics": MetricRecord({"train-loss": 1.0}),
                     "hospital": ConfigRecord({"hospital-id": "h1"}), "data-card": ConfigRecord({"notes": 3})})
    assert check_reply(ok, {"lora_A"}) is ok
    leaks = [
        RecordDict({"arrays": ArrayRecord({"lora_A": Array(adapter["lora_A"]),
                                           "model.embed_tokens.weight": Array(np.zeros(4, np.float32))})}),
        RecordDict({"data-card": ConfigRecord({"example": "Patient John Doe, MRN 1234"})}),
        RecordDict({"hospital": ConfigRecord({"hospital-id": "h1", "note": "text"})}),
        RecordDict({"notes": ConfigRecord({"n": 1})}),
    ]
    for content in leaks:
        with pytest.raises(OutboxError):
            check_reply(content, {"lora_A"})


# -- in the round loop --------------------------------------------------------------------------------------

def _forged(message: Message, state: dict[str, torch.Tensor] | None = None, *, record: ArrayRecord | None = None,
            metrics: dict | None = None) -> Message:
    """A reply built from the message itself, without training: cheap stand-in for a broken or hostile node."""
    arrays = record if record is not None else wire.encode(state, "float16")
    content = RecordDict({"arrays": arrays, "metrics": MetricRecord(metrics or {"num-examples": 10, "train-loss": 1.0}),
                          "hospital": ConfigRecord({"hospital-id": f"node-{message.metadata.dst_node_id}"}),
                          "data-card": ConfigRecord({"data.split.conversations.train": 10})})
    return Message(content, reply_to=message)


def _global(message: Message) -> dict[str, torch.Tensor]:
    return wire.decode(message.content["arrays"])


def _renamed(message, deliver):
    state = _global(message)
    first = next(iter(state))
    state["base_model.model.lm_head.weight"] = state.pop(first)
    return _forged(message, state)


def _reshaped(message, deliver):
    state = _global(message)
    first = next(iter(state))
    state[first] = torch.zeros(3, 3)
    return _forged(message, state)


def _float32(message, deliver):
    return _forged(message, record=wire.encode(_global(message), "float32"))


def _poisoned(value):
    def fault(message, deliver):
        state = _global(message)
        next(iter(state.values()))[0, 0] = value
        return _forged(message, state)
    return fault


def _huge(message, deliver):
    return _forged(message, {k: v + 1000.0 for k, v in _global(message).items()})


def _nan_metric(message, deliver):
    return _forged(message, _global(message), metrics={"num-examples": 10, "train-loss": float("nan")})


def _train_only(fault):
    def wrapped(message, deliver):
        if message.metadata.message_type.startswith("train"):
            return fault(message, deliver)
        raise ConnectionError("node left after training")
    return wrapped


BAD = {"names": _renamed, "shape": _reshaped, "dtype": _float32, "NaN": _poisoned(float("nan")),
       "Inf": _poisoned(float("inf")), "norm": _huge, "metric": _nan_metric}
REASONS = {"names": "adapter names differ", "shape": "shape", "dtype": "dtype float32", "NaN": "NaN or Inf",
           "Inf": "NaN or Inf", "norm": "median of the other replies", "metric": "not finite"}


@pytest.mark.slow
def test_each_bad_update_is_rejected_with_its_node_id_and_the_round_goes_on(tmp_path, tiny_model_dir):
    good = make_hospitals(tmp_path / "hospitals", count=2)
    bad_dirs = [tmp_path / f"unused-{i}" for i in range(len(BAD))]  # forged replies never read data
    grid = LocalGrid(good + bad_dirs)
    bad_nodes = {}
    for offset, (kind, fault) in enumerate(BAD.items()):
        node = len(good) + 1 + offset
        bad_nodes[node] = kind
        grid.faults[(1, str(grid.contexts[node].node_config["hospital-id"]))] = _train_only(fault)
    cfg = tiny_config(tiny_model_dir, tmp_path / "runs", **{"train.rounds": 1, "train.eval-every": 100})

    run_federation(cfg, grid)

    record = json.loads((tmp_path / "runs/default/metrics.jsonl").read_text().splitlines()[0])
    rejected = {node: reason for node, reason in record["rejected"] if reason.startswith("train")}
    assert set(rejected) == set(bad_nodes), rejected
    for node, kind in bad_nodes.items():
        assert REASONS[kind] in rejected[node], (kind, rejected[node])
    # the two honest hospitals were aggregated: the round produced a finite train loss
    assert math.isfinite(record["train"]["train-loss"])
