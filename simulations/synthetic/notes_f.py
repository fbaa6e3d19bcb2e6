"""Sixth synthetic note generator, the held-out corpus: written apart from the recognizers and from the other five
generators (none of their code or vocabularies was read), with its own names, places and templates.

Note kinds: emergency-department triage, telephone encounters, surgical pathology reports, physical-therapy
evaluations, psychiatry intakes, referral letters, interfacility transfer summaries, lab addenda with critical-value
calls, patient-portal message threads, home-health visits and pharmacist anticoagulation consults. Styles vary per
note: key: value, pipe-delimited and ALL-CAPS headers, "Pt:" abbreviations; names as Title, UPPER, lower,
"LAST, FIRST", initials and "smith j"; a dozen date formats, weekdays and holidays; ages as "54-year-old", "54 yo",
"54y", "age 54" and "in her 90s". Gold spans follow i2b2-2014 conventions (the number of an age only, dates without
surrounding words, names without titles or credentials, family members as PATIENT, every clinician as DOCTOR), and
the text carries look-alikes that are not PHI: drugs and doses, eponyms, scores, lab values, times, vitals and ICD-10
codes.

    python -m simulations.synthetic.notes_f DIR --notes N --seed S
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

from privacy.deid.evaluation import GoldNote, gold_span
from simulations.synthetic.command import write_notes_command

FIRST_F = (
    "Hope", "Faith", "Joy", "Rose", "May", "June", "Summer", "Grace", "Ivy", "Dawn", "Amber", "Olivia", "Priya",
    "Ananya", "Meera", "Mei", "Xiu", "Yuki", "Hana", "Fatima", "Aisha", "Leila", "Mariam", "Zainab", "Nkechi", "Abena",
    "Chiamaka", "Ngozi", "Esi", "Sofia", "Lucia", "Ximena", "Guadalupe", "Marisol", "Ingrid", "Astrid", "Siobhan",
    "Niamh", "Agnieszka", "Katarzyna", "Olga", "Svetlana", "Linh", "Thuy", "Keisha", "Tamika", "Brenda", "Dolores",
    "Eleanor", "Margaret", "Ruth", "Bonnie", "Carmen", "Kalani", "Noa", "Tali", "Ayesha", "Lourdes", "Beatriz",
)
FIRST_M = (
    "Frank", "Will", "Mark", "Bill", "Art", "Grant", "Rich", "Sonny", "Chase", "Hunter", "Wade", "Miles", "Gene",
    "Jose", "Luis", "Santiago", "Joao", "Tiago", "Ahmed", "Omar", "Yusuf", "Tariq", "Kwame", "Kofi", "Chinedu",
    "Oluwaseun", "Tunde", "Raj", "Arjun", "Vikram", "Sanjay", "Wei", "Jian", "Hiroshi", "Kenji", "Minh", "Duc",
    "Sung-min", "Dmitri", "Sergei", "Pavel", "Lars", "Bjorn", "Sean", "Declan", "Patrick", "Giuseppe", "Marco",
    "Tomasz", "Dariusz", "Mehmet", "Emre", "Avi", "Moshe", "Kai", "Keanu", "Tyrone", "DeShawn", "Harold", "Walter",
    "Eugene", "Clarence", "Rafael",
)
LAST = (
    "Baker", "Wells", "Brown", "Young", "Long", "Gray", "Hall", "Page", "Price", "Cook", "Bishop", "Hope", "Frank",
    "Mills", "Fox", "Little", "Strong", "Sharp", "Moody", "Hardy", "Black", "White", "Small", "Church", "Lamb",
    "Sparrow", "Winter", "Pope", "Knight", "Savage", "Graves", "Nguyen", "Tran", "Pham", "Le", "Kim", "Park", "Choi",
    "Chen", "Wang", "Li", "Zhang", "Liu", "Tanaka", "Sato", "Nakamura", "Patel", "Shah", "Iyer", "Reddy", "Gupta",
    "Chatterjee", "Okafor", "Adeyemi", "Mensah", "Owusu", "Diallo", "Abubakar", "Hassan", "Haddad", "Khalil", "Nasser",
    "Al-Rashid", "Garcia", "Hernandez", "Ramirez", "Gonzalez", "Ortiz", "Castillo", "Morales", "Souza", "Ferreira",
    "Kowalski", "Nowak", "Wisniewski", "Ivanova", "Petrov", "Volkov", "Johansson", "Lindqvist", "Eriksen", "O'Brien",
    "McCarthy", "Fitzgerald", "Murphy", "Russo", "Esposito", "Romano", "Schmidt", "Weber", "Becker", "Yilmaz",
    "Cohen", "Levi", "Friedman", "Kahananui", "Begay", "Yazzie", "Washington", "Robinson", "Okonkwo-Smith",
    "van der Berg", "De La Cruz", "St. Pierre",
)
HOSPITALS = (
    ("Mercy Ridge Medical Center", "MRMC"), ("St. Brendan's Hospital", "SBH"), ("Lakeshore General Hospital", "LGH"),
    ("Valley Hope Hospital", "VHH"), ("Kessler-Vance Memorial Hospital", "KVMH"),
    ("Northgate Community Hospital", "NCH"), ("Holy Cross of the Pines", "HCP"),
    ("Bayside Regional Medical Center", "BRMC"), ("Cedar Bluff Hospital", "CBH"),
    ("Harmon County Medical Center", "HCMC"), ("Riverbend Children's Hospital", "RCH"),
    ("Elmwood Rehabilitation Hospital", "ERH"), ("Grace Point Medical Center", "GPMC"),
    ("Wells Memorial Hospital", "WMH"), ("University Hospital of Fairhaven", "UHF"),
)
FACILITIES = ("Maple Court Nursing and Rehabilitation", "Brookside Skilled Nursing", "Heritage Oaks Care Center",
              "Sunny Acres Transitional Care")
ORGANIZATIONS = (
    "Tri-County Transit", "Pioneer Feed & Grain", "Oakline Software", "Meadowbrook Elementary School",
    "Dunmore Logistics", "Coastal Roofing Co.", "Harwick Steel", "Lakeview Credit Union", "Blue Heron Bakery",
    "Northfield Public Library", "Granite State Movers", "Quarry Hill Dental",
)
PHARMACIES = ("Corner Drug", "Medway Pharmacy", "Hillside Apothecary", "QuickCare Pharmacy #218", "Elm Street Drug")
INSURERS = ("Keystone Mutual Health", "Harborview Health Plan", "Prairie Shield Insurance", "Unified Care Alliance")
HOME_AGENCIES = ("Brightway Home Health", "Hearthside Visiting Nurses", "CareBridge Home Services")
CITIES = (
    ("Worcester", "MA", "Massachusetts", "016"), ("Springfield", "IL", "Illinois", "627"),
    ("Dayton", "OH", "Ohio", "454"), ("Fresno", "CA", "California", "937"), ("Tacoma", "WA", "Washington", "984"),
    ("Duluth", "MN", "Minnesota", "558"), ("Macon", "GA", "Georgia", "312"), ("Tulsa", "OK", "Oklahoma", "741"),
    ("Bangor", "ME", "Maine", "044"), ("Eugene", "OR", "Oregon", "974"), ("Mobile", "AL", "Alabama", "366"),
    ("Reading", "PA", "Pennsylvania", "196"), ("Florence", "SC", "South Carolina", "295"),
    ("Marion", "IN", "Indiana", "469"), ("Jackson", "MS", "Mississippi", "392"), ("Aurora", "CO", "Colorado", "800"),
    ("Troy", "NY", "New York", "121"), ("Bristol", "CT", "Connecticut", "060"), ("Lafayette", "LA", "Louisiana", "705"),
    ("Burlington", "VT", "Vermont", "054"), ("Concord", "NH", "New Hampshire", "033"),
)
STREET_NAMES = (
    "Birchwood", "Hollis", "Quarry", "Old Mill", "Kensington", "Magnolia", "Cedar Hill", "Harbor View", "Franklin",
    "Lincoln", "Water", "Main", "Church", "Pleasant", "Prospect", "Sycamore", "Juniper", "Ridgeline", "Orchard",
    "Lakeside", "Winding Brook", "Highland", "Maple", "Depot",
)
STREET_SUFFIXES = ("St", "Street", "Ave", "Avenue", "Rd", "Road", "Ln", "Dr", "Ct", "Blvd", "Way", "Terrace")
COUNTRIES = ("Portugal", "Ghana", "Vietnam", "Haiti", "Guatemala", "Ukraine", "India", "Nigeria", "the Philippines",
             "Brazil", "Somalia", "Ireland", "Poland", "Lebanon", "Mexico", "Cape Verde", "El Salvador", "Laos")
PROFESSIONS = (
    "welder", "schoolteacher", "long-haul truck driver", "nurse's aide", "software engineer", "line cook",
    "carpenter", "accountant", "bus driver", "hairdresser", "dairy farmer", "postal carrier", "electrician",
    "graduate student", "firefighter", "dental hygienist", "warehouse worker", "pastor", "paralegal", "mechanic",
    "home health aide", "cashier", "landscaper", "librarian",
)
UNITS = ("MICU", "SICU", "CCU", "4 West Telemetry", "Cardiac Step-Down Unit", "6 North Medicine",
         "Neuro ICU", "Behavioral Health Unit", "Labor and Delivery", "Burn Unit")
LANDMARKS = ("Blue Hills Reservation", "Riverside Mall", "Lake Wabasso", "Harmon County Fairgrounds", "Pier 7",
             "Founders Park", "the Route 9 rest area", "Thornton Ice Arena", "Gull Point Beach")
HOLIDAYS = ("Christmas", "Thanksgiving", "New Year's Eve", "the Fourth of July", "Easter", "Labor Day")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
# relation -> the relative's sex (None: either)
RELATIONS = {"daughter": "F", "son": "M", "wife": "F", "husband": "M", "sister": "F", "brother": "M", "niece": "F",
             "partner": None, "granddaughter": "F", "nephew": "M"}

_MARK = re.compile(r"\[\[([A-Z-]+)\|(.+?)\]\]")


def m(kind: str, value: str) -> str:
    """``value`` marked as a gold span of i2b2 type ``kind``, inside a note template."""
    return f"[[{kind}|{value}]]"


def render(note_id: str, marked: str) -> GoldNote:
    """The note with its marks removed and each mark turned into a gold span at its offsets."""
    parts, spans, pos, n = [], [], 0, 0
    for match in _MARK.finditer(marked):
        plain, value = marked[pos:match.start()], match.group(2)
        parts += [plain, value]
        spans.append((n + len(plain), n + len(plain) + len(value), match.group(1)))
        n += len(plain) + len(value)
        pos = match.end()
    parts.append(marked[pos:])
    text = "".join(parts)
    return GoldNote(note_id, text, [gold_span(text, s, e, k) for s, e, k in spans])


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fmt_date(rng: random.Random, d: dt.date, full: bool = True) -> str:
    """``d`` in one of many written forms; ``full=False`` also allows forms without a year."""
    mon = MONTHS[d.month - 1]
    forms = [f"{d.month}/{d.day}/{d.year % 100:02d}", f"{d.month:02d}/{d.day:02d}/{d.year}",
             f"{d.day:02d}-{mon[:3]}-{d.year}", d.isoformat(), f"{mon} {d.day}, {d.year}", f"{d.day} {mon[:3]} {d.year}",
             f"{mon[:3].upper()} {d.day:02d} {d.year}", f"{d.month}/{d.day}/{d.year}", f"{mon[:3]}. {d.day}, {d.year}"]
    if not full:
        forms += [f"{mon[:3]} {_ordinal(d.day)}", f"{d.month}/{d.day}", f"{mon} {d.day}", f"{d.month}/{d.year % 100:02d}"]
    return rng.choice(forms)


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randrange(201, 990), rng.randrange(200, 1000), rng.randrange(10000)
    return rng.choice((f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}",
                       f"{a}{b}{c:04d}", f"{b}-{c:04d}", f"{a}/{b}-{c:04d}"))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


class _Person:
    def __init__(self, rng: random.Random, sex: str | None = None):
        self.sex = sex or rng.choice("FM")
        self.first = rng.choice(FIRST_F if self.sex == "F" else FIRST_M)
        self.middle = rng.choice("ABCDEFGHJKLMNPRSTW")
        self.last = rng.choice(LAST)

    def styled(self, rng: random.Random) -> str:
        f, mi, last = self.first, self.middle, self.last
        return rng.choice((f"{f} {last}", f"{f} {last}", f"{f} {mi}. {last}", f"{f.upper()} {last.upper()}",
                           f"{last}, {f}", f"{last.upper()}, {f.upper()} {mi}", f"{f[0]}. {mi}. {last}",
                           f"{last.lower()} {f[0].lower()}", f"{f.lower()} {last.lower()}", f"{last.upper()},{f.upper()}"))

    def username(self, rng: random.Random) -> str:
        f, last = self.first.lower(), re.sub(r"\W", "", self.last.lower())
        return rng.choice((f"{f[0]}{last}", f"{f[0]}{self.middle.lower()}{last[:1]}{rng.randrange(1, 99)}",
                           f"{f[0].upper()}{last.upper()}{rng.randrange(1, 9)}", f"{last[:5]}{f[:2]}",
                           f"{f}.{last}"))


class _Ctx:
    """One note's patient, staff, places and dates, and helpers that write them marked."""

    def __init__(self, rng: random.Random):
        self.rng = r = rng
        self.pt = _Person(r)
        self.age = r.randrange(90, 104) if r.random() < 0.1 else r.randrange(18, 90)
        self.visit = dt.date(2008, 1, 1) + dt.timedelta(days=r.randrange(17 * 365))
        self.dob = self.visit - dt.timedelta(days=self.age * 365 + r.randrange(20, 340))
        self.mrn = r.choice((_digits(r, 7), _digits(r, 8), f"{_digits(r, 2)}-{_digits(r, 2)}-{_digits(r, 3)}",
                             f"{_letters(r, 1)}{_digits(r, 7)}", f"00{_digits(r, 6)}"))
        self.hospital, self.hosp_abbr = r.choice(HOSPITALS)
        self.city, self.state, self.state_name, zip3 = r.choice(CITIES)
        self.zip = zip3 + _digits(r, 2) + (f"-{_digits(r, 4)}" if r.random() < 0.2 else "")
        self.street = f"{r.randrange(3, 9900)} {r.choice(STREET_NAMES)} {r.choice(STREET_SUFFIXES)}"
        if r.random() < 0.25:
            self.street += r.choice((f", Apt {r.randrange(1, 40)}", f" Unit {r.randrange(1, 9)}{r.choice('ABC')}"))
        self.docs = [_Person(r) for _ in range(3)]
        self.nurse = _Person(r)
        self.relation = r.choice(list(RELATIONS))
        self.relative = _Person(r, RELATIONS[self.relation])
        self.he, self.his = ("she", "her") if self.pt.sex == "F" else ("he", "his")
        self.title = r.choice(("Ms.", "Mrs.")) if self.pt.sex == "F" else "Mr."

    def name(self, person: _Person | None = None) -> str:
        return m("PATIENT", (person or self.pt).styled(self.rng))

    def mr(self) -> str:
        """Title and surname, the surname alone marked."""
        return f"{self.title} {m('PATIENT', self.pt.last)}"

    def doc(self, i: int = 0, credential: str = "MD") -> str:
        d, r = self.docs[i], self.rng
        return r.choice((f"Dr. {m('DOCTOR', d.last)}", f"{m('DOCTOR', f'{d.first} {d.last}')}, {credential}",
                         f"{m('DOCTOR', f'{d.first[0]}. {d.last}')} {credential}",
                         f"{m('DOCTOR', f'{d.last.upper()}, {d.first.upper()}')} {credential}",
                         f"Dr. {m('DOCTOR', f'{d.first} {d.middle}. {d.last}')}"))

    def staff(self, person: _Person, credential: str) -> str:
        return f"{m('DOCTOR', person.styled(self.rng))}, {credential}"

    def date(self, d: dt.date | None = None, full: bool = True) -> str:
        return m("DATE", fmt_date(self.rng, d or self.visit, full))

    def days(self, n: int) -> dt.date:
        return self.visit + dt.timedelta(days=n)

    def weekday(self, d: dt.date) -> str:
        return m("DATE", WEEKDAYS[d.weekday()])

    def age_phrase(self) -> str:
        """The patient's age and sex as a noun phrase, the number alone marked."""
        a, r = str(self.age), self.rng
        man, sx = ("woman", "F") if self.pt.sex == "F" else ("man", "M")
        if self.age >= 90 and r.random() < 0.5:
            return f"{man} in {self.his} {m('AGE', f'{self.age // 10 * 10}s')}"
        return r.choice((f"{m('AGE', a)}-year-old {man}", f"{m('AGE', a)} yo {sx}", f"{m('AGE', a)}y {sx}",
                         f"{m('AGE', a)} y/o {man}", f"{man}, age {m('AGE', a)},", f"{m('AGE', a)}-yr-old {sx}",
                         f"{man} aged {m('AGE', a)}"))

    def phone(self, kind: str = "PHONE") -> str:
        return m(kind, _phone(self.rng))

    def address(self) -> str:
        state = self.rng.choice((self.state, self.state, self.state_name))
        return f"{m('STREET', self.street)}, {m('CITY', self.city)}, {m('STATE', state)} {m('ZIP', self.zip)}"

    def hosp(self, short_ok: bool = True) -> str:
        if short_ok and self.rng.random() < 0.25:
            return m("HOSPITAL", self.hosp_abbr)
        return m("HOSPITAL", self.rng.choice((self.hospital, self.hospital, self.hospital.upper())))

    def header(self, title: str, extra: list[tuple[str, str]]) -> str:
        """A note header in one of four styles over the patient's name, MRN, DOB and the fields in ``extra``."""
        r = self.rng
        fields = [(r.choice(("Patient", "Pt", "Name", "PATIENT NAME")), self.name()),
                  (r.choice(("MRN", "MR#", "Med Rec No", "Medical Record #")), m("MEDICALRECORD", self.mrn)),
                  (r.choice(("DOB", "D.O.B.", "Birth date")), self.date(self.dob)), *extra]
        style = r.randrange(4)
        if style == 0:
            body = "\n".join(f"{k}: {v}" for k, v in fields)
        elif style == 1:
            body = " | ".join(f"{k}: {v}" for k, v in fields)
        elif style == 2:
            body = "\n".join(f"{k.upper():<18}{v}" for k, v in fields)
        else:
            body = "\n".join("   ".join(f"{k}: {v}" for k, v in fields[i:i + 2]) for i in range(0, len(fields), 2))
        return f"{self.hosp() if r.random() < 0.6 else self.hosp(False).upper()}\n{title}\n{body}\n"


