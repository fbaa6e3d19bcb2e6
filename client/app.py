"""The hospital's Flower ClientApp: receive the global adapter, train or evaluate locally, reply.

What leaves the hospital in a reply: the adapter tensors (by name, at wire precision) and scalar
metrics. Never text, never base-model weights.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import resource
from dataclasses import dataclass
from pathlib import Path

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from client.data import PreparedData, prepare_hospital_data
from client.outbox import check_reply
from client.policy import HospitalPolicy
from client.stages import stage_objective
from client.train import evaluate as evaluate_loss
from client.train import train_round
from common import lowrank, wire
from common.config import AdapterSection, ConfigError, DataSection, DeidSection, DPSection, RunConfig
from common.logs import get_logger, hospital_line
from common.model import LoadedModel, model_loads, shared_adapter_model
from common.stages import Stage, build_schedule
from privacy.dp import DPStep, HospitalPrivacy, PlanPhase
from privacy.dp.client_level import client_weight_metric
from privacy.secagg import secagg_mod

log = get_logger(__name__.rsplit(".", 1)[-1])

app = ClientApp(mods=[secagg_mod])  # SecAgg+ rounds only; every other message passes untouched


@dataclass(frozen=True)
class Hospital:
    """Who this node is and where its data lives, from the node config (never from the server)."""

    hospital_id: str
    data_dir: Path
    policy: HospitalPolicy  # what this hospital accepts of a run configuration (client/policy.py)
    secret_file: Path | None = None  # the hospital's de-identification secret; kept apart from the data

    @classmethod
    def from_context(cls, context: Context, data: DataSection, dp: DPSection) -> Hospital:
        """From the node config; a simulated hospital's folder (under ``data.root``) and its policy come from
        the run's ``[data]`` and ``[dp]``."""
        node = context.node_config
        secret = Path(str(node["deid-secret-file"])).expanduser() if "deid-secret-file" in node else None
        policy = HospitalPolicy.load(Path(str(node["policy-file"])).expanduser()) if "policy-file" in node else None
        if "data-dir" in node:  # a deployed hospital names its own folder and runs under its own policy
            data_dir = Path(str(node["data-dir"])).expanduser()
            return cls(str(node.get("hospital-id", data_dir.name)), data_dir, policy or HospitalPolicy(), secret)
        if "partition-id" in node:  # a simulated hospital: one folder per partition under data.root
            name = f"hospital-{int(node['partition-id'])}"
            return cls(name, Path(data.root).expanduser() / name, policy or HospitalPolicy.permissive(data, dp), secret)
        raise ConfigError("node config needs 'data-dir' (path of this hospital's data folder) "
                          "and optionally 'hospital-id' and 'policy-file'")


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
    rank: int  # this hospital's LoRA rank (node config 'adapter-rank'; adapter.rank by default)

    @classmethod
    def from_message(cls, msg: Message, context: Context) -> RoundJob:
        hospital, cfg = _run_setup(msg, context)
        config = dict(msg.content["config"])
        stage = Stage.from_config(config)
        hospital.policy.check_stage(stage, hospital.hospital_id)
        return cls(cfg=cfg, stage=stage, stage_index=int(config["stage-index"]),
                   server_round=int(config["server-round"]), round_in_stage=int(config["round-in-stage"]),
                   proximal_mu=float(config.get("proximal-mu", 0.0)), hospital=hospital,
                   rank=_hospital_rank(context, cfg.adapter))

    def model(self, incoming: ArrayRecord) -> tuple[LoadedModel, dict[str, torch.Tensor]]:
        """The process's shared model at this hospital's rank, holding the adapter that came with the message;
        also that adapter as received (at this hospital's rank)."""
        schedule = build_schedule(self.cfg)
        adapter_cfg = dataclasses.replace(self.cfg.adapter, rank=self.rank)
        loaded = shared_adapter_model(self.cfg.model, adapter_cfg, self.cfg.run.seed, adapters=schedule.adapter_count)
        spec = wire.AdapterSpec.of(loaded.trainable_adapter_state(), self.cfg.wire.dtype, self.cfg.wire.block_size)
        # At our own rank, or at the global rank while the coordinator has not yet learnt ours.
        shapes = {k: tuple(a.shape) for k, a in incoming.items()}
        global_spec = spec.at_rank(self.cfg.adapter.rank)
        state = wire.validate(incoming, global_spec if shapes == global_spec.shapes != spec.shapes else spec)
        if shapes != spec.shapes:
            state = lowrank.at_rank(state, self.rank, self.cfg.adapter.alpha)
        loaded.load_adapter_state(state)
        loaded.activate(schedule.segment(self.stage_index))  # hand-off 'stack': train this stage's own adapter
        return loaded, state

    def data_card(self, loaded: LoadedModel) -> dict[str, int | float]:
        """Aggregate counts about this hospital's data: the only thing about it the server learns."""
        return _prepared(self.cfg, self.hospital, loaded.tokenizer).card.to_metrics()

    def examples(self, loaded: LoadedModel, split: str) -> list:
        return _stage_examples(self.cfg, self.hospital, self.stage, split, loaded.tokenizer)

    def stage_examples(self, loaded: LoadedModel, objective, context: Context, *splits: str) -> dict[str, list]:
        """This stage's examples per split, with what the objective keeps between rounds (HA: DPO references)."""
        examples = {split: self.examples(loaded, split) for split in splits}
        return objective.with_round_state(loaded.model, examples, context.state, stage_name=self.stage.name,
                                          round_in_stage=self.round_in_stage, batch_size=self.stage.batch_size,
                                          hospital_id=self.hospital.hospital_id)

    def seed(self) -> random.Random:
        """This round's randomness at this hospital: a batch-order RNG, and torch seeded for adapter dropout,
        both from (seed, hospital, round), so a resumed run repeats a lost round exactly."""
        torch.manual_seed(random.Random(f"torch-{self.cfg.run.seed}-{self.hospital.hospital_id}-{self.server_round}")
                          .getrandbits(63))
        return random.Random(f"{self.cfg.run.seed}-{self.hospital.hospital_id}-{self.server_round}")

    def private_round(self, privacy: HospitalPrivacy, loaded: LoadedModel, stage: Stage) -> DPStep | None:
        """This round's DP-SGD steps, admitted against the ε budget (``PrivacyBudgetExhausted`` once spent) and
        the hospital's policy; None without sample-level DP."""
        if not self.cfg.dp.enabled:
            return None
        step = privacy.open_round(self.server_round, stage, self.dp_plan(loaded))
        policy, hospital_id = self.hospital.policy, self.hospital.hospital_id
        policy.check_noise(step.noise_multiplier, hospital_id)
        if policy.dp_max_total_epsilon:  # every run's ledger: a new run.name is no fresh budget
            policy.check_total_epsilon(privacy.other_runs_epsilon(), privacy.epsilon_after_round(), hospital_id)
        return step

    def dp_plan(self, loaded: LoadedModel) -> list[PlanPhase]:
        """Every stage of the run at this hospital: what the ε budget must cover."""
        return [PlanPhase.of(stage, _stage_examples(self.cfg, self.hospital, stage, "train", loaded.tokenizer),
                             self.cfg.dp.unit) for stage in build_schedule(self.cfg).stages]


