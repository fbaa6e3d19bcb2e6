"""An in-process Grid that delivers each message to the real ClientApp functions, with injectable faults.

Resume, dropout and validation tests need many short federations whose hospitals misbehave on cue. Ray
and the deployment engine take tens of seconds per run and cannot inject a fault into one reply, so this
Grid calls ``client.app.train``/``evaluate`` directly, as a SuperNode would, one hospital after another.
A fault is a function ``(message, deliver) -> reply or None``: it may call ``deliver()`` and alter the
reply, raise (the hospital crashes: an error reply, as Flower sends), or return None (no reply before the
timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from flwr.app import Context, Error, Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

import client.app as client_app
from common.config import RunConfig
from server.federation import Federation
from simulations.synthetic.hospital import generate_federation

Fault = Callable[[Message, Callable[[], Message]], "Message | None"]
CLIENT_APP_EXCEPTION = 1  # Flower's error code for an exception raised inside a ClientApp


class CrashedFederation(RuntimeError):
    """Raised by ``LocalGrid`` to stand for the coordinator dying mid-run."""


class LocalGrid(Grid):
    def __init__(self, hospital_dirs: list[Path], faults: dict[tuple[int, str], Fault] | None = None,
                 crash_at_round: int | None = None) -> None:
        self.hospitals = {node: (f"hospital-{node - 1}", d) for node, d in enumerate(hospital_dirs, start=1)}
        self.faults = faults or {}
        self.crash_at_round = crash_at_round
        self._run = Run.create_empty(run_id=1)
        # Flower stamps messages with the identity of the ServerApp process; stand in for it.
        TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content, dst_node_id, message_type, group_id=group_id, ttl=ttl)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.hospitals)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        raise NotImplementedError("LocalGrid only supports send_and_receive")

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[str]:
        raise NotImplementedError("LocalGrid only supports send_and_receive")

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        replies = []
        for message in messages:
            server_round = int(message.content["config"]["server-round"])
            if server_round == self.crash_at_round:
                raise CrashedFederation(f"coordinator killed in round {server_round}")
            hospital, data_dir = self.hospitals[message.metadata.dst_node_id]
            fault = self.faults.get((server_round, hospital))
            deliver = lambda m=message, h=hospital, d=data_dir: self._deliver(m, h, d)  # noqa: E731
            try:
                reply = fault(message, deliver) if fault else deliver()
            except Exception as exc:  # the hospital crashed: Flower replies with an error message
                reply = Message(Error(CLIENT_APP_EXCEPTION, f"{type(exc).__name__}: {exc}"), reply_to=message)
            if reply is not None:
                replies.append(reply)
        return replies

    def _deliver(self, message: Message, hospital: str, data_dir: Path) -> Message:
        context = Context(run_id=1, node_id=message.metadata.dst_node_id,
                          node_config={"data-dir": str(data_dir), "hospital-id": hospital},
                          state=RecordDict(), run_config={})
        handler = client_app.train if message.metadata.message_type.startswith("train") else client_app.evaluate
        return handler(message, context)


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
