"""The other exports a synthetic hospital has: a second notes system (CSV, with noise and duplicates),
EHR tables, a knowledge table and ShareGPT dialogues, so every input format of the data pipeline is
exercised. Deterministic by the ``rng`` passed in.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from simulations.synthetic.notes import Patient
from simulations.synthetic.vocab import CONDITIONS, Condition

# What a second records system wraps around every document it exports.
_HEADERS = ("CONFIDENTIAL - This document is confidential.", "Printed on 2024-02-01 by records office")
_FOOTERS = ("Page 1 of 1", "Dictated but not read.", "----------")
_NOISE = (" See https://intranet.example-hospital.org/guidelines for local protocol.", " [1]",
          " (Garcia et al., 2019)", "\nAllergies: N/A", "\nFamily history:\n")


@dataclass(frozen=True)
class Visit:
    patient: Patient
    condition: Condition
    date: str
    note_id: str
    text: str


def write_exports(out_dir: Path, rng: random.Random, visits: list[Visit], focus: list[str],
                  duplicate_rate: float = 0.05) -> None:
    _write_noisy_notes(out_dir / "notes_emr.csv", rng, visits[: max(1, len(visits) // 4)], duplicate_rate)
    _write_ehr(out_dir / "ehr", rng, visits[len(visits) // 4: len(visits) // 2])
    with open(out_dir / "knowledge.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["disease", "symptoms", "tests", "medications"])
        for c in (c for c in CONDITIONS if c.specialty in focus):
            w.writerow([c.name, ";".join(c.symptoms), ";".join(c.tests), ";".join(c.medications)])
    chats = [{"conversations": [
        {"from": "human", "value": f"I was told I might have {v.condition.name}. Which tests will I need?"},
        {"from": "gpt", "value": f"{v.condition.name.capitalize()} is usually confirmed with "
                                 f"{' and '.join(v.condition.tests[:2])}. {v.condition.advice}"}]}
        for v in visits[::5]]
    (out_dir / "chats_sharegpt.json").write_text(json.dumps(chats, ensure_ascii=False, indent=1), encoding="utf-8")


def _write_noisy_notes(path: Path, rng: random.Random, visits: list[Visit], duplicate_rate: float) -> None:
    """The same encounters as another system exports them: wrapped in boilerplate, with links, citation
    marks and empty sections, some rows repeated exactly and some with a trivial edit (near-duplicates)."""
    rows = []
    for v in visits:
        text = "\n".join((rng.choice(_HEADERS), v.text.rstrip() + rng.choice(_NOISE), rng.choice(_FOOTERS)))
        rows.append([f"emr-{v.note_id}", v.patient.patient_id, v.date, text])
        if rng.random() < duplicate_rate:
            rows.append(list(rows[-1]))
        if rng.random() < duplicate_rate:
            rows.append([f"emr-{v.note_id}-a", v.patient.patient_id, v.date, text + " Addendum: reviewed."])
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["note_id", "patient_id", "date", "text"])
        w.writerows(rows)


def _write_ehr(folder: Path, rng: random.Random, visits: list[Visit]) -> None:
    folder.mkdir(exist_ok=True)
    tables: dict[str, list[list[str]]] = {
        "patients": [["patient_id", "birth_date", "sex", "first_name", "last_name", "mrn", "address"]],
        "encounters": [["encounter_id", "patient_id", "date", "department", "reason"]],
        "diagnoses": [["encounter_id", "description", "code"]],
        "medications": [["encounter_id", "name", "dose", "frequency"]],
        "labs": [["encounter_id", "test", "value", "unit", "flag"]],
    }
    for i, v in enumerate(visits):
        p, c, enc = v.patient, v.condition, f"e{i:05d}"
        tables["patients"].append([p.patient_id, p.birth_date, rng.choice("FM"), p.first_name, p.last_name, p.mrn,
                                   f"{p.street}, {p.city}, {p.state} {p.zip_code}"])
        tables["encounters"].append([enc, p.patient_id, v.date, c.specialty, rng.choice(c.symptoms)])
        tables["diagnoses"].append([enc, c.name, ""])
        tables["medications"].append([enc, rng.choice(c.medications), f"{rng.choice((5, 10, 20, 40))} mg",
                                      rng.choice(("daily", "twice daily", "as needed"))])
        tables["labs"].append([enc, rng.choice(c.tests), str(rng.randrange(1, 200)), "", rng.choice(("", "high", "low"))])
    for name, rows in tables.items():
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
