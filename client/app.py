"""The hospital's Flower ClientApp: receive the global adapter, train or evaluate locally, reply.

What leaves the hospital in a reply: the adapter tensors (by name, at wire precision) and scalar
metrics. Never text, never base-model weights.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from client.data import PreparedData, prepare_hospital_data
from client.stages import objective_for
from client.train import evaluate as evaluate_loss
from client.train import train_round
from common.logs import get_logger
from common import wire
from common.config import ConfigError, RunConfig
from common.evaluation.federated import heldout_scores
from common.model import LoadedModel, shared_adapter_model
from common.stages import Stage

log = get_logger(__name__.rsplit(".", 1)[-1])

app = ClientApp()


@dataclass(frozen=True)
class Hospital:
    """Who this node is and where its data lives, from the node config (never from the server)."""

    hospital_id: str
    data_dir: Path

    @classmethod
    def from_context(cls, context: Context, cfg: RunConfig) -> Hospital:
        node = context.node_config
        if "data-dir" in node:  # a deployed hospital names its own folder
            data_dir = Path(str(node["data-dir"])).expanduser()
            return cls(str(node.get("hospital-id", data_dir.name)), data_dir)
        if "partition-id" in node:  # a simulated hospital: one folder per partition under data.root
            name = f"hospital-{int(node['partition-id'])}"
            return cls(name, Path(cfg.data.root).expanduser() / name)
        raise ConfigError("node config needs 'data-dir' (path of this hospital's data folder) "
                          "and optionally 'hospital-id'")


@dataclass(frozen=True)
class RoundJob:
    """Everything one message asks of this hospital."""

    cfg: RunConfig
    stage: Stage
    stage_index: int
    server_round: int
    round_in_stage: int
    proximal_mu: float
    hospital: Hospital

    @classmethod
    def from_message(cls, msg: Message, context: Context) -> RoundJob:
        # The coordinator is authoritative for the run configuration: it sends it with every round.
        cfg = RunConfig.from_flat(dict(msg.content["run-config"]))
        config = dict(msg.content["config"])
        return cls(cfg=cfg, stage=Stage.from_config(config), stage_index=int(config["stage-index"]),
                   server_round=int(config["server-round"]), round_in_stage=int(config["round-in-stage"]),
                   proximal_mu=float(config.get("proximal-mu", 0.0)), hospital=Hospital.from_context(context, cfg))

    def model(self, incoming: ArrayRecord) -> LoadedModel:
        """The process's shared model, holding the adapter weights that came with the message."""
        loaded = shared_adapter_model(self.cfg.model, self.cfg.adapter, self.cfg.run.seed)
        spec = wire.AdapterSpec.of(loaded.adapter_state(), self.cfg.wire.dtype)
        wire.validate(incoming, spec)
        loaded.load_adapter_state(wire.decode(incoming))
        return loaded

    def data_card(self, loaded: LoadedModel) -> dict[str, int | float]:
        """Aggregate counts about this hospital's data: the only thing about it the server learns."""
        return _prepared(self.cfg, self.hospital.data_dir, loaded.tokenizer).card.to_metrics()

    def examples(self, loaded: LoadedModel, split: str) -> list:
        return _stage_examples(self.cfg, self.hospital.data_dir, self.stage.kind, self.stage.max_seq_len,
                               split, loaded.tokenizer)


@functools.lru_cache(maxsize=8)
def _prepared(cfg: RunConfig, data_dir: Path, tokenizer) -> PreparedData:
    """Each hospital's data is prepared once per process (and cached on disk across processes)."""
    return prepare_hospital_data(data_dir, cfg, deidentifier=_deidentifier(cfg),
                                 count_tokens=lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]))


def _deidentifier(cfg: RunConfig):
    if not cfg.deid.enabled:
        return None
    from privacy.deid import Deidentifier  # heavy (spaCy): imported only when de-identification is on

    return Deidentifier.from_config(cfg.deid, secret=None)


@functools.lru_cache(maxsize=16)
def _stage_examples(cfg: RunConfig, data_dir: Path, kind: str, max_seq_len: int, split: str, tokenizer) -> list:
    prepared = _prepared(cfg, data_dir, tokenizer)
    data = prepared.train if split == "train" else prepared.heldout
    return objective_for(kind, tokenizer, max_seq_len).examples(data)


@app.train()
def train(msg: Message, context: Context) -> Message:
    job = RoundJob.from_message(msg, context)
    loaded = job.model(msg.content["arrays"])
    objective = objective_for(job.stage.kind, loaded.tokenizer, job.stage.max_seq_len)
    examples = job.examples(loaded, "train")
    rng = random.Random(f"{job.cfg.run.seed}-{job.hospital.hospital_id}-{job.server_round}")
    report = train_round(loaded.model, objective, examples, job.stage, round_in_stage=job.round_in_stage, rng=rng,
                         proximal_mu=job.proximal_mu, weight_decay=job.cfg.train.weight_decay,
                         max_grad_norm=job.cfg.train.max_grad_norm)
    log.info("%s round %d (%s): loss %.4f, %d tokens in %.1fs", job.hospital.hospital_id, job.server_round,
             job.stage.name, report.loss, report.tokens, report.seconds)
    metrics = {
        "num-examples": len(examples),
        "train-loss": report.loss,
        "train-loss-first": report.first_loss,
        "train-loss-last": report.last_loss,
        "train-tokens": report.tokens,
        "train-seconds": report.seconds,
        "tokens-per-second": report.tokens_per_second,
        "quantized-4bit": int(loaded.quantization == "nf4"),
        "stage-index": job.stage_index,
    }
    content = RecordDict({
        "arrays": wire.encode(loaded.adapter_state(), job.cfg.wire.dtype),
        "metrics": MetricRecord(metrics),
        "hospital": ConfigRecord({"hospital-id": job.hospital.hospital_id}),
        "data-card": ConfigRecord(job.data_card(loaded)),
    })
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    job = RoundJob.from_message(msg, context)
    loaded = job.model(msg.content["arrays"])
    objective = objective_for(job.stage.kind, loaded.tokenizer, job.stage.max_seq_len)
    loss, scored = evaluate_loss(loaded.model, objective, job.examples(loaded, "heldout"), job.stage.batch_size,
                                 job.cfg.train.eval_batches)
    metrics = {"num-examples": scored, "eval-loss": loss, "stage-index": job.stage_index}
    # Perplexity of the stage's held-out data; closed-answer accuracy on held-out conversations. Scores only.
    closed = _prepared(job.cfg, job.hospital.data_dir, loaded.tokenizer).heldout.conversations \
        if job.stage.kind == "ift" else []
    metrics.update(heldout_scores(loaded.model, loaded.tokenizer, closed, loss, job.cfg.eval.answer_labels,
                                  max_items=job.stage.batch_size * job.cfg.train.eval_batches))
    content = RecordDict({
        "metrics": MetricRecord(metrics),
        "hospital": ConfigRecord({"hospital-id": job.hospital.hospital_id}),
    })
    return Message(content=content, reply_to=msg)
