"""The coordinator's round loop: walk the stage schedule, send the global adapter, aggregate, checkpoint.

Flower's strategies decide whom to sample and how to aggregate; this loop adds what a medical
federation needs around them: the stage schedule, the adapter wire format and its checks, per-hospital
metrics, bytes accounting, checkpoints and resume, and the final export.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message
from flwr.serverapp import Grid

from common.logs import get_logger
from common import wire
from common.config import RunConfig
from common.evaluation.federated import aggregate_answer_scores
from common.model import build_adapter_model
from common.stages import Schedule, build_schedule
from server.checkpoint import Checkpointer, atomic_write_bytes
from server.export import export_adapter
from server.report import write_report
from server.strategies import build_strategy

log = get_logger("server")


@dataclass
class RoundRecord:
    """What the coordinator learnt in one round; one JSON line in ``metrics.jsonl``."""

    server_round: int
    stage: str
    stage_index: int
    train: dict = field(default_factory=dict)  # aggregated train metrics
    evaluate: dict = field(default_factory=dict)  # aggregated evaluation metrics
    hospitals: dict = field(default_factory=dict)  # hospital id -> its own train/eval metrics
    rejected: list = field(default_factory=list)  # (node id, reason) of replies left out
    bytes_down: int = 0  # adapter bytes sent to hospitals this round
    bytes_up: int = 0  # adapter bytes received from hospitals this round
    seconds: float = 0.0
    client_train_seconds: float = 0.0  # slowest hospital's local training time


def _to_arrayrecord(state: dict[str, torch.Tensor]) -> ArrayRecord:
    """float32 ArrayRecord for Flower's strategies, which aggregate numpy arrays."""
    return ArrayRecord({k: Array(v.detach().cpu().float().numpy()) for k, v in state.items()})


def _from_arrayrecord(record: ArrayRecord) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v.numpy(), dtype=np.float32)) for k, v in record.items()}


