"""The coordinator's gate for every hospital reply, train and evaluate alike: the mirror of ``client/outbox.py``.

A hospital may be broken or hostile, so nothing in its reply is used before ``Inbox.admit`` has checked it:

- records and keys: only those the protocol defines (train: arrays, metrics, hospital, data-card; evaluate:
  metrics, hospital); ``hospital`` holds only hospital-id and adapter-rank; metric and data-card keys are
  identifiers (``KEY``), at most ``MAX_KEYS`` of them;
- values: numbers only, finite and within ±``MAX_VALUE``; the one string, the hospital id, must be a plain
  name (``common.config.PATH_NAME``);
- arrays: every payload's size and layout checked against its header before anything decodes it
  (``common.wire.check_payload``), then names, shapes, wire dtype and finiteness against the adapter at the
  rank the hospital declared (``common.wire.validate``, the one checked decode). Under SecAgg+ a train reply
  has no arrays (its adapter is inside the masked sum) and the weight it declared for the sum must be the
  coordinator's; every other check here applies to it alike;
- example counts: an integer, positive for training, no larger than what the data card the hospital sent
  when it joined reports for this stage and split (its kind's ``card_count``), than ``strategy.max-examples`` when set
  (except under weighting 'capped', which caps the weight instead), and for evaluation than the batches it
  was asked to score (``train.eval-batches`` x the stage's batch size);
- identity: the hospital id is bound to the Flower node id that first sends it; another node claiming a
  bound id, or a bound node claiming another id, is refused. On Flower's deployment engine the SuperLink
  gives each authenticated SuperNode key its own node id and the ServerApp sees only that id (Flower 1.41
  does not expose the key to it), so the binding is to the key through the node id.

A refusal (``ReplyRefused``) says why without quoting the reply: the coordinator stores no string a hospital
sent except a validated hospital id. What the gate cannot see: a hospital that lies consistently from its
first reply (a data card inflated from the start) keeps the weight it claimed under weighting 'examples';
'uniform' or 'capped' weighting, or ``strategy.max-examples``, removes that lever.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from flwr.app import ArrayRecord, ConfigRecord, Error, Message, MetricRecord

from common import wire
from common.config import PATH_NAME, RunConfig
from common.stage_kinds import kind_of
from common.stages import Stage

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")  # a metric or data-card key: an identifier, not text
MAX_KEYS = 512
MAX_VALUE = 1e15  # larger than any honest count (bytes, tokens) and small enough that sums stay finite
MAX_RANK = 1024  # adapter.rank's own bound
# record name -> (record type, keys allowed (None: any identifier)), per phase
RECORDS: dict[str, dict[str, tuple[type, frozenset[str] | None]]] = {
    "train": {"arrays": (ArrayRecord, None), "metrics": (MetricRecord, None),
              "hospital": (ConfigRecord, frozenset({"hospital-id", "adapter-rank"})),
              "data-card": (ConfigRecord, None)},
    "evaluate": {"metrics": (MetricRecord, None), "hospital": (ConfigRecord, frozenset({"hospital-id"}))},
}
REQUIRED = {"train": ("arrays", "metrics", "hospital", "data-card"), "evaluate": ("metrics", "hospital")}
# The data-card count that bounds a stage's examples in a split (client/data/card.py writes these keys).
# A CP example is a packed window of at least one token, so the split's tokens bound the windows.
# An error reply's exception class, in Flower's deployment form "<class 'pkg.Name'>:<'text'>" or a traceback's
# "pkg.Name: text" line; and the refusals a hospital states on purpose, kept in the coordinator's own words.
_EXCEPTION = re.compile(r"<class '(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)'>|^(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*): ", re.M)
KNOWN_REFUSALS = ("privacy budget spent",)


class ReplyRefused(ValueError):
    """A hospital's reply is unusable; the message says why without quoting its content."""


