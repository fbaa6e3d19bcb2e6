"""Hostile hospitals: every forged reply is refused with its node id, the round completes with the honest
hospitals, the global adapter is what they alone give, and no string an attacker sent is stored."""

from __future__ import annotations

import io
import json
import logging
import math

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Error, Message, MetricRecord, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.common.constant import SType
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS

from common import wire
from common.config import ConfigError, RunConfig
from common.exchange import from_arrayrecord
from common.stages import build_schedule
from privacy.secagg import legacy_reply, medfed_message
from server.checkpoint import Checkpointer
from server.federation import Federation, RoundRecord
from server.inbox import Inbox, ReplyRefused, check_numbers, error_summary
from server.secure import check_compatible
from server.validation import NormOutlierRule
from tests.federation_harness import CrashedFederation, LocalGrid, make_hospitals, run_federation, tiny_config

CANARY = "Zebulon Quillfeather MRN 99887766"
CARD = {"data.split.conversations.train": 20}

# -- forging replies ----------------------------------------------------------------------------------------


def _global(message: Message) -> dict[str, torch.Tensor]:
    return wire.decode(message.content["arrays"])


def _nudged(message: Message) -> dict[str, torch.Tensor]:
    """The received adapter moved by a tiny step: an update the norm rule lets through."""
    generator = torch.Generator().manual_seed(0)
    return {k: v + 1e-4 * torch.randn(v.shape, generator=generator) for k, v in _global(message).items()}


def _as_record(metrics: dict):
    """A MetricRecord, or where a value is text (which MetricRecord refuses) a ConfigRecord under the same name:
    what a hostile node sends to smuggle a string."""
    if any(isinstance(v, str) for v in metrics.values()):
        return ConfigRecord(metrics)
    return MetricRecord(metrics)


def _train_reply(message: Message, *, arrays: ArrayRecord | None = None, metrics: dict | None = None,
                 hospital: dict | None = None, card: dict | None = CARD, **extra) -> Message:
    content = {"arrays": arrays if arrays is not None else wire.encode(_nudged(message), "float16"),
               "metrics": _as_record(metrics if metrics is not None else {"num-examples": 10, "train-loss": 1.0}),
               "hospital": ConfigRecord(hospital or {"hospital-id": f"node-{message.metadata.dst_node_id}"}),
               **extra}
    if card is not None:
        content["data-card"] = ConfigRecord(card)
    return Message(RecordDict(content), reply_to=message)


def _eval_reply(message: Message, *, metrics: dict | None = None, hospital: str | None = None, **extra) -> Message:
    content = {"metrics": _as_record(metrics or {"num-examples": 2, "eval-loss": 0.0}),
               "hospital": ConfigRecord({"hospital-id": hospital or f"node-{message.metadata.dst_node_id}"}), **extra}
    return Message(RecordDict(content), reply_to=message)


def _with_array(message: Message, make) -> Message:
    """A train reply whose first tensor is replaced by ``make(name, expected shape)``."""
    record = wire.encode(_nudged(message), "float16")
    name = next(iter(record.keys()))
    record[name] = make(name, tuple(record[name].shape))
    return _train_reply(message, arrays=record)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _shape_lie(message):  # the header says the expected shape; the payload holds a 512x512 array
    return _with_array(message, lambda n, s: Array(dtype="float16", shape=s, stype=SType.NUMPY,
                                                   data=_npy(np.ones((512, 512), np.float16))))


def _truncated(message):
    return _with_array(message, lambda n, s: Array(dtype="float16", shape=s, stype=SType.NUMPY,
                                                   data=_npy(np.zeros(s, np.float16))[:-7]))


def _dtype_lie(message):  # header float16, payload float32 of the same shape
    return _with_array(message, lambda n, s: Array(dtype="float16", shape=s, stype=SType.NUMPY,
                                                   data=_npy(np.zeros(s, np.float32))))


def _unknown_encoding(message):
    return _with_array(message, lambda n, s: Array(dtype="float16", shape=s, stype="pickle", data=b"\x80\x04."))


def _metrics(**metrics):
    return lambda message: _train_reply(message, metrics={"num-examples": 10, "train-loss": 1.0, **metrics})


def _count(value):
    return lambda message: _train_reply(message, metrics={"num-examples": value, "train-loss": 1.0})


def _crash_with_text(message):
    raise RuntimeError(f"could not read record of {CANARY}")


