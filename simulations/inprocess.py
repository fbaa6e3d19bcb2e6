"""A Flower Grid that hands each message straight to the ClientApp in this process.

The coordinator's round loop and the hospitals' ClientApp run exactly as in a deployment; only the
transport is a function call. No Ray: a federation of a tiny model starts in a second, so tests can run
every stage paradigm end to end, and a benchmark can measure training rather than simulator start-up.
Hospitals run one after another; each keeps its own node state across rounds, as a SuperNode does.
"""

from __future__ import annotations

from collections.abc import Iterable

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from common.logs import get_logger

log = get_logger("inprocess")


class InProcessGrid(Grid):
    """Delivers each message to ``client_app`` with the receiving node's own, persistent Context.

    ``contexts`` maps node id -> Context (its node config says which hospital it is); ``simulated``
    builds them as Flower's simulation engine does, from partition ids. ``deliver`` is the one place a
    message meets a hospital, so a test can wrap it to make a hospital fail.
    """

    def __init__(self, client_app: ClientApp, contexts: dict[int, Context]) -> None:
        # Messages stamp their sender from the process's task identity, which a SuperLink would set.
        TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, SUPERLINK_NODE_ID
        self.client_app = client_app
        self.contexts = contexts
        self._run = None

    @classmethod
    def simulated(cls, client_app: ClientApp, num_nodes: int) -> InProcessGrid:
        return cls(client_app, {
            SUPERLINK_NODE_ID + 1 + i: Context(run_id=1, node_id=SUPERLINK_NODE_ID + 1 + i,
                                               node_config={"partition-id": i, "num-partitions": num_nodes},
                                               state=RecordDict(), run_config={})
            for i in range(num_nodes)})

    def set_run(self, run) -> None:
        self._run = run

    @property
    def run(self):
        return self._run

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None) -> Message:
        return Message(content=content, dst_node_id=dst_node_id, message_type=message_type, group_id=group_id,
                       ttl=ttl)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.contexts)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        raise NotImplementedError("InProcessGrid delivers synchronously: use send_and_receive")

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        raise NotImplementedError("InProcessGrid delivers synchronously: use send_and_receive")

    def deliver(self, message: Message) -> Message | None:
        """The receiving hospital's reply (None: no reply before the timeout)."""
        return self.client_app(message, self.contexts[message.metadata.dst_node_id])

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        replies = []
        for message in messages:
            try:
                reply = self.deliver(message)
            except Exception as exc:  # a failing hospital becomes an error reply, as over a real transport
                log.warning("node %d failed: %s", message.metadata.dst_node_id, type(exc).__name__)
                reply = Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION,
                                      reason=f"{type(exc).__name__}: {exc}"), reply_to=message)
            if reply is not None:
                replies.append(reply)
        return replies


def simulate_in_process(overrides: dict) -> dict:
    """``simulations.run.simulate`` without Ray: the same apps, hospitals in turn; returns the run summary."""
    from client.app import app as client_app
    from common.config import RunConfig
    from server.federation import Federation
    from simulations.run import ensure_synthetic_hospitals

    cfg = RunConfig.from_flat(overrides)
    ensure_synthetic_hospitals(cfg)
    return Federation(cfg, InProcessGrid.simulated(client_app, cfg.simulation.num_hospitals)).run()
