"""Knowledge tables and triples (disease -> symptoms, tests, medications) turned into QA pairs and CP text.

Templates as BenTsao, ClinicalGPT and PMC-LLaMA build instruction data from medical knowledge graphs:
each (entity, relation) becomes one question with its answer, and each entity one short paragraph.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from client.data.errors import DataError, Location
from client.data.schemas import Row, text_field
from common.records import Conversation, Note

# Relation spellings seen in medical KGs, mapped to the ones the templates know.
_RELATIONS = {"symptom": "symptoms", "symptoms": "symptoms", "has_symptom": "symptoms", "presents_with": "symptoms",
              "test": "tests", "tests": "tests", "diagnosed_by": "tests", "examination": "tests",
              "medication": "medications", "medications": "medications", "drug": "medications", "drugs": "medications",
              "treated_with": "medications", "treatment": "medications"}
_TABLE_COLUMNS = ("symptoms", "tests", "medications")
_QUESTIONS = {"symptoms": "What are the symptoms of {e}?", "tests": "How is {e} diagnosed?",
              "medications": "Which medications are used to treat {e}?"}
_ANSWERS = {"symptoms": "Common symptoms of {e} include {v}.", "tests": "{E} is diagnosed with {v}.",
            "medications": "{E} is commonly treated with {v}."}


@dataclass(frozen=True)
class Fact:
    entity: str
    relation: str
    values: tuple[str, ...]


def parse_knowledge_row(row: Row, where: Location) -> list[Fact]:
    """A triple (head/relation/tail or subject/predicate/object) or a table row (disease + list columns)."""
    for head, rel, tail in (("head", "relation", "tail"), ("subject", "predicate", "object")):
        if head in row:
            relation = text_field(row, rel, where).strip().lower().replace(" ", "_")
            return [Fact(text_field(row, head, where).strip(), _RELATIONS.get(relation, relation),
                         (text_field(row, tail, where).strip(),))]
    disease = text_field(row, "disease", where).strip()
    facts = [Fact(disease, column, _split_list(row[column], where, column))
             for column in _TABLE_COLUMNS if row.get(column) not in (None, "", [])]
    if not facts:
        raise DataError(where, "missing-field", f"a knowledge row needs one of {', '.join(_TABLE_COLUMNS)}", "symptoms")
    return facts


def _split_list(value: object, where: Location, column: str) -> tuple[str, ...]:
    """Table cells hold a list, or text separated by ';' or '|' (commas occur inside drug names)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    elif isinstance(value, str):
        items = value.replace("|", ";").split(";")
    else:
        raise DataError(where, "wrong-type", "expected a list or ';'-separated text", column)
    return tuple(v.strip() for v in items if v.strip())


def _join(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" and {values[-1]}"


def facts_to_records(facts: list[Fact], source: str = "knowledge") -> tuple[list[Conversation], list[Note]]:
    """One QA pair per (entity, relation) and one CP paragraph per entity, in first-seen order."""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for fact in facts:
        values = grouped[fact.entity][fact.relation]
        values.extend(v for v in fact.values if v not in values)
    pairs, notes = [], []
    for entity, relations in grouped.items():
        sentences = []
        for relation, values in relations.items():
            fill = {"e": entity, "E": entity[:1].upper() + entity[1:], "v": _join(values)}
            question = _QUESTIONS.get(relation, "What is the {r} of {e}?").format(r=relation.replace("_", " "), **fill)
            answer = _ANSWERS.get(relation, "The {r} of {e}: {v}.").format(r=relation.replace("_", " "), **fill)
            pairs.append(Conversation.from_pair(question, answer, source=source))
            sentences.append(answer)
        notes.append(Note(f"kg:{entity}", "", "", " ".join(sentences)))
    return pairs, notes