@dataclass(frozen=True)
class Update:
    """One hospital's reply as the gate let it in: the typed form every reply takes inside the coordinator."""

    node: int
    hospital: str
    examples: int
    metrics: dict[str, int | float]
    rank: int | None = None  # train: the LoRA rank the hospital declared
    # train: the adapter, decoded to float32; None in evaluation and under SecAgg+ (it is inside the masked sum)
    tensors: dict[str, torch.Tensor] | None = None
    data_card: dict[str, int | float] | None = None
    bytes_up: int = 0
    weight: float = 1.0  # the coordinator's weight for it in the mean (``Inbox.weights``, set once the round is in)
    reply: Message | None = field(default=None, repr=False, compare=False)  # the Flower message it came in


def error_summary(error: Error) -> str:
    """An error reply's code and exception class, without its free text (which a hospital wrote)."""
    reason = error.reason or ""
    found = _EXCEPTION.search(reason)
    name = next((g for g in found.groups() if g), None) if found else None
    known = [phrase for phrase in KNOWN_REFUSALS if phrase in reason]
    return f"error code {int(error.code)}" + (f" ({name})" if name else "") + "".join(f": {k}" for k in known)


def _number(where: str, key: str, value) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReplyRefused(f"{where} {key!r} is not a number")
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise ReplyRefused(f"{where} {key!r} is not finite or beyond ±{MAX_VALUE:g}")
    return value


def check_numbers(where: str, record) -> dict[str, int | float]:
    """``record`` as a plain dict if it holds only identifier keys and finite scalar numbers; else ReplyRefused."""
    if len(record) > MAX_KEYS:
        raise ReplyRefused(f"{where}: {len(record)} fields, at most {MAX_KEYS}")
    out = {}
    for key, value in record.items():
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise ReplyRefused(f"{where}: a field name that is not an identifier")
        out[key] = _number(where, key, value)
    return out


def _count(metrics: dict, *, positive: bool) -> int:
    if "num-examples" not in metrics:
        raise ReplyRefused("metrics lack 'num-examples'")
    value = metrics["num-examples"]
    if value != int(value) or value < (1 if positive else 0):
        raise ReplyRefused(f"'num-examples' must be a {'positive' if positive else 'non-negative'} integer")
    return int(value)


