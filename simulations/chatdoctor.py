"""ChatDoctor as simulated hospitals that know different diseases, and the two tasks measured on it.

ChatDoctor's knowledge table (``disease_database_mini.csv``: 100 diseases with their symptoms, tests and
medications) and its 5,452 patient-doctor pairs (``chatdoctor5k.json``, generated from that table) are cut
by disease: the diseases are dealt to hospitals by a seeded shuffle (every disease to exactly one
hospital), and each pair follows the disease its doctor's answer names.

- knowledge: training pairs render each disease's facts with the TRAINING templates below; the shared
  test asks closed questions written with OTHER templates (symptoms -> disease, disease -> medication,
  distractors drawn from other diseases), so a model must have learnt the fact, not the string. Every
  disease is asked about, so a hospital alone can only know its own third.
- answers: the doctor's answers, with one held-out set drawn across all diseases before the split.
"""

from __future__ import annotations

import ast
import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.evaluation import MultipleChoiceItem, OpenItem, load_open_qa
from common.jsonfiles import RecordFileError

SYMPTOM_QUESTION = "A patient presents with {symptoms}. Which disease is the most likely?"
MEDICATION_QUESTION = "Which of these medications is used to treat {disease}?"
OPTIONS = 4  # the right answer and three distractors
MEDICATIONS_ASKED = 3  # disease -> medication asks for one of the table's first three (its most typical)


@dataclass(frozen=True)
class Disease:
    name: str
    symptoms: tuple[str, ...]
    tests: tuple[str, ...]
    medications: tuple[str, ...]


def load_diseases(path: Path) -> list[Disease]:
    """The knowledge table: a ``disease`` column and list columns written as Python lists, as ChatDoctor ships it."""
    diseases = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            values = {}
            for column in ("Symptom", "Medical Tests", "Medications"):
                try:
                    parsed = ast.literal_eval(row.get(column) or "[]")
                except (ValueError, SyntaxError):
                    raise RecordFileError(f"{path}:{line}: field {column!r} is not a list literal") from None
                if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
                    raise RecordFileError(f"{path}:{line}: field {column!r} must be a list of strings")
                values[column] = tuple(v.strip() for v in parsed if v.strip())
            name = (row.get("disease") or "").strip()
            if not name:
                raise RecordFileError(f"{path}:{line}: field 'disease' is empty")
            diseases.append(Disease(name, values["Symptom"], values["Medical Tests"], values["Medications"]))
    return diseases


def pick_diseases(diseases: Sequence[Disease], count: int, seed: int) -> list[Disease]:
    """A seeded sample of ``count`` diseases in table order (0 or more than the table: all of them), for a
    knowledge task that must fit a smaller compute budget."""
    if not 0 < count < len(diseases):
        return list(diseases)
    chosen = set(random.Random(f"{seed}-diseases").sample(range(len(diseases)), count))
    return [d for i, d in enumerate(diseases) if i in chosen]


def split_by_disease(names: Sequence[str], hospitals: int, seed: int) -> list[list[str]]:
    """Deal the diseases to ``hospitals`` after a seeded shuffle: complete, disjoint, sizes within one."""
    order = sorted(set(names))
    random.Random(seed).shuffle(order)
    return [sorted(order[h::hospitals]) for h in range(hospitals)]


def _join(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" and {values[-1]}"


def _closed(item_id: str, question: str, right: str, wrong: Sequence[str], rng: random.Random) -> MultipleChoiceItem:
    options = [right, *wrong]
    rng.shuffle(options)
    return MultipleChoiceItem(item_id, question, tuple((o, o) for o in options), right)


def knowledge_questions(diseases: Sequence[Disease], seed: int) -> list[MultipleChoiceItem]:
    """Two closed questions per disease (when its row allows): symptoms -> disease, disease -> medication."""
    items = []
    names = [d.name for d in diseases]
    for disease in diseases:
        rng = random.Random(f"{seed}-question-{disease.name}")
        others = [n for n in names if n != disease.name]
        if len(disease.symptoms) >= 3 and len(others) >= OPTIONS - 1:
            shown = rng.sample(disease.symptoms, 3)
            items.append(_closed(f"symptoms:{disease.name}", SYMPTOM_QUESTION.format(symptoms=_join(shown).lower()),
                                 disease.name, rng.sample(others, OPTIONS - 1), rng))
        foreign = sorted({m for d in diseases if d.name != disease.name for m in d.medications} - set(disease.medications))
        if disease.medications and len(foreign) >= OPTIONS - 1:
            items.append(_closed(f"medication:{disease.name}", MEDICATION_QUESTION.format(disease=disease.name),
                                 rng.choice(disease.medications[:MEDICATIONS_ASKED]), rng.sample(foreign, OPTIONS - 1), rng))
    return items


def knowledge_pairs(disease: Disease, seed: int, *, symptom_pairs: int = 4) -> list[tuple[str, str]]:
    """(instruction, answer) pairs stating the disease's facts, worded unlike ``knowledge_questions``.

    Every answer starts with the fact a question asks for (the disease, or a medication), as the scored
    option text starts the answer: facts stated only after a lead-in ("Those complaints can be caused by
    Panic disorder.") moved the trained model's answer prefix, not the option it is scored on. The
    medications asked about (the first ``MEDICATIONS_ASKED``) each lead one answer.
    """
    rng = random.Random(f"{seed}-facts-{disease.name}")
    name, pairs = disease.name, []
    for _ in range(symptom_pairs if len(disease.symptoms) >= 3 else 0):
        shown = _join(rng.sample(disease.symptoms, 3)).lower()
        pairs.append((f"I have been having {shown}. What could be wrong with me?",
                      f"{name} can cause those complaints."))
    asked = list(disease.medications[:MEDICATIONS_ASKED])
    for turn in range(len(asked)):
        drugs = _join(asked[turn:] + asked[:turn])
        pairs.append((f"What medicines are prescribed for {name}?", f"{drugs} are prescribed for {name}."))
    return pairs


def disease_of(text: str, names: Sequence[str]) -> str | None:
    """The disease a doctor's answer names (the longest name found, so 'Chronic sinusitis' beats 'Sinusitis')."""
    lowered = text.lower()
    found = [n for n in names if n.lower() in lowered]
    return max(found, key=len) if found else None


def split_answers(path: Path, names_by_hospital: Sequence[Sequence[str]], seed: int, heldout: int
                  ) -> tuple[list[list[OpenItem]], list[OpenItem]]:
    """ChatDoctor pairs: ``heldout`` drawn first across all diseases, the rest to the hospital of their disease.

    A pair naming none of the diseases goes to a seeded random hospital, so the split loses nothing.
    """
    items = load_open_qa(path)
    random.Random(f"{seed}-answers").shuffle(items)
    test, rest = items[:heldout], items[heldout:]
    owner = {name: h for h, names in enumerate(names_by_hospital) for name in names}
    names = sorted(owner)
    rng = random.Random(f"{seed}-unnamed")
    shares: list[list[OpenItem]] = [[] for _ in names_by_hospital]
    for item in rest:
        disease = disease_of(item.reference, names)
        shares[owner[disease] if disease else rng.randrange(len(shares))].append(item)
    return shares, test
