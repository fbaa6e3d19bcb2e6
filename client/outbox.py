"""The last gate before a reply leaves the hospital: adapter tensors and scalar numbers, nothing else.

Every reply the ClientApp builds passes through ``check_reply``. It refuses any record the protocol does
not define, any tensor that is not one of the run's adapter tensors (so base-model weights or embeddings
can never leak by mistake), and any non-numeric value except the hospital's own id. Text, even a single
string field in a metric, is refused: patient text cannot hide in it.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict

# record name -> (record type, keys allowed (None: any), keys that may hold a string rather than a number)
REPLY_RECORDS: dict[str, tuple[type, frozenset[str] | None, frozenset[str]]] = {
    "arrays": (ArrayRecord, None, frozenset()),
    "metrics": (MetricRecord, None, frozenset()),
    "hospital": (ConfigRecord, frozenset({"hospital-id", "adapter-rank"}), frozenset({"hospital-id"})),
    "data-card": (ConfigRecord, None, frozenset()),
}


class OutboxError(RuntimeError):
    """A reply holds something that must not leave the hospital."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_reply(content: RecordDict, adapter_names: set[str]) -> RecordDict:
    """Return ``content`` unchanged if it holds only what may leave the hospital; raise OutboxError otherwise."""
    for name, record in content.items():
        if name not in REPLY_RECORDS:
            raise OutboxError(f"reply record {name!r} is not part of the protocol")
        expected, allowed_keys, string_keys = REPLY_RECORDS[name]
        if not isinstance(record, expected):
            raise OutboxError(f"reply record {name!r} is a {type(record).__name__}, expected {expected.__name__}")
        if isinstance(record, ArrayRecord):
            if set(record.keys()) != adapter_names:
                extra = sorted(set(record.keys()) - adapter_names)
                raise OutboxError(f"reply tensors differ from the adapter's: {len(extra)} non-adapter tensor(s) "
                                  f"{extra[:3]}")
            continue
        if allowed_keys is not None and set(record.keys()) - allowed_keys:
            raise OutboxError(f"reply record {name!r} has fields beyond {sorted(allowed_keys)}")
        for key, value in record.items():
            if not (_is_number(value) or (key in string_keys and isinstance(value, str))):
                raise OutboxError(f"reply field {name}.{key} is a {type(value).__name__}; only numbers may leave")
    return content
