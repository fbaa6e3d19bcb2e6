"""Synthetic hospitals: each one a folder of exports with its own case mix and size (non-IID).

Deterministic by seed: the same (seed, hospital index) always writes the same bytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from simulations.synthetic.exports import Visit, write_exports
from simulations.synthetic.notes import generate_note, make_patient
from simulations.synthetic.vocab import CONDITIONS, SPECIALTIES, Condition

FACILITIES = ("St. Mary's Regional Medical Center", "Lakeside General Hospital", "Northbrook University Hospital",
              "Cedar Valley Community Hospital", "Mercy Heart Institute", "Pine Ridge Children's Hospital")


@dataclass(frozen=True)
class HospitalProfile:
    """What makes one hospital different from the others: where its cases come from and how many it has."""

    name: str
    facility: str
    specialty_weights: dict[str, float]
    size: float  # relative volume; 1.0 is the largest hospital

    def conditions_weights(self) -> tuple[list[Condition], list[float]]:
        return list(CONDITIONS), [self.specialty_weights.get(c.specialty, 0.05) for c in CONDITIONS]


def hospital_profile(index: int, seed: int) -> HospitalProfile:
    """Hospital ``index`` leans on two specialties (a rotating pair) and is smaller than the one before it."""
    rng = random.Random(f"{seed}-profile-{index}")
    focus = [SPECIALTIES[(2 * index) % len(SPECIALTIES)], SPECIALTIES[(2 * index + 1) % len(SPECIALTIES)]]
    weights = {s: (1.0 if s in focus else 0.08) for s in SPECIALTIES}
    return HospitalProfile(
        name=f"hospital-{index}",
        facility=FACILITIES[index % len(FACILITIES)],
        specialty_weights=weights,
        size=round(1.0 / (1 + 0.5 * index) * rng.uniform(0.9, 1.1), 3),
    )


# Question templates for instruction pairs. Each maps a condition to (instruction, output).
def _qa_templates(c: Condition, rng: random.Random) -> list[tuple[str, str]]:
    symptoms = ", ".join(c.symptoms[:-1]) + f" and {c.symptoms[-1]}" if len(c.symptoms) > 1 else c.symptoms[0]
    tests = ", ".join(c.tests)
    meds = ", ".join(c.medications)
    presenting = rng.sample(c.symptoms, k=min(3, len(c.symptoms)))
    return [
        (f"What are the typical symptoms of {c.name}?", f"Typical symptoms of {c.name} are {symptoms}."),
        (f"Which tests are used to diagnose {c.name}?", f"{c.name.capitalize()} is assessed with {tests}."),
        (f"How is {c.name} treated?", f"Treatment of {c.name} commonly uses {meds}. {c.advice}"),
        (f"Which specialty manages {c.name}?", f"{c.name.capitalize()} is managed in {c.specialty}."),
        (f"A patient presents with {', '.join(presenting)}. What is the most likely diagnosis and the next step?",
         f"The most likely diagnosis is {c.name}. Next step: {c.tests[0]}. {c.advice}"),
    ]


def _dialogue(c: Condition, rng: random.Random) -> list[dict[str, str]]:
    s = rng.sample(c.symptoms, k=min(2, len(c.symptoms)))
    return [
        {"role": "user", "content": f"Doctor, I have had {s[0]} for a few days{f' and some {s[1]}' if len(s) > 1 else ''}. What is going on?"},
        {"role": "assistant", "content": f"These symptoms can be caused by {c.name}. Do you have {c.symptoms[-1]} as well?"},
        {"role": "user", "content": "Yes, a little. What should I do?"},
        {"role": "assistant", "content": f"I recommend {c.tests[0]} to confirm it. If confirmed, treatment often includes {c.medications[0]}. {c.advice}"},
    ]


def _preference(c: Condition, other: Condition, rng: random.Random) -> dict[str, str]:
    prompt, good = rng.choice(_qa_templates(c, rng))
    bad = rng.choice((
        "I am not sure. You should search the internet for it.",
        good.replace(c.name, other.name),
        f"It is probably nothing serious; {other.medications[0]} will fix it.",
    ))
    return {"prompt": prompt, "chosen": good, "rejected": bad}


def generate_hospital(out_dir: Path, index: int, seed: int = 0, scale: int = 200) -> HospitalProfile:
    """Write hospital ``index``'s exports into ``out_dir``; ``scale`` is the record count of the largest one."""
    profile = hospital_profile(index, seed)
    rng = random.Random(f"{seed}-hospital-{index}")
    conditions, weights = profile.conditions_weights()
    n = max(8, int(scale * profile.size))
    out_dir.mkdir(parents=True, exist_ok=True)

    notes, pairs, dialogues, prefs, visits = [], [], [], [], []
    start = date(2015, 1, 1)
    for i in range(n):
        condition = rng.choices(conditions, weights)[0]
        patient = make_patient(rng, f"{profile.name}-p{i:05d}")
        visit = (start + timedelta(days=rng.randrange(0, 3650))).isoformat()
        note = generate_note(rng, patient, condition, profile.facility, visit)
        notes.append({"note_id": f"{profile.name}-n{i:05d}", "patient_id": patient.patient_id, "date": visit, "text": note.text})
        visits.append(Visit(patient, condition, visit, notes[-1]["note_id"], note.text))
        instruction, output = rng.choice(_qa_templates(condition, rng))
        pairs.append({"instruction": instruction, "input": "", "output": output})
        if i % 3 == 0:
            dialogues.append({"messages": _dialogue(condition, rng)})
        if i % 2 == 0:
            other = rng.choice([c for c in CONDITIONS if c.specialty != condition.specialty])
            prefs.append(_preference(condition, other, rng))

    for name, rows in (("notes.jsonl", notes), ("instructions.jsonl", pairs),
                       ("dialogues.jsonl", dialogues), ("preferences.jsonl", prefs)):
        with open(out_dir / name, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    focus = sorted(s for s, w in profile.specialty_weights.items() if w == 1.0)
    write_exports(out_dir, random.Random(f"{seed}-exports-{index}"), visits, focus)
    return profile


def generate_federation(root: Path, num_hospitals: int, seed: int = 0, scale: int = 200) -> list[Path]:
    """Write ``num_hospitals`` hospital folders under ``root``; return their paths in order."""
    paths = []
    for i in range(num_hospitals):
        path = root / f"hospital-{i}"
        generate_hospital(path, i, seed, scale)
        paths.append(path)
    return paths
