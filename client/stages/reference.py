"""DPO reference log-probabilities, computed once per hospital and stage and kept in the node's state.

The reference policy is the model as it entered the HA stage. A hospital scores its pairs (train and
held-out) with the adapter that arrives in its first HA message and keeps the numbers in Flower's
per-node ``context.state``, which persists across rounds wherever the node's messages are run. Only the
numbers are kept: no second model is held. A hospital whose first HA message comes after round 1 of the
stage (it was not sampled earlier, or lost its state) scores with the adapter it receives then, and says so.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from common.logs import get_logger

if TYPE_CHECKING:  # the HA objective calls this module
    from client.stages.ha import PreferenceAlignment, PreferenceExample

log = get_logger("reference")


def with_references(objective: PreferenceAlignment, model, examples: dict[str, list[PreferenceExample]],
                    state: RecordDict, *, stage_name: str, round_in_stage: int, batch_size: int,
                    hospital_id: str) -> dict[str, list[PreferenceExample]]:
    """``examples`` per split with reference log-probs attached, scoring and storing them on first use."""
    if not objective.needs_reference:
        return examples
    key = f"medfed.ha-reference.{stage_name}"
    stored = state[key] if key in state else None
    fresh = stored is None or any(split not in stored or stored[split].shape[0] != len(pairs)
                                  for split, pairs in examples.items())
    if fresh:
        if round_in_stage > 1:
            log.warning("%s: no reference log-probs for stage %s before round %d of it; scoring with the adapter "
                        "received now", hospital_id, stage_name, round_in_stage)
        scored = {split: objective.with_reference(model, pairs, batch_size) for split, pairs in examples.items()}
        state[key] = ArrayRecord({split: Array(np.array([p.reference for p in pairs], dtype=np.float64).reshape(-1, 2))
                                  for split, pairs in scored.items()})
        state[f"{key}.meta"] = ConfigRecord({"round-in-stage": round_in_stage})
        return scored
    return {split: [dataclasses.replace(p, reference=(float(r[0]), float(r[1])))
                    for p, r in zip(pairs, stored[split].numpy())] for split, pairs in examples.items()}


def reference_round(state: RecordDict, stage_name: str) -> int:
    """The round of the stage whose incoming adapter the stored references came from (0: none stored)."""
    meta = f"medfed.ha-reference.{stage_name}.meta"
    return int(state[meta]["round-in-stage"]) if meta in state else 0