# (run id, node id) -> (run config and node config as received, the hospital, its policy-bounded run config)
_RUNS: dict[tuple[int, int], tuple[tuple[dict, dict], Hospital, RunConfig]] = {}


def _run_setup(msg: Message, context: Context) -> tuple[Hospital, RunConfig]:
    """This node's hospital and the run configuration its policy admits, parsed and checked once per run.

    The coordinator sends the hospital's keys (``common.config.hospital_config``) with every message of a
    run; they are parsed again only if they (or the node config) ever differ from the first message's. The
    policy file is read once per run too: a changed policy applies from the next run.
    """
    received = (dict(msg.content["run-config"]), dict(context.node_config))
    key = (context.run_id, context.node_id)
    if key not in _RUNS or _RUNS[key][0] != received:
        cfg = RunConfig.from_flat(received[0])
        hospital = Hospital.from_context(context, cfg.data, cfg.dp)
        # PolicyRefused: logged, and the round's error; nothing is kept, so the next message is checked again.
        _RUNS[key] = (received, hospital, hospital.policy.enforce(cfg, hospital.hospital_id))
    return _RUNS[key][1], _RUNS[key][2]


def _hospital_rank(context: Context, adapter: AdapterSection) -> int:
    """This hospital's LoRA rank: node config 'adapter-rank', else adapter.hospital-ranks by partition."""
    node = context.node_config
    ranks = lowrank.hospital_ranks(adapter)
    if "adapter-rank" in node:
        rank = int(node["adapter-rank"])
    elif "partition-id" in node and int(node["partition-id"]) < len(ranks):
        rank = ranks[int(node["partition-id"])]
    else:
        return adapter.rank
    if not 1 <= rank <= adapter.rank:
        raise ConfigError(f"node config 'adapter-rank' is {rank}; it must be in 1..adapter.rank={adapter.rank}")
    return rank