def _cap(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:]


def _time(rng: random.Random) -> str:
    h, mi = rng.randrange(24), rng.randrange(60)
    return rng.choice((f"{h:02d}:{mi:02d}", f"{h:02d}{mi:02d}", f"{(h % 12) or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}"))


def _vitals(rng: random.Random) -> str:
    return (f"T {rng.uniform(36.1, 39.4):.1f} C  HR {rng.randrange(52, 128)}  BP {rng.randrange(96, 182)}/"
            f"{rng.randrange(54, 104)}  RR {rng.randrange(12, 28)}  SpO2 {rng.randrange(88, 101)}% "
            f"{rng.choice(('RA', 'on 2L NC', 'room air'))}")


def _meds(rng: random.Random, k: int = 4) -> str:
    meds = ("Lasix 40 mg PO daily", "Eliquis 5 mg BID", "Keppra 500 mg BID", "Zoloft 50 mg daily",
            "Flomax 0.4 mg qHS", "Synthroid 88 mcg daily", "metformin 1000 mg BID", "lisinopril 20 mg daily",
            "atorvastatin 40 mg qHS", "Coumadin 5 mg (Mon/Wed/Fri), 2.5 mg other days", "Januvia 100 mg daily",
            "Tylenol 650 mg q6h PRN", "gabapentin 300 mg TID", "Xarelto 20 mg with supper", "Humalog sliding scale",
            "albuterol HFA 2 puffs q4h PRN", "Spiriva 18 mcg inhaled daily", "sertraline 100 mg daily")
    return "; ".join(rng.sample(meds, k))