# node's attack -> (train reply, evaluate reply (None: it left), what its refusal says)
TRAIN_ATTACKS = {
    "shape-lie": (_shape_lie, "numpy payload does not hold"),
    "truncated": (_truncated, "payload bytes"),
    "dtype-lie": (_dtype_lie, "numpy payload does not hold"),
    "unknown-encoding": (_unknown_encoding, "unknown array encoding"),
    "count-1e12": (_count(10**12), "data card reports 20"),
    "count-max-float": (_count(1.7e308), "beyond"),
    "count-negative": (_count(-5), "positive integer"),
    "count-fraction": (_count(2.5), "positive integer"),
    "count-missing": (lambda m: _train_reply(m, metrics={"train-loss": 1.0}), "lack 'num-examples'"),
    "text-id": (lambda m: _train_reply(m, hospital={"hospital-id": f"evil\nINFO round 1: {CANARY}"}),
                "not a plain name"),
    "card-text": (lambda m: _train_reply(m, card={**CARD, "data.note": CANARY}), "not a number"),
    "card-key-text": (lambda m: _train_reply(m, card={**CARD, CANARY: 1}), "not an identifier"),
    "unknown-record": (lambda m: _train_reply(m, notes=ConfigRecord({"n": 1})), "the protocol does not define"),
    "no-card": (lambda m: _train_reply(m, card=None), "records missing"),
    "hospital-extra": (lambda m: _train_reply(m, hospital={"hospital-id": "node-x", "note": CANARY}),
                       "fields beyond"),
    "bad-rank": (lambda m: _train_reply(m, hospital={"hospital-id": "node-y", "adapter-rank": 10**9}),
                 "adapter-rank"),
    "string-metric": (_metrics(comment=CANARY), "is not a MetricRecord"),
    "huge-metric": (_metrics(**{"train-loss": 1e300}), "beyond"),
    "inf-metric": (_metrics(**{"train-loss": float("inf")}), "not finite"),
    "list-metric": (_metrics(**{"train-loss": [1.0, 2.0]}), "not a number"),
    "crash-with-text": (_crash_with_text, "error code"),
}
EVAL_ATTACKS = {
    "eval-count": (lambda m: _eval_reply(m, metrics={"num-examples": 10**6, "eval-loss": 0.0}), "examples scored"),
    "eval-negative": (lambda m: _eval_reply(m, metrics={"num-examples": -3, "eval-loss": 0.0}), "non-negative"),
    "eval-impersonate": (lambda m: _eval_reply(m, hospital="hospital-1"), "which node 2 holds"),
    "eval-arrays": (lambda m: _eval_reply(m, arrays=wire.encode(_global(m), "float16")), "does not define"),
    "eval-nan": (lambda m: _eval_reply(m, metrics={"num-examples": 2, "eval-loss": float("nan")}), "not finite"),
    "eval-string": (lambda m: _eval_reply(m, metrics={"num-examples": 2, "eval-loss": CANARY}),
                    "is not a MetricRecord"),
    "eval-text-id": (lambda m: _eval_reply(m, hospital=f"a\n{CANARY}"), "not a plain name"),
}


def _left(message):
    raise ConnectionError("node left")


def _fault(train, evaluate):
    def fault(message, deliver):
        handler = train if message.metadata.message_type.startswith("train") else evaluate
        if handler is None:
            raise ConnectionError("node left")
        return handler(message)
    return fault


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir):
    """One round with two honest hospitals (nodes 1, 2) and one attacker per case; and the honest two alone."""
    root = tmp_path_factory.mktemp("hostile")
    honest = make_hospitals(root / "hospitals", count=2)
    cases = {**{k: (t, None, r) for k, (t, r) in TRAIN_ATTACKS.items()},
             **{k: (None, e, r) for k, (e, r) in EVAL_ATTACKS.items()}}
    grid = LocalGrid(honest + [root / f"unused-{i}" for i in range(len(cases))])
    nodes = {}
    for node, (kind, (train, evaluate, reason)) in enumerate(cases.items(), start=len(honest) + 1):
        nodes[node] = (kind, "train" if train else "evaluate", reason)
        grid.faults[(1, str(grid.contexts[node].node_config["hospital-id"]))] = _fault(train, evaluate)
    overrides = {"train.rounds": 1}
    logger = logging.getLogger("medfed")
    lines = []
    handler = logging.Handler()
    handler.emit = lambda rec: lines.append(rec.getMessage())
    logger.addHandler(handler)
    try:
        run_federation(tiny_config(tiny_model_dir, root / "attacked", **overrides), grid)
    finally:
        logger.removeHandler(handler)
    run_federation(tiny_config(tiny_model_dir, root / "honest", **overrides), LocalGrid(honest))
    return root, nodes, lines


