"""Fifth synthetic note generator: long US hospital records in the style of the i2b2 2006/2014 corpora.

Written apart from the other four generators and from the de-identifier's recognizers, with its own
vocabularies, as the held-out corpus: discharge summaries, operative reports, radiology and echo reports,
timestamped nursing and progress notes, outpatient notes with a narrative social history, and medication
reconciliations, 2-4k characters each, with messy text (ALL CAPS blocks, missing spaces, names wrapped
across lines) and many PHI look-alikes (eponyms, drug names, doses, scores, times, lab values).
Every i2b2-2014 PHI type is annotated with exact spans.

    python -m simulations.synthetic.notes_e DIR --notes N --seed S
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

from privacy.deid.evaluation import GoldNote, gold_span
from simulations.synthetic.command import write_notes_command

GIVEN_NAMES = (
    "Harlan", "Delphine", "Thaddeus", "Marisol", "Ignatius", "Rosalind", "Oluwaseun", "Xiomara", "Bartholomew",
    "Ngozi", "Leopold", "Yesenia", "Casimir", "Imelda", "Dragan", "Priyanka", "Anselm", "Faustina", "Kwabena",
    "Wilhelmina", "Tomasz", "Mirela", "Eustace", "Soraya", "Jovan", "Lucinda", "Hiroshi", "Perpetua", "Ezekiel",
    "Ines", "Radomir", "Thuy", "Cornelius", "Adaeze", "Magnus", "Zuleika", "Osvaldo", "Bernadette", "Kenji",
    "Ottilie", "Rafferty", "Lakshmi", "Gus", "Velma", "Dashiell", "Noor", "Alphonse", "Teodora", "Winston", "Amara",
)
# Surnames include ordinary English words and non-Anglo names on purpose.
SURNAMES = (
    "Marsh", "Fairweather", "Goodnight", "Stone", "Winter", "Brook", "Pickens", "Hale", "Bishop", "Sparrow",
    "Mercer", "Rivers", "Bloom", "Golden", "Hardy", "Frost", "Moody", "Carver", "Swift", "Fields", "Temple",
    "Oyelaran", "Vukovic", "Szymanski", "Thibodeaux", "Nwachukwu", "Ferreira-Lima", "Abughazaleh", "Tran",
    "Quispe", "Harutyunyan", "Castellanos", "Lindqvist", "Okonkwo-Bell", "Mukherjee", "Zielinski", "Dubois",
    "Achterberg", "Yamaguchi", "Haddadin", "Oduya", "Papadakis", "Rautio", "Bertolucci", "Villalobos", "Kaur",
    "Ibarra", "Obuya", "MacTavish", "O'Driscoll", "De la Pena", "Van Wyk",
)
HOSPITALS = (
    ("Saint Brendan Regional Medical Center", "SBRMC"), ("Harrowgate Memorial Hospital", "HMH"),
    ("Pinecrest Valley Hospital", "PVH"), ("Mercy Lutheran Medical Center", "MLMC"),
    ("Calloway County General", "CCG"), ("Our Lady of the Rosary Hospital", "OLRH"),
    ("Wexford University Hospital", "WUH"), ("Bayside Veterans Affairs Medical Center", "Bayside VAMC"),
    ("Thornbury Children's Hospital", "TCH"), ("Eastbrook Community Hospital", "ECH"),
)
CLINICS = (
    "Fennimore Family Practice", "Northgate Internal Medicine Associates", "Riverbend Cardiology Group",
    "Halcyon Primary Care", "Sycamore Street Health Center", "Lakeview Orthopedic Associates",
)
DEPARTMENTS = (
    "Cardiac Step-Down Unit", "Surgical ICU", "Interventional Radiology", "Infusion Center",
    "Pulmonary Function Lab", "Bone Marrow Transplant Unit", "Labor and Delivery", "Wound Care Clinic",
)
CITIES = (
    ("Millbrook", "Ohio", "OH"), ("Cedar Falls", "Iowa", "IA"), ("Port Lavaca", "Texas", "TX"),
    ("Wapakoneta", "Ohio", "OH"), ("Tewksbury", "Massachusetts", "MA"), ("Bozrah", "Connecticut", "CT"),
    ("Sandpoint", "Idaho", "ID"), ("Lumberton", "North Carolina", "NC"), ("Hamtramck", "Michigan", "MI"),
    ("Bayonne", "New Jersey", "NJ"), ("Kingman", "Arizona", "AZ"), ("Opelousas", "Louisiana", "LA"),
    ("Winooski", "Vermont", "VT"), ("Chula Vista", "California", "CA"), ("Orem", "Utah", "UT"),
)
STREETS = (
    "Larkspur Lane", "Old Quarry Road", "Tremont Ave", "Pemberton St", "Halsey Boulevard", "County Road 12",
    "Willow Creek Dr", "Mill Pond Way", "Kearsarge Street", "Ridgeback Court", "Dunmore Pike", "Lafayette Sq",
)
COUNTRIES = ("Guatemala", "Nigeria", "Vietnam", "Portugal", "Armenia", "Peru", "Poland", "the Philippines", "Ghana")
LANDMARKS = (
    "Lake Winnipesaukee", "the Outer Banks", "Yellowstone", "Mount Rainier", "the Boundary Waters",
    "Cape Cod", "the Ozarks", "Pismo Beach", "the Adirondacks",
)
COMPANIES = (
    "Halvorsen Freight", "Brightwater Dairy Cooperative", "Kestrel Aerospace", "Dunmore Steel", "Pell & Sons Roofing",
    "Quarry Hill Casino", "Tri-County Transit", "Northstar Mutual", "Gaspard Textiles", "Amberline Logistics",
)
SCHOOLS = ("Millbrook High School", "Saint Agnes Academy", "Calloway Community College", "Ridgeview Elementary")
CHURCHES = ("First Baptist Church", "St. Casimir Parish", "Grace Fellowship", "Holy Trinity Greek Orthodox Church")
PROFESSIONS = (
    "retired machinist", "long-haul truck driver", "elementary school teacher", "hairdresser", "welder",
    "registered nurse", "accountant", "line cook", "electrician", "dairy farmer", "corrections officer",
    "software engineer", "home health aide", "pastor", "carpenter", "bus driver",
)
HOLIDAYS = ("Christmas", "Thanksgiving", "Easter", "New Year's Eve", "the Fourth of July", "Labor Day")
SEASONS = ("spring", "summer", "fall", "winter")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
INSURERS = ("Blue Cross Blue Shield", "Medicaid", "Medicare", "Aetna", "Harvard Pilgrim", "Tufts Health Plan")

# PHI look-alikes that must stay: eponyms, drugs, devices, scores, headings.
EPONYMS = ("Foley catheter", "Murphy sign", "Babinski reflex", "Parkinson disease", "Graves disease",
           "Bell palsy", "Cushing syndrome", "Wilson disease", "Swan-Ganz catheter", "Whipple procedure",
           "Hartmann pouch", "Glasgow Coma Scale", "Mallampati", "Apgar", "Homans sign", "Kernig sign")
EPONYM_DISEASES = ("Parkinson disease", "Graves disease", "Hashimoto thyroiditis", "Crohn disease", "Bell palsy",
                   "Raynaud phenomenon", "Barrett esophagus", "Addison disease", "Sjogren syndrome", "Paget disease")
DRUGS = (
    ("Lasix", "40 mg PO daily"), ("Coumadin", "5 mg PO qHS"), ("metoprolol succinate", "50 mg PO daily"),
    ("lisinopril", "20 mg PO daily"), ("atorvastatin", "80 mg PO qHS"), ("Keflex", "500 mg PO QID x 7 days"),
    ("insulin glargine", "22 units SC qHS"), ("Protonix", "40 mg IV q12h"), ("heparin", "5000 units SC TID"),
    ("Zosyn", "3.375 g IV q6h"), ("vancomycin", "1250 mg IV q12h"), ("Percocet", "5/325 1-2 tabs q4-6h PRN"),
    ("aspirin", "81 mg PO daily"), ("Plavix", "75 mg PO daily"), ("levothyroxine", "88 mcg PO daily"),
    ("prednisone", "40 mg PO daily, taper"), ("albuterol MDI", "2 puffs q4h PRN"), ("Eliquis", "5 mg PO BID"),
    ("gabapentin", "300 mg PO TID"), ("Colace", "100 mg PO BID"), ("Senna", "2 tabs PO qHS"),
)
PROBLEMS = (
    "congestive heart failure exacerbation", "community-acquired pneumonia", "NSTEMI", "COPD exacerbation",
    "acute cholecystitis", "small bowel obstruction", "diabetic ketoacidosis", "cellulitis of the left leg",
    "atrial fibrillation with rapid ventricular response", "acute kidney injury", "GI bleed", "syncope",
)

Value = tuple[str, str | None]


class _Note:
    """Accumulates note text and the exact spans of the PHI written into it."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, str]] = []
        self.length = 0
        self.caps = False

    def text(self, s: str) -> None:
        s = s.upper() if self.caps else s
        self.parts.append(s)
        self.length += len(s)

    def phi(self, s: str, kind: str) -> None:
        start = self.length
        self.text(s)
        self.spans.append((start, self.length, kind))

    def fill(self, template: str, ctx: dict[str, Value | Callable[[], Value]]) -> None:
        """Writes ``template``, replacing each ``{key}`` with ``ctx[key]`` (a value, or a call drawing a fresh one)."""
        pos = 0
        for m in re.finditer(r"\{(\w+)\}", template):
            self.text(template[pos:m.start()])
            value = ctx[m.group(1)]
            s, kind = value() if callable(value) else value
            if kind:
                self.phi(s, kind)
            else:
                self.text(s)
            pos = m.end()
        self.text(template[pos:])

    def gold(self, note_id: str) -> GoldNote:
        text = "".join(self.parts)
        return GoldNote(note_id, text, [gold_span(text, s, e, kind) for s, e, kind in self.spans])


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(n))


