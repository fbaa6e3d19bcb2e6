"""Secure aggregation with Flower's SecAgg+: the coordinator learns only the weighted sum of the adapters.

How it fits Flower 1.41: SecAgg+ exists only in the legacy API: ``SecAggPlusWorkflow`` (server) needs a
``LegacyContext`` holding a legacy strategy and client manager, and talks to clients in the legacy
fit layout (``fitins.*`` / ``fitres.*`` records); ``secaggplus_mod`` (client) wraps the train handler.
medfed drives Message-API strategies directly, so this module bridges the two without a protocol of
its own:

- server: ``SecureRound.train`` takes the train messages the round's Message-API strategy configured
  (so node sampling and wrappers such as client-side DP clipping stay Flower's), runs Flower's
  ``SecAggPlusWorkflow`` on them with a one-round legacy strategy that only hands out those
  instructions and collects the result, and returns the unmasked weighted mean plus each hospital's
  metrics (metrics travel in the clear; arrays only masked).
- client: ``secagg_mod`` applies Flower's ``secaggplus_mod`` to SecAgg+ messages only and translates
  the legacy fit layout to medfed's train message and back, so the same train handler runs.

What combines (tested in tests/test_secagg.py): SecAgg+ with FedAvg/FedProx/FedAdam/FedYogi/FedAvgM
(they need only the mean); with sample-level DP (each hospital's noised update is masked); with
client-side client-level DP (``dp.client-level=client-*``: the hospital clips before masking, the
wrapper adds noise to the mean). What cannot: FedMedian/FedTrimmedAvg and server-side clipping, which
need each update in the clear. Precision: values are clipped to ±``secagg.clipping-range`` and
quantised to ``secagg.quantization-range`` levels after scaling by examples / ``secagg.max-weight``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import Code, FitIns, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
from flwr.compat.common import recorddict_compat as compat
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp import Grid

from common import wire
from common.config import ConfigError, RunConfig
from common.model import shared_adapter_model
from privacy.dp.client_level import UNIFORM_WEIGHT

# Strategies that aggregate only through the (weighted) mean: what a secure sum can feed.
MEAN_STRATEGIES = ("fedavg", "fedprox", "fedadam", "fedyogi", "fedavgm")
_RECORDS = ("config", "run-config")  # medfed's config records, flattened into the legacy fit config as "<record>/<key>"


def check_compatible(cfg: RunConfig) -> None:
    """Refuse combinations where SecAgg+ would hide what the aggregation needs to see."""
    if not cfg.secagg.enabled:
        return
    if cfg.strategy.name not in MEAN_STRATEGIES:
        raise ConfigError(f"secagg.enabled needs a mean-based strategy ({', '.join(MEAN_STRATEGIES)}); "
                          f"{cfg.strategy.name} needs each update in the clear")
    if cfg.strategy.weighting == "capped":
        raise ConfigError("strategy.weighting=capped needs each hospital's count in the clear; under secagg.enabled "
                          "use 'uniform' or 'examples'")
    if cfg.dp.client_level.startswith("server-"):
        raise ConfigError(f"dp.client-level={cfg.dp.client_level} clips each update on the server, which SecAgg+ "
                          f"hides; use client-fixed or client-adaptive")


# -- server ----------------------------------------------------------------------------------------


class _OneRound(LegacyFedAvg):
    """The legacy strategy SecAggPlusWorkflow asks: hands out prepared fit instructions, keeps the result."""

    def __init__(self, instructions: list[tuple[GridClientProxy, FitIns]]) -> None:
        super().__init__()
        self.instructions = instructions
        self.results: list[tuple[GridClientProxy, FitRes]] = []

    def configure_fit(self, server_round, parameters, client_manager):
        return self.instructions

    def aggregate_fit(self, server_round, results, failures):
        # Every FitRes now carries the unmasked aggregate (the workflow put it there); keep them for metrics.
        self.results = list(results)
        return (results[0][1].parameters, {}) if results else (None, {})


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

    def train(self, grid: Grid, server_round: int, messages: Iterable[Message], global_state: dict[str, torch.Tensor],
              ) -> tuple[dict[str, torch.Tensor] | None, list[tuple[int, dict]]]:
        """Run one secure round; returns (weighted mean adapter or None, [(node id, its clear metrics)])."""
        names = list(global_state)
        run_id = grid.run.run_id
        instructions = [(GridClientProxy(m.metadata.dst_node_id, grid, run_id), _fit_ins(m, global_state))
                        for m in messages]
        strategy = _OneRound(instructions)
        context = LegacyContext(Context(run_id=run_id, node_id=0, node_config={}, state=RecordDict(), run_config={}),
                                strategy=strategy)
        context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({WorkflowKey.CURRENT_ROUND: server_round})
        context.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord()
        self.workflow(grid, context)
        if not strategy.results:
            return None, []
        mean = parameters_to_ndarrays(strategy.results[0][1].parameters)
        state = {k: torch.from_numpy(np.asarray(a, dtype=np.float32)) for k, a in zip(names, mean, strict=True)}
        return state, [(proxy.node_id, dict(res.metrics)) for proxy, res in strategy.results]


def _fit_ins(message: Message, global_state: dict[str, torch.Tensor]) -> FitIns:
    """A medfed train message in the legacy fit layout: fp32 arrays in adapter order, flat config."""
    config = {f"{record}/{k}": v for record in _RECORDS for k, v in message.content[record].items()}
    return FitIns(ndarrays_to_parameters([v.float().numpy() for v in global_state.values()]), config)


# -- client ----------------------------------------------------------------------------------------


def secagg_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """ClientApp mod: Flower's ``secaggplus_mod`` for SecAgg+ rounds; other messages pass untouched."""
    if RECORD_KEY_CONFIGS not in msg.content.config_records:
        return call_next(msg, context)
    return secaggplus_mod(msg, context, lambda m, c: _legacy_reply(call_next(_medfed_message(m), c), m))


def _medfed_message(msg: Message) -> Message:
    """The SecAgg+ message turned into the medfed train message the handler expects (same metadata)."""
    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    records = {r: ConfigRecord({k.split("/", 1)[1]: v for k, v in fitins.config.items() if k.startswith(f"{r}/")})
               for r in _RECORDS}
    cfg = RunConfig.from_flat(dict(records["run-config"]))
    # Adapter names in the order the coordinator flattened them: both sides hold the same PEFT model.
    names = list(shared_adapter_model(cfg.model, cfg.adapter, cfg.run.seed).adapter_state())
    arrays = parameters_to_ndarrays(fitins.parameters)
    state = {k: torch.from_numpy(np.asarray(a, dtype=np.float32)) for k, a in zip(names, arrays, strict=True)}
    msg.content = RecordDict({"arrays": wire.encode(state, cfg.wire.dtype), **records})
    return msg


def _legacy_reply(reply: Message, request: Message) -> Message:
    if reply.has_error():
        raise RuntimeError(f"local training failed: {reply.error.reason}")
    state = wire.decode(reply.content["arrays"])
    metrics = {k: v for k, v in reply.content["metrics"].items()}
    metrics["hospital-id"] = str(reply.content["hospital"]["hospital-id"])
    # SecAgg+ weighs each update by FitRes.num_examples: the hospital's weight in the mean (1 under client-level DP).
    weight = metrics.get(UNIFORM_WEIGHT, metrics["num-examples"])
    fitres = FitRes(Status(Code.OK, "ok"), ndarrays_to_parameters([v.numpy() for v in state.values()]),
                    int(weight), metrics)
    return Message(content=compat.fitres_to_recorddict(fitres, keep_input=True), reply_to=request)
