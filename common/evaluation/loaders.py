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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common.evaluation.items import MultipleChoiceItem, OpenItem

PUBMEDQA_LABELS = ("yes", "no", "maybe")


class EvalDataError(ValueError):
    """An evaluation file or record that cannot be read; the message says where, never what."""


def _field(record: dict, key: str, where: str, kind: type = str) -> Any:
    if key not in record:
        raise EvalDataError(f"{where}: missing field '{key}'")
    value = record[key]
    if not isinstance(value, kind):
        raise EvalDataError(f"{where}: field '{key}' must be {kind.__name__}, got {type(value).__name__}")
    return value


def _json_records(path: Path) -> Iterator[tuple[str, dict]]:
    """(location, record) for a JSON list/object file or a jsonl file."""
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path}:{line_no}: malformed JSON (column {exc.colno})") from None
            if not isinstance(record, dict):
                raise EvalDataError(f"{path}:{line_no}: expected an object")
            yield f"{path}:{line_no}", record
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path}:{exc.lineno}: malformed JSON (column {exc.colno})") from None
    entries = data.items() if isinstance(data, dict) else enumerate(data)
    for key, record in entries:
        if not isinstance(record, dict):
            raise EvalDataError(f"{path}: item {key}: expected an object")
        yield f"{path}: item {key}", record if isinstance(data, list) else {"_id": str(key), **record}


def load_pubmedqa_ids(path: Path) -> set[str]:
    """The PMIDs of an official PubMedQA split file (``test_ground_truth.json``: PMID -> answer)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise EvalDataError(f"{path}: expected an object of PMID -> answer")
    return set(map(str, data))


def load_pubmedqa(path: Path, *, include: set[str] | None = None, exclude: set[str] | None = None,
                  ) -> list[MultipleChoiceItem]:
    """PubMedQA items in file order, restricted to the PMIDs in ``include`` and outside ``exclude``."""
    items = []
    for where, record in _json_records(path):
        pmid = str(record.get("_id", record.get("pubid", "")))
        if (include is not None and pmid not in include) or (exclude is not None and pmid in exclude):
            continue
        contexts = _field(record, "CONTEXTS", where, list)
        answer = _field(record, "final_decision", where)
        if answer not in PUBMEDQA_LABELS:
            raise EvalDataError(f"{where}: field 'final_decision' must be one of {', '.join(PUBMEDQA_LABELS)}")
        items.append(MultipleChoiceItem(
            item_id=pmid, question=_field(record, "QUESTION", where), context="\n".join(map(str, contexts)),
            options=tuple((label, label) for label in PUBMEDQA_LABELS), answer=answer,
            explanation=str(record.get("LONG_ANSWER", ""))))
    return items


def load_medqa(path: Path) -> list[MultipleChoiceItem]:
    """MedQA jsonl: ``{"question", "options": {"A": ..}, "answer_idx": "C"}`` (4 or 5 options)."""
    items = []
    for index, (where, record) in enumerate(_json_records(path)):
        options = _field(record, "options", where, dict)
        answer = _field(record, "answer_idx", where)
        if answer not in options:
            raise EvalDataError(f"{where}: field 'answer_idx' is not one of the option letters")
        items.append(MultipleChoiceItem(item_id=str(record.get("id", index)), question=_field(record, "question", where),
                                        options=tuple((k, str(v)) for k, v in sorted(options.items())), answer=answer))
    return items


def load_medmcqa(path: Path) -> list[MultipleChoiceItem]:
    """MedMCQA jsonl: ``{"question", "opa".."opd", "cop"}`` with ``cop`` 1..4 as in the published files."""
    items = []
    for index, (where, record) in enumerate(_json_records(path)):
        cop = _field(record, "cop", where, int)
        if not 1 <= cop <= 4:
            raise EvalDataError(f"{where}: field 'cop' must be 1..4 (the published numbering)")
        options = tuple((letter, str(_field(record, key, where))) for letter, key in zip("ABCD", ("opa", "opb", "opc", "opd")))
        items.append(MultipleChoiceItem(item_id=str(record.get("id", index)), question=_field(record, "question", where),
                                        options=options, answer="ABCD"[cop - 1], explanation=str(record.get("exp") or "")))
    return items


def load_open_qa(path: Path) -> list[OpenItem]:
    """Alpaca-style ``instruction``/``input``/``output`` records (ChatDoctor's format) as open questions."""
    items = []
    for index, (where, record) in enumerate(_json_records(path)):
        instruction = _field(record, "instruction", where)
        extra = record.get("input") or ""
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        items.append(OpenItem(item_id=str(index), prompt=prompt, reference=_field(record, "output", where)))
    return items