_PMH = ("HTN", "DM2 (E11.65)", "COPD (J44.1)", "CKD stage 3b", "atrial fibrillation on anticoagulation",
        "Parkinson disease", "Hashimoto thyroiditis", "Crohn disease", "Graves disease s/p RAI", "prior Bell palsy",
        "Barrett esophagus", "Hodgkin lymphoma in remission", "CAD s/p CABG x3", "OSA on CPAP", "Raynaud phenomenon",
        "HFrEF (EF 30%)", "essential hypertension (I10)", "low back pain (M54.50)")


def _pmh(rng: random.Random) -> str:
    return ", ".join(rng.sample(_PMH, rng.randrange(2, 5)))


def ed_triage(c: _Ctx) -> str:
    r = c.rng
    kind = r.randrange(3)
    if kind == 0:
        cc = "MVC"
        story = (f"Restrained driver, low-speed rear-end collision on {m('STREET', f'Route {r.randrange(1, 140)}')} "
                 f"near {m('CITY', c.city)} about 40 min prior to arrival. Airbags deployed. Police report lists the "
                 f"other vehicle, plate {m('VEHICLE', _letters(r, 3) + _digits(r, 4))}. Denies LOC. C-spine cleared by "
                 "NEXUS criteria in the field.")
    elif kind == 1:
        cc = "fall"
        story = (f"Tripped on a curb at {m('LOCATION-OTHER', r.choice(LANDMARKS))} this morning, struck R hip. Unable "
                 "to bear weight. No head strike per bystander. Not on anticoagulation per pt.")
    else:
        cc = "chest pain"
        story = ("Substernal pressure since yesterday evening, worse with exertion, radiating to L arm. Wells score "
                 "0, HEART score 5. Took aspirin 324 mg at home. ECG in triage: NSR, no STE, read by ED attending.")
    if r.random() < 0.4:
        story += f" Returned from {m('COUNTRY', r.choice(COUNTRIES))} {r.randrange(2, 20)} days ago."
    mode = r.choice(("ambulance", "private vehicle, driven by " + c.relation, "walk-in"))
    bed = r.choice((f"Bed {r.randrange(1, 30)}", f"ED {r.randrange(1, 40)}", f"Hall {r.randrange(1, 9)}",
                    f"Rm {r.randrange(1, 6)}{r.choice('ABC')}-{r.randrange(1, 20)}"))
    return (
        c.header(r.choice(("EMERGENCY DEPARTMENT TRIAGE NOTE", "ED TRIAGE", "Emergency Dept - Triage Assessment")),
                 [("Arrival", f"{c.date()} {_time(r)}"), ("Bed", m("ROOM", bed)), ("ESI", str(r.randrange(1, 5)))])
        + f"\nCHIEF COMPLAINT: {cc}\n\n"
        f"HPI: {_cap(c.age_phrase())} with PMH of {_pmh(r)} who arrives by {mode}. {story}\n\n"
        f"Triage vitals: {_vitals(r)}. Pain {r.randrange(0, 11)}/10. GCS 15 (E4V5M6).\n"
        f"Allergies: {r.choice(('NKDA', 'penicillin (hives)', 'sulfa - rash', 'codeine (nausea)', 'latex'))}\n"
        f"Home meds: {_meds(r, 3)}\n"
        f"Sepsis screen: negative. Morse fall score {r.choice((25, 45, 55, 65))}. Babinski downgoing bilaterally.\n"
        f"Accompanied by {c.relation} {c.name(c.relative)}, cell {c.phone()}.\n"
        f"Last tetanus: {r.choice(('unknown', 'within 5 years', c.date(c.days(-r.randrange(400, 3000)), False)))}.\n\n"
        f"Triage RN: {c.staff(c.nurse, 'RN')} ({m('USERNAME', c.nurse.username(r))}) {_time(r)}\n"
        f"Assigned provider: {c.doc(0)}\n"
    )


