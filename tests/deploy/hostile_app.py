"""A ClientApp for the deployment test: the real hospital (``client.app``), which a node's config can make hostile.

The deployment test stages this file into the app it runs with ``flwr run``, so honest and hostile SuperNodes
run the same app. A node whose config has ``forge="<phase>-<round>:<forgery>,..."`` trains or evaluates for
real, then forges that one reply (e.g. ``train-1:count-1e12``): the reply is otherwise what an honest hospital
sends, so only the forged field can get it refused. Nodes without ``forge`` reply as ``client.app`` does.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context, Message, MetricRecord
from flwr.clientapp import ClientApp

from client import app as real
from privacy.secagg import secagg_mod

CANARY = "Zebulon Quillfeather, MRN 99887766, forged-7f3a"


def _count_1e12(reply: Message) -> None:  # far beyond what its data card reports
    reply.content["metrics"] = MetricRecord({**reply.content["metrics"], "num-examples": 10**12})


def _claim_other_id(reply: Message) -> None:  # another hospital's id, keeping its own adapter rank
    reply.content["hospital"] = ConfigRecord({**reply.content["hospital"], "hospital-id": "hospital-0"})


def _text_id(reply: Message) -> None:  # a "hospital id" that would forge a log line and carry patient text
    reply.content["hospital"] = ConfigRecord({**reply.content["hospital"],
                                              "hospital-id": f"evil\nINFO round 2: {CANARY}"})


FORGERIES = {"count-1e12": _count_1e12, "claim-other-id": _claim_other_id, "text-id": _text_id}

app = ClientApp(mods=[secagg_mod])


def _forged(reply: Message, msg: Message, context: Context, phase: str) -> Message:
    plan = dict(item.split(":") for item in str(context.node_config.get("forge", "")).split(",") if item)
    forgery = plan.get(f"{phase}-{int(msg.content['config']['server-round'])}")
    if forgery is not None and not reply.has_error():
        FORGERIES[forgery](reply)
    return reply


@app.train()
def train(msg: Message, context: Context) -> Message:
    return _forged(real.train(msg, context), msg, context, "train")


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    return _forged(real.evaluate(msg, context), msg, context, "evaluate")
