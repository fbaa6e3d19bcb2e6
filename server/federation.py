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

import torch
from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid

from common import wire
from common.config import RunConfig, hospital_config
from common.evaluation.federated import aggregate_answer_scores
from common.exchange import AdapterExchange, from_arrayrecord, to_arrayrecord
from common.logs import RoundConsole, get_logger, log_node_event
from common.model import build_adapter_model
from common.private_files import write_private
from common.stages import Schedule, build_schedule, stage_metrics
from privacy.dp.client_level import CoordinatorPrivacy
from server import strategy_state
from server.checkpoint import Checkpointer
from server.export import export_adapter
from server.flower_strategies import FLOWER_STRATEGIES
from server.inbox import Inbox, ReplyRefused, Update, error_summary
from server.report import write_report
from server.secure import SecureRound
from server.strategies import build_stack
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
        self.privacy = CoordinatorPrivacy(cfg)  # client-level DP: the wrapper, one charge per aggregated round
        # A stage may name its own strategy (stage.<name>.strategy); its hyperparameters stay those of [strategy].
        self.strategies = [build_stack(cfg, s.strategy, self.privacy) for s in self.schedule.stages]
        self.history: list[RoundRecord] = []
        self.data_cards: dict[str, dict] = {}  # hospital id -> aggregate counts from its data card
        self.norm_rule = NormOutlierRule.from_config(cfg.validation)
        self.inbox = Inbox(cfg)  # every reply passes it: content checks, example bounds, hospital id binding
        self.secure = SecureRound(cfg) if cfg.secagg.enabled else None  # SecAgg+: only the sum is seen
        self.console = RoundConsole()  # a line per hospital reply; named lines for nodes that drop or rejoin

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> dict:
        start_round = self._resume() + 1
        write_private(self.run_dir / "config.json", json.dumps(self.cfg.to_flat(), indent=2).encode())
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
                                 "client_accountant": self.privacy.state_dict()})
            self.checkpoints.save(server_round, self.global_state,
                                  {"server_round": server_round, "stage_index": record.stage_index,
                                   "privacy": self.privacy.summary(self.history)})
        self.model.activate(self.schedule.adapter_count - 1)  # export (and merge) every stacked adapter
        adapter_dir, merged_dir = export_adapter(self.model, self.global_state, self.run_dir, self.cfg)
        summary = self._summary(adapter_dir, merged_dir)
        write_private(self.run_dir / "summary.json", json.dumps(summary, indent=2).encode())
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
        if self.secure is not None:  # the same gate, inside the secure sum: only its mean reaches the strategy
            updates, replies = self._secure_train(server_round, messages, record, stage)
        else:
            replies = self.console.send_and_receive(self.grid, messages, timeout=self.cfg.strategy.round_timeout,
                                                    label=label, server_round=server_round)
            updates, norms = self._reject_outliers(self._accept(replies, record, stage, "train"), record)
            replies = self._strategy_replies(updates)
        # Under SecAgg+ the one reply is the secure sum, which the protocol's own threshold already guards.
        enough = bool(replies) if self.secure is not None else len(updates) >= self.cfg.strategy.min_nodes
        if enough:
            arrays, metrics = strategy.aggregate_train(server_round, replies)
            aggregate = from_arrayrecord(arrays)
            excess = self._aggregate_excess(aggregate, norms, stage)
            if excess is None:
                self.global_state = {**self.global_state, **aggregate}
                record.train = dict(metrics or {})
                self.privacy.charge(len(updates))
            else:
                record.rejected.append((0, f"train: aggregate {excess}"))
                log.warning("round %d: aggregate refused, global adapter kept: %s", server_round, excess)
        else:
            log.warning("round %d: only %d usable replies (strategy.min-nodes=%d); global adapter kept",
                        server_round, len(updates), self.cfg.strategy.min_nodes)
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
            scored = self._strategy_replies([u for u in self._accept(replies, record, stage, "evaluate")
                                             if u.examples > 0])
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
        run_config = self._hospital_config()
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

    def _hospital_config(self) -> ConfigRecord:
        """The run configuration every message carries to the hospitals (``run-config``)."""
        return ConfigRecord(hospital_config(self.cfg))

    def _reject(self, record: RoundRecord, node: int, phase: str, reason: str) -> None:
        """Leave one node's reply out of the round: recorded, and one console line that names the node."""
        record.rejected.append((node, f"{phase}: {reason}"))
        log_node_event(node, self.inbox.hospital_of(node), "rejected",
                       f"round {record.server_round} ({phase}): {reason}")

    def _admit(self, reply: Message, record: RoundRecord, stage, phase: str,
               masked_weight: float | None = None) -> Update | None:
        """One reply through the inbox (``masked_weight``: a SecAgg+ train reply, see ``Inbox.admit``): what it
        says is recorded per hospital; a refusal is logged and recorded with its node id (None)."""
        node = reply.metadata.src_node_id
        try:
            if reply.has_error():  # its reason is the hospital's free text: only the code and class are kept
                raise ReplyRefused(f"failed: {error_summary(reply.error)}")
            update = self.inbox.admit(reply, phase, stage, lambda rank: self.exchange.spec(self.global_state, rank),
                                      masked_weight)
        except ReplyRefused as exc:
            self._reject(record, node, phase, str(exc))
            return None
        hospital = update.hospital
        record.hospitals.setdefault(hospital, {}).update({f"{phase}.{k}": v for k, v in update.metrics.items()})
        if phase == "train":
            self.node_ranks[node] = update.rank
            self.data_cards[hospital] = update.data_card
            if update.tensors is not None:  # per-hospital wire accounting, both ways (a masked reply has none)
                record.bytes_up += update.bytes_up
                down, down_error = self.sent.get(node, (0, 0.0))
                record.hospitals[hospital].update({"train.adapter-rank": update.rank,
                                                   "train.bytes-up": update.bytes_up, "train.bytes-down": down,
                                                   "train.wire-error-down": down_error})
        return update

    def _accept(self, replies: list[Message], record: RoundRecord, stage, phase: str) -> list[Update]:
        """The replies that pass the inbox, as typed updates in hospital order, each with the coordinator's
        weight; the rest are logged and recorded with their node id."""
        updates = [u for u in (self._admit(r, record, stage, phase) for r in replies) if u is not None]
        # A fixed order makes aggregation bit-for-bit reproducible whatever order replies arrived in.
        updates.sort(key=lambda u: u.hospital)
        weights = self.inbox.weights([u.examples for u in updates])
        return [dataclasses.replace(u, weight=w) for u, w in zip(updates, weights, strict=True)]

    def _strategy_replies(self, updates: list[Update]) -> list[Message]:
        """Each update as the reply a Flower strategy aggregates: its checked metrics, the coordinator's weight
        under the key the strategies weigh by, and its adapter in float32."""
        replies = []
        for update in updates:
            metrics = dict(update.metrics)
            if self.privacy.weight_key != "num-examples":  # the strategy weighs by the coordinator's weight
                metrics[self.privacy.weight_key] = update.weight
            content = {"metrics": MetricRecord(metrics)}
            if update.tensors is not None:
                content["arrays"] = to_arrayrecord(update.tensors)
            update.reply.content = RecordDict(content)
            replies.append(update.reply)
        return replies

    def _reject_outliers(self, updates: list[Update], record: RoundRecord) -> tuple[list[Update], dict[int, float]]:
        """Drop updates that ``validation`` calls norm outliers; log and record them with their node id.
        Also returns the kept updates' norms, node id -> norm."""
        norms = {}
        for update in updates:  # each update against what that hospital received (its rank, its tensors)
            norms[update.node] = update_norm(update.tensors, self.exchange.outgoing(self.global_state, update.rank))
        outliers = self.norm_rule.outliers(norms)
        for node, reason in outliers.items():
            self._reject(record, node, "train", reason)
        return ([u for u in updates if u.node not in outliers],
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
        relative = (FLOWER_STRATEGIES[stage.strategy].aggregate == "mean" and self.cfg.dp.client_level == "none"
                    and self.secure is None)
        return self.norm_rule.step_excess(step, list(norms.values()) if relative else [])

    def _secure_train(self, server_round: int, messages: list[Message], record: RoundRecord,
                      stage) -> tuple[list[Update], list[Message]]:
        """SecAgg+ train phase: the admitted hospitals, and one reply carrying their unmasked weighted mean for
        the strategy to finish (none when SecAgg+ halted or no hospital was admitted).

        Each hospital's clear records (metrics with ε, id, rank, data card) pass the same inbox as a plain reply,
        inside the workflow: a refused hospital is left out of the sum as a dropout (``server.secure``).
        """
        updates: list[Update] = []

        def gate(reply: Message, weight: float | None) -> bool:
            update = self._admit(reply, record, stage, "train", masked_weight=weight)
            if update is not None:
                updates.append(update)
            return update is not None

        mean = self.secure.train(self.grid, server_round, messages, self.exchange.shared(self.global_state), gate)
        if mean is None:
            record.rejected.append((0, "train: secure aggregation halted (too few hospitals kept up)"))
            return updates, []
        if not updates:
            return updates, []
        updates.sort(key=lambda u: u.hospital)
        total = sum(u.examples for u in updates)
        averaged = {}
        for u in updates:
            for k, v in u.metrics.items():
                averaged[k] = averaged.get(k, 0.0) + float(v) * u.examples / total
        averaged["num-examples"] = total
        if self.privacy.weight_key != "num-examples":
            averaged[self.privacy.weight_key] = 1.0
        reply = Message(RecordDict({"arrays": to_arrayrecord(mean), "metrics": MetricRecord(averaged)}),
                        reply_to=messages[0])
        return updates, [reply]

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
            self.privacy.load_state_dict(extra.get("client_accountant"))
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
            "privacy": self.privacy.summary(self.history),
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
