"""One module per stage kind: how its records become token batches, and its loss.

Every objective offers the same calls, so the local training loop in ``client.train`` reads the
same for every stage:

- ``examples(data)``: tokenise the stage's records from a ``StageData`` into model-ready examples;
- ``collate(examples)``: pad a list of examples into a batch of tensors;
- ``loss(model, batch)``: the scalar loss to minimise, and the count (tokens or pairs) it covered;
- ``eval_metrics(model, examples, loss, batch_size, max_batches)``: held-out metrics beside the loss.
"""

from __future__ import annotations

from client.stages.base import Objective
from client.stages.cp import ContinuedPretraining
from client.stages.ha import PreferenceAlignment
from client.stages.ift import InstructionTuning
from common.config import RunConfig
from common.stages import Stage

OBJECTIVES = {"cp": ContinuedPretraining, "ift": InstructionTuning, "ha": PreferenceAlignment}


def objective_for(kind: str, tokenizer, max_seq_len: int, **options) -> Objective:
    """The objective of a stage kind; ``options`` are its own keyword arguments (see each class)."""
    if kind not in OBJECTIVES:
        raise ValueError(f"stage kind {kind!r} is not supported; supported: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[kind](tokenizer, max_seq_len, **options)


def stage_objective(stage: Stage, tokenizer, cfg: RunConfig) -> Objective:
    """The objective of ``stage`` with the settings the stage and the run give it."""
    options = {
        # PEFT prompt tuning drops position ids, which packing needs to keep documents apart. Under DP-SGD a
        # row must belong to one privacy unit: no packing; with the record as unit, one note per row (its
        # first window only); with the patient as unit, every window of the patient's notes.
        "cp": {"packing": cfg.adapter.method != "prompt-tuning" and not cfg.dp.enabled,
               "one_window_per_note": cfg.dp.enabled and cfg.dp.unit == "record"},
        "ift": {"sources": stage.data},
        "ha": {"loss": stage.loss, "beta": stage.beta, "simpo_gamma": cfg.align.simpo_gamma},
    }[stage.kind]
    return objective_for(stage.kind, tokenizer, stage.max_seq_len, **options)