def telephone(c: _Ctx) -> str:
    r = c.rng
    caller_is_pt = r.random() < 0.5
    caller = c.name() if caller_is_pt else f"{c.name(c.relative)} ({c.relation})"
    since = c.days(-r.randrange(2, 6))
    symptom = r.choice(("increased leg swelling and a 4 lb weight gain", "dizziness when standing",
                        "burning with urination and low-grade fever", "a red, warm area around the incision",
                        "loose stools x5 per day after starting Augmentin"))
    return (
        f"{r.choice(('TELEPHONE ENCOUNTER', 'Telephone Note', 'PHONE CALL - NURSE TRIAGE'))}\n"
        f"Date/time: {c.date()} {_time(r)}\nCaller: {caller}   Callback: {c.phone()}\n"
        f"Re: {c.name()} | DOB {c.date(c.dob)} | MRN {m('MEDICALRECORD', c.mrn)}\n\n"
        f"Caller reports {symptom} since {c.weekday(since)}. Denies chest pain, SOB at rest or syncope. "
        f"{'Pt' if caller_is_pt else 'Family'} confirms taking {_meds(r, 2)}. Last seen in clinic "
        f"{c.date(c.days(-r.randrange(10, 90)), False)} by {c.doc(0)}; BMP then: Na 136, K 4.1, Cr 1.18.\n\n"
        f"Per protocol (Schmitt-Thompson, adult), disposition: see within 24 hours. Appointment offered for "
        f"{c.weekday(c.days(1))} at {_time(r)} with {c.doc(1)}; accepted. ED precautions reviewed, caller verbalized "
        f"understanding using teach-back.\n"
        f"Preferred pharmacy: {m('ORGANIZATION', r.choice(PHARMACIES))}, {m('STREET', c.street)} - "
        f"{c.phone()}.\n\n"
        f"{c.staff(c.nurse, 'RN')}  [{m('USERNAME', c.nurse.username(r))}]\nRouted to: {c.doc(0)}\n\n"
        f"ADDENDUM {c.date(c.visit, False)} {_time(r)}: Reviewed. Agree with plan; would hold Lasix tonight if "
        f"SBP < 100. -- {m('DOCTOR', c.docs[0].last.upper())}\n"
    )