def _record(run_dir):
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])


def _assert_each_refused(record: dict, nodes: dict) -> None:
    """Every attacker (node -> its case, the phase it attacks, what its refusal says) was refused for it."""
    rejected = {}
    for node, reason in record["rejected"]:
        rejected.setdefault(node, []).append(reason)
    for node, (kind, phase, reason) in nodes.items():
        found = [r for r in rejected.get(node, []) if r.startswith(phase)]
        assert found and reason in found[0], (kind, rejected.get(node))


@pytest.mark.slow
def test_every_forged_reply_is_refused_with_its_node_id_and_the_round_goes_on(runs):
    root, nodes, lines = runs
    record = _record(root / "attacked/default")
    _assert_each_refused(record, nodes)
    for node, (kind, phase, _) in nodes.items():
        assert any(f"node {node}" in line and phase in line for line in lines), kind
    assert set(record["hospitals"]) == {"hospital-0", "hospital-1"}
    assert math.isfinite(record["train"]["train-loss"]) and math.isfinite(record["evaluate"]["eval-loss"])


@pytest.mark.slow
def test_the_global_adapter_is_what_the_honest_hospitals_alone_give(runs):
    root, _, _ = runs
    _, attacked, _ = Checkpointer(root / "attacked/default").latest()
    _, honest, _ = Checkpointer(root / "honest/default").latest()
    moved = sum(float((honest[k] - attacked[k]).pow(2).sum()) for k in honest) ** 0.5
    assert moved < 1e-6, moved
    # Forged eval counts (and forged eval losses of 0) did not move the federation's held-out loss either.
    assert _record(root / "attacked/default")["evaluate"]["eval-loss"] == pytest.approx(
        _record(root / "honest/default")["evaluate"]["eval-loss"], abs=1e-9)


@pytest.mark.slow
def test_no_string_an_attacker_sent_is_stored(runs):
    root, _, lines = runs
    run_dir = root / "attacked/default"
    stored = [run_dir / "metrics.jsonl", run_dir / "summary.json", *sorted((run_dir / "checkpoints").iterdir())]
    for path in stored:
        data = path.read_bytes()
        for fragment in (b"Zebulon", b"99887766", b"evil"):
            assert fragment not in data, (path.name, fragment)
    assert not any("Zebulon" in line for line in lines)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["data_cards"]) == {"hospital-0", "hospital-1"}


# -- the same attacks under SecAgg+ ---------------------------------------------------------------------------

# Cases that cannot apply under SecAgg+, and why: the adapter never reaches the coordinator outside the masked
# sum, so a forged payload is decoded (and refused) by the attacker's own SecAgg+ mod, and what arrives is
# SecAgg+'s masked integers; and Flower's fit layout carries only scalars, so a list metric is refused by
# secaggplus_mod inside the hospital. Every other train case is on the clear records, which pass the same gate.
NOT_UNDER_SECAGG = {"shape-lie", "truncated", "dtype-lie", "unknown-encoding", "list-metric"}
SECURE = {"secagg.enabled": True, "secagg.reconstruction-threshold": 0.05, "secagg.max-weight": 100.0}


def _secure_fault(grid: LocalGrid, train, evaluate):
    """The same forged reply from a hospital that takes part in SecAgg+ as the protocol asks: its records travel
    in the clear as every hospital's do, its (forged) adapter masked with weight 1."""
    def fault(message, deliver):
        if RECORD_KEY_CONFIGS not in message.content.config_records:  # evaluation does not run under SecAgg+
            return _fault(train, evaluate)(message, deliver)
        # A node that leaves does so once its masked vector is due: Flower 1.41's SecAgg+ cannot finish a round
        # after losing a node before the key-sharing stage (every survivor's mod fails at unmasking).
        forge = train or _left
        context = grid.contexts[message.metadata.dst_node_id]
        return secaggplus_mod(message, context, lambda m, c: legacy_reply(forge(medfed_message(m)), m, 1))
    return fault


