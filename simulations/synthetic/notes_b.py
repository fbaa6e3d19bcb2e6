"""A second synthetic note generator, written apart from ``notes.py`` to measure over-fitting.

The de-identifier's rules are tuned on ``notes.py``; this module shares none of its vocabulary, layouts,
header styles, name casing or PHI formats (pipe-separated triage headers, nursing shift notes signed
with staff codes, radiology reports, telephone encounters; names in lower case and capitals, surnames
that are ordinary words, month/year dates, bare numbers after labels). Its gold spans carry i2b2-2014
types (PATIENT, DOCTOR, USERNAME, HOSPITAL, IDNUM...) so it is scored exactly like the i2b2 XML notes.
Only report on it; never tune a recognizer by reading its misses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

# Surnames that are ordinary English words, and others; first names, some ordinary words too.
SURNAMES = ("Baker", "Hunter", "Frost", "Field", "Stone", "Bird", "Grant", "Marsh", "Glass", "Wolfe", "Lamb", "Sharp",
            "Booker", "Fisher", "Rivers", "Winter", "Park", "Knight", "Hill", "Cook", "Nwachukwu", "Haugen", "Quintero",
            "Lindqvist", "Okonkwo", "Brannigan", "Castellanos", "Dufresne", "Yamaguchi", "Petrakis", "Achterberg",
            "Oduya", "Fairweather", "Kowalczyk", "Mbeki", "Rasmussen", "Tran", "Vuong", "Delacroix", "Hargreave")
GIVEN = ("Hope", "Faith", "Rose", "Dawn", "Grace", "Frank", "Bill", "Sky", "Iris", "Olive", "Hunter", "Amara", "Bjorn",
         "Dagny", "Emeka", "Fumiko", "Giacomo", "Henrike", "Ilse", "Jovan", "Kwame", "Leilani", "Mateus", "Nadia",
         "Oskar", "Priya", "Quang", "Rafaela", "Soren", "Tamsin", "Ulrich", "Vesna", "Wendell", "Ximena", "Yusuf")
HOSPITALS = ("Northgate General", "St. Brendan's Medical Pavilion", "Lakeshore Community Hospital", "Harbor View Infirmary",
             "Mercy Ridge Health", "Pinecrest Regional", "Granite Falls Medical Center", "Bayside Children's")
ORGS = ("Fulton Tool & Die", "Riverside Unified School District", "Acme Logistics", "the county water board",
        "Coastal Freight Lines")
TOWNS = (("Marlow Heights", "44012"), ("Port Avery", "98362"), ("Dunmore", "18512"), ("Kettle Falls", "99141"),
         ("Ashby", "01431"), ("New Canaan", "06840"), ("Elk Grove", "95624"), ("Sutter Creek", "95685"))
ROADS = ("Quarry Hollow Rd.", "Tamarack Ct", "Lighthouse Way", "Sawmill Pike", "Orchard Crescent", "Fenwick St",
         "Gristmill Lane", "Juniper Terrace")
COMPLAINTS = (("chest tightness", "troponin x2 negative", "aspirin 81 mg"),
              ("productive cough", "CXR with RLL consolidation", "doxycycline 100 mg bid"),
              ("left knee swelling", "arthrocentesis, crystals seen", "colchicine 0.6 mg"),
              ("dysuria and fever", "UA nitrite positive", "ceftriaxone 1 g IV"),
              ("syncope", "orthostatics positive", "IV fluids"),
              ("headache", "CT head without acute findings", "sumatriptan"),
              ("low back pain", "no red flags", "naproxen 500 mg"),
              ("palpitations", "Holter monitor ordered", "metoprolol tartrate 25 mg"))
FINDINGS = ("Lungs: Clear bilaterally.", "Abdomen: Soft, non-tender.", "Heart: Regular, no murmur.",
            "Neuro: Alert, oriented x3.", "Skin: Warm and dry.", "Extremities: No edema.", "Mood: Positive affect.",
            "ECG: Sinus rhythm, rate 72.", "Gait: Steady with walker.")
STAFF_ROLES = ("RN", "LPN", "CNA", "RT", "PCT")


@dataclass(frozen=True)
class GoldPhi:
    start: int
    end: int
    kind: str  # an i2b2-2014 TYPE


@dataclass
class NoteB:
    text: str
    spans: list[GoldPhi] = field(default_factory=list)


class _Writer:
    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.at = 0
        self.spans: list[GoldPhi] = []

    def __call__(self, *pieces: str | tuple[str, str]) -> None:
        """Plain strings are text; ``(value, kind)`` pairs are PHI of that i2b2 type."""
        for piece in pieces:
            value, kind = piece if isinstance(piece, tuple) else (piece, None)
            if kind and value:
                self.spans.append(GoldPhi(self.at, self.at + len(value), kind))
            self.chunks.append(value)
            self.at += len(value)

    def note(self) -> NoteB:
        return NoteB("".join(self.chunks), self.spans)


@dataclass(frozen=True)
class _Person:
    given: str
    family: str

    def written(self, rng: random.Random) -> str:
        style = rng.randrange(6)
        return (f"{self.family.upper()}, {self.given.upper()}", f"{self.given.lower()} {self.family.lower()}",
                f"{self.family}, {self.given[0]}.", f"{self.given} {self.family}", f"{self.family.upper()}",
                f"{self.given[0]}. {self.family.upper()}")[style]


def _person(rng: random.Random) -> _Person:
    return _Person(rng.choice(GIVEN), rng.choice(SURNAMES))


def _day(rng: random.Random, d: date, year: bool = True) -> str:
    if not year:
        return rng.choice((f"{d.month}/{d.day}", f"{d.day} {d:%b}".upper(), f"the {d.day}th of {d:%B}"))
    return rng.choice((f"{d:%Y.%m.%d}", f"{d:%d %b %Y}".upper(), f"{d.month}-{d.day}-{d:%y}", f"{d:%m/%d/%Y}",
                       f"{d:%b}. {d.day} '{d:%y}", f"{d:%Y%m%d}"))


def _month_year(rng: random.Random, d: date) -> str:
    return rng.choice((f"{d.month}/{d:%y}", f"{d:%m}/{d.year}", f"{d:%B} of {d.year}", f"{d:%b}-{d:%y}"))


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randrange(201, 989), rng.randrange(201, 989), rng.randrange(10000)
    return rng.choice((f"{a} {b} {c:04d}", f"+1-{a}-{b}-{c:04d}", f"{a}/{b}-{c:04d}", f"1 ({a}) {b} {c:04d}"))


def _staff_code(rng: random.Random, p: _Person) -> str:
    return rng.choice((f"{p.given[0]}{p.family[0]}{rng.randrange(10, 99)}".upper(),
                       f"{p.given[0]}{p.family[:3]}{rng.randrange(1, 9)}".lower(), f"{p.family[:4].lower()}{p.given[0].lower()}"))


def _record_number(rng: random.Random) -> str:
    return rng.choice((f"{rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}",
                       f"{rng.randrange(10**5, 10**6)}", f"Q{rng.randrange(10**5, 10**7)}",
                       f"{rng.randrange(10, 99)}{chr(rng.randrange(65, 91))}{rng.randrange(1000, 9999)}"))


def _age(rng: random.Random, w: _Writer, years: int) -> None:
    w((str(years), "AGE") if years > 89 else str(years))


def _triage(rng: random.Random, visit: date) -> NoteB:
    w = _Writer()
    pt, nurse, doc = _person(rng), _person(rng), _person(rng)
    birth = visit - timedelta(days=rng.randrange(20 * 365, 99 * 365))
    years = (visit - birth).days // 365
    complaint, result, treatment = rng.choice(COMPLAINTS)
    hospital = rng.choice(HOSPITALS)
    w((hospital.upper(), "HOSPITAL"), " :: EMERGENCY DEPT\n")
    w("PT: ", (pt.written(rng), "PATIENT"), " | DOB ", (_day(rng, birth), "DATE"), " | ", (str(years), "AGE")
      if years > 89 else str(years), " yrs | ACCT ", (_record_number(rng), "IDNUM"), "\n")
    w("ARRIVAL ", (_day(rng, visit), "DATE"), " by EMS | acuity 3\n\n")
    w(f"c/o {complaint}; onset ", (_day(rng, visit - timedelta(days=rng.randrange(1, 5)), year=False), "DATE"),
      ". Last seen by pcp ", (doc.family.lower(), "DOCTOR"), " in ", (_month_year(rng, visit - timedelta(days=400)), "DATE"), ".\n")
    w(rng.choice(FINDINGS), "\n", rng.choice(FINDINGS), "\n")
    w(f"Result: {result}. Given {treatment}.\n")
    w("Works at ", (rng.choice(ORGS), "ORGANIZATION"), "; lives with ", rng.choice(("daughter", "partner", "nephew")),
      " ", (rng.choice(GIVEN), "PATIENT"), ".\n\n")
    code = _staff_code(rng, nurse)
    w("triage: ", (code, "USERNAME"), f" {rng.choice(STAFF_ROLES)} / ", (doc.written(rng), "DOCTOR"), "\n")
    return w.note()


def _shift_note(rng: random.Random, visit: date) -> NoteB:
    w = _Writer()
    pt, nurse = _person(rng), _person(rng)
    room = rng.randrange(200, 699)
    complaint, result, treatment = rng.choice(COMPLAINTS)
    w("Nursing shift summary -- ", (_day(rng, visit), "DATE"), f" 0700-1900, rm {room}\n")
    w((pt.family.lower() if rng.random() < 0.5 else pt.family.upper(), "PATIENT"),
      f" resting, admitted for {complaint}. {result}.\n")
    for finding in rng.sample(FINDINGS, 3):
        w(finding, "\n")
    w(f"Meds given per MAR: {treatment}. Family (", (rng.choice(GIVEN).lower(), "PATIENT"), ") at bedside, phone ",
      (_phone(rng), "PHONE"), ".\n")
    w("Pump serial ", (f"{rng.choice('ABCXYZ')}{rng.randrange(10**6, 10**7)}", "DEVICE"), " checked.\n")
    w("Report given to oncoming RN ", (f"{nurse.given[0]}.", "DOCTOR"), " ", (nurse.family, "DOCTOR"), ".\n")
    w("-- ", (_staff_code(rng, nurse), "USERNAME"), "\n")
    return w.note()


def _radiology(rng: random.Random, visit: date) -> NoteB:
    w = _Writer()
    pt, reader = _person(rng), _person(rng)
    w("RADIOLOGY REPORT   ", (rng.choice(HOSPITALS), "HOSPITAL"), "\n")
    w("Name ........ ", (pt.written(rng), "PATIENT"), "\n")
    w("Unit no ..... ", (_record_number(rng), "MEDICALRECORD"), "\n")
    w("Exam ........ CT ABDOMEN/PELVIS W CONTRAST\n")
    w("Exam date ... ", (_day(rng, visit), "DATE"), "\n\n")
    w("COMPARISON: ", (_month_year(rng, visit - timedelta(days=rng.randrange(60, 900))), "DATE"), ".\n")
    w("FINDINGS: Liver normal in size. No free fluid. Appendix normal.\n")
    w("IMPRESSION: No acute process.\n\n")
    w("Read by: ", (f"{reader.family.lower()}, {reader.given.lower()}", "DOCTOR"), " (", (_staff_code(rng, reader), "USERNAME"),
      ") on ", (_day(rng, visit + timedelta(days=1)), "DATE"), "\n")
    return w.note()


def _phone_encounter(rng: random.Random, visit: date) -> NoteB:
    w = _Writer()
    pt, doc = _person(rng), _person(rng)
    town, zip_code = rng.choice(TOWNS)
    years = rng.choice((rng.randrange(30, 89), rng.randrange(90, 104)))
    w("TELEPHONE ENCOUNTER\n")
    w((_day(rng, visit), "DATE"), " -- spoke with ", (pt.given, "PATIENT"), " ", (pt.family, "PATIENT"), ", ")
    _age(rng, w, years)
    w(" year old, at ", (_phone(rng), "PHONE"), ".\n")
    w("Current address ", (f"{rng.randrange(2, 990)} {rng.choice(ROADS)}", "STREET"), ", ", (town, "CITY"), " ",
      (zip_code, "ZIP"), ".\n")
    w("Requests refill; last visit ", (_month_year(rng, visit - timedelta(days=120)), "DATE"), " with ",
      (doc.family.upper(), "DOCTOR"), ".\n")
    w("ID ", (_record_number(rng), "IDNUM"), " verified. Advised follow-up at ", (rng.choice(HOSPITALS), "HOSPITAL"), ".\n")
    w((doc.written(rng), "DOCTOR"), " / ", (_staff_code(rng, doc), "USERNAME"), "\n")
    return w.note()


LAYOUTS = (_triage, _shift_note, _radiology, _phone_encounter)


def generate_note_b(rng: random.Random) -> NoteB:
    """One note in one of this module's layouts, on a random date, with its gold PHI spans."""
    visit = date(2010, 1, 1) + timedelta(days=rng.randrange(0, 14 * 365))
    return rng.choice(LAYOUTS)(rng, visit)