def pathology(c: _Ctx) -> str:
    r = c.rng
    year2 = f"{c.visit.year % 100:02d}"
    accession = r.choice((f"S{year2}-{_digits(r, 5)}", f"SP-{c.visit.year}-{_digits(r, 6)}", f"{year2}S{_digits(r, 6)}"))
    history, organ, dx = r.choice((
        ("elevated PSA (7.8 ng/mL)", "Prostate, needle biopsies (12 cores)", "Prostatic adenocarcinoma, Gleason score 3+4=7 (Grade Group 2), "
         "involving 4 of 12 cores, 35% of tissue. Perineural invasion present."),
        ("positive FIT", "Colon, sigmoid, polypectomy", "Tubular adenoma with low-grade dysplasia; margin free. No high-grade "
         "dysplasia or invasive carcinoma."),
        ("BI-RADS 4C mass", "Breast, left, 2 o'clock, core biopsy", "Invasive ductal carcinoma, Nottingham grade 2 (3+2+1). ER positive "
         "(95%), PR positive (60%), HER2 1+ by IHC (negative)."),
        ("enlarging pearly papule", "Skin, right forearm, shave", "Basal cell carcinoma, nodular type, extending to the deep margin."),
        ("RUQ pain, positive Murphy sign", "Gallbladder, cholecystectomy", "Chronic cholecystitis with cholelithiasis. Rokitansky-Aschoff sinuses."),
    ))
    return (
        f"{c.hosp(False)}\n{m('DEPARTMENT', r.choice(('Department of Pathology', 'Surgical Pathology', 'Anatomic Pathology Laboratory')))}\n"
        f"SURGICAL PATHOLOGY REPORT\n\n"
        f"Accession: {m('IDNUM', accession)}        Patient: {m('PATIENT', f'{c.pt.last.upper()}, {c.pt.first.upper()}')}\n"
        f"MRN: {m('MEDICALRECORD', c.mrn)}   Age/Sex: {m('AGE', str(c.age))}/{c.pt.sex}   "
        f"Account: {m('ACCOUNT', _digits(r, 9))}\n"
        f"Collected: {c.date(c.days(-2))}   Received: {c.date(c.days(-1))}   Reported: {c.date()}\n"
        f"Submitting physician: {c.doc(1)}\n\n"
        f"CLINICAL HISTORY:\n{_cap(c.age_phrase())} with {history}.\n\n"
        f"SPECIMEN:\nA. {organ}\n\n"
        f"GROSS DESCRIPTION:\nReceived in formalin, labeled with the patient's name ({m('PATIENT', c.pt.styled(r))}) "
        f"and medical record number. The specimen consists of multiple tan-pink tissue fragments, 0.2 to 1.4 cm. "
        f"Entirely submitted in cassettes A1-A{r.randrange(2, 9)}. Grossed by {m('USERNAME', c.nurse.username(r))}.\n\n"
        f"MICROSCOPIC DESCRIPTION:\nSections show the diagnostic findings below; H&E and immunostains reviewed with "
        f"appropriate controls.\n\n"
        f"FINAL DIAGNOSIS:\nA. {dx}\n\n"
        f"Intradepartmental consultation: {c.doc(2)} concurs.\n"
        f"Electronically signed: {m('DOCTOR', c.docs[0].styled(r))}, MD, Pathologist, {c.date()} {_time(r)}\n"
        f"CLIA #: {m('LICENSE', f'{_digits(r, 2)}D{_digits(r, 7)}')}\n"
    )


def physical_therapy(c: _Ctx) -> str:
    r = c.rng
    surgery = c.days(-r.randrange(10, 60))
    therapist = c.docs[2]
    return (
        c.header(r.choice(("PHYSICAL THERAPY INITIAL EVALUATION", "Outpatient PT Eval", "PT - PLAN OF CARE")),
                 [("Age", m("AGE", str(c.age))), ("Date of service", c.date()),
                  ("Dept", m("DEPARTMENT", r.choice(("Rehabilitation Services", "Outpatient Physical Therapy", "Sports Medicine & Rehab"))))])
        + f"Referring provider: {c.doc(0)}\n"
        f"Dx: M17.11 primary OA, right knee; s/p R TKA {c.date(surgery)} at {c.hosp()}\n\n"
        f"SUBJECTIVE\nPt reports pain {r.randrange(2, 8)}/10 with stairs, 2/10 at rest. Lives with {c.relation} "
        f"{c.name(c.relative)} in a two-story home in {m('CITY', c.city)} with 12 steps to enter, rail on L. Works as a "
        f"{m('PROFESSION', r.choice(PROFESSIONS))} at {m('ORGANIZATION', r.choice(ORGANIZATIONS))}; goal is to "
        f"return to work and walk at {m('LOCATION-OTHER', r.choice(LANDMARKS))} without a cane.\n\n"
        f"OBJECTIVE\nKnee AROM 5-95 deg, PROM 3-102 deg. Quad lag 10 deg. Lachman and McMurray deferred post-op. "
        f"Berg Balance {r.randrange(30, 56)}/56. TUG {r.uniform(8, 22):.1f} s. 6MWT {r.randrange(150, 450)} m. "
        f"Gait with single-point cane, antalgic, decreased stance time R.\n\n"
        f"ASSESSMENT\nProgressing as expected for POD {(c.visit - surgery).days}. Tinetti 19/28 - moderate fall risk.\n\n"
        f"PLAN\n2x/week x 6 weeks: ther-ex, gait training, NMES to quads, HEP (issued, copy scanned). Next visit "
        f"{c.weekday(c.days(r.randrange(2, 5)))}. Re-eval due {c.date(c.days(42), False)}.\n\n"
        f"{m('DOCTOR', f'{therapist.first} {therapist.last}')}, PT, DPT   License {m('LICENSE', f'PT{_digits(r, 6)}')}\n"
    )


def psychiatry(c: _Ctx) -> str:
    r = c.rng
    moved = c.visit.year - r.randrange(2, 30)
    return (
        c.header(r.choice(("PSYCHIATRY INTAKE EVALUATION", "Behavioral Health - New Patient Intake", "PSYCH INTAKE")),
                 [("Date", c.date()), ("Clinician", c.doc(0)), ("Location", m("DEPARTMENT", r.choice(("Outpatient Psychiatry", "Behavioral Health Clinic", "Adult Mental Health Services"))))])
        + f"\nIDENTIFYING DATA: {c.mr()} is a {r.choice(('married', 'divorced', 'single', 'widowed'))} {c.age_phrase()} "
        f"employed as a {m('PROFESSION', r.choice(PROFESSIONS))}, referred by {c.doc(1)} for low mood.\n\n"
        f"HPI: Reports depressed mood, anhedonia and early waking for about 3 months, worse since "
        f"{m('DATE', r.choice(HOLIDAYS))}. Passive SI without plan or intent; denies HI, AVH. PHQ-9 "
        f"{r.randrange(10, 25)}, GAD-7 {r.randrange(5, 19)}. C-SSRS screen: low risk.\n\n"
        f"PAST PSYCHIATRIC HISTORY: One prior admission, to {c.hosp()} in {m('DATE', str(c.visit.year - r.randrange(2, 12)))}, "
        f"after an overdose of Tylenol. Trials of fluoxetine 20 mg (GI upset) and bupropion XL 150 mg.\n\n"
        f"SOCIAL HISTORY: Born in {m('COUNTRY', r.choice(COUNTRIES))}; came to the US in {m('DATE', str(moved))}. "
        f"Lives at {c.address()} with {c.his} {c.relation}, {m('PATIENT', c.relative.first)}. Alcohol 2-3 beers on "
        f"weekends; AUDIT-C 3. No illicit drugs. Attends services at {m('ORGANIZATION', c.relative.last + ' Street Chapel')}.\n\n"
        f"MSE: Casually dressed, fair eye contact, psychomotor slowing. Speech soft, normal rate. Mood 'flat'; "
        f"affect constricted. Thought process linear. Insight and judgment fair. MoCA 27/30.\n\n"
        f"DIAGNOSIS: F33.1 Major depressive disorder, recurrent, moderate.\n"
        f"PLAN: Start sertraline 25 mg x 7 days then 50 mg. CBT referral. Safety plan completed; crisis line "
        f"{c.phone()}. Return {c.date(c.days(r.randrange(14, 35)), False)}.\n"
    )