class Federation:
    """One federated run: the schedule, the global adapter, and everything written to the run folder."""

    def __init__(self, cfg: RunConfig, grid: Grid) -> None:
        self.cfg = cfg
        self.grid = grid
        self.schedule: Schedule = build_schedule(cfg)
        self.run_dir = Path(cfg.run.output_dir).expanduser() / cfg.run.name
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints = Checkpointer(self.run_dir)
        # The coordinator never trains: a full-precision base suffices to initialise and export adapters.
        self.model = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed, trainable=False)
        self.global_state = self.model.adapter_state()
        self.spec = wire.AdapterSpec.of(self.global_state, cfg.wire.dtype)
        self.strategies = [build_strategy(cfg.strategy) for _ in self.schedule.stages]
        self.history: list[RoundRecord] = []
        self.data_cards: dict[str, dict] = {}  # hospital id -> aggregate counts from its data card

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> dict:
        start_round = self._resume() + 1
        atomic_write_bytes(self.run_dir / "config.json", json.dumps(self.cfg.to_flat(), indent=2).encode())
        log.info("medfed: %d stage(s) %s, %d rounds, adapter %d parameters (%.2f MB on the wire, %.3f%% of the base)",
                 len(self.schedule.stages), "→".join(s.name for s in self.schedule.stages),
                 self.schedule.total_rounds, self.spec.num_parameters, self.spec.num_bytes / 1e6,
                 100 * self.spec.num_bytes / self.base_bytes)
        for server_round in range(start_round, self.schedule.total_rounds + 1):
            record = self._round(server_round)
            self.history.append(record)
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record.__dict__) + "\n")
            self.checkpoints.save(server_round, self.global_state,
                                  {"server_round": server_round, "stage_index": record.stage_index})
        adapter_dir, merged_dir = export_adapter(self.model, self.global_state, self.run_dir, self.cfg)
        summary = self._summary(adapter_dir, merged_dir)
        atomic_write_bytes(self.run_dir / "summary.json", json.dumps(summary, indent=2).encode())
        try:  # the report is a view of the files above: failing to draw it must not fail the run
            log.info("run report: %s", write_report(self.run_dir))
        except Exception as exc:
            log.warning("run report not written: %s: %s", type(exc).__name__, exc)
        return summary

    def _round(self, server_round: int) -> RoundRecord:
        stage_index, stage, round_in_stage = self.schedule.locate(server_round)
        strategy = self.strategies[stage_index]
        record = RoundRecord(server_round, stage.name, stage_index)
        started = time.perf_counter()
        config = ConfigRecord({**stage.to_config(), "stage-index": stage_index, "round-in-stage": round_in_stage})

        # Train.
        messages = list(strategy.configure_train(server_round, _to_arrayrecord(self.global_state), config, self.grid))
        record.bytes_down += self._prepare_outgoing(messages)
        replies = list(self.grid.send_and_receive(messages, timeout=self.cfg.strategy.round_timeout))
        accepted = self._accept(replies, record, with_arrays=True)
        if len(accepted) >= self.cfg.strategy.min_nodes:
            arrays, metrics = strategy.aggregate_train(server_round, accepted)
            self.global_state = _from_arrayrecord(arrays)
            record.train = dict(metrics or {})
        else:
            log.warning("round %d: only %d usable replies (strategy.min-nodes=%d); global adapter kept",
                        server_round, len(accepted), self.cfg.strategy.min_nodes)

        # Evaluate the new global adapter on every hospital's held-out split.
        last = server_round == self.schedule.total_rounds
        if server_round % self.cfg.train.eval_every == 0 or last:
            messages = list(strategy.configure_evaluate(server_round, _to_arrayrecord(self.global_state), config,
                                                        self.grid))
            record.bytes_down += self._prepare_outgoing(messages)
            replies = list(self.grid.send_and_receive(messages, timeout=self.cfg.strategy.round_timeout))
            accepted = self._accept(replies, record, with_arrays=False)
            if accepted:
                record.evaluate = dict(strategy.aggregate_evaluate(server_round, accepted) or {})
                record.evaluate.update(aggregate_answer_scores(record.hospitals))

        record.seconds = time.perf_counter() - started
        self._log_round(record, stage, round_in_stage)
        return record

    def _prepare_outgoing(self, messages: list[Message]) -> int:
        """Put the global adapter at wire precision and the run configuration into each message."""
        payload = wire.encode(self.global_state, self.cfg.wire.dtype)
        run_config = ConfigRecord(self.cfg.to_flat())
        for message in messages:
            message.content["arrays"] = payload
            message.content["run-config"] = run_config
        return wire.record_bytes(payload) * len(messages)

    def _accept(self, replies: list[Message], record: RoundRecord, *, with_arrays: bool) -> list[Message]:
        """Keep the replies that are well-formed; log and record the rest with their node id."""
        accepted = []
        phase = "train" if with_arrays else "evaluate"
        for reply in replies:
            node = reply.metadata.src_node_id
            if reply.has_error():
                record.rejected.append((node, f"{phase}: {reply.error.reason}"))
                log.warning("round %d %s: hospital node %d failed: %s", record.server_round, phase, node,
                            reply.error.reason)
                continue
            if with_arrays:
                try:
                    wire.validate(reply.content["arrays"], self.spec)
                except (wire.WireError, KeyError) as exc:
                    record.rejected.append((node, f"{phase}: {exc}"))
                    log.warning("round %d: rejected update from node %d: %s", record.server_round, node, exc)
                    continue
                record.bytes_up += wire.record_bytes(reply.content["arrays"])
                reply.content["arrays"] = _to_arrayrecord(wire.decode(reply.content["arrays"]))
            hospital = str(reply.content["hospital"]["hospital-id"]) if "hospital" in reply.content else str(node)
            metrics = dict(reply.content["metrics"])
            record.hospitals.setdefault(hospital, {}).update({f"{phase}.{k}": v for k, v in metrics.items()})
            if "data-card" in reply.content:
                self.data_cards[hospital] = dict(reply.content["data-card"])
            if with_arrays:
                record.client_train_seconds = max(record.client_train_seconds, float(metrics.get("train-seconds", 0)))
            accepted.append(reply)
        return accepted

    # -- resume, logging, summary -----------------------------------------------------------------

    @property
    def base_bytes(self) -> int:
        """The full base model at wire precision: what sending the model itself would cost."""
        return self.model.base_parameters * wire.WIRE_DTYPES[self.cfg.wire.dtype].itemsize

    def _resume(self) -> int:
        """Load the newest checkpoint when resuming; returns the last completed round (0 if none)."""
        latest = self.checkpoints.latest() if self.cfg.run.resume else None
        if latest is None:
            return 0
        server_round, state, _ = latest
        if wire.AdapterSpec.of(state, self.cfg.wire.dtype) != self.spec:
            raise ValueError(f"checkpoint of round {server_round} in {self.checkpoints.dir} does not match this "
                             f"run's adapter; use another run.name or run.resume=false")
        self.global_state = state
        metrics_file = self.run_dir / "metrics.jsonl"
        if metrics_file.exists():
            rows = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
            self.history = [RoundRecord(**row) for row in rows if row["server_round"] <= server_round]
            metrics_file.write_text("".join(json.dumps(r.__dict__) + "\n" for r in self.history))
        log.info("resuming after round %d from %s", server_round, self.checkpoints.dir)
        return server_round

    def _log_round(self, record: RoundRecord, stage, round_in_stage: int) -> None:
        train_loss = record.train.get("train-loss", float("nan"))
        eval_loss = record.evaluate.get("eval-loss", float("nan"))
        log.info("[round %d/%d · %s %d/%d] train loss %.4f · eval loss %.4f · %d hospitals (%d rejected) · "
                 "↓%.2f MB ↑%.2f MB · %.1fs", record.server_round, self.schedule.total_rounds, stage.name,
                 round_in_stage, stage.rounds, train_loss, eval_loss, len(record.hospitals), len(record.rejected),
                 record.bytes_down / 1e6, record.bytes_up / 1e6, record.seconds)

    def _summary(self, adapter_dir: Path, merged_dir: Path | None) -> dict:
        per_round_up = [r.bytes_up / max(1, len([h for h in r.hospitals.values() if "train.train-loss" in h]))
                        for r in self.history]
        summary = {
            "run_dir": str(self.run_dir),
            "rounds": self.schedule.total_rounds,
            "stages": [s.name for s in self.schedule.stages],
            "train_loss": [r.train.get("train-loss") for r in self.history],
            "eval_loss": [r.evaluate.get("eval-loss") for r in self.history],
            "bytes_down_total": sum(r.bytes_down for r in self.history),
            "bytes_up_total": sum(r.bytes_up for r in self.history),
            "bytes_per_client_round": max(per_round_up, default=0),
            "base_model_bytes": self.base_bytes,
            "adapter_dir": str(adapter_dir),
            "merged_dir": str(merged_dir) if merged_dir else None,
            "data_cards": self.data_cards,
        }
        lines = ["", "medfed run finished", f"  run folder      {self.run_dir}",
                 f"  stages          {' → '.join(summary['stages'])} ({summary['rounds']} rounds)"]
        for r in self.history:
            lines.append(f"  round {r.server_round:>3} {r.stage:<6} train loss {r.train.get('train-loss', float('nan')):.4f}"
                         f"  eval loss {r.evaluate.get('eval-loss', float('nan')):.4f}  {len(r.rejected)} rejected")
        lines += [f"  bytes sent      {summary['bytes_down_total'] / 1e6:.2f} MB down, "
                  f"{summary['bytes_up_total'] / 1e6:.2f} MB up "
                  f"({100 * summary['bytes_per_client_round'] / self.base_bytes:.3f}% of the base model per hospital "
                  f"per round)",
                  f"  adapter         {adapter_dir}"]
        if merged_dir:
            lines.append(f"  merged model    {merged_dir}")
        log.info("\n".join(lines))
        return summary
