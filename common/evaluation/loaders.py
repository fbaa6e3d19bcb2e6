"""Benchmark loaders for local files in their published formats.

- PubMedQA: ``ori_pqal.json`` (PQA-L; PQA-A/U share the format): an object keyed by PMID with QUESTION,
  CONTEXTS, LONG_ANSWER and final_decision; the official split is ``test_ground_truth.json`` (PMID -> answer).
- MedQA (US/MCMLE, the jsonl of the MedQA release): one object a line with question, options {A..E}, answer_idx.
- MedMCQA (the jsonl of the release): question, opa..opd and cop, the correct option numbered from 1.
- Open QA: Alpaca-style instruction/input/output records (ChatDoctor), as a JSON list or jsonl.

Errors name the file, line (or item id) and field, never the text.
"""

from __future__ import annotations

import json
from pathlib import Path

from common.evaluation.items import MultipleChoiceItem, OpenItem
from common.jsonfiles import RecordFileError, field, json_records

PUBMEDQA_LABELS = ("yes", "no", "maybe")


def load_pubmedqa_ids(path: Path) -> set[str]:
    """The PMIDs of an official PubMedQA split file (``test_ground_truth.json``: PMID -> answer)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RecordFileError(f"{path}: expected an object of PMID -> answer")
    return set(map(str, data))


def load_pubmedqa(path: Path, *, include: set[str] | None = None, exclude: set[str] | None = None,
                  ) -> list[MultipleChoiceItem]:
    """PubMedQA items in file order, restricted to the PMIDs in ``include`` and outside ``exclude``."""
    items = []
    for where, record in json_records(path):
        pmid = str(record.get("_id", record.get("pubid", "")))
        if (include is not None and pmid not in include) or (exclude is not None and pmid in exclude):
            continue
        contexts = field(record, "CONTEXTS", where, list)
        answer = field(record, "final_decision", where)
        if answer not in PUBMEDQA_LABELS:
            raise RecordFileError(f"{where}: field 'final_decision' must be one of {', '.join(PUBMEDQA_LABELS)}")
        items.append(MultipleChoiceItem(
            item_id=pmid, question=field(record, "QUESTION", where), context="\n".join(map(str, contexts)),
            options=tuple((label, label) for label in PUBMEDQA_LABELS), answer=answer,
            explanation=str(record.get("LONG_ANSWER", ""))))
    return items


def load_medqa(path: Path) -> list[MultipleChoiceItem]:
    """MedQA jsonl: ``{"question", "options": {"A": ..}, "answer_idx": "C"}`` (4 or 5 options)."""
    items = []
    for index, (where, record) in enumerate(json_records(path)):
        options = field(record, "options", where, dict)
        answer = field(record, "answer_idx", where)
        if answer not in options:
            raise RecordFileError(f"{where}: field 'answer_idx' is not one of the option letters")
        items.append(MultipleChoiceItem(item_id=str(record.get("id", index)), question=field(record, "question", where),
                                        options=tuple((k, str(v)) for k, v in sorted(options.items())), answer=answer))
    return items


def load_medmcqa(path: Path) -> list[MultipleChoiceItem]:
    """MedMCQA jsonl: ``{"question", "opa".."opd", "cop"}`` with ``cop`` 1..4 as in the published files."""
    items = []
    for index, (where, record) in enumerate(json_records(path)):
        cop = field(record, "cop", where, int)
        if not 1 <= cop <= 4:
            raise RecordFileError(f"{where}: field 'cop' must be 1..4 (the published numbering)")
        options = tuple((letter, str(field(record, key, where))) for letter, key in zip("ABCD", ("opa", "opb", "opc", "opd")))
        items.append(MultipleChoiceItem(item_id=str(record.get("id", index)), question=field(record, "question", where),
                                        options=options, answer="ABCD"[cop - 1], explanation=str(record.get("exp") or "")))
    return items


def load_open_qa(path: Path) -> list[OpenItem]:
    """Alpaca-style ``instruction``/``input``/``output`` records (ChatDoctor's format) as open questions."""
    items = []
    for index, (where, record) in enumerate(json_records(path)):
        instruction = field(record, "instruction", where)
        extra = record.get("input") or ""
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        items.append(OpenItem(item_id=str(index), prompt=prompt, reference=field(record, "output", where)))
    return items