@pytest.fixture(scope="module")
def secure_runs(tmp_path_factory, tiny_model_dir):
    """The attacked federation of ``runs`` under SecAgg+ (the cases that apply), and the honest two alone."""
    root = tmp_path_factory.mktemp("hostile-secure")
    honest = make_hospitals(root / "hospitals", count=2)
    cases = {**{k: (t, None, r) for k, (t, r) in TRAIN_ATTACKS.items() if k not in NOT_UNDER_SECAGG},
             **{k: (None, e, r) for k, (e, r) in EVAL_ATTACKS.items()}}
    grid = LocalGrid(honest + [root / f"unused-{i}" for i in range(len(cases))])
    nodes = {}
    for node, (kind, (train, evaluate, reason)) in enumerate(cases.items(), start=len(honest) + 1):
        nodes[node] = (kind, "train" if train else "evaluate", reason)
        grid.faults[(1, str(grid.contexts[node].node_config["hospital-id"]))] = _secure_fault(grid, train, evaluate)
    overrides = {"train.rounds": 1, **SECURE}
    run_federation(tiny_config(tiny_model_dir, root / "attacked", **overrides), grid)
    run_federation(tiny_config(tiny_model_dir, root / "honest", **overrides), LocalGrid(honest))
    return root, nodes


@pytest.mark.slow
def test_under_secagg_every_forged_reply_is_refused_and_left_out_of_the_secure_sum(secure_runs):
    root, nodes = secure_runs
    record = _record(root / "attacked/default")
    _assert_each_refused(record, nodes)
    assert set(record["hospitals"]) == {"hospital-0", "hospital-1"}
    # A refused hospital is a SecAgg+ dropout: the sum is the honest two's alone, within SecAgg+'s stochastic
    # quantisation (measured 9e-6; fifteen forged near-global updates inside the sum would shrink it by ~27%).
    _, attacked, _ = Checkpointer(root / "attacked/default").latest()
    _, honest, _ = Checkpointer(root / "honest/default").latest()
    assert max(float(t.abs().max()) for k, t in honest.items() if "lora_B" in k) > 1e-3  # the honest did train
    for name in honest:
        torch.testing.assert_close(attacked[name], honest[name], atol=5e-5, rtol=0)
    assert math.isfinite(record["train"]["train-loss"])
    run_dir = root / "attacked/default"
    for path in [run_dir / "metrics.jsonl", run_dir / "summary.json", *sorted((run_dir / "checkpoints").iterdir())]:
        for fragment in (b"Zebulon", b"99887766", b"evil"):
            assert fragment not in path.read_bytes(), (path.name, fragment)
    assert set(json.loads((run_dir / "summary.json").read_text())["data_cards"]) == {"hospital-0", "hospital-1"}


# -- the gate's parts on their own --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int8"])
def test_honest_payloads_of_every_wire_dtype_pass_the_payload_check(dtype):
    record = wire.encode({"a": torch.randn(3, 5), "b": torch.randn(7)}, dtype, block_size=4)
    for array in record.values():
        wire.check_payload(array)
    assert set(wire.decode(record)) == {"a", "b"}


@pytest.mark.parametrize("array", [
    Array(dtype="float16", shape=(2, 64), stype=SType.NUMPY, data=_npy(np.zeros((4096, 64), np.float16))),
    Array(dtype="float16", shape=(2, 3), stype=SType.NUMPY, data=_npy(np.zeros((2, 3), np.float16))[:-1]),
    Array(dtype="float16", shape=(2, 3), stype=SType.NUMPY, data=_npy(np.zeros((2, 3), np.float16)) + b"\0"),
    Array(dtype="float16", shape=(2, 3), stype=SType.NUMPY, data=_npy(np.zeros((2, 3), np.float32))),
    Array(dtype="float16", shape=(2, 3), stype=SType.NUMPY, data=_npy(np.asfortranarray(np.zeros((2, 3), np.float16)))),
    Array(dtype="float16", shape=(2, 3), stype=SType.NUMPY, data=b"not an npy file"),
    Array(dtype="int64", shape=(2, 3), stype=SType.NUMPY, data=_npy(np.zeros((2, 3), np.int64))),
    Array(dtype="bfloat16", shape=(2, 3), stype=wire.RAW_STYPE, data=b"\0" * 10),
    Array(dtype="int8", shape=(2, 3), stype="medfed.q8:4", data=b"\0" * 13),
    Array(dtype="int8", shape=(2, 3), stype="medfed.q8:x", data=b"\0" * 14),
    Array(dtype="float16", shape=(2, 3), stype="pickle", data=b"\0" * 12),
], ids=["bigger", "truncated", "padded", "dtype", "fortran", "garbage", "int64", "raw-short", "int8-short",
        "int8-stype", "unknown"])
