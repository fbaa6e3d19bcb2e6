"""Secure aggregation with Flower's SecAgg+: the hospital's side, and the layout both sides share.

How it fits Flower 1.41: SecAgg+ exists only in the legacy API: ``SecAggPlusWorkflow`` (server) needs a
``LegacyContext`` holding a legacy strategy and client manager, and talks to clients in the legacy
fit layout (``fitins.*`` / ``fitres.*`` records); ``secaggplus_mod`` (client) wraps the train handler.
medfed drives Message-API strategies directly, so it bridges the two without a protocol of its own:

- server (``server/secure.py``): SecAgg+ is the train phase's transport under the same round loop; the
  round's strategy stack configures the messages and aggregates, and every reply passes the same gate.
- client: ``secagg_mod`` applies Flower's ``secaggplus_mod`` to SecAgg+ messages only and translates
  the legacy fit layout to medfed's train message and back, so the same train handler (and its outbox)
  runs. Down, the tensors the exchange names (``common.exchange``) travel in fp32 in that order, their
  names beside them (``ADAPTER_NAMES``); up, the adapter in the same order is masked, and the reply's
  other records (metrics, hospital, data card) travel in the clear as ``<record>/<key>`` fit metrics.

What combines (tested in tests/test_secagg.py): SecAgg+ with FedAvg/FedProx/FedAdam/FedYogi/FedAvgM
(they need only the mean); with sample-level DP (each hospital's noised update is masked); with
client-side client-level DP (``dp.client-level=client-*``: the hospital clips before masking, the
wrapper adds noise to the mean). What cannot (``server.secure.check_compatible``): FedMedian/FedTrimmedAvg,
server-side clipping and 'capped' weights, which need each update or count in the clear, and
``strategy.aggregation=exact``, whose mean of products the mean of factors cannot give. Precision: values
are clipped to ±``secagg.clipping-range`` and quantised to ``secagg.quantization-range`` levels after
scaling by the weight / ``secagg.max-weight``.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
from flwr.compat.common import recorddict_compat as compat

from common import wire
from common.config import RunConfig
from common.exchange import AdapterExchange, float32
from privacy.dp.client_level import UNIFORM_WEIGHT

DOWN_RECORDS = ("config", "run-config")  # medfed's train message records, flattened into the fit config
ADAPTER_NAMES = "adapter-names"  # fit config key: the names of the fit arrays, in order, one a line


def flatten(records: dict) -> dict:
    """Records by name -> one flat mapping ``"<record>/<key>"``: the legacy layout's config and metrics."""
    return {f"{name}/{k}": v for name, record in records.items() for k, v in record.items()}


def unflatten(flat: dict) -> dict[str, dict]:
    """The inverse of ``flatten`` (keys without a '/' are not records and are left out)."""
    records: dict[str, dict] = {}
    for key, value in flat.items():
        if "/" in key:
            name, inner = key.split("/", 1)
            records.setdefault(name, {})[inner] = value
    return records


# -- client ----------------------------------------------------------------------------------------


def secagg_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """ClientApp mod: Flower's ``secaggplus_mod`` for SecAgg+ rounds; other messages pass untouched."""
    if RECORD_KEY_CONFIGS not in msg.content.config_records:
        return call_next(msg, context)

    def train(request: Message, ctx: Context) -> Message:
        reply = call_next(medfed_message(request), ctx)
        if reply.has_error():
            raise RuntimeError(f"local training failed: {reply.error.reason}")
        # SecAgg+ weighs each update by FitRes.num_examples: the hospital's weight in the mean (1 under
        # client-level DP and strategy.weighting=uniform).
        metrics = reply.content["metrics"]
        return legacy_reply(reply, request, int(metrics.get(UNIFORM_WEIGHT, metrics["num-examples"])))

    return secaggplus_mod(msg, context, train)


def medfed_message(msg: Message) -> Message:
    """The SecAgg+ message turned into the medfed train message the handler expects (same metadata)."""
    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    names = str(fitins.config[ADAPTER_NAMES]).split("\n")
    records = {r: ConfigRecord(v) for r, v in unflatten(fitins.config).items() if r in DOWN_RECORDS}
    cfg = RunConfig.from_flat(dict(records["run-config"]))
    arrays = parameters_to_ndarrays(fitins.parameters)
    state = {k: float32(a) for k, a in zip(names, arrays, strict=True)}
    msg.content = RecordDict({"arrays": AdapterExchange.from_config(cfg).encode(state), **records})
    return msg


def legacy_reply(reply: Message, request: Message, weight: int) -> Message:
    """A medfed train reply in the legacy fit layout: the adapter in the order it came (masked by the mod), the
    other records in the clear, ``weight`` its weight in the sum."""
    names = list(request.content["arrays"].keys())
    state = wire.decode(reply.content["arrays"])
    if set(state) != set(names):
        raise wire.WireError("the reply's adapter tensors differ from the ones received")
    clear = flatten({name: record for name, record in reply.content.items() if name != "arrays"})
    fitres = FitRes(Status(Code.OK, "ok"), ndarrays_to_parameters([state[k].numpy() for k in names]), weight, clear)
    return Message(content=compat.fitres_to_recorddict(fitres, keep_input=True), reply_to=request)
