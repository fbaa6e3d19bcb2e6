"""SecAgg+ as the train phase's transport: the coordinator learns only the weighted sum of the adapters.

The round loop is the same as without it: the round's strategy stack configures the train messages,
every reply passes the coordinator's gate (``server.inbox``), and the stack aggregates. What differs is
only how the adapters travel: ``SecureRound.train`` runs Flower's ``SecAggPlusWorkflow`` on the messages
(see ``privacy.secagg`` for the bridge to Flower's legacy API) and returns the unmasked weighted mean.

The gate sits inside the workflow, where the masked vectors arrive: each hospital's clear records (metrics,
hospital id and rank, data card) and the weight it declared for the sum pass ``Inbox.admit`` there, and a
refused hospital is handed to SecAgg+ as a dropout, so its masked vector is left out of the sum and its
masks are removed with the shares the others hold. What the gate cannot see under SecAgg+: the adapter
itself (payload, shapes, NaN, norm), which reaches the coordinator only inside the sum; SecAgg+ clips each
value to ±``secagg.clipping-range`` and the aggregate's step is still held to ``validation.max-update-norm``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Error, Message, MetricRecord, RecordDict
from flwr.common import FitIns, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.constant import ErrorCode
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp import Grid

from common.config import ConfigError, RunConfig
from common.exchange import float32
from common.stages import build_schedule
from privacy.secagg import ADAPTER_NAMES, DOWN_RECORDS, flatten, unflatten
from server.flower_strategies import FLOWER_STRATEGIES

# A reply the gate let in or not: (the hospital's reply in medfed's layout, without arrays; the weight it
# declared for the sum, None for an error reply) -> admitted?
Gate = Callable[[Message, "float | None"], bool]


def check_compatible(cfg: RunConfig) -> None:
    """Refuse combinations where SecAgg+ would hide what the aggregation needs to see."""
    if not cfg.secagg.enabled:
        return
    mean_based = [name for name, s in FLOWER_STRATEGIES.items() if s.mean_based]
    for stage in build_schedule(cfg).stages:
        if stage.strategy not in mean_based:
            raise ConfigError(f"secagg.enabled needs a mean-based strategy ({', '.join(mean_based)}); "
                              f"{stage.strategy} (stage {stage.name}) needs each update in the clear")
    if cfg.strategy.aggregation == "exact":
        raise ConfigError("strategy.aggregation=exact with secagg.enabled: the coordinator would see only the mean "
                          "of the factors, and the product of those means is not the mean of the products; use "
                          "strategy.aggregation=factors (or adapter.method=ffa-lora, exact by construction)")
    if cfg.strategy.weighting == "capped":
        raise ConfigError("strategy.weighting=capped needs each hospital's count in the clear; under secagg.enabled "
                          "use 'uniform' or 'examples'")
    if cfg.dp.client_level.startswith("server-"):
        raise ConfigError(f"dp.client-level={cfg.dp.client_level} clips each update on the server, which SecAgg+ "
                          f"hides; use client-fixed or client-adaptive")


class _OneRound(LegacyFedAvg):
    """The legacy strategy SecAggPlusWorkflow asks: hands out prepared fit instructions, keeps the result."""

    def __init__(self, instructions: list[tuple[GridClientProxy, FitIns]]) -> None:
        super().__init__()
        self.instructions = instructions
        self.mean: list | None = None

    def configure_fit(self, server_round, parameters, client_manager):
        return self.instructions

    def aggregate_fit(self, server_round, results, failures):
        # Every FitRes now carries the unmasked aggregate (the workflow put it there).
        if results:
            self.mean = parameters_to_ndarrays(results[0][1].parameters)
        return (results[0][1].parameters, {}) if results else (None, {})


class _GatedGrid:
    """The round's Grid as the workflow sees it: replies carrying masked vectors (and error replies of any stage)
    pass ``gate`` first; a refused one reaches the workflow as an error, which SecAgg+ treats as a dropout."""

    def __init__(self, grid: Grid, gate: Gate) -> None:
        self.grid = grid
        self.gate = gate

    def __getattr__(self, name: str):
        return getattr(self.grid, name)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        messages = list(messages)
        requests = {m.metadata.dst_node_id: m for m in messages}
        masked = any(m.content.config_records.get(RECORD_KEY_CONFIGS, {}).get(Key.STAGE)
                     == Stage.COLLECT_MASKED_VECTORS for m in messages)
        replies = []
        for reply in self.grid.send_and_receive(messages, timeout=timeout):
            if reply.has_error():
                self.gate(reply, None)
            elif masked and not self.gate(*_clear_reply(reply, requests[reply.metadata.src_node_id])):
                reply = Message(Error(code=ErrorCode.UNKNOWN, reason="refused by the coordinator's gate"),
                                reply_to=requests[reply.metadata.src_node_id])
            replies.append(reply)
        return replies


def _clear_reply(reply: Message, request: Message) -> tuple[Message, float | None]:
    """What a SecAgg+ reply says in the clear, in medfed's reply layout (no arrays), and its declared weight."""
    records = {}
    for name, values in unflatten(dict(reply.content.config_records.get("fitres.metrics", {}))).items():
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values())
        # As the plain path receives them; anything else reaches the gate as it is, for the gate to refuse.
        records[name] = MetricRecord(values) if name == "metrics" and numbers else ConfigRecord(values)
    weight = reply.content.metric_records.get("fitres.num_examples", {}).get("num_examples")
    return Message(RecordDict(records), reply_to=request), weight


class SecureRound:
    """Flower's SecAgg+ workflow for the train phase of medfed rounds."""

    def __init__(self, cfg: RunConfig) -> None:
        check_compatible(cfg)
        s = cfg.secagg
        # Under client-level DP every hospital's weight is 1: a larger bound would only cost precision.
        max_weight = s.max_weight if cfg.dp.client_level == "none" else 1.0
        self.workflow = SecAggPlusWorkflow(num_shares=s.num_shares, reconstruction_threshold=s.reconstruction_threshold,
                                           max_weight=max_weight, clipping_range=s.clipping_range,
                                           quantization_range=s.quantization_range, timeout=s.timeout)

    def train(self, grid: Grid, server_round: int, messages: Iterable[Message], shared: dict[str, torch.Tensor],
              gate: Gate) -> dict[str, torch.Tensor] | None:
        """One secure train phase over ``messages`` (which carry ``shared``, the adapter tensors that travel);
        returns the weighted mean of the admitted hospitals' adapters, or None when SecAgg+ halted."""
        names = list(shared)
        run_id = grid.run.run_id
        instructions = [(GridClientProxy(m.metadata.dst_node_id, grid, run_id), fit_ins(m, shared))
                        for m in messages]
        strategy = _OneRound(instructions)
        context = LegacyContext(Context(run_id=run_id, node_id=0, node_config={}, state=RecordDict(), run_config={}),
                                strategy=strategy)
        context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({WorkflowKey.CURRENT_ROUND: server_round})
        context.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord()
        self.workflow(_GatedGrid(grid, gate), context)
        if strategy.mean is None:
            return None
        return {k: float32(a) for k, a in zip(names, strategy.mean, strict=True)}


def fit_ins(message: Message, shared: dict[str, torch.Tensor]) -> FitIns:
    """A medfed train message in the legacy fit layout: fp32 arrays in the exchange's order, their names, flat
    config."""
    config = flatten({record: message.content[record] for record in DOWN_RECORDS})
    config[ADAPTER_NAMES] = "\n".join(shared)
    return FitIns(ndarrays_to_parameters([v.float().numpy() for v in shared.values()]), config)