def test_a_payload_that_does_not_match_its_header_is_refused_before_decoding(array):
    with pytest.raises(wire.WireError):
        wire.check_payload(array)
    with pytest.raises(wire.WireError):
        wire.decode(ArrayRecord({"a": array}))


def _reply(node: int, hospital: str, examples: int = 2) -> Message:
    LocalGrid([])  # messages take their sender from the process's task identity, which the grid sets
    request = Message(RecordDict(), dst_node_id=node, message_type="evaluate")
    return Message(RecordDict({"metrics": MetricRecord({"num-examples": examples, "eval-loss": 1.0}),
                               "hospital": ConfigRecord({"hospital-id": hospital})}), reply_to=request)


def test_a_hospital_id_is_bound_to_the_first_node_and_kept_across_a_resume(tiny_model_dir, tmp_path):
    cfg = tiny_config(tiny_model_dir, tmp_path)
    stage = build_schedule(cfg).stages[0]
    inbox = Inbox(cfg)
    assert inbox.admit(_reply(1, "hospital-0"), "evaluate", stage).hospital == "hospital-0"
    with pytest.raises(ReplyRefused, match="node 1 holds"):  # another node claims it
        inbox.admit(_reply(2, "hospital-0"), "evaluate", stage)
    with pytest.raises(ReplyRefused, match="another hospital id"):  # the bound node claims another
        inbox.admit(_reply(1, "hospital-9"), "evaluate", stage)
    assert inbox.admit(_reply(2, "hospital-1"), "evaluate", stage).hospital == "hospital-1"

    resumed = Inbox(cfg)
    resumed.load_state_dict(json.loads(json.dumps(inbox.state_dict())))  # as the strategy checkpoint keeps it
    with pytest.raises(ReplyRefused, match="node 1 holds"):
        resumed.admit(_reply(3, "hospital-0"), "evaluate", stage)
    assert resumed.released({1, 3}) == ["hospital-1"]  # node 2 is gone: its id may be claimed again
    assert resumed.admit(_reply(3, "hospital-1"), "evaluate", stage).hospital == "hospital-1"


def test_weights_by_mode(tiny_model_dir, tmp_path):
    def weights(**overrides):
        return Inbox(tiny_config(tiny_model_dir, tmp_path, **overrides)).weights([10, 20, 900])
    assert weights() == [10, 20, 900]
    assert weights(**{"strategy.weighting": "uniform"}) == [1, 1, 1]
    assert weights(**{"strategy.weighting": "capped"}) == [10, 20, 20]  # capped at the round's median
    assert weights(**{"strategy.weighting": "capped", "strategy.max-examples": 15}) == [10, 15, 15]
    assert weights(**{"dp.client-level": "server-fixed"}) == [1, 1, 1]


def test_max_examples_refuses_larger_claims_unless_it_caps_the_weight(tiny_model_dir, tmp_path):
    cfg = tiny_config(tiny_model_dir, tmp_path, **{"strategy.max-examples": 3, "train.eval-batches": 4})
    stage = build_schedule(cfg).stages[0]
    with pytest.raises(ReplyRefused, match="strategy.max-examples=3"):
        Inbox(cfg).admit(_reply(1, "h", examples=4), "evaluate", stage)
    capped = tiny_config(tiny_model_dir, tmp_path, **{"strategy.max-examples": 3, "strategy.weighting": "capped",
                                                      "train.eval-batches": 4})
    assert Inbox(capped).admit(_reply(1, "h", examples=4), "evaluate", stage).examples == 4


def test_the_aggregate_step_is_held_to_the_norm_rule():
    rule = NormOutlierRule(factor=10.0, max_norm=0.0)
    assert rule.step_excess(1.5, [1.0, 2.0]) is None
    assert "median accepted update" in rule.step_excess(100.0, [1.0, 2.0])
    assert rule.step_excess(100.0, []) is None  # not a mean of the updates: only the absolute bound
    assert "max-update-norm" in NormOutlierRule(factor=0.0, max_norm=5.0).step_excess(6.0, [])