class _Persona:
    """One patient's record-level facts, drawn once per note so the same names and dates recur."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.female = rng.random() < 0.5
        self.given, self.last = rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)
        self.middle = rng.choice("ABCDEFGHJKLMRSTW")
        self.age = rng.choice([rng.randrange(19, 89), rng.randrange(19, 89), rng.randrange(90, 104)])
        self.year = rng.randrange(2041, 2099) if rng.random() < 0.6 else rng.randrange(1996, 2026)
        self.month, self.day = rng.randrange(1, 13), rng.randrange(1, 27)
        self.stay = rng.randrange(2, 9)
        self.hospital, self.hospital_abbr = rng.choice(HOSPITALS)
        self.city, self.state, self.state_abbr = rng.choice(CITIES)
        self.doctors = [(rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)) for _ in range(4)]
        self.relative = (rng.choice(GIVEN_NAMES), rng.choice(("wife", "husband", "daughter", "son", "sister",
                                                               "niece", "partner", "brother")))
        self.mrn = _digits(rng, rng.choice((7, 8)))
        self.problem = rng.choice(PROBLEMS)

    # --- value makers: each returns (text, i2b2 TYPE or None)
    def date(self, offset: int = 0) -> Value:
        rng, y = self.rng, self.year
        m, d = self.month, min(28, self.day + offset)
        style = rng.randrange(7)
        if style == 0:
            s = f"{y}-{m:02d}-{d:02d}"
        elif style == 1:
            s = f"{m:02d}/{d:02d}/{y % 100:02d}"
        elif style == 2:
            s = f"{m}/{d}/{y}"
        elif style == 3:
            s = f"{MONTHS[m - 1]} {d}, {y}"
        elif style == 4:
            s = f"{d} {MONTHS[m - 1][:3]} {y}"
        elif style == 5:
            s = f"{m}/{d}"
        else:
            s = f"{MONTHS[m - 1][:3].upper()}-{d:02d}-{y}"
        return s, "DATE"

    def vague_date(self) -> Value:
        rng = self.rng
        style = rng.randrange(6)
        if style == 0:
            return rng.choice(MONTHS), "DATE"
        if style == 1:
            return f"{rng.choice(MONTHS)} {self.year - rng.randrange(1, 6)}", "DATE"
        if style == 2:
            return str(self.year - rng.randrange(1, 30)), "DATE"
        if style == 3:
            return rng.choice(WEEKDAYS), "DATE"
        if style == 4:
            return rng.choice(HOLIDAYS), "DATE"
        return rng.choice(SEASONS), "DATE"

    def age_text(self) -> Value:
        rng, a = self.rng, self.age
        return rng.choice((f"{a}-year-old", f"{a} year old", f"{a} yo", f"{a}yo", f"{a}")), "AGE"

    def doctor(self, i: int, style: int | None = None) -> Value:
        given, last = self.doctors[i % len(self.doctors)]
        style = self.rng.randrange(5) if style is None else style
        return ((f"{given} {last}", f"{last}", f"{given[0]}. {last}", f"{given} {self.middle}. {last}",
                 f"{last}, {given}")[style], "DOCTOR")

    def username(self, i: int) -> Value:
        given, last = self.doctors[i % len(self.doctors)]
        last = re.sub(r"\W", "", last).lower()
        return self.rng.choice((f"{given[0].lower()}{last[:4]}", f"{given[0].lower()}{last[0]}{_digits(self.rng, 2)}",
                                last[:7])), "USERNAME"

    def patient(self, style: int | None = None) -> Value:
        style = self.rng.randrange(4) if style is None else style
        return ((f"{self.given} {self.last}", self.last, f"{self.last}, {self.given} {self.middle}",
                 f"{self.given} {self.middle}. {self.last}")[style], "PATIENT")


def _context(p: _Persona) -> dict[str, Value | Callable[[], Value]]:
    rng = p.rng
    title = "Ms." if p.female else "Mr."
    he, his = ("she", "her") if p.female else ("he", "his")
    city2, state2, abbr2 = rng.choice(CITIES)
    return {
        "title": (title, None), "he": (he, None), "He": (he.capitalize(), None), "his": (his, None),
        "His": (his.capitalize(), None),
        "pt": lambda: p.patient(), "pt_last": p.patient(1), "pt_full": p.patient(0), "pt_given": (p.given, "PATIENT"),
        "dr0": lambda: p.doctor(0), "dr1": lambda: p.doctor(1), "dr2": lambda: p.doctor(2), "dr3": lambda: p.doctor(3),
        "dr0_full": p.doctor(0, 0), "dr1_last": p.doctor(1, 1),
        "user0": p.username(0), "user1": p.username(1),
        "date": lambda: p.date(0), "date1": lambda: p.date(1), "date2": lambda: p.date(2), "ddate": lambda: p.date(p.stay),
        "vdate": p.vague_date, "year": (str(p.year - rng.randrange(2, 25)), "DATE"),
        "weekday": (rng.choice(WEEKDAYS), "DATE"), "holiday": (rng.choice(HOLIDAYS), "DATE"),
        "season": (rng.choice(SEASONS), "DATE"),
        "age": p.age_text, "age_n": (str(p.age), "AGE"),
        "rel_age": (str(rng.randrange(20, 95)), "AGE"), "decade": (f"{rng.randrange(3, 9)}0s", "AGE"),
        "hosp": (p.hospital, "HOSPITAL"), "hosp_abbr": (p.hospital_abbr, "HOSPITAL"),
        "hosp2": (rng.choice(HOSPITALS)[0], "HOSPITAL"), "clinic": (rng.choice(CLINICS), "HOSPITAL"),
        "dept": (rng.choice(DEPARTMENTS), "DEPARTMENT"),
        "room": (rng.choice((f"{rng.randrange(2, 12)}{rng.choice('ABCDEW')}-{rng.randrange(1, 40):02d}",
                             f"{rng.randrange(100, 999)}", f"{rng.randrange(2, 9)}{rng.randrange(10, 60)}B")), "ROOM"),
        "bed": (str(rng.randrange(1, 30)), "ROOM"),
        "city": (p.city, "CITY"), "state": (p.state, "STATE"), "state_abbr": (p.state_abbr, "STATE"),
        "city2": (city2, "CITY"), "state2": (state2, "STATE"), "abbr2": (abbr2, "STATE"),
        "street": (f"{rng.randrange(3, 9999)} {rng.choice(STREETS)}", "STREET"),
        "zip": (_digits(rng, 5) if rng.random() < 0.8 else f"{_digits(rng, 5)}-{_digits(rng, 4)}", "ZIP"),
        "country": (rng.choice(COUNTRIES), "COUNTRY"), "landmark": (rng.choice(LANDMARKS), "LOCATION-OTHER"),
        "company": (rng.choice(COMPANIES), "ORGANIZATION"), "school": (rng.choice(SCHOOLS), "ORGANIZATION"),
        "church": (rng.choice(CHURCHES), "ORGANIZATION"), "insurer": (rng.choice(INSURERS), "ORGANIZATION"),
        "profession": (rng.choice(PROFESSIONS), "PROFESSION"),
        "rel_name": (p.relative[0], "PATIENT"), "rel": (p.relative[1], None),
        "friend": (f"{rng.choice(GIVEN_NAMES)} {rng.choice(SURNAMES)}", "PATIENT"),
        "phone": lambda: (rng.choice((f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}",
                                      f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}",
                                      f"x{_digits(rng, 5)}", f"{_digits(rng, 3)}.{_digits(rng, 3)}.{_digits(rng, 4)}")),
                          "PHONE"),
        "pager": (f"#{_digits(rng, 5)}", "PHONE"),
        "fax": (f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}", "FAX"),
        "email": (f"{p.doctors[0][0][0].lower()}{p.doctors[0][1].lower().replace(' ', '').replace(chr(39), '')}"
                  f"@{p.hospital_abbr.lower().replace(' ', '')}.org", "EMAIL"),
        "url": (f"www.{p.hospital_abbr.lower().replace(' ', '')}-portal.org/patients", "URL"),
        "ip": (f"10.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}", "IPADDR"),
        "ssn": (f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 4)}", "SSN"),
        "mrn": (p.mrn, "MEDICALRECORD"),
        "mrn_fmt": (f"{p.mrn[:3]}-{p.mrn[3:5]}-{p.mrn[5:]}", "MEDICALRECORD"),
        "plan": (f"{_letters(rng, 3)}{_digits(rng, 9)}", "HEALTHPLAN"),
        "account": (_digits(rng, 10), "ACCOUNT"),
        "license": (rng.choice((f"{_letters(rng, 2)}{_digits(rng, 7)}", f"MD{_digits(rng, 6)}")), "LICENSE"),
        "vehicle": (rng.choice((f"{_digits(rng, 1)}{_letters(rng, 3)}{_digits(rng, 3)}",
                                f"1{_letters(rng, 2)}{_digits(rng, 2)}{_letters(rng, 1)}{_digits(rng, 6)}")), "VEHICLE"),
        "device": (f"{_letters(rng, 3)}{_digits(rng, 6)}{_letters(rng, 1)}", "DEVICE"),
        "bioid": (f"BIO-{_digits(rng, 4)}-{_letters(rng, 2)}", "BIOID"),
        "idnum": (rng.choice((f"{_letters(rng, 1)}{_digits(rng, 2)}-{_digits(rng, 5)}", _digits(rng, 8),
                              f"{_letters(rng, 2)}{_digits(rng, 6)}")), "IDNUM"),
        "problem": (p.problem, None), "eponym": lambda: (rng.choice(EPONYMS), None),
        "eponym_dx": lambda: (rng.choice(EPONYM_DISEASES), None),
        "time": lambda: (f"{rng.randrange(0, 24):02d}{rng.choice(('00', '15', '30', '45'))}", None),
        "clock": lambda: (f"{rng.randrange(1, 12)}:{rng.randrange(0, 60):02d} {rng.choice(('AM', 'PM'))}", None),
        "ef": (str(rng.choice((20, 25, 30, 35, 40, 45, 50, 55, 60, 65))), None),
        "los": (str(p.stay), None),
    }


def _meds(b: _Note, n: int, numbered: bool = True) -> None:
    for i, (drug, dose) in enumerate(b.rng.sample(DRUGS, n), 1):
        b.text(f"{i}. {drug} {dose}\n" if numbered else f"{drug.upper()} {dose}\n")


def _labs(b: _Note) -> None:
    rng = b.rng
    b.text(f"Na {rng.randrange(128, 146)}  K {rng.randrange(30, 56) / 10}  Cl {rng.randrange(95, 110)}  "
           f"HCO3 {rng.randrange(16, 30)}  BUN {rng.randrange(8, 60)}  Cr {rng.randrange(6, 40) / 10}  "
           f"Glu {rng.randrange(70, 380)}\nWBC {rng.randrange(30, 190) / 10}  Hgb {rng.randrange(70, 160) / 10}  "
           f"Plt {rng.randrange(90, 450)}  INR {rng.randrange(9, 35) / 10}  Trop I {rng.randrange(1, 90) / 100}\n")


def _vitals(b: _Note) -> None:
    rng = b.rng
    b.text(f"T {rng.randrange(970, 1030) / 10}  HR {rng.randrange(52, 130)}  BP {rng.randrange(90, 190)}/"
           f"{rng.randrange(50, 110)}  RR {rng.randrange(12, 30)}  SpO2 {rng.randrange(86, 100)}% on "
           f"{rng.choice(('RA', '2L NC', '4 L nasal cannula', 'room air', '40% venti mask'))}\n")


def _social_history(b: _Note, ctx: dict) -> None:
    rng = b.rng
    sentences = [
        "{He} was born in {city2}, {state2} and moved to {city} in {year}.",
        "{He} grew up in {country} and came to the United States in {vdate}.",
        "Works as a {profession} at {company}; has been there since {year}.",
        "Previously worked for {company} until {his} retirement in {year}.",
        "Lives with {his} {rel} {rel_name} on {street} in {city}.",
        "{His} {rel}, {rel_name}, is very involved and accompanies {him} today.",
        "{He} is active at {church} and sings in the choir.",
        "Graduated from {school}; {his} grandson now attends there.",
        "Recently returned from a trip to {landmark} over {holiday}.",
        "Plans to visit family in {country} this {season}.",
        "Drinks 2-3 beers on weekends, quit smoking in {year} (40 pack-years).",
        "No illicit drugs. Drives a pickup; states {he} was in an MVA last {weekday} (plate {vehicle}, per police report).",
        "Neighbor {friend} checks on {him} daily.",
        "{He} enjoys fishing at {landmark} with {his} {rel}.",
    ]
    for s in rng.sample(sentences, rng.randrange(5, 9)):
        b.fill(s + " ", ctx)
    b.text("\n")


def _header_discharge(b: _Note, ctx: dict) -> None:
    b.fill("\n\n{hosp}\nDISCHARGE SUMMARY\n\nPatient: {pt}    MRN: {mrn}    Acct #: {account}\n"
           "Admission Date: {date}\nDischarge Date: {ddate}\nAttending: {dr0}, MD\nDictated By: {dr1}\n"
           "Service: Medicine, {dept}\n\n", ctx)


def _discharge(b: _Note, ctx: dict) -> None:
    _header_discharge(b, ctx)
    b.fill("HISTORY OF PRESENT ILLNESS:\n{title} {pt_last} is a {age} {profession} with a history of HTN, DM2 "
           "and {eponym_dx}, who presented to the {hosp_abbr} ED on {date} with {problem}. {He} was seen by "
           "Dr. {dr2} in clinic on {weekday} and referred in. Symptoms began around {vdate}. Of note, {he} "
           "was admitted to {hosp2} ({vdate}) for a similar episode.\n\n", ctx)
    b.text("PAST MEDICAL HISTORY:\n1. Hypertension\n2. Type 2 diabetes mellitus, HbA1c 8.4%\n")
    b.fill("3. CAD s/p CABG x3 ({year}) by Dr. {dr3}\n4. {eponym_dx}\n5. s/p pacemaker, serial no. {device}\n\n", ctx)
    b.text("ADMISSION MEDICATIONS:\n")
    _meds(b, b.rng.randrange(4, 8))
    b.text("\nPHYSICAL EXAM ON ADMISSION:\n")
    _vitals(b)
    b.fill("Gen: NAD. HEENT: PERRLA, EOMI, {eponym} negative. CV: RRR, no m/r/g. Lungs: bibasilar crackles.\n"
           "Abd: soft, NT/ND. Ext: 2+ pitting edema to knees.\n\nLABS:\n", ctx)
    _labs(b)
    b.fill("\nHOSPITAL COURSE:\n{title} {pt_last} was admitted to {room} on the {dept}. {He} was diuresed with IV Lasix "
           "and transitioned to PO on hospital day 3. Cardiology (Dr. {dr1}) was consulted on {date1}. Echo showed EF "
           "{ef}%. Pt seen w/ Dr.{dr2} on {date2}, who agreed with plan. {He} remained in house {los} days.\n\n", ctx)
    b.caps = b.rng.random() < 0.5
    b.fill("DISCHARGE DIAGNOSIS: {problem}\nCONDITION ON DISCHARGE: STABLE\nDISPOSITION: home with VNA, "
           "{street}, {city}, {state_abbr} {zip}\n", ctx)
    b.caps = False
    b.text("\nDISCHARGE MEDICATIONS:\n")
    _meds(b, b.rng.randrange(4, 8))
    b.fill("\nFOLLOW-UP: Dr. {dr0} at {clinic} in 1-2 weeks, tel {phone}; fax records to {fax}.\n"
           "Patient portal: {url}\n\n{dr0_full}, M.D.\nDEA {license}\n\nDictated By: {dr1_last}\n"
           "ENTERED BY: {user1}  {date}  {time}\ncc: Dr. {dr3}, {hosp2}\n", ctx)


def _operative(b: _Note, ctx: dict) -> None:
    b.fill("\n\n{hosp} -- OPERATIVE REPORT\n\nNAME: {pt}\nUNIT NO: {mrn_fmt}\nDATE OF OPERATION: {date}\n"
           "SURGEON: {dr0}, M.D.\nASSISTANT: {dr1}, PA-C\nANESTHESIA: General endotracheal, Dr. {dr2}\n"
           "OR: {room}\n\n", ctx)
    b.caps = True
    b.fill("PREOPERATIVE DIAGNOSIS: {problem}\nPOSTOPERATIVE DIAGNOSIS: SAME\n"
           "PROCEDURE: LAPAROSCOPIC CHOLECYSTECTOMY WITH INTRAOPERATIVE CHOLANGIOGRAM\n", ctx)
    b.caps = False
    b.fill("\nINDICATIONS: The patient is a {age} {he} with RUQ pain, positive {eponym} and gallbladder wall "
           "thickening on US of {date1}. Risks, benefits and alternatives were discussed with the patient and "
           "{his} {rel} {rel_name}, who consented.\n\n", ctx)
    b.fill("DESCRIPTION OF PROCEDURE: The patient was brought to the OR and placed supine. After induction of "
           "general anesthesia a {eponym} was placed. The abdomen was prepped and draped in the usual sterile "
           "fashion. A 12 mm Hasson trocar was placed at the umbilicus under direct vision; pneumoperitoneum to "
           "15 mmHg. Three 5 mm ports were placed. Calot's triangle was dissected and the critical view of "
           "safety obtained. The cystic duct and artery were clipped x3 and divided. Cholangiogram showed free "
           "flow into the duodenum without filling defects. The gallbladder was removed from the liver bed with "
           "electrocautery and extracted in an Endocatch bag. Hemostasis was confirmed. EBL 25 mL. Fluids 1200 "
           "mL LR. Specimen to pathology, accession {idnum}. Sponge and needle counts correct x2.\n\n", ctx)
    b.fill("Implant: none. Mesh lot {device} not used.\nThe patient tolerated the procedure well and was taken "
           "to PACU in stable condition. Dr. {dr0} was present for the entire procedure.\n\n"
           "{dr0_full}, MD, FACS\nTranscribed by: {user0}   {date}  {time}\n", ctx)


def _imaging(b: _Note, ctx: dict) -> None:
    rng = b.rng
    echo = rng.random() < 0.5
    b.fill("\n\n{hosp} DEPARTMENT OF RADIOLOGY\n\nPATIENT: {pt}   MR#: {mrn}   DOB: {vdate}   AGE: {age_n}\n"
           "EXAM DATE: {date}  {time}\nREFERRING: {dr1}\nACCESSION: {idnum}\nWORKSTATION: {ip}\n\n", ctx)
    if echo:
        b.fill("TRANSTHORACIC ECHOCARDIOGRAM\nIndication: dyspnea, r/o CHF.\nLV: mildly dilated, EF {ef}% by "
               "Simpson biplane. Wall motion: inferior hypokinesis. RV: normal size, TAPSE 1.9 cm.\nValves: mild "
               "MR, trace TR, RVSP 38 mmHg. Aortic valve trileaflet, no AS.\nPericardium: no effusion.\n"
               "Compared with prior study of {vdate}, EF has declined.\n", ctx)
    else:
        b.fill("CT CHEST/ABDOMEN/PELVIS WITH IV CONTRAST\nTechnique: 100 mL Omnipaque 350. DLP 812 mGy-cm.\n"
               "FINDINGS: 6 mm RUL nodule (series 3 image 47), stable since {vdate}. No PE. Mild emphysema. "
               "Liver with 1.2 cm hypodensity segment 7, likely cyst. Gallbladder: {eponym} not applicable. "
               "Kidneys: Bosniak I cyst left. No lymphadenopathy. Degenerative change L4-L5.\n", ctx)
    b.caps = rng.random() < 0.6
    b.fill("\nIMPRESSION:\n1. Findings as above.\n2. Recommend follow-up per Fleischner criteria in 6-12 months.\n"
           "Results called to Dr. {dr1_last} at {clock} on {date} by {dr2}.\n", ctx)
    b.caps = False
    b.fill("\nElectronically signed: {dr2}, MD  {date}\nPrior outside films from {hosp2} reviewed "
           "(CD received {vdate}).\n", ctx)
    b.text("\nTECHNOLOGIST NOTE: Patient tolerated the exam. No contrast reaction. IV 20g left AC, "
           "flushed. ")
    _vitals(b)
    b.fill("Creatinine prior to contrast 0.9 mg/dL (eGFR >60). Protocol per ACR guidelines; Dr. {dr1_last}'s "
           "office notified, callback {phone}.\n", ctx)


def _nursing(b: _Note, ctx: dict) -> None:
    rng = b.rng
    b.fill("\n\nNURSING PROGRESS NOTE -- {dept}, {hosp_abbr}\nPt: {pt}  Rm {room}  MRN {mrn}\n\n", ctx)
    for _ in range(rng.randrange(5, 8)):
        b.fill("{date} {time}  ", ctx)
        b.fill(rng.choice((
            "Pt resting in bed, A&Ox3, denies pain. VS stable. {eponym} intact draining clear yellow urine.",
            "c/o 6/10 incisional pain, Percocet 1 tab given per order. Reassessed at {clock}: 2/10.",
            "Dr. {dr1} at bedside, aware of BP 92/54, 500 mL NS bolus ordered. ",
            "{rel} {rel_name} called ({phone}), updated on plan w/ pt permission.",
            "Pt ambulated in hallway x2 with walker and PT. Tolerated well. Fall precautions maintained.",
            "FSBG 212, 4 units lispro given per sliding scale. Diet: cardiac/ADA, tolerating 75%.",
            "Paged Dr.{dr2} re: HR 124 afib, pager {pager}. Metoprolol 5 mg IV given x1. HR now 96.",
            "Pt tearful, states {he} misses {his} church group at {church}. Chaplain consulted.",
            "Wife/family at bedside. Pt requested to call {friend} re: feeding {his} dog.",
            "Moved to bed {bed}, telemetry box {device} applied. Fall risk score 45 (Morse).",
        )) + "\n", ctx)
        if rng.random() < 0.5:
            _vitals(b)
    b.fill("\nI&O: 1850/2400. Braden 16. Skin intact except stage 1 on coccyx, Mepilex applied.\n"
           "Plan: cont tele, daily wts, strict I&O, AM labs.\n\n-- {user0}, RN  {date}  {time}\n", ctx)
    b.fill("\nPHYSICIAN PROGRESS NOTE  HD#{los}\nS: feels better, no CP/SOB overnight. O: ", ctx)
    _vitals(b)
    _labs(b)
    b.fill("A/P: {age} w/ {problem}, improving.\n- cont current regimen\n- d/w Dr. {dr0}; likely d/c {weekday} "
           "if stable\n{dr3}/{user1}\n", ctx)


def _outpatient(b: _Note, ctx: dict) -> None:
    b.fill("\n\nRecord date: {date}\n\n{clinic}\n{street}, {city}, {state_abbr} {zip}\nTel {phone}  Fax {fax}\n\n"
           "{pt_full}  MRN {mrn}  Insurance: {insurer}, member ID {plan}\n\n", ctx)
    b.fill("{title} {pt_last} returns for follow-up. I last saw {him} in {vdate}. Since then {he} has had "
           "a stay at {hosp2} for {problem} and followed up with Dr. {dr1} of cardiology. {He} reports "
           "improved energy but still gets short of breath walking up the hill to {his} mailbox. "
           "Denies orthopnea, PND. {His} {rel} {rel_name} thinks {he} has been more forgetful since {holiday}.\n\n",
           ctx)
    b.text("SOCIAL HISTORY: ")
    _social_history(b, ctx)
    b.fill("\nFAMILY HISTORY: Mother died at {rel_age} of stroke; father with {eponym_dx}, died in his {decade}. "
           "Sister with {eponym_dx}. Brother with colon cancer dx age {rel_age}.\n\nMEDICATIONS:\n", ctx)
    _meds(b, b.rng.randrange(4, 7))
    b.text("\nEXAM: ")
    _vitals(b)
    b.fill("Well appearing {age} in NAD. Lungs clear. Heart RRR, II/VI SEM at RUSB. No {eponym}. "
           "Neuro: MMSE 26/30.\n\nASSESSMENT AND PLAN:\n#1 {problem} - resolved, continue meds.\n"
           "#2 HTN - BP above goal, increase lisinopril to 40 mg.\n#3 Health maintenance - Pneumovax today, "
           "colonoscopy due {vdate}. Forms for {company} (employer) completed.\n\n"
           "RTC 3 months or sooner PRN. Questions: {email}\n\n{dr0_full}, MD\n{user0}\n", ctx)


def _med_rec(b: _Note, ctx: dict) -> None:
    rng = b.rng
    b.fill("\n\nMEDICATION RECONCILIATION -- ADMISSION\n{hosp}  Pharmacy Dept\nPatient: {pt}  MRN: {mrn}  "
           "SSN: {ssn}\nDate: {date}  Reviewed by: {user1}, PharmD\nSource: patient, {rel} {rel_name}, "
           "and outpatient pharmacy (Walgreens on {street}, {city}, ph {phone})\n\nHOME MEDICATIONS:\n", ctx)
    _meds(b, rng.randrange(6, 10), numbered=False)
    b.fill("\nAllergies: PCN (rash), sulfa (hives), shellfish.\nLast dose of Coumadin: {weekday} evening. "
           "INR 2.7 on {date1}.\nPatient brought pill bottles from home; bottle of Plavix filled {vdate} by "
           "Dr. {dr2} at {clinic}.\n\nDISCREPANCIES:\n", ctx)
    b.text("- Pt not taking metformin 1000 mg BID x 2 weeks due to GI upset.\n- Dose of Lasix on bottle 20 mg vs "
           "40 mg in records: confirmed 40 mg.\n- OTC: fish oil 1 g daily, Tylenol 650 mg PRN, melatonin 3 mg.\n")
    b.fill("\nInsurance: {insurer} (plan {plan}). Prior authorization for Eliquis requested; ref {idnum}.\n"
           "Discussed with Dr.{dr0} (pager {pager}).\n\n", ctx)
    b.caps = True
    b.fill("PLAN: CONTINUE HOME MEDS EXCEPT HOLD METFORMIN AND COUMADIN. START HEPARIN GTT PER PROTOCOL.\n"
           "ADMITTING MD: {dr0}\n", ctx)
    b.caps = False
    b.fill("\nBiometric badge scan {bioid} verified for controlled-substance override at {clock}.\n"
           "Patient was given a printed list and the portal address {url}.\n", ctx)
    b.fill("\nNOTE: {title} {pt_last} requests all future refills go to the mail-order pharmacy; "
           "{he} spends {season} with {his} {rel} in {city2}, {abbr2}. Driver's license {license} on file "
           "for pickup of controlled substances.\n", ctx)


def _review_of_systems(b: _Note, ctx: dict) -> None:
    """Clinical filler dense in PHI look-alikes (eponyms, scores, capitalised headings, doses)."""
    b.fill("\nREVIEW OF SYSTEMS: Negative except as in HPI. No fevers, chills, night sweats. No {eponym}. "
           "Denies melena, hematochezia. GCS 15. CHA2DS2-VASc 4, HAS-BLED 2, Wells score 1.5, NYHA class II-III. "
           "PHQ-9 = 6. Timed Up and Go 14 sec.\nADDENDUM {date2} {time}: discussed with Dr. {dr3} "
           "({hosp_abbr} Heart Failure Program); agrees with plan. Med list charted from workstation {ip}.\n", ctx)


def _wrapped_signature(b: _Note, ctx: dict, p: _Persona) -> None:
    """A signature block where the doctor's name wraps across a line, as it does in real dictations."""
    given, last = p.doctors[0]
    b.text("\n\n____________________________\n")
    b.phi(f"{given}\n{last}", "DOCTOR")
    b.fill(", M.D.  Lic. {license}\nTD: {date}  {time}  {user0}\n", ctx)


_NOTE_KINDS: tuple[Callable[[_Note, dict], None], ...] = (
    _discharge, _operative, _imaging, _nursing, _outpatient, _med_rec,
)


def generate_notes_e(n: int, seed: int) -> list[GoldNote]:
    """``n`` long gold-annotated hospital notes, the same for the same ``(n, seed)``."""
    notes = []
    for i in range(n):
        rng = random.Random(f"notes-e-{seed}-{i}")
        persona = _Persona(rng)
        ctx = _context(persona)
        ctx["him"] = ("her" if persona.female else "him", None)
        b = _Note(rng)
        kinds = rng.sample(_NOTE_KINDS, 2) if rng.random() < 0.5 else [rng.choice(_NOTE_KINDS)]
        for kind in kinds:
            kind(b, ctx)
        _review_of_systems(b, ctx)
        if rng.random() < 0.4:
            _wrapped_signature(b, ctx, persona)
        notes.append(b.gold(f"synthetic-e-{i}"))
    return notes


def main(argv: list[str] | None = None) -> list[Path]:
    return write_notes_command(generate_notes_e, __doc__, argv, default_notes=50)


if __name__ == "__main__":
    main()
