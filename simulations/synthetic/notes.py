"""Synthetic clinical notes with realistic PHI placed at known character spans.

The spans are the gold standard for the de-identification harness; the text is CP data for training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from simulations.synthetic.vocab import (
    CITIES,
    CREDENTIALS,
    DEVICES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    HEALTH_PLANS,
    LAB_ROWS,
    LAST_NAMES,
    MORE_CITIES,
    MORE_FIRST_NAMES,
    MORE_LAST_NAMES,
    MORE_STREETS,
    NON_PHI_SNIPPETS,
    RELATIVES,
    STREETS,
    Condition,
)

ALL_FIRST = FIRST_NAMES + MORE_FIRST_NAMES
ALL_LAST = LAST_NAMES + MORE_LAST_NAMES


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
    email: str = ""
    member_id: str = ""


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
    city, state, zip_code = rng.choice(CITIES + MORE_CITIES)
    first, last = rng.choice(ALL_FIRST), rng.choice(ALL_LAST)
    return Patient(
        patient_id=patient_id,
        mrn=f"{rng.randrange(10**7, 10**8)}",
        first_name=first,
        last_name=last,
        birth_date=f"{rng.randrange(1920, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        street=f"{rng.randrange(1, 9999)} {rng.choice(STREETS + MORE_STREETS)}",
        city=city,
        state=state,
        zip_code=zip_code,
        phone=_phone(rng),
        ssn=f"{rng.randrange(100, 899)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
        email=f"{first[0].lower()}{last.lower().replace(chr(39), '').replace(' ', '')}{rng.randrange(1, 99)}@{rng.choice(EMAIL_DOMAINS)}",
        member_id=f"{rng.choice(('XJH', 'MBR', 'W', 'YKL'))}{rng.randrange(10**6, 10**9)}",
    )


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randrange(200, 999), rng.randrange(200, 999), rng.randrange(0, 10000)
    return rng.choice((f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"({a}){b}-{c:04d}"))


def _date_text(rng: random.Random, iso: str, with_year: bool = True) -> str:
    d = date.fromisoformat(iso)
    if not with_year:
        return rng.choice((f"{d.month}/{d.day}", f"{d:%B} {d.day}", f"{d:%b} {d.day}"))
    return rng.choice((iso, f"{d:%m/%d/%Y}", f"{d.month}/{d.day}/{d:%y}", f"{d:%B} {d.day}, {d.year}",
                       f"{d:%b} {d.day}, {d.year}", f"{d.day} {d:%B} {d.year}", f"{d:%d-%b-%Y}"))


def _staff_name(rng: random.Random) -> tuple[str, str]:
    """A clinician's name as notes write it, and a plain form for 'Dr. X' mentions."""
    first, last = rng.choice(ALL_FIRST), rng.choice(ALL_LAST)
    return rng.choice((f"{first} {last}", f"{first[0]}. {last}", f"{last}, {first}",
                       f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}")), last


def _patient_name(rng: random.Random, p: Patient) -> str:
    return rng.choice((f"{p.last_name}, {p.first_name}", f"{p.first_name} {p.last_name}",
                       f"{p.last_name.upper()}, {p.first_name.upper()}"))


def _visit_dates(rng: random.Random, visit: str) -> tuple[str, str]:
    admit = date.fromisoformat(visit)
    return admit.isoformat(), (admit + timedelta(days=rng.randrange(1, 9))).isoformat()


def _age(patient: Patient, visit: str) -> int:
    return int(visit[:4]) - int(patient.birth_date[:4])


def _age_phrase(b: _NoteBuilder, age: int, suffix: str) -> None:
    if age > 89:  # Safe Harbor: only ages over 89 are identifiers
        b.phi(str(age), "AGE")
    else:
        b.text(str(age))
    b.text(suffix)


def generate_note(rng: random.Random, patient: Patient, condition: Condition, facility: str, date: str) -> AnnotatedNote:
    """One clinical note for ``patient`` seen at ``facility`` on ``date`` (ISO) for ``condition``.

    The layout is drawn at random: progress note, discharge summary (header fields, medication list,
    lab table, signature block) or referral letter (addresses, contacts, family, insurance).
    """
    layout = rng.choice((_progress_note, _discharge_summary, _referral_letter))
    return layout(rng, patient, condition, facility, date)


def _progress_note(rng: random.Random, patient: Patient, condition: Condition, facility: str, visit: str) -> AnnotatedNote:
    b = _NoteBuilder()
    clinician, clinician_last = _staff_name(rng)
    symptoms = rng.sample(condition.symptoms, k=min(2, len(condition.symptoms)))
    tests = rng.sample(condition.tests, k=min(2, len(condition.tests)))

    b.text("PROGRESS NOTE\nName: ")
    b.phi(_patient_name(rng, patient), "NAME")
    b.text(rng.choice(("   MRN: ", "   MR#: ", "\nMedical Record Number: ", "   Unit No: ")))
    b.phi(patient.mrn, "ID")
    b.text(rng.choice(("\nDate of service: ", "\nVisit date: ", "\nDOS: ")))
    b.phi(_date_text(rng, visit), "DATE")
    b.text("   Facility: ")
    b.phi(facility, "ORGANIZATION")
    b.text("\n\nHPI: ")
    if rng.random() < 0.3:
        b.text(rng.choice(("Mr. ", "Ms. ", "Mrs. ")))
        b.phi(patient.last_name, "NAME")
    else:
        b.phi(rng.choice((f"{patient.first_name} {patient.last_name}", patient.first_name)), "NAME")
    b.text(" is a ")
    _age_phrase(b, _age(patient, visit), rng.choice(("-year-old", " yo", " y/o")))
    b.text(f" seen for {condition.name}. Reports {symptoms[0]}")
    b.text(f" and {symptoms[1]} since ")
    b.phi(_date_text(rng, (date.fromisoformat(visit) - timedelta(days=rng.randrange(2, 40))).isoformat(),
                     with_year=rng.random() < 0.5), "DATE")
    b.text(f".\n{rng.choice(NON_PHI_SNIPPETS)}\n")
    b.text(f"Workup: {', '.join(tests)} ordered. Impression consistent with {condition.name}.\n")
    b.text(f"Plan: start {rng.choice(condition.medications)}. {condition.advice}\n")
    b.text("Discussed with Dr. ")
    b.phi(clinician_last, "NAME")
    b.text(rng.choice((" (pager ", " (ext. ", " (pgr ")))
    b.phi(str(rng.randrange(10000, 99999)), "CONTACT")
    b.text(rng.choice((").\n\nElectronically signed: ", ").\n\n")))
    b.phi(clinician, "NAME")
    b.text(f", {rng.choice(CREDENTIALS)}\n")
    return b.build()


def _discharge_summary(rng: random.Random, patient: Patient, condition: Condition, facility: str, visit: str) -> AnnotatedNote:
    b = _NoteBuilder()
    admit, discharge = _visit_dates(rng, visit)
    attending, attending_last = _staff_name(rng)
    pcp, _ = _staff_name(rng)

    b.text("DISCHARGE SUMMARY\n")
    b.phi(facility, "ORGANIZATION")
    b.text("\n\nPatient: ")
    b.phi(_patient_name(rng, patient), "NAME")
    b.text("\nMR: ")
    b.phi(patient.mrn, "ID")
    b.text(rng.choice(("        Acct #: ", "   Encounter: ", "   FIN: ")))
    b.phi(f"{rng.randrange(10**8, 10**9)}", "ID")
    b.text("\nDOB: ")
    b.phi(_date_text(rng, patient.birth_date), "DATE")
    b.text("   Age: ")
    _age_phrase(b, _age(patient, visit), "")
    b.text("\nAdmission Date: ")
    b.phi(_date_text(rng, admit), "DATE")
    b.text("   Discharge Date: ")
    b.phi(_date_text(rng, discharge), "DATE")
    b.text("\nAttending: ")
    b.phi(attending, "NAME")
    b.text("\nPCP: ")
    b.phi(pcp, "NAME")
    b.text(f"\n\nDIAGNOSIS: {condition.name}\n\nHOSPITAL COURSE: The patient presented with "
           f"{', '.join(condition.symptoms[:2])}. {rng.choice(NON_PHI_SNIPPETS)} ")
    b.text(f"{condition.tests[0].capitalize()} on ")
    b.phi(_date_text(rng, admit, with_year=False), "DATE")
    b.text(f" supported the diagnosis. {rng.choice(NON_PHI_SNIPPETS)}\n\nLABS (")
    b.phi(_date_text(rng, admit), "DATE")
    b.text("):\n")
    for name, value, unit in rng.sample(LAB_ROWS, k=4):
        b.text(f"  {name:<8} {value:>6} {unit}\n")
    b.text("\nDISCHARGE MEDICATIONS:\n")
    for i, med in enumerate(condition.medications[:3], 1):
        b.text(f"  {i}. {med} {rng.choice(('5 mg', '10 mg', '25 mg', '1/2 tab', '40 mg'))} "
               f"{rng.choice(('daily', 'BID', 'q8h', 'at bedtime'))}\n")
    b.text(f"\nFOLLOW-UP: {condition.advice} See Dr. ")
    b.phi(attending_last, "NAME")
    b.text(" in clinic on ")
    b.phi(_date_text(rng, (date.fromisoformat(discharge) + timedelta(days=14)).isoformat(), rng.random() < 0.5), "DATE")
    b.text(". Call ")
    b.phi(_phone(rng), "CONTACT")
    b.text(" with questions.\n")
    if rng.random() < 0.4:
        device = rng.choice(DEVICES)
        b.text(f"Has a {device}, serial no. ")
        b.phi(f"{rng.choice(('SN', 'PJ', 'A'))}{rng.randrange(10**5, 10**8)}", "ID")
        b.text(".\n")
    b.text("\nDictated by: ")
    b.phi(attending, "NAME")
    b.text(f", {rng.choice(CREDENTIALS)}\nD: ")
    b.phi(_date_text(rng, discharge), "DATE")
    b.text("  T: ")
    b.phi(_date_text(rng, discharge), "DATE")
    b.text("\n")
    return b.build()


def _referral_letter(rng: random.Random, patient: Patient, condition: Condition, facility: str, visit: str) -> AnnotatedNote:
    b = _NoteBuilder()
    doctor, doctor_last = _staff_name(rng)
    sender, _ = _staff_name(rng)
    relative = rng.choice(RELATIVES)

    b.phi(facility, "ORGANIZATION")
    b.text("\n")
    b.phi(f"{rng.randrange(1, 999)} {rng.choice(('Medical Center Dr', 'Hospital Way', 'Main Street'))}", "LOCATION")
    b.text(", ")
    b.phi(patient.city, "LOCATION")
    b.text(f", {patient.state} ")
    b.phi(patient.zip_code, "LOCATION")
    b.text("\nTel ")
    b.phi(_phone(rng), "CONTACT")
    b.text("   Fax ")
    b.phi(_phone(rng), "CONTACT")
    b.text("\n\n")
    b.phi(_date_text(rng, visit), "DATE")
    b.text("\n\nDear Dr. ")
    b.phi(doctor_last, "NAME")
    b.text(",\n\nRe: ")
    b.phi(f"{patient.first_name} {patient.last_name}", "NAME")
    b.text(", DOB ")
    b.phi(_date_text(rng, patient.birth_date), "DATE")
    b.text(", MRN ")
    b.phi(patient.mrn, "ID")
    b.text("\n\nThank you for seeing this ")
    _age_phrase(b, _age(patient, visit), f"-year-old with {condition.name}. ")
    b.text(f"{rng.choice(NON_PHI_SNIPPETS)} Current medications include {', '.join(condition.medications[:2])}. ")
    b.text("Lives at ")
    b.phi(patient.street, "LOCATION")
    b.text(", ")
    b.phi(patient.city, "LOCATION")
    b.text(f", {patient.state} ")
    b.phi(patient.zip_code, "LOCATION")
    b.text(f" with {rng.choice(('her', 'his'))} {relative} ")
    b.phi(rng.choice(ALL_FIRST), "NAME")
    b.text(", who can be reached at ")
    b.phi(_phone(rng), "CONTACT")
    b.text(". Patient e-mail: ")
    b.phi(patient.email, "CONTACT")
    b.text(f".\nInsurance: {rng.choice(HEALTH_PLANS)}, Member ID: ")
    b.phi(patient.member_id, "ID")
    b.text(". SSN: ")
    b.phi(patient.ssn, "ID")
    b.text(".\nPortal: ")
    b.phi(f"https://portal.{facility.split()[0].lower().strip('.').replace(chr(39), '')}health.org/p/{patient.mrn}", "CONTACT")
    b.text("\n\nSincerely,\n\n")
    b.phi(sender, "NAME")
    b.text(f", {rng.choice(CREDENTIALS)}\n")
    b.phi(facility, "ORGANIZATION")
    b.text("\n")
    return b.build()
