"""An in-process Grid that delivers each message to the real ClientApp functions, with injectable faults.

Resume, dropout and validation tests need many short federations whose hospitals misbehave on cue. Ray
and the deployment engine take tens of seconds per run and cannot inject a fault into one reply, so this
Grid hands each message to the real ClientApp in this process (``simulations.inprocess``), one hospital
after another.
A fault is a function ``(message, deliver) -> reply or None``: it may call ``deliver()`` and alter the
reply, raise (the hospital crashes: an error reply, as Flower sends), or return None (no reply before the
timeout).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path

from flwr.app import Context, Message, RecordDict
from flwr.supercore.run import Run

from client.app import app as client_app
from common.config import RunConfig
from server.federation import Federation
from simulations.inprocess import InProcessGrid
from simulations.synthetic.hospital import generate_federation

Fault = Callable[[Message, Callable[[], Message]], "Message | None"]


class CrashedFederation(RuntimeError):
    """Raised by ``LocalGrid`` to stand for the coordinator dying mid-run."""


class LocalGrid(InProcessGrid):
    """``InProcessGrid`` over hospital folders (deployment-style node configs), with faults and a crash."""

    def __init__(self, hospital_dirs: list[Path], faults: dict[tuple[int, str], Fault] | None = None,
                 crash_at_round: int | None = None) -> None:
        super().__init__(client_app, {
            node: Context(run_id=1, node_id=node, node_config={"data-dir": str(d), "hospital-id": f"hospital-{node - 1}",
                                                               "policy-file": str(_test_policy(d))},
                          state=RecordDict(), run_config={})
            for node, d in enumerate(hospital_dirs, start=1)})
        self.faults = faults or {}
        self.crash_at_round = crash_at_round
        self.set_run(Run.create_empty(run_id=1))  # SecAgg+'s workflow addresses its messages by the run's id

    def deliver(self, message: Message) -> Message | None:
        # Each hospital gets its own copy of the content, as over a real transport: SecAgg+'s workflow sends one
        # RecordDict to every node, and its client mod changes the copy it receives.
        message.content = copy.deepcopy(message.content)
        server_round = _server_round(message)
        hospital = str(self.contexts[message.metadata.dst_node_id].node_config["hospital-id"])
        fault = self.faults.get((server_round, hospital))
        return fault(message, lambda: super(LocalGrid, self).deliver(message)) if fault else super().deliver(message)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        messages = list(messages)
        for message in messages:  # the coordinator dies before any hospital hears of the round
            if _server_round(message) == self.crash_at_round:
                raise CrashedFederation(f"coordinator killed in round {self.crash_at_round}")
        return super().send_and_receive(messages, timeout=timeout)


def _server_round(message: Message) -> int:
    """The round a message belongs to: in medfed's config, or (SecAgg+'s stages) in Flower's group id."""
    if "config" in message.content:
        return int(message.content["config"]["server-round"])
    return int(message.metadata.group_id)


def _test_policy(hospital_dir: Path) -> Path:
    """Synthetic hospitals trained without de-identification (tiny_config): their policy must allow it."""
    path = hospital_dir.parent / f"{hospital_dir.name}-policy.toml"
    path.write_text("deid-required = false\n")
    return path


def make_hospitals(root: Path, count: int = 2, scale: int = 24) -> list[Path]:
    return generate_federation(root, count, seed=0, scale=scale)


def tiny_config(model_dir: Path, output_dir: Path, **overrides) -> RunConfig:
    """A run small enough for a unit test: tiny model, full precision, few steps, no de-identification."""
    return RunConfig.from_flat({
        "model.name": str(model_dir), "model.quantization": "none", "adapter.target-modules": "all-linear",
        "adapter.rank": 2, "train.rounds": 2, "train.local-steps": 2, "train.batch-size": 2,
        "train.learning-rate": 1e-2, "train.max-seq-len": 64, "train.eval-every": 100, "train.eval-batches": 1,
        "strategy.min-nodes": 2, "run.output-dir": str(output_dir), "deid.enabled": False,
        "data.cache": False, **overrides})


def run_federation(cfg: RunConfig, grid: LocalGrid) -> dict:
    return Federation(cfg, grid).run()