@functools.lru_cache(maxsize=8)
def _prepared(cfg: RunConfig, hospital: Hospital, tokenizer) -> PreparedData:
    """Each hospital's data is prepared once per process (and cached on disk across processes)."""
    return prepare_hospital_data(hospital.data_dir, cfg, deidentifier=_deidentifier(cfg.deid, hospital),
                                 count_tokens=lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]))


def _deidentifier(deid: DeidSection, hospital: Hospital):
    if not deid.enabled:
        return None
    from privacy.deid import Deidentifier  # heavy (spaCy): imported only when de-identification is on

    secret = hospital.secret_file.read_bytes().strip() if hospital.secret_file else None
    return Deidentifier.from_config(deid, secret=secret)


@functools.lru_cache(maxsize=16)
def _stage_examples(cfg: RunConfig, hospital: Hospital, stage: Stage, split: str, tokenizer) -> list:
    prepared = _prepared(cfg, hospital, tokenizer)
    data = prepared.train if split == "train" else prepared.heldout
    return stage_objective(stage, tokenizer, cfg).examples(data)


@app.train()
def train(msg: Message, context: Context) -> Message:
    job = RoundJob.from_message(msg, context)
    loaded, received = job.model(msg.content["arrays"])
    objective = stage_objective(job.stage, loaded.tokenizer, job.cfg)
    # Both splits: DPO references of held-out pairs must come from the adapter as it entered the stage too.
    examples = job.stage_examples(loaded, objective, context, "train", "heldout")["train"]
    stage = job.stage.for_examples(len(examples))
    privacy = HospitalPrivacy(job.cfg.dp, run_name=job.cfg.run.name, data_dir=job.hospital.data_dir, state=context.state)
    report = train_round(loaded.model, objective, examples, stage, round_in_stage=job.round_in_stage, rng=job.seed(),
                         proximal_mu=job.proximal_mu, weight_decay=job.cfg.train.weight_decay,
                         max_grad_norm=job.cfg.train.max_grad_norm, dp=job.private_round(privacy, loaded, stage))
    metrics = {
        "num-examples": len(examples),
        "train-loss": report.loss,
        "train-loss-first": report.first_loss,
        "train-loss-last": report.last_loss,
        "train-tokens": report.tokens,
        "train-seconds": report.seconds,
        "tokens-per-second": report.tokens_per_second,
        "quantized-4bit": int(loaded.quantization == "nf4"),
        "peak-rss-mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux reports KiB
        "stage-index": job.stage_index,
        "process-model-loads": model_loads(),  # 1 in every round: the base model is loaded once per process
        **client_weight_metric(job.cfg),
    }
    # Client-level DP with clipping at the hospital: the round's config carries the norm.
    update, privacy_metrics = privacy.close_round(loaded.trainable_adapter_state(), received, msg.content["config"])
    metrics.update(privacy_metrics)
    log.info("round %d (%s) trained · %s", job.server_round, job.stage.name, hospital_line(job.hospital.hospital_id, metrics))
    arrays = wire.encode(update, job.cfg.wire.dtype, job.cfg.wire.block_size)
    metrics["wire-error"] = wire.relative_error(update, arrays)  # what the wire precision did to this update
    content = RecordDict({
        "arrays": arrays,
        "metrics": MetricRecord(metrics),
        "hospital": ConfigRecord({"hospital-id": job.hospital.hospital_id, "adapter-rank": job.rank}),
        "data-card": ConfigRecord(job.data_card(loaded)),
    })
    return Message(content=check_reply(content, set(update)), reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    job = RoundJob.from_message(msg, context)
    loaded, _ = job.model(msg.content["arrays"])
    objective = stage_objective(job.stage, loaded.tokenizer, job.cfg)
    heldout = job.stage_examples(loaded, objective, context, "heldout")["heldout"]
    loss, scored = evaluate_loss(loaded.model, objective, heldout, job.stage.batch_size, job.cfg.train.eval_batches)
    extra = objective.eval_metrics(loaded.model, heldout, loss, job.stage.batch_size, job.cfg.train.eval_batches)
    metrics = {"num-examples": scored, "eval-loss": loss, "stage-index": job.stage_index,
               **{f"eval-{k}": v for k, v in extra.items()}, **client_weight_metric(job.cfg)}
    metrics.update(objective.heldout_metrics(loaded.model, _prepared(job.cfg, job.hospital, loaded.tokenizer).heldout,
                                             max_items=job.stage.batch_size * job.cfg.train.eval_batches))
    content = RecordDict({
        "metrics": MetricRecord(metrics),
        "hospital": ConfigRecord({"hospital-id": job.hospital.hospital_id}),
    })
    return Message(content=check_reply(content, adapter_names=set()), reply_to=msg)