def referral_letter(c: _Ctx) -> str:
    r = c.rng
    to = c.docs[1]
    clinic_city, clinic_state, _, zip3 = r.choice(CITIES)
    clinic_street = f"{r.randrange(10, 999)} {r.choice(STREET_NAMES)} {r.choice(STREET_SUFFIXES)}"
    sender = c.docs[0]
    age = c.age_phrase()
    article = "an" if re.match(r"\[\[AGE\|(8|11\D|18\D)", age) else "a"
    dept, story, question = r.choice((
        ("Division of Cardiology", f"over the last few months has had exertional dyspnea, NT-proBNP "
         f"{r.randrange(300, 4000)} pg/mL; a Holter showed paroxysmal AF (burden 8%, CHA2DS2-VASc 4) and the echo "
         "showed LVEF 40-45% with moderate MR", "rhythm control and whether a Watchman device would suit"),
        ("Department of Neurology", "has a 6-month history of a resting tremor of the right hand with micrographia "
         "and reduced arm swing; Romberg negative, no Babinski sign. MRI brain was unremarkable", "whether this is "
         "early Parkinson disease and a DaTscan is warranted"),
        ("Gastroenterology Associates", f"has iron-deficiency anemia (Hgb {r.uniform(8, 10.5):.1f} g/dL, ferritin "
         f"{r.randrange(3, 12)} ng/mL) with a positive FIT, and no mass on a CT abdomen", "endoscopic evaluation"),
        ("Endocrine Clinic", "has a TSH of 0.21 mIU/L and a 2.3 cm TI-RADS 4 right thyroid nodule, seen on ultrasound",
         "fine-needle aspiration and management of subclinical hyperthyroidism"),
    ))
    domain = re.sub(r"[^a-z]", "", c.hospital.lower())[:14]
    email = f"{sender.first[0].lower()}{re.sub(r'[^a-z]', '', sender.last.lower())}@{domain}.org"
    return (
        f"{c.hosp(False)}\n{m('DEPARTMENT', dept)}\n"
        f"{c.address()}\nTel {c.phone()}   Fax {c.phone('FAX')}\n\n"
        f"{m('DATE', f'{MONTHS[c.visit.month - 1]} {c.visit.day}, {c.visit.year}')}\n\n"
        f"Dr. {m('DOCTOR', f'{to.first} {to.middle}. {to.last}')}\n{m('HOSPITAL', r.choice(HOSPITALS)[0])}\n"
        f"{m('STREET', clinic_street)}\n{m('CITY', clinic_city)}, {m('STATE', clinic_state)} {m('ZIP', zip3 + _digits(r, 2))}\n\n"
        f"RE: {c.name()}   DOB {c.date(c.dob)}   Hospital no. {m('MEDICALRECORD', c.mrn)}\n\n"
        f"Dear Dr. {m('DOCTOR', to.last)},\n\n"
        f"Thank you for seeing {c.mr()}, {article} {age} whom I saw in clinic on "
        f"the {m('DATE', f'{_ordinal(c.visit.day)} of {MONTHS[c.visit.month - 1]}')}. {c.he.capitalize()} has "
        f"{_pmh(r)}, and {story} on {c.date(c.days(-r.randrange(5, 40)), False)}.\n\n"
        f"Current medication: {_meds(r, 4)}.\n\n"
        f"I would value your opinion on {question}. {c.he.capitalize()} is hard of hearing; {c.his} {c.relation}, {m('PATIENT', f'{c.relative.first} {c.relative.last}')}, "
        f"usually attends and can be reached on {c.phone()}.\n\n"
        f"{r.choice(('Yours sincerely', 'With kind regards', 'Best wishes'))},\n\n\n"
        f"{m('DOCTOR', f'{sender.first} {sender.last}')}, MD, FACP\n"
        f"{m('EMAIL', email)}\n"
        f"cc: {c.doc(2)}; patient\n"
    )


def transfer(c: _Ctx) -> str:
    r = c.rng
    dest = r.choice([h for h in HOSPITALS if h[0] != c.hospital])[0]
    admit = c.days(-r.randrange(2, 12))
    room = r.choice((f"Rm {r.randrange(2, 9)}{r.randrange(10, 60)}", f"room {r.randrange(100, 899)}, bed {r.choice('AB')}",
                     f"{r.randrange(2, 9)}W-{r.randrange(1, 30)}"))
    hcp = f"{c.relative.first} {c.relative.last}"
    return (
        f"INTERFACILITY TRANSFER SUMMARY\n"
        f"FROM: {c.hosp(False)}, {m('ROOM', room)}\nTO: {m('HOSPITAL', dest)}, {m('DEPARTMENT', r.choice(UNITS))}\n"
        f"Transfer date: {c.date()}   Admit date: {c.date(admit)}\n"
        f"Sending MD: {c.doc(0)}   Accepting MD: {c.doc(1)} (accepted by phone {_time(r)})\n\n"
        f"PATIENT: {c.name()}    AGE: {m('AGE', str(c.age))}    SEX: {c.pt.sex}\n"
        f"MRN (sending): {m('MEDICALRECORD', c.mrn)}   SSN: {m('SSN', f'9{_digits(r, 2)}-{_digits(r, 2)}-{_digits(r, 4)}')}\n"
        f"Insurance: {m('ORGANIZATION', r.choice(INSURERS))}, member {m('HEALTHPLAN', _letters(r, 3) + _digits(r, 9))}\n\n"
        f"REASON FOR TRANSFER: {r.choice(('Need for interventional cardiology (NSTEMI, troponin peak 4.2).', 'Neurosurgical evaluation of subdural hematoma.', 'ECMO candidacy for refractory hypoxemia.', 'Higher level of care: septic shock on two pressors.'))}\n\n"
        f"HOSPITAL COURSE: {_cap(c.age_phrase())} with {_pmh(r)} admitted {c.date(admit, False)} with "
        f"{r.choice(('community-acquired pneumonia', 'acute on chronic systolic HF', 'GI bleed, Glasgow-Blatchford 12', 'altered mental status'))}. "
        f"Treated with ceftriaxone 2 g IV q24h and azithromycin. On {c.weekday(c.days(-1))} developed new "
        f"O2 requirement; CXR with bilateral infiltrates. Latest labs: WBC 14.6, Hgb 8.9, Plt 118, Na 131, K 5.2, "
        f"Cr 2.06 (baseline 1.3), lactate 2.8, INR 1.6.\n\n"
        f"LINES/DEVICES: R IJ CVC placed {c.date(c.days(-1), False)}; Foley. Dual-chamber pacemaker, serial "
        f"{m('DEVICE', _letters(r, 3) + _digits(r, 6) + _letters(r, 1))}.\n"
        f"CODE STATUS: Full code. HCP: {m('PATIENT', hcp)} ({c.relation}), {c.phone()}.\n"
        f"Transport: ALS, {m('ORGANIZATION', r.choice(('Lifeline Ambulance', 'Metro EMS', 'SkyCare Air Medical')))}, "
        f"ETA {_time(r)}.\n\n"
        f"Report called to {c.staff(c.nurse, 'RN')} on the receiving unit. Images pushed via PACS.\n"
    )


