"""One module per stage kind: how its records become token batches, and its loss.

Every objective offers the same calls, so the local training loop in ``client.train`` reads the
same for every stage:

- ``examples(data)``: tokenise the stage's records from a ``StageData`` into model-ready examples;
- ``collate(examples)``: pad a list of examples into a batch of tensors;
- ``loss(model, batch)``: the scalar loss to minimise, and the count (tokens or pairs) it covered;
- ``eval_metrics(model, examples, loss, batch_size, max_batches)``: held-out metrics beside the loss.
"""

from __future__ import annotations

import functools

from client.stages.base import Objective
from client.stages.cp import ContinuedPretraining
from client.stages.ha import PreferenceAlignment
from client.stages.ift import InstructionTuning
from common.config import RunConfig
from common.logs import get_logger
from common.stages import Stage

log = get_logger("stages")

OBJECTIVES = {"cp": ContinuedPretraining, "ift": InstructionTuning, "ha": PreferenceAlignment}


def objective_for(kind: str, tokenizer, max_seq_len: int, **options) -> Objective:
    """The objective of a stage kind; ``options`` are its own keyword arguments (see each class)."""
    if kind not in OBJECTIVES:
        raise ValueError(f"stage kind {kind!r} is not supported; supported: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[kind](tokenizer, max_seq_len, **options)


def stage_objective(stage: Stage, tokenizer, cfg: RunConfig) -> Objective:
    """The objective of ``stage`` with the settings the stage and the run give it."""
    packed = stage.kind != "ha" and packing(stage, cfg)  # HA pairs are never packed
    options = {
        "cp": {"packing": packed, "one_window_per_note": cfg.dp.enabled and cfg.dp.unit == "record"},
        "ift": {"sources": stage.data, "packing": packed},
        "ha": {"loss": stage.loss, "beta": stage.beta, "simpo_gamma": cfg.align.simpo_gamma},
    }[stage.kind]
    return objective_for(stage.kind, tokenizer, stage.max_seq_len, **options)


def packing(stage: Stage, cfg: RunConfig) -> bool:
    """Whether ``stage`` packs several records per row: as ``stage.pack`` asks, unless the run rules it out.

    Under sample-level DP-SGD a row must be one privacy unit (Opacus clips per row), so no packing: with the
    record as unit CP keeps one note per row (its first window only), with the patient as unit every window
    of the patient's notes. PEFT prompt tuning drops the position ids that keep packed records apart.
    """
    if not stage.pack:
        return False
    reason = ("sample-level DP (dp.enabled): a row must be one privacy unit" if cfg.dp.enabled else
              "prompt tuning: PEFT drops the position ids that keep packed records apart"
              if cfg.adapter.method == "prompt-tuning" else "")
    if reason:
        _packing_off(stage.name, reason)
    return not reason


@functools.cache
def _packing_off(stage_name: str, reason: str) -> None:
    log.info("stage %s: packing off under %s", stage_name, reason)  # once per process, not every round
