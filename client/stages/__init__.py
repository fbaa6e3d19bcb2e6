"""One module per stage kind: how its records become token batches, and its loss.

Every objective offers the same calls, so the local training loop in ``client.train`` reads the
same for every stage (``client.stages.base``):

- ``examples(data)``: tokenise the stage's records from a ``StageData`` into model-ready examples;
- ``collate(examples)``: pad a list of examples into a batch of tensors;
- ``loss(model, batch)``: the scalar loss to minimise, and the count (tokens or pairs) it covered;
- ``per_sample_loss(model, batch)``: one loss per example, for DP-SGD;
- ``eval_metrics(model, examples, loss, batch_size, max_batches)``: held-out metrics beside the loss.

A module registers its objective class for its kind (declared in ``common.stage_kinds``) with
``@objective("<kind>")``; every module of this package is imported here, so a new kind's module is
found without being listed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil

from client.stages.base import OBJECTIVES, StageObjective, objective
from common.config import RunConfig
from common.stages import Stage

__all__ = ["OBJECTIVES", "StageObjective", "objective", "objective_for", "stage_objective"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def objective_for(kind: str, tokenizer, max_seq_len: int, **options) -> StageObjective:
    """The objective of a stage kind; ``options`` are its own keyword arguments (see each class)."""
    if kind not in OBJECTIVES:
        raise ValueError(f"stage kind {kind!r} is not supported; supported: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[kind](tokenizer, max_seq_len, **options)


def stage_objective(stage: Stage, tokenizer, cfg: RunConfig) -> StageObjective:
    """The objective of ``stage`` with the settings the stage (its kind's options) and the run give it."""
    if stage.kind not in OBJECTIVES:
        raise ValueError(f"stage kind {stage.kind!r} has no objective at this hospital; known: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[stage.kind].for_stage(stage, tokenizer, cfg)
