"""The deployment engine end to end on 127.0.0.1: TLS, SuperNode authentication, a two-round run, refusals,
an audit of every reply that reached the coordinator, and a second run in which one SuperNode forges replies.

Slow by nature (Flower starts a process per ClientApp message): about four minutes on two cores.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.harness import CONNECTION, LocalDeployment, stage_app
from tests.deploy.hostile_app import CANARY as FORGED
from tests.federation_harness import make_hospitals

pytestmark = pytest.mark.slow

CANARY = "Zebulon Quillfeather, MRN 99887766, canary-7f3a"


def _plant_canaries(hospital_dir) -> list[str]:
    """Add a training record carrying a unique fake identity; return it with a few real synthetic MRNs."""
    with open(hospital_dir / "instructions.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"instruction": f"Summarise the visit of {CANARY}.", "input": "",
                            "output": f"{CANARY} was seen for chest pain; troponin ordered."}) + "\n")
    notes = (hospital_dir / "notes.jsonl").read_text()
    return [CANARY, "Quillfeather", "99887766", *re.findall(r"MRN: (\d{8})", notes)[:5]]


def _run_config(model_dir, name: str, output_dir) -> str:
    """A two-round run of the tiny model, as ``flwr run --run-config`` takes it."""
    return " ".join(f"{k}={json.dumps(v)}" for k, v in {
        "model.name": str(model_dir), "model.quantization": "none", "adapter.target-modules": "all-linear",
        "adapter.rank": 2, "train.rounds": 2, "train.local-steps": 2, "train.batch-size": 2,
        "train.max-seq-len": 64, "train.eval-every": 100, "train.eval-batches": 1, "deid.enabled": False,
        "strategy.round-timeout": 300.0, "run.name": name, "run.output-dir": str(output_dir)}.items())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("deploy")
    hospitals = make_hospitals(root / "hospitals", count=2)
    canaries = [c for h in hospitals for c in _plant_canaries(h)]
    link = LocalDeployment(root)
    try:
        link.start_superlink()
        for index, data_dir in enumerate(hospitals):
            private_key, public_key = link.new_node_key(f"hospital-{index}")
            link.register(public_key)
            link.start_supernode(f"hospital-{index}", private_key, data_dir)
        link.wait_for_log(link.superlink_log, "Activated node_id", count=2)
        result = link.run_app(stage_app(root / "app"), _run_config(tiny_model_dir, "deployed", root / "runs"),
                              timeout=480)
        yield link, root / "runs", canaries, result
    finally:
        link.close()


def test_two_round_federation_over_tls_with_authenticated_nodes_completes(deployment):
    _, runs, _, result = deployment
    summary = json.loads((runs / "deployed" / "summary.json").read_text())
    rounds = [json.loads(line) for line in (runs / "deployed" / "metrics.jsonl").read_text().splitlines()]
    assert summary["rounds"] == 2 and len(rounds) == 2, result.stdout[-3000:]
    for record in rounds:
        assert record["rejected"] == []
        assert sorted(h for h, m in record["hospitals"].items() if "train.train-loss" in m) == [
            "hospital-0", "hospital-1"]
    assert all(loss is not None for loss in summary["train_loss"])
    assert summary["eval_loss"][-1] is not None


def test_every_reply_holds_only_adapter_tensors_and_numbers_and_no_phi(deployment):
    _, runs, canaries, _ = deployment
    audit = runs / "audit"
    replies = [json.loads(line) for line in (audit / "replies.jsonl").read_text().splitlines()]
    assert len(replies) == 2 * 2 + 2  # two training rounds and one evaluation, two hospitals each
    for reply in replies:
        assert reply["error"] is None
        assert set(reply["records"]) <= {"arrays", "metrics", "hospital", "data-card"}
        for name, record in reply["records"].items():
            if record["kind"] == "arrays":
                assert record["tensors"] and all(".lora_A." in k or ".lora_B." in k for k in record["tensors"])
                assert {t["dtype"] for t in record["tensors"].values()} == {"float16"}
            elif name == "hospital":  # its id, and in train replies the LoRA rank it trains at
                values = record["values"]
                assert set(values) <= {"hospital-id", "adapter-rank"} and isinstance(values["hospital-id"], str)
                assert all(isinstance(v, int) for k, v in values.items() if k != "hospital-id")
            else:
                assert all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in record["values"].values()), name
    for blob in audit.glob("*.bin"):
        data = blob.read_bytes()
        for canary in canaries:
            assert canary.encode() not in data and canary.encode("utf-16-le") not in data, blob.name


def test_node_with_an_unregistered_key_is_refused(deployment):
    link, *_ = deployment
    private_key, _ = link.new_node_key("rogue")  # never registered
    node = link.start_supernode("rogue", private_key, link.root, max_wait=5)
    assert node.wait(timeout=90) != 0
    assert "No SuperNode found with the given public key" in link.superlink_log.read_text()


def test_node_without_tls_is_refused(deployment):
    link, *_ = deployment
    before = link.superlink_log.read_text().count("Activated node_id")
    node = link.start_supernode("plaintext", None, link.root, tls=False, max_wait=5)
    assert node.wait(timeout=90) != 0
    assert link.superlink_log.read_text().count("Activated node_id") == before


def test_a_stranger_holding_ca_crt_cannot_register_list_or_run(deployment):
    """Every hospital has ca.crt; with plain flower-superlink that let anyone use the Control API."""
    link, *_ = deployment
    stranger = link.flwr_home_for("stranger-flwr", link.hospital_side.port)
    _, public_key = link.new_node_key("stranger")

    def node_ids() -> list[str]:
        listed = json.loads(link.flwr("supernode", "list", CONNECTION, "--format", "json").stdout)
        return sorted(node["node-id"] for node in listed["nodes"])

    before = node_ids()
    assert len(before) >= 2
    attempts = {"register": ("supernode", "register", str(public_key), CONNECTION),
                "unregister": ("supernode", "unregister", before[0], CONNECTION),
                "list nodes": ("supernode", "list", CONNECTION), "list runs": ("ls", CONNECTION),
                "run": ("run", str(link.root / "app"), CONNECTION, "--run-config", 'run.name="stranger"')}
    for what, args in attempts.items():
        result = link.flwr(*args, home=stranger, check=False, timeout=120)
        assert result.returncode != 0, f"a stranger could {what}: {result.stdout[-1000:]}"
    assert link.superlink_log.read_text().count("only the coordinator may use this API") >= len(attempts)
    # Nothing changed: the same nodes, and the coordinator still drives the SuperLink.
    assert node_ids() == before
    assert "stranger" not in link.flwr("ls", CONNECTION, "--format", "json").stdout


# The hostile SuperNode's forgeries, each made after real training or scoring (hostile_app.py).
FORGE = "train-1:count-1e12,train-2:claim-other-id,evaluate-2:text-id"


@pytest.fixture(scope="module")
def hostile_run(deployment, tiny_model_dir):
    """After the first run, a third SuperNode joins the same SuperLink with ``forge=FORGE`` in its node config,
    and a second run stages ``hostile_app`` for all three: honest and hostile nodes run the same app."""
    link, *_ = deployment
    data_dir = make_hospitals(link.root / "hostile-data", count=1)[0]
    private_key, public_key = link.new_node_key("hospital-2")
    node = link.register(public_key)
    activated = link.superlink_log.read_text().count("Activated node_id")
    link.start_supernode("hospital-2", private_key, data_dir, node_config=f'forge="{FORGE}"')
    link.wait_for_log(link.superlink_log, "Activated node_id", count=activated + 1)
    runs = link.root / "hostile-runs"
    result = link.run_app(stage_app(link.root / "hostile-app", clientapp="hostile_app:app"),
                          _run_config(tiny_model_dir, "hostile", runs), timeout=480)
    return node, runs / "hostile", result


def test_a_hostile_supernodes_forged_replies_are_refused_and_the_honest_hospitals_train_on(hostile_run):
    node, run_dir, result = hostile_run
    summary = json.loads((run_dir / "summary.json").read_text())
    rounds = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert summary["rounds"] == 2 and len(rounds) == 2, result.stdout[-3000:]
    expected = [["train: claims 1000000000000 examples; its data card reports"],
                ["train: claims hospital id 'hospital-0', which node", "evaluate: 'hospital-id' is not a plain name"]]
    for record, reasons in zip(rounds, expected, strict=True):
        assert [n for n, _ in record["rejected"]] == [node] * len(reasons), record["rejected"]
        for (_, reason), start in zip(record["rejected"], reasons, strict=True):  # train's, then evaluate's
            assert reason.startswith(start), reason
        # Only the honest two count, each with its own reply; the hostile node's id never enters the record.
        assert sorted(h for h, m in record["hospitals"].items() if "train.train-loss" in m) == [
            "hospital-0", "hospital-1"]
        assert set(record["hospitals"]) == {"hospital-0", "hospital-1"}
    assert all(loss is not None for loss in summary["train_loss"]) and summary["eval_loss"][-1] is not None
    # The text it forged reaches no file of the run and no line the coordinator printed.
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert FORGED.encode() not in data and b"Quillfeather" not in data, path.name
    for name in ("metrics.jsonl", "summary.json"):
        assert "evil" not in (run_dir / name).read_text()
    assert "Quillfeather" not in result.stdout + result.stderr