def lab_addendum(c: _Ctx) -> str:
    r = c.rng
    test, value, unit, crit = r.choice((("Potassium", f"{r.uniform(6.1, 7.2):.1f}", "mmol/L", ">= 6.0"),
                                        ("Glucose", str(r.randrange(31, 45)), "mg/dL", "< 50"),
                                        ("Hemoglobin", f"{r.uniform(5.1, 6.8):.1f}", "g/dL", "< 7.0"),
                                        ("INR", f"{r.uniform(5.2, 9.0):.1f}", "", "> 5.0"),
                                        ("Troponin I", f"{r.uniform(0.5, 12):.2f}", "ng/mL", "> 0.04")))
    called = c.docs[r.randrange(2)]
    return (
        f"{c.hosp(False).upper()} CLINICAL LABORATORY\n"
        f"{r.choice(('ADDENDUM - CRITICAL VALUE NOTIFICATION', 'Lab Addendum: critical result called', 'CORRECTED REPORT / CRITICAL CALL'))}\n\n"
        f"Pt: {c.name()}  MRN {m('MEDICALRECORD', c.mrn)}  Acct# {m('ACCOUNT', _digits(r, 10))}\n"
        f"Location: {m('DEPARTMENT', r.choice(UNITS))} {m('ROOM', f'bed {r.randrange(1, 24)}')}\n"
        f"Specimen: {m('IDNUM', f'{_letters(r, 1)}{_digits(r, 9)}')} ({r.choice(('plasma, lithium heparin', 'whole blood, EDTA', 'serum'))})\n"
        f"Collected {c.date()} {_time(r)}   Resulted {_time(r)}\n\n"
        f"{test}: {value} {unit}  (critical {crit})  ** CRITICAL **\n"
        f"Delta check: previous {test.lower()} on {c.date(c.days(-1), False)} was within range.\n\n"
        f"Called to and read back by {m('DOCTOR', called.styled(r))} at {_time(r)}. Called by "
        f"{m('USERNAME', c.nurse.username(r))}, MLS(ASCP).\n"
        f"Comment: {r.choice(('Specimen slightly hemolyzed (H index 45); recollection recommended.', 'Result verified by repeat analysis on second analyzer (Cobas 8000 unit 2).', 'No clots detected. QC within limits.'))}\n"
        f"CORRECTION {c.date(c.visit, False)}: originally reported under encounter {m('ACCOUNT', _digits(r, 10))} in error; "
        f"moved to the current encounter. Reviewed by {c.doc(2)}, Laboratory Medical Director.\n"
    )


def portal_message(c: _Ctx) -> str:
    r = c.rng
    portal = f"https://{r.choice(('mychart', 'portal', 'myhealth', 'connect'))}.{re.sub(r'[^a-z]', '', c.hospital.lower())[:12]}.org"
    user = re.sub(r"[^a-z]", "", c.pt.first.lower()) + r.choice((".", "_", "")) + re.sub(r"[^a-z]", "", c.pt.last.lower())
    email = f"{user}{r.randrange(1, 99)}@{r.choice(('gmail.com', 'yahoo.com', 'outlook.com', 'comcast.net'))}"
    doc = c.docs[0]
    sent = c.visit
    body = r.choice(("my fasting sugars have been 180-220 and i get shaky around 4pm, last a1c was 8.4. jardiance "
                     "was stopped by the kidney doctor", "the Metoprolol makes me so tired, i fall asleep at 3 pm. "
                     "BP on the pharmacy machine 118/72 and pulse 54. been like this", "still have the rash from the "
                     "Bactrim, now on my back too (pic attached). no fever. it's itchy"))
    greeting = r.choice((f"hi dr {m('DOCTOR', doc.last.lower())},", f"Dear Dr. {m('DOCTOR', doc.last)},",
                         f"Hello Dr {m('DOCTOR', f'{doc.first} {doc.last}')},"))
    return (
        f"PATIENT PORTAL MESSAGE  -  {m('URL', portal)}\n"
        f"From: {c.name()} <{m('EMAIL', email)}>\nTo: {m('DEPARTMENT', r.choice(('Primary Care', 'Endocrinology', 'Cardiology', 'Family Medicine')))} pool\n"
        f"Sent: {c.weekday(sent)}, {c.date(sent)} {_time(r)}\nSession IP: {m('IPADDR', f'{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}')}\n"
        f"Subject: {r.choice(('question about my sugar numbers', 'refill', 'side effects??', 'Appointment'))}\n\n"
        f"{greeting}\n"
        f"{body} since {m('DATE', MONTHS[c.days(-r.randrange(20, 80)).month - 1])}. i work nights as a {m('PROFESSION', r.choice(PROFESSIONS))} "
        f"so i sleep days. my {c.relation} {m('PATIENT', c.relative.first.lower())} picks up my meds at "
        f"{m('ORGANIZATION', r.choice(PHARMACIES))}. "
        f"i can come in {c.weekday(c.days(r.randrange(1, 6)))} after 2.\n"
        f"thanks\n{m('PATIENT', r.choice((c.pt.first.lower(), c.pt.first, f'{c.pt.first[0]}.{c.pt.last[0]}.')))}\n"
        f"{c.phone()}\n\n"
        f"---- Reply ({c.date(c.days(1))} {_time(r)}) ----\n"
        f"Hi {m('PATIENT', c.pt.first)}, this is {m('DOCTOR', c.nurse.first)}, RN, with Dr. {m('DOCTOR', doc.last)}'s team. "
        f"Please keep a log for one week and upload it here; call 911 for chest pain or trouble breathing. A "
        f"medication change may need prior authorization with "
        f"{m('ORGANIZATION', r.choice(INSURERS))} (member ID {m('HEALTHPLAN', _letters(r, 2) + _digits(r, 8))}). "
        f"We scheduled you {c.date(c.days(r.randrange(3, 9)), False)} at 2:40 PM.\n"
        f"-- {m('USERNAME', c.nurse.username(r))}\n"
    )


