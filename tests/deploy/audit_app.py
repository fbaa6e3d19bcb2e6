"""A ServerApp for the deployment test: the real Federation, behind a Grid that records every reply.

The deployment test stages this file into the app it runs with ``flwr run``. Each reply that reaches the
coordinator is written to ``<run.output-dir>/audit/``: its content serialised exactly as Flower
serialises it (``<n>.bin``) and a JSON summary (``replies.jsonl``), for the test to inspect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from flwr.app import ArrayRecord, Context, Message, RecordDict
from flwr.common.serde import recorddict_to_proto
from flwr.serverapp import Grid, ServerApp

from common.config import RunConfig
from server.federation import Federation

app = ServerApp()


class AuditingGrid(Grid):
    """Delegates to Flower's Grid; keeps a copy of every reply."""

    def __init__(self, grid: Grid, out_dir: Path) -> None:
        self.grid, self.out_dir, self.count = grid, out_dir, 0
        out_dir.mkdir(parents=True, exist_ok=True)

    def set_run(self, run):
        self.grid.set_run(run)

    @property
    def run(self):
        return self.grid.run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return self.grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self):
        return self.grid.get_node_ids()

    def push_messages(self, messages):
        return self.grid.push_messages(messages)

    def pull_messages(self, message_ids):
        return self.grid.pull_messages(message_ids)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        replies = list(self.grid.send_and_receive(messages, timeout=timeout))
        for reply in replies:
            self._record(reply)
        return replies

    def _record(self, reply: Message) -> None:
        self.count += 1
        summary = {"node": reply.metadata.src_node_id, "type": reply.metadata.message_type,
                   "error": reply.error.reason if reply.has_error() else None, "records": {}}
        if not reply.has_error():
            (self.out_dir / f"{self.count}.bin").write_bytes(recorddict_to_proto(reply.content).SerializeToString())
            for name, record in reply.content.items():
                if isinstance(record, ArrayRecord):
                    summary["records"][name] = {"kind": "arrays", "tensors": {
                        k: {"dtype": a.dtype, "shape": list(a.shape)} for k, a in record.items()}}
                else:
                    summary["records"][name] = {"kind": type(record).__name__,
                                                "values": {k: v for k, v in record.items()}}
        with open(self.out_dir / "replies.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(summary, default=repr) + "\n")


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = RunConfig.from_flat(dict(context.run_config))
    Federation(cfg, AuditingGrid(grid, Path(cfg.run.output_dir) / "audit")).run()