class Inbox:
    """The gate, with what it remembers across rounds: which node holds which hospital id, and each
    hospital's data card as it joined."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.identities: dict[str, int] = {}  # hospital id -> the node id bound to it
        self.cards: dict[str, dict[str, int | float]] = {}  # hospital id -> data card of its first train reply

    def admit(self, reply: Message, phase: str, stage: Stage, spec_at: Callable[[int], wire.AdapterSpec] | None = None,
              masked_weight: float | None = None) -> Update:
        """The checked content of ``reply``; raises ReplyRefused. Binds the hospital id to the node only once the
        whole reply passed.

        A train reply needs ``spec_at`` (the adapter spec at a rank), except under SecAgg+, where its adapter
        travels only inside the masked sum: then ``masked_weight`` is the weight it declared for that sum,
        which must be what the coordinator would weigh its examples by (a hospital can still lie inside
        the mask, where only ``secagg.max-weight`` bounds it).
        """
        node = reply.metadata.src_node_id
        content = reply.content
        records = {k: v for k, v in RECORDS[phase].items() if not (masked_weight is not None and k == "arrays")}
        names = set(content.keys())
        if names - set(records):
            raise ReplyRefused(f"{len(names - set(records))} record(s) the protocol does not define")
        missing = [n for n in REQUIRED[phase] if n not in names and n in records]
        if missing:
            raise ReplyRefused(f"records missing: {missing}")
        for name, (kind, allowed) in records.items():
            record = content[name]
            if not isinstance(record, kind):
                raise ReplyRefused(f"record {name!r} is not a {kind.__name__}")
            if allowed is not None and set(record.keys()) - allowed:
                raise ReplyRefused(f"record {name!r} has fields beyond {sorted(allowed)}")

        hospital = self._identity(node, content["hospital"].get("hospital-id"))
        metrics = check_numbers("metric", content["metrics"])
        examples = _count(metrics, positive=phase == "train")
        card = check_numbers("data-card field", content["data-card"]) if phase == "train" else None
        self._check_examples(examples, phase, stage, self.cards.get(hospital, card))

        rank = tensors = None
        up = 0
        if phase == "train":
            declared = content["hospital"].get("adapter-rank", self.cfg.adapter.rank)
            if isinstance(declared, bool) or not isinstance(declared, int) or not 1 <= declared <= MAX_RANK:
                raise ReplyRefused(f"'adapter-rank' is not an integer in 1..{MAX_RANK}")
            rank = declared
            if masked_weight is None:
                try:  # the one checked decode: every payload against its header before any byte is decoded
                    tensors = wire.validate(content["arrays"], spec_at(rank))
                except wire.WireError as exc:
                    raise ReplyRefused(str(exc)) from None
                up = wire.record_bytes(content["arrays"])
            elif masked_weight != self.weights([examples])[0]:
                raise ReplyRefused(f"its weight in the secure sum is not the {self.weights([examples])[0]:g} its "
                                   f"examples give")

        self.identities.setdefault(hospital, node)
        if card is not None:
            self.cards.setdefault(hospital, card)
        return Update(node, hospital, examples, metrics, rank, tensors, card, up, reply=reply)

    def hospital_of(self, node: int) -> str | None:
        """The validated hospital id bound to ``node``, if it has one."""
        return next((h for h, n in self.identities.items() if n == node), None)

    def _identity(self, node: int, hospital) -> str:
        if not isinstance(hospital, str) or not PATH_NAME.fullmatch(hospital):
            raise ReplyRefused("'hospital-id' is not a plain name (letters, digits, '.', '_', '-')")
        owner = self.identities.get(hospital)
        if owner is not None and owner != node:
            raise ReplyRefused(f"claims hospital id {hospital!r}, which node {owner} holds")
        held = self.hospital_of(node)
        if owner is None and held is not None:
            raise ReplyRefused(f"claims another hospital id than the {held!r} it holds")
        return hospital

    def _check_examples(self, examples: int, phase: str, stage: Stage, card: dict | None) -> None:
        split = "train" if phase == "train" else "heldout"
        if card is not None:
            bound = card.get(kind_of(stage.kind).card_count.format(split=split), 0)
            if examples > bound:
                raise ReplyRefused(f"claims {examples} examples; its data card reports {bound:g} for {stage.kind} "
                                   f"{split}")
        cap = self.cfg.strategy.max_examples
        if cap and examples > cap and self.cfg.strategy.weighting != "capped":
            raise ReplyRefused(f"claims {examples} examples, over strategy.max-examples={cap}")
        if phase == "evaluate" and examples > stage.batch_size * self.cfg.train.eval_batches:
            raise ReplyRefused(f"claims {examples} examples scored, over the {self.cfg.train.eval_batches} batches "
                               f"of {stage.batch_size} it was asked for")

    def weights(self, examples: list[int]) -> list[float]:
        """Each admitted reply's aggregation weight, by ``strategy.weighting`` (all 1 under client-level DP)."""
        mode = self.cfg.strategy.weighting
        if self.cfg.dp.client_level != "none" or mode == "uniform":
            return [1.0] * len(examples)
        if mode == "capped":
            cap = self.cfg.strategy.max_examples or (statistics.median(examples) if examples else 0)
            return [float(min(n, cap)) for n in examples]
        return [float(n) for n in examples]

    def released(self, connected: set[int]) -> list[str]:
        """Free the ids whose node is no longer connected (after a coordinator restart: a simulation gives its
        nodes new ids, a re-registered SuperNode gets a new one); returns the ids released."""
        gone = [h for h, n in self.identities.items() if n not in connected]
        for hospital in gone:
            del self.identities[hospital]
        return gone

    def state_dict(self) -> dict:
        return {"identities": dict(self.identities), "cards": dict(self.cards)}

    def load_state_dict(self, state: dict) -> None:
        self.identities = {str(h): int(n) for h, n in state.get("identities", {}).items()}
        self.cards = {str(h): dict(c) for h, c in state.get("cards", {}).items()}
