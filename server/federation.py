"""The coordinator's round loop: walk the stage schedule, send the global adapter, aggregate, checkpoint.

Flower's strategies decide whom to sample and how to aggregate; this loop adds what a medical
federation needs around them: the stage schedule, the adapter wire format and its checks, per-hospital
metrics, bytes accounting, checkpoints and resume, and the final export.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid

from common import wire
from common.config import RunConfig, hospital_config
from common.evaluation.federated import aggregate_answer_scores
from common.logs import RoundConsole, get_logger, log_node_event
from common.model import build_adapter_model
from common.stages import Schedule, build_schedule, stage_metrics
from privacy.dp.client_level import (
    aggregation_weight_key,
    client_level_accountant,
    compose_release,
    held_out_metrics_by_examples,
    with_client_level_dp,
)
from privacy.dp.report import privacy_summary
from privacy.secagg import SecureRound
from server import strategy_state
from server.aggregation import AdapterExchange, wrap_strategy
from server.checkpoint import Checkpointer, atomic_write_bytes
from server.export import export_adapter
from server.inbox import Admitted, Inbox, ReplyRefused, error_summary
from server.report import write_report
from server.strategies import build_strategy
from server.validation import NormOutlierRule, update_norm

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
    seconds: float = 0.0  # the whole round
    train_seconds: float = 0.0  # sending the adapter out until the aggregate is formed
    evaluate_seconds: float = 0.0


def to_arrayrecord(state: dict[str, torch.Tensor]) -> ArrayRecord:
    """float32 ArrayRecord for Flower's strategies, which aggregate numpy arrays."""
    return ArrayRecord({k: Array(v.detach().cpu().float().numpy()) for k, v in state.items()})


