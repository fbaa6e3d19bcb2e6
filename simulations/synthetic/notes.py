"""Synthetic clinical notes with realistic PHI placed at known character spans.

The spans are the gold standard for the de-identification harness; the text is CP data for training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulations.synthetic.vocab import CITIES, FIRST_NAMES, LAST_NAMES, STREETS, Condition


@dataclass(frozen=True)
class Patient:
    patient_id: str
    mrn: str
    first_name: str
    last_name: str
    birth_date: str  # ISO
    street: str
    city: str
    state: str
    zip_code: str
    phone: str
    ssn: str


@dataclass(frozen=True)
class PhiSpan:
    start: int
    end: int
    category: str  # NAME, DATE, ID, LOCATION, CONTACT, AGE, ORGANIZATION, ...


@dataclass
class AnnotatedNote:
    text: str
    spans: list[PhiSpan] = field(default_factory=list)


class _NoteBuilder:
    """Appends text and records the span of every PHI piece as it is written."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[PhiSpan] = []

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def phi(self, s: str, category: str) -> None:
        self.spans.append(PhiSpan(self.length, self.length + len(s), category))
        self.text(s)

    def build(self) -> AnnotatedNote:
        return AnnotatedNote("".join(self.parts), self.spans)


def make_patient(rng: random.Random, patient_id: str) -> Patient:
    city, state, zip_code = rng.choice(CITIES)
    return Patient(
        patient_id=patient_id,
        mrn=f"{rng.randrange(10**7, 10**8)}",
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        birth_date=f"{rng.randrange(1930, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        street=f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
        city=city,
        state=state,
        zip_code=zip_code,
        phone=f"({rng.randrange(200, 999)}) {rng.randrange(200, 999)}-{rng.randrange(0, 10000):04d}",
        ssn=f"{rng.randrange(100, 899)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
    )


def generate_note(rng: random.Random, patient: Patient, condition: Condition, facility: str, date: str) -> AnnotatedNote:
    """One progress note for ``patient`` seen at ``facility`` on ``date`` (ISO) for ``condition``."""
    b = _NoteBuilder()
    clinician = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    age = int(date[:4]) - int(patient.birth_date[:4])
    symptoms = rng.sample(condition.symptoms, k=min(2, len(condition.symptoms)))
    tests = rng.sample(condition.tests, k=min(2, len(condition.tests)))
    medication = rng.choice(condition.medications)

    b.text("PROGRESS NOTE\nName: ")
    b.phi(f"{patient.last_name}, {patient.first_name}", "NAME")
    b.text("   MRN: ")
    b.phi(patient.mrn, "ID")
    b.text("\nDate of service: ")
    b.phi(date, "DATE")
    b.text("   Facility: ")
    b.phi(facility, "ORGANIZATION")
    b.text("\n\nHPI: ")
    b.phi(f"{patient.first_name} {patient.last_name}", "NAME")
    b.text(" is a ")
    if age > 89:  # Safe Harbor: only ages over 89 are identifiers
        b.phi(str(age), "AGE")
    else:
        b.text(str(age))
    b.text(f"-year-old seen for {condition.name}. Reports {symptoms[0]}")
    b.text(f" and {symptoms[1]}.\n" if len(symptoms) > 1 else ".\n")
    b.text(f"Workup: {', '.join(tests)} ordered. Impression consistent with {condition.name}.\n")
    b.text(f"Plan: start {medication}. {condition.advice}\n")
    b.text("Lives at ")
    b.phi(patient.street, "LOCATION")
    b.text(", ")
    b.phi(patient.city, "LOCATION")
    b.text(f", {patient.state} ")
    b.phi(patient.zip_code, "LOCATION")
    b.text(". Phone ")
    b.phi(patient.phone, "CONTACT")
    b.text(".\n\nElectronically signed: Dr. ")
    b.phi(clinician, "NAME")
    b.text("\n")
    return b.build()