def test_an_error_reply_keeps_its_code_and_exception_class_but_not_its_text():
    flower = Error(code=2, reason=f"<class 'client.data.BadInput'>:<'{CANARY}'>")
    assert error_summary(flower) == "error code 2 (BadInput)"
    assert error_summary(Error(code=2, reason=f"MemoryError: {CANARY}")) == "error code 2 (MemoryError)"
    assert error_summary(Error(code=3, reason=CANARY + " x")) == "error code 3"
    traceback = (f'Traceback (most recent call last):\n  File "/srv/h0/{CANARY}.py", line 3\n'
                 "privacy.dp.ledger.PrivacyBudgetExhausted: privacy budget spent: ε=11.8 of 15")
    assert error_summary(Error(code=2, reason=traceback)) == "error code 2 (PrivacyBudgetExhausted): privacy budget spent"


def test_secure_aggregation_refuses_capped_weights():
    with pytest.raises(ConfigError, match="capped"):
        check_compatible(RunConfig.from_flat({"secagg.enabled": True, "strategy.weighting": "capped"}))


@pytest.mark.slow
def test_a_resumed_coordinator_keeps_each_hospital_id_bound_to_its_node(tmp_path, tiny_model_dir):
    hospitals = make_hospitals(tmp_path / "hospitals", count=2)
    cfg = tiny_config(tiny_model_dir, tmp_path / "runs")
    with pytest.raises(CrashedFederation):
        run_federation(cfg, LocalGrid(hospitals, crash_at_round=2))
    # After the restart a third node claims hospital-0 before anyone else has spoken in round 2.
    grid = LocalGrid(hospitals + [tmp_path / "unused"])
    grid.contexts = {3: grid.contexts[3], **grid.contexts}  # delivered first
    grid.faults[(2, "hospital-2")] = _fault(lambda m: _train_reply(m, hospital={"hospital-id": "hospital-0"}),
                                            lambda m: _eval_reply(m, hospital="hospital-0"))
    run_federation(cfg, grid)

    rows = [json.loads(line) for line in (tmp_path / "runs/default/metrics.jsonl").read_text().splitlines()]
    assert [r["server_round"] for r in rows] == [1, 2]
    assert sorted((node, reason.split(":")[0]) for node, reason in rows[1]["rejected"]) == [
        (3, "evaluate"), (3, "train")]
    assert all("which node 1 holds" in reason for _, reason in rows[1]["rejected"])
    assert set(rows[1]["hospitals"]) == {"hospital-0", "hospital-1"}


@pytest.mark.parametrize(("weighting", "expected"), [("examples", 2.5), ("uniform", 2.0), ("capped", 2.0)])
def test_the_strategy_weighs_by_the_coordinators_weight(tiny_model_dir, tmp_path, flower_task, weighting, expected):
    cfg = tiny_config(tiny_model_dir, tmp_path, **{"strategy.weighting": weighting, "strategy.max-examples": 1
                                                   if weighting == "capped" else 0})
    federation = Federation(cfg, grid=None)
    replies = []
    for value, examples, node in ((1.0, 1, 1), (3.0, 3, 2)):  # 1.0 and 3.0 are exact in float16
        state = {k: torch.full_like(v, value) for k, v in federation.global_state.items()}
        request = Message(RecordDict(), dst_node_id=node, message_type="train")
        replies.append(_train_reply(request, arrays=wire.encode(state, "float16"),
                                    metrics={"num-examples": examples, "train-loss": value},
                                    hospital={"hospital-id": f"h{node}"}, card={"data.split.conversations.train": 3}))
    accepted = federation._strategy_replies(federation._accept(replies, RoundRecord(1, "ift", 0),
                                                               federation.schedule.stages[0], "train"))
    arrays, _ = federation.strategies[0].aggregate_train(1, accepted)
    assert all(torch.equal(t, torch.full_like(t, expected)) for t in from_arrayrecord(arrays).values())


def test_honest_data_card_and_metric_names_pass():
    card = {"data.identifiers.PERSON": 3, "data.identifiers.DATE_TIME": 2, "data.bad-input.malformed-json": 1,
            "data.split.conversations.train": 40, "data.tokens.cp.heldout": 900, "data.identifiers.residual-rate": 0.0}
    assert check_numbers("data-card field", ConfigRecord(card)) == card
    metrics = {"num-examples": 4, "dp-epsilon": 1.5, "norm_bit": 1, "eval-answer-accuracy": 0.5, "peak-rss-mb": 512.0}
    assert check_numbers("metric", MetricRecord(metrics)) == metrics