def home_health(c: _Ctx) -> str:
    r = c.rng
    clinician = c.nurse
    return (
        f"{m('ORGANIZATION', r.choice(HOME_AGENCIES)).upper() if r.random() < 0.5 else m('ORGANIZATION', r.choice(HOME_AGENCIES))}\n"
        f"SKILLED NURSING VISIT NOTE\n"
        f"Pt: {c.name()}    Visit: {c.date()}  Time in {_time(r)} / out {_time(r)}\n"
        f"Address: {c.address()}\nHome phone: {c.phone()}   Medicare: {m('HEALTHPLAN', f'{_digits(r, 1)}{_letters(r, 2)}{_digits(r, 1)}-{_letters(r, 2)}{_digits(r, 1)}-{_letters(r, 2)}{_digits(r, 2)}')}\n"
        f"Referring: {c.doc(0)}  Discharged from {m('HOSPITAL', r.choice(FACILITIES))} on {c.date(c.days(-r.randrange(3, 20)), False)}\n\n"
        f"HOMEBOUND STATUS: {_cap(c.age_phrase())}, requires walker and assist of one; leaving home is a taxing effort.\n"
        f"VITALS: {_vitals(r)}. Wt {r.uniform(50, 120):.1f} kg (was {r.uniform(50, 120):.1f} kg at start of care).\n"
        f"SKIN/WOUND: Stage 3 pressure injury sacrum 3.1 x 2.4 x 0.6 cm, 20% slough, no odor. Braden 14. "
        f"Cleansed NS, Medihoney and foam applied.\n"
        f"MEDS: Reconciled with pill organizer filled by {c.relation} {c.name(c.relative)}: {_meds(r, 4)}. "
        f"Found duplicate Lopressor and Toprol XL bottles; removed Lopressor per {c.doc(0)} (telephone order, read back).\n"
        f"TEACHING: Signs of infection, fall prevention, Kegel program. Caregiver return demo adequate.\n"
        f"PLAN: SN 2w3, PT 1w4. Next visit {c.weekday(c.days(r.randrange(2, 5)))}. Supplies ordered from "
        f"{m('ORGANIZATION', r.choice(('Medline', 'Northeast Medical Supply', 'Granite Home Medical')))}.\n\n"
        f"{c.staff(clinician, 'RN')}   Employee #{m('IDNUM', _digits(r, 6))}   e-signed {c.date(c.visit, False)} {_time(r)}\n"
    )


def pharmacist(c: _Ctx) -> str:
    r = c.rng
    rows = []
    inr = r.uniform(1.4, 2.6)
    for k in range(r.randrange(3, 6), 0, -1):
        d = c.days(-7 * k)
        rows.append(f"  {m('DATE', f'{d.month}/{d.day}')}   INR {inr:.1f}   {r.choice(('35', '37.5', '40', '42.5'))} mg/wk")
        inr = max(1.1, min(4.9, inr + r.uniform(-0.7, 0.8)))
    pharm = c.docs[2]
    return (
        c.header(r.choice(("CLINICAL PHARMACY CONSULT - ANTICOAGULATION", "Pharmacist Note: Warfarin Management", "ANTICOAG CLINIC / PHARMD VISIT")),
                 [("Visit", c.date()), ("Indication", r.choice(("AF (CHA2DS2-VASc 5)", "mechanical mitral valve", "recurrent DVT/PE")))])
        + f"\n{_cap(c.age_phrase())} seen for INR check, {r.choice(('in clinic', 'by phone', 'via video'))}. Goal INR "
        f"{r.choice(('2.0-3.0', '2.5-3.5'))}.\n\nRecent INR log:\n" + "\n".join(rows) + "\n"
        f"Today: INR {inr:.1f} (POC, CoaguChek).\n\n"
        f"Interacting changes: started Bactrim DS 1 tab BID on {c.weekday(c.days(-3))} from urgent care; "
        f"also taking turmeric and St. John's wort (advised to stop). HAS-BLED 3. No bleeding, bruising or dark stools.\n\n"
        f"Current regimen: Coumadin 5 mg tabs, {r.choice(('1 tab daily except 1/2 tab Sun and Thu', '1 tab daily'))}.\n"
        f"PLAN: Hold tonight, then resume at 10% lower weekly dose. Recheck {c.date(c.days(r.randrange(4, 9)), False)}. "
        f"Prescriber {c.doc(0)} (DEA {m('LICENSE', _letters(r, 2) + _digits(r, 7))}) notified.\n"
        f"Insurance: {m('ORGANIZATION', r.choice(INSURERS))}, ID {m('HEALTHPLAN', _letters(r, 3) + _digits(r, 8))}; "
        f"Rx account {m('ACCOUNT', f'RX-{_digits(r, 8)}')}.\n\n"
        f"{m('DOCTOR', pharm.styled(r))}, PharmD, BCPS  ({m('USERNAME', pharm.username(r))})  pager {c.phone()}\n"
    )


NOTE_KINDS = {
    "ed_triage": ed_triage, "telephone": telephone, "pathology": pathology, "physical_therapy": physical_therapy,
    "psychiatry": psychiatry, "referral_letter": referral_letter, "transfer": transfer, "lab_addendum": lab_addendum,
    "portal_message": portal_message, "home_health": home_health, "pharmacist": pharmacist,
}


def generate_notes_f(n: int, seed: int) -> list[GoldNote]:
    """``n`` gold-annotated notes, each from its own ``Random(f"notes-f-{seed}-{i}")`` (deterministic per note)."""
    notes = []
    kinds = list(NOTE_KINDS)
    for i in range(n):
        rng = random.Random(f"notes-f-{seed}-{i}")
        kind = kinds[i % len(kinds)] if rng.random() < 0.5 else rng.choice(kinds)
        notes.append(render(f"synthetic-f-{seed}-{i}-{kind}", NOTE_KINDS[kind](_Ctx(rng))))
    return notes


def main(argv: list[str] | None = None) -> list[Path]:
    return write_notes_command(generate_notes_f, __doc__, argv, default_notes=100)


if __name__ == "__main__":
    main()
