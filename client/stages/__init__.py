"""One module per stage kind: how its records become token batches, and its loss.

Every objective offers the same three calls, so the local training loop in ``client.train`` reads the
same for every stage:

- ``examples(data)``: tokenise the stage's records from a ``StageData`` into model-ready examples;
- ``collate(examples)``: pad a list of examples into a batch of tensors;
- ``loss(model, batch)``: the scalar loss to minimise, and the number of tokens it covered.
"""

from __future__ import annotations

from client.stages.base import Objective
from client.stages.cp import ContinuedPretraining
from client.stages.ift import InstructionTuning


def objective_for(kind: str, tokenizer, max_seq_len: int) -> Objective:
    objectives = {"cp": ContinuedPretraining, "ift": InstructionTuning}
    if kind not in objectives:
        raise ValueError(f"stage kind {kind!r} is not supported; supported: {', '.join(objectives)}")
    return objectives[kind](tokenizer, max_seq_len)