def from_arrayrecord(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """The inverse of ``to_arrayrecord``: float32 tensors by name."""
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
        self.model = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed, trainable=False,
                                         adapters=self.schedule.adapter_count)
        self.global_state = self.model.adapter_state()
        self.spec = wire.AdapterSpec.of(self.global_state, cfg.wire.dtype)
        self.exchange = AdapterExchange.from_config(cfg)
        self.node_ranks: dict[int, int] = {}  # node id -> LoRA rank it declared in its last reply
        self.sent: dict[int, tuple[int, float]] = {}  # node id -> (bytes, wire error) of its last download
        self.weight_key = aggregation_weight_key(cfg)  # the metric the strategies weigh by; the inbox sets it
        # A stage may name its own strategy (stage.<name>.strategy); its hyperparameters stay those of [strategy].
        self.strategies = [with_client_level_dp(wrap_strategy(cfg, build_strategy(
            dataclasses.replace(cfg.strategy, name=s.strategy), self.weight_key,
            held_out_metrics_by_examples)), cfg) for s in self.schedule.stages]
        self.client_accountant = client_level_accountant(cfg)  # client-level DP: one release per aggregated round
        self.history: list[RoundRecord] = []
        self.data_cards: dict[str, dict] = {}  # hospital id -> aggregate counts from its data card
        self.norm_rule = NormOutlierRule.from_config(cfg.validation)
        self.inbox = Inbox(cfg)  # every reply passes it: content checks, example bounds, hospital id binding
        self.secure = SecureRound(cfg) if cfg.secagg.enabled else None  # SecAgg+: only the sum is seen
        self.console = RoundConsole()  # a line per hospital reply; named lines for nodes that drop or rejoin

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
            strategy_state.save(self.checkpoints.path(server_round, "strategy"), self.strategies,
                                {"data_cards": self.data_cards, "inbox": self.inbox.state_dict(),
                                 "client_accountant": self.client_accountant
                                 and self.client_accountant.state_dict()})
            self.checkpoints.save(server_round, self.global_state,
                                  {"server_round": server_round, "stage_index": record.stage_index,
                                   "privacy": privacy_summary(self.cfg, self.history, self.client_accountant)})
        self.model.activate(self.schedule.adapter_count - 1)  # export (and merge) every stacked adapter
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
        label = f"[round {server_round}/{self.schedule.total_rounds} · {stage.name} {round_in_stage}/{stage.rounds}]"

        # Train.
        shared = to_arrayrecord(self.exchange.shared(self.global_state))
        messages = list(strategy.configure_train(server_round, shared, config, self.grid))
        record.bytes_down += self._prepare_outgoing(messages)
        norms: dict[int, float] = {}
        if self.secure is not None:
            accepted = self._secure_train(server_round, messages, record, stage)
            contributors = len(record.hospitals)  # the hospitals inside the secure sum (nothing else recorded yet)
        else:
            replies = self.console.send_and_receive(self.grid, messages, timeout=self.cfg.strategy.round_timeout,
                                                    label=label, server_round=server_round)
            accepted, norms = self._reject_outliers(self._accept(replies, record, stage, "train"), record)
            contributors = len(accepted)
        if len(accepted) >= self.cfg.strategy.min_nodes or (self.secure is not None and accepted):
            arrays, metrics = strategy.aggregate_train(server_round, accepted)
            aggregate = from_arrayrecord(arrays)
            excess = self._aggregate_excess(aggregate, norms, stage)
            if excess is None:
                self.global_state = {**self.global_state, **aggregate}
                record.train = dict(metrics or {})
                if self.client_accountant is not None:
                    compose_release(self.client_accountant, self.cfg, contributors)
            else:
                record.rejected.append((0, f"train: aggregate {excess}"))
                log.warning("round %d: aggregate refused, global adapter kept: %s", server_round, excess)
        else:
            log.warning("round %d: only %d usable replies (strategy.min-nodes=%d); global adapter kept",
                        server_round, len(accepted), self.cfg.strategy.min_nodes)
        record.train_seconds = time.perf_counter() - started

        # Evaluate the new global adapter on every hospital's held-out split.
        last = server_round == self.schedule.total_rounds
        if server_round % self.cfg.train.eval_every == 0 or last:
            messages = list(strategy.configure_evaluate(server_round, to_arrayrecord(self.exchange.shared(
                self.global_state)), config, self.grid))
            record.bytes_down += self._prepare_outgoing(messages)
            replies = self.console.send_and_receive(self.grid, messages, timeout=self.cfg.strategy.round_timeout,
                                                    label=label, server_round=server_round, phase="evaluate")
            # A hospital with nothing held out for this stage scores 0 examples: it has no weight in the mean.
            scored = [r for r in self._accept(replies, record, stage, "evaluate")
                      if r.content["metrics"]["num-examples"] > 0]
            if scored:
                record.evaluate = dict(strategy.aggregate_evaluate(server_round, scored) or {})
                if "eval-perplexity" in record.evaluate:  # the federation's perplexity: of its mean loss, not a mean
                    record.evaluate["eval-perplexity"] = math.exp(min(record.evaluate["eval-loss"], 50.0))
                # Answer accuracy is weighted by each hospital's closed questions, not by its examples.
                for key in ("eval-answer-accuracy", "eval-answer-n"):
                    record.evaluate.pop(key, None)
                record.evaluate.update(aggregate_answer_scores(record.hospitals))
            record.evaluate_seconds = time.perf_counter() - started - record.train_seconds

        record.seconds = time.perf_counter() - started
        self._log_round(record, stage, round_in_stage)
        return record

    def _prepare_outgoing(self, messages: list[Message]) -> int:
        """Put the global adapter (wire precision, each hospital's rank) and the run configuration into each message."""
        payloads: dict[int, tuple] = {}  # rank -> (record, bytes, wire error): hospitals of one rank share it
        run_config = ConfigRecord(hospital_config(self.cfg))
        total = 0
        for message in messages:
            node = message.metadata.dst_node_id
            rank = self.node_ranks.get(node, self.cfg.adapter.rank)
            if rank not in payloads:
                state = self.exchange.outgoing(self.global_state, rank)
                payload = self.exchange.encode(state)
                payloads[rank] = (payload, wire.record_bytes(payload), wire.relative_error(state, payload))
            payload, size, error = payloads[rank]
            # Flower's strategies give all their messages one shared RecordDict; each needs its own payload.
            message.content = RecordDict({**message.content, "arrays": payload, "run-config": run_config})
            self.sent[node] = (size, error)
            total += size
        return total

    def _reject(self, record: RoundRecord, node: int, phase: str, reason: str) -> None:
        """Leave one node's reply out of the round: recorded, and one console line that names the node."""
        record.rejected.append((node, f"{phase}: {reason}"))
        log_node_event(node, self.inbox.hospital_of(node), "rejected",
                       f"round {record.server_round} ({phase}): {reason}")

    def _accept(self, replies: list[Message], record: RoundRecord, stage, phase: str) -> list[Message]:
        """Keep the replies that pass the inbox, each reduced to what the strategy needs (checked metrics, the
        coordinator's own weight, decoded arrays); log and record the rest with their node id."""
        admitted: list[tuple[Admitted, Message]] = []
        for reply in replies:
            node = reply.metadata.src_node_id
            try:
                if reply.has_error():  # its reason is the hospital's free text: only the code and class are kept
                    raise ReplyRefused(f"failed: {error_summary(reply.error)}")
                reply_in = self.inbox.admit(reply, phase, stage, lambda rank: self.exchange.spec(self.global_state,
                                                                                                   rank))
            except ReplyRefused as exc:
                self._reject(record, node, phase, str(exc))
                continue
            hospital = reply_in.hospital
            record.hospitals.setdefault(hospital, {}).update({f"{phase}.{k}": v for k, v in reply_in.metrics.items()})
            content = {"metrics": MetricRecord(reply_in.metrics)}
            if phase == "train":
                self.node_ranks[node] = reply_in.rank
                record.bytes_up += reply_in.bytes_up
                content["arrays"] = to_arrayrecord(reply_in.arrays)
                down, down_error = self.sent.get(node, (0, 0.0))  # per-hospital wire accounting, both ways
                record.hospitals[hospital].update({"train.adapter-rank": reply_in.rank,
                                                   "train.bytes-up": reply_in.bytes_up, "train.bytes-down": down,
                                                   "train.wire-error-down": down_error})
                self.data_cards[hospital] = reply_in.data_card
            reply.content = RecordDict(content)
            admitted.append((reply_in, reply))
        # A fixed order makes aggregation bit-for-bit reproducible whatever order replies arrived in.
        admitted.sort(key=lambda pair: pair[0].hospital)
        if self.weight_key != "num-examples":  # the strategy weighs by the coordinator's weight, not a claim
            for (_, reply), weight in zip(admitted, self.inbox.weights([a.examples for a, _ in admitted]),
                                          strict=True):
                reply.content["metrics"][self.weight_key] = weight
        return [reply for _, reply in admitted]

    def _reject_outliers(self, accepted: list[Message], record: RoundRecord) -> tuple[list[Message], dict[int, float]]:
        """Drop updates that ``validation`` calls norm outliers; log and record them with their node id.
        Also returns the kept updates' norms, node id -> norm."""
        norms = {}
        for reply in accepted:  # each update against what that hospital received (its rank, its tensors)
            node = reply.metadata.src_node_id
            sent = self.exchange.outgoing(self.global_state, self.node_ranks.get(node, self.cfg.adapter.rank))
            norms[node] = update_norm(from_arrayrecord(reply.content["arrays"]), sent)
        outliers = self.norm_rule.outliers(norms)
        for node, reason in outliers.items():
            self._reject(record, node, "train", reason)
        return ([reply for reply in accepted if reply.metadata.src_node_id not in outliers],
                {node: n for node, n in norms.items() if node not in outliers})

    def _aggregate_excess(self, aggregate: dict[str, torch.Tensor], norms: dict[int, float], stage) -> str | None:
        """Why the aggregate's step from the global adapter breaks the norm rule (None: it does not).

        The relative bound holds where the aggregate is a weighted mean of the factors it was given (FedAvg,
        FedProx of factors, no server-side noise): such a mean never moves further than its largest update,
        so only forged weights take it beyond. Exact aggregation re-factorises by SVD, whose factors are not
        comparable with the previous ones: neither bound applies there.
        """
        if self.cfg.strategy.aggregation == "exact":
            return None
        step = update_norm(aggregate, {k: self.global_state[k] for k in aggregate})
        relative = (stage.strategy in ("fedavg", "fedprox") and self.cfg.dp.client_level == "none"
                    and self.secure is None)
        return self.norm_rule.step_excess(step, list(norms.values()) if relative else [])

    def _secure_train(self, server_round: int, messages: list[Message], record: RoundRecord, stage) -> list[Message]:
        """SecAgg+ train phase: one reply carrying the unmasked weighted mean, for the strategy to finish.

        Each hospital's metrics (ε included) still arrive in the clear and pass the inbox; its adapter and its
        weight arrive only inside the masked sum, where nothing can check them (``Inbox.admit_secure``).
        """
        mean, hospital_metrics = self.secure.train(self.grid, server_round, messages, self.global_state)
        if mean is None:
            record.rejected.append((0, "train: secure aggregation halted (too few hospitals kept up)"))
            return []
        admitted = []
        for node, metrics in hospital_metrics:
            try:
                admitted.append(self.inbox.admit_secure(node, metrics, stage))
            except ReplyRefused as exc:
                self._reject(record, node, "train", f"secure train metrics: {exc}")
        if not admitted:
            return []
        total = sum(a.examples for a in admitted)
        averaged = {}
        for a in admitted:
            record.hospitals.setdefault(a.hospital, {}).update({f"train.{k}": v for k, v in a.metrics.items()})
            for k, v in a.metrics.items():
                averaged[k] = averaged.get(k, 0.0) + float(v) * a.examples / total
        averaged["num-examples"] = total
        if self.weight_key != "num-examples":
            averaged[self.weight_key] = 1.0
        reply = Message(RecordDict({"arrays": to_arrayrecord(mean), "metrics": MetricRecord(averaged)}),
                        reply_to=messages[0])
        return [reply]

    # -- resume, logging, summary -----------------------------------------------------------------

    @property
    def base_bytes(self) -> int:
        """The full base model at wire precision: what sending the model itself would cost."""
        itemsize = 1 if self.cfg.wire.dtype == wire.QUANT_DTYPE else wire.WIRE_DTYPES[self.cfg.wire.dtype].itemsize
        return self.model.base_parameters * itemsize

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
        state_file = self.checkpoints.path(server_round, "strategy")
        if state_file.exists():
            extra = strategy_state.load(state_file, self.strategies)
            self.data_cards = extra["data_cards"]
            self.inbox.load_state_dict(extra.get("inbox", {}))
            # A restarted simulation numbers its nodes anew, a re-registered SuperNode gets a new id: an id whose
            # node is gone may be claimed again; one whose node is still connected stays bound to it.
            released = self.inbox.released(set(self.grid.get_node_ids()))
            if released:
                log.info("resume: hospital ids %s released (their nodes are no longer connected)", released)
            if self.client_accountant is not None:
                self.client_accountant.load_state_dict(extra["client_accountant"])
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
        extra = "".join(f" · {k} {v:.4f}" for k, v in record.evaluate.items()
                        if k.startswith("eval-") and k != "eval-loss")
        log.info("[round %d/%d · %s %d/%d] train loss %.4f · eval loss %.4f%s · %d hospitals (%d rejected) · "
                 "↓%.2f MB ↑%.2f MB · %.1fs", record.server_round, self.schedule.total_rounds, stage.name,
                 round_in_stage, stage.rounds, train_loss, eval_loss, extra, len(record.hospitals), len(record.rejected),
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
            "privacy": privacy_summary(self.cfg, self.history, self.client_accountant),
            "stage_metrics": stage_metrics([r.__dict__ for r in self.history]),
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
        for hospital, spent in summary["privacy"].get("hospitals", {}).items():
            lines.append(f"  privacy         {hospital}: ε={spent['epsilon']:.3f} (δ={spent['delta']:g}) after "
                         f"{spent['steps']} DP steps")
        log.info("\n".join(lines))
        return summary
