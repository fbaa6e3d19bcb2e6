"""The fourth synthetic note generator: longitudinal diabetic/cardiac records in the style of the i2b2-2014
de-identification corpus, with exact gold spans for every i2b2-2014 PHI type.

Written apart from the other generators, the recognizers and their word lists, so that its notes are a
held-out corpus: nothing in the de-identifier may be tuned on them. Each patient gets a few notes (clinic
visits, admissions, ED visits, discharge summaries, consults, letters, telephone notes) with layouts,
spellings and casing drawn from a seeded RNG; the same ``(n, seed)`` always gives the same notes.

    python -m simulations.synthetic.notes_d DIR --notes 50 --seed 0   # writes DIR/<note_id>.xml (i2b2 shape)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from privacy.deid.evaluation import GoldNote, gold_span
from simulations.synthetic.command import write_notes_command

# ---------------------------------------------------------------------------------------------- data tables

MALE_FIRST = ("Arlo", "Bennett", "Caspian", "Dorian", "Ezekiel", "Fitzgerald", "Gideon", "Horatio", "Ignacio",
              "Jasper", "Kendrick", "Lazaro", "Matteo", "Nestor", "Osvaldo", "Percival", "Quentin", "Rafferty",
              "Silas", "Thaddeus", "Ulric", "Vaughn", "Wendell", "Xander", "Yannick", "Zebulon", "Amos", "Bart",
              "Cyrus", "Delbert", "Earl", "Floyd", "Hank", "Irving", "Lyle", "Merle", "Ned", "Otis", "Rufus", "Wade")
FEMALE_FIRST = ("Adelina", "Beatrix", "Clementine", "Delphine", "Esmerelda", "Fernanda", "Giselle", "Honora",
                "Imelda", "Jocasta", "Katrina", "Leonora", "Marisol", "Nadia", "Ophelia", "Priscilla", "Rosalind",
                "Sabine", "Theodora", "Ursula", "Valentina", "Wilhelmina", "Yolanda", "Zinnia", "Agnes", "Bernice",
                "Cora", "Dot", "Edna", "Flora", "Gert", "Hazel", "Ida", "June", "Lois", "Mae", "Nell", "Opal",
                "Pearl", "Ruby")
# Surnames: plenty that are ordinary English words or look like drugs, places or eponyms.
SURNAMES = ("Abernathy", "Balogun", "Castellanos", "Delacroix", "Eriksen", "Fairweather", "Gutierrez", "Haddad",
            "Iwasaki", "Jablonski", "Kowalczyk", "Lindqvist", "Montoya", "Nakamura", "Okonkwo", "Papadakis",
            "Quintero", "Rasmussen", "Szabo", "Trujillo", "Umberger", "Vasquez", "Whitlock", "Yamamoto",
            "Zielinski", "Baker", "Hall", "Rose", "Stone", "Frost", "Bell", "Church", "Marsh", "Field", "Hill",
            "Long", "Mason", "Price", "Snow", "Rich", "Young", "King", "Wood", "Fox", "Moody", "Sharp", "Banks",
            "Brooks", "Gross", "Hardy", "Little", "Noble", "Park", "Reed", "Savage", "Strong", "Walker", "Weaver",
            "Love", "Bland", "Carey", "Dover", "Ford", "Glass", "Hunter", "Lamb", "Major", "Nash", "Pace")
TRANSCRIBERS = ("ferrell", "quill", "hatch", "dunmore", "pike", "larkin", "voss", "tate", "bixby", "orr",
                "kemp", "sallow", "rudd", "mayhew")

# (full name, acronym, informal mention in narrative)
HOSPITALS = (
    ("Harbor Meridian Hospital", "HMH", "Meridian"),
    ("Pinecrest Community Health Center", "PCHC", "Pinecrest"),
    ("Saint Albion Medical Center", "SAMC", "St. Albion's"),
    ("Cottage Hill Family Clinic", "CHFC", "the Cottage clinic"),
    ("Lakeshore General Hospital", "LGH", "Lakeshore"),
    ("Brookfield Valley Hospital", "BVH", "Brookfield"),
    ("Northgate Heart Institute", "NHI", "Northgate"),
    ("Willow Bend Rehabilitation Hospital", "WBRH", "Willow Bend"),
    ("Ferncliff Memorial Hospital", "FMH", "Ferncliff"),
    ("Granite Point Veterans Hospital", "GPVH", "the Granite Point VA"),
    ("Tamsin Bay Health Center", "TBHC", "Tamsin Bay"),
    ("Oakhurst Regional Medical Center", "ORMC", "Oakhurst"),
)
DEPARTMENTS = ("Internal Medicine", "Cardiology", "Endocrinology", "Diabetes Center", "Cardiac Surgery",
               "Vascular Surgery", "Renal Clinic", "Podiatry", "Emergency Department", "Coronary Care Unit",
               "Medical Intensive Care Unit", "Ophthalmology", "Nephrology", "Cardiac Rehab")
WARDS = ("Ellison 9", "Carver 4 West", "Bigsby 11", "Thorndike 6", "Whitcomb 3", "Pratt 7 North", "Larch 2")
STREET_NAMES = ("Juniper", "Quarry", "Old Mill", "Hawthorne", "Saltmarsh", "Cobble Hill", "Wexford", "Birchwood",
                "Tanner", "Kestrel", "Lantern", "Orchard", "Foundry", "Beacon Ridge", "Pell")
STREET_SUFFIXES = ("Street", "St.", "Road", "Rd", "Avenue", "Ave", "Lane", "Terrace", "Way", "Court", "Drive")
CITIES = ("Marlow", "Eastbrook", "Fairhaven", "Kingsford", "Dunmore", "Ashby", "Port Elwin", "Halden", "Westvale",
          "Corbin Falls", "Millbury", "Stonebridge", "Ravenna", "Tolland", "New Sarum")
STATES = ("Massachusetts", "MA", "New Hampshire", "NH", "Rhode Island", "RI", "Maine", "Vermont", "Connecticut",
          "CT", "New York", "Florida", "Ohio")
COUNTRIES = ("Portugal", "Cape Verde", "Haiti", "Vietnam", "Ireland", "Brazil", "Guatemala", "Italy", "Greece",
             "Jamaica", "Poland", "the Dominican Republic", "Lebanon")
LOCATIONS_OTHER = ("Cape Anselm", "Lake Winnequam", "the Outer Banks", "Mount Kearsarge", "the Berkshires",
                   "Nantasket Beach", "the Florida Keys", "Monhegan Island")
EMPLOYERS = ("Kessler Tool and Die", "Bayline Transit Authority", "Northway Grocers", "Harlan Paper Company",
             "Atlas Freight Lines", "Marlow Public Schools", "Quarry Hill Bank", "Danforth Insurance",
             "Greyhollow Electric", "St. Brendan's Parish", "Orrin Textile Mill", "Pellham Brewing")
PROFESSIONS = ("machinist", "bus driver", "nurse", "accountant", "electrician", "teacher", "carpenter",
               "software engineer", "truck driver", "hairdresser", "security guard", "chef", "lawyer",
               "firefighter", "postal worker", "pharmacist", "welder", "librarian", "plumber", "cashier")
INSURERS = ("Medicaid", "Medicare", "BCBS", "Harvest Health Plan", "Tufton Health", "MassCare")
DEVICE_MAKERS = ("Corvale", "Vitalink", "Helion", "Sentrix")  # fictional makers; the maker is not PHI here

CONDITIONS = ("Diabetes mellitus type 2", "NIDDM", "IDDM", "Hypertension", "HTN", "Hyperlipidemia",
              "Coronary artery disease s/p CABG", "CAD", "CHF, EF 35%", "Atrial fibrillation", "Obesity",
              "Peripheral vascular disease", "Chronic kidney disease stage III", "Diabetic retinopathy",
              "Peripheral neuropathy", "Gout", "Hypothyroidism", "GERD", "Depression", "Osteoarthritis, knees",
              "Parkinson disease", "Graves disease s/p RAI", "Bell's palsy (resolved)", "COPD", "OSA on CPAP")
MEDICATIONS = ("Metformin 850 mg PO BID", "Glyburide 5 mg qd", "Lantus 32 units qhs", "Humalog sliding scale",
               "Atenolol 50 MG QD", "Lisinopril 20 mg daily", "Enalapril 10 mg bid", "HCTZ 25 mg qAM",
               "Lasix 40 mg PO BID", "Lopressor 25 mg bid", "Toprol XL 100 mg", "Norvasc 5 mg",
               "Zocor 40 mg qhs", "Lipitor 80 mg", "Plavix 75 mg qd", "Aspirin 81 mg", "ASA 325 mg",
               "Coumadin 5 mg alternating with 2.5 mg", "Nitroglycerin 0.4 mg SL prn", "Imdur 30 mg qd",
               "Allopurinol 100 mg", "Levothyroxine 75 mcg", "Prilosec 20 mg", "Neurontin 300 mg tid",
               "Sinemet 25/100 tid", "KCl 20 mEq qd", "Digoxin 0.125 mg", "Zoloft 50 mg", "Actos 30 mg")
EXAM_FINDINGS = ("Neg Homan's sign.", "Murphy's sign negative.", "No Babinski.", "S1 S2, 2/6 SEM at LUSB.",
                 "JVP 8 cm.", "Lungs: crackles at bases bilaterally.", "Ext: 1+ pitting edema to mid-shin.",
                 "Neuro: A+O x3, CN II-XII intact, strength 5/5 throughout.", "Feet: monofilament decreased.",
                 "Fundi: dot-blot hemorrhages OU.", "Abd: soft, NT/ND, +BS.", "Carotids 2+ without bruits.",
                 "Pulses: DP 1+ bilat, PT trace.", "Skin: no ulcers, callus at L 1st MTP.")
SECTION_CAPS = ("HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "MEDICATIONS", "ALLERGIES",
                "PHYSICAL EXAMINATION", "LABORATORY DATA", "ASSESSMENT AND PLAN", "REVIEW OF SYSTEMS")
HOLIDAYS = ("Christmas", "Thanksgiving", "New Year's", "Easter", "Labor Day", "the Fourth of July", "Memorial Day")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
RELATIVES = ("wife", "husband", "daughter", "son", "sister", "brother", "niece", "grandson")

# ---------------------------------------------------------------------------------------------- text builder

class NoteText:
    """Text assembled piece by piece; a ``(TYPE, value)`` piece is PHI and records its exact span."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, str]] = []
        self.length = 0

    def add(self, *pieces: str | tuple[str, str]) -> NoteText:
        for piece in pieces:
            if isinstance(piece, tuple):
                kind, value = piece
                self.spans.append((self.length, self.length + len(value), kind))
                piece = value
            self.parts.append(piece)
            self.length += len(piece)
        return self

    def line(self, *pieces: str | tuple[str, str]) -> NoteText:
        return self.add(*pieces, "\n")

    def gold(self, note_id: str) -> GoldNote:
        text = "".join(self.parts)
        return GoldNote(note_id, text, [gold_span(text, s, e, kind) for s, e, kind in self.spans])


# ---------------------------------------------------------------------------------------------- people and places

@dataclass
class Person:
    first: str
    middle: str
    last: str
    male: bool

    def initials(self) -> str:
        return f"{self.first[0]}{self.middle}{self.last[0]}"


@dataclass
class Hospital:
    name: str
    acronym: str
    informal: str
    city: str
    state: str


@dataclass
class Chart:
    """One patient's record across notes, so later notes repeat the same names and numbers."""
    patient: Person
    birth_year: int
    mrn: str
    pcp: Person
    specialist: Person
    hospital: Hospital
    other_hospital: Hospital
    street: str
    city: str
    state: str
    zip_code: str
    phone: str
    profession: str
    employer: str
    relative: tuple[str, Person]
    conditions: list[str]
    medications: list[str]
    record_date: date = field(default_factory=lambda: date(2070, 1, 1))

    @property
    def age(self) -> int:
        return self.record_date.year - self.birth_year


def _person(rng: random.Random, male: bool | None = None) -> Person:
    male = rng.random() < 0.5 if male is None else male
    first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
    return Person(first, rng.choice("ABCDEFGHJKLMNPRSTW"), rng.choice(SURNAMES), male)


def _hospital(rng: random.Random) -> Hospital:
    return Hospital(*rng.choice(HOSPITALS), rng.choice(CITIES), rng.choice(STATES))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(n))


def _mrn(rng: random.Random) -> str:
    return rng.choice((lambda: _digits(rng, 7), lambda: f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 2)}-"
                       f"{_digits(rng, 1)}", lambda: f"{_digits(rng, 4)}{_digits(rng, 4)}",
                       lambda: f"0{_digits(rng, 2)}-{_digits(rng, 3)}-{_digits(rng, 3)}"))()


def _phone(rng: random.Random) -> str:
    area, mid, last = _digits(rng, 3).replace("0", "6", 1), _digits(rng, 3), _digits(rng, 4)
    return rng.choice((f"({area}) {mid}-{last}", f"{area}-{mid}-{last}", f"{area}.{mid}.{last}",
                       f"{area} {mid} {last}", f"{mid}-{last}"))


def new_chart(rng: random.Random) -> Chart:
    patient = _person(rng)
    record_date = date(rng.randrange(2062, 2094), rng.randrange(1, 13), rng.randrange(1, 29))
    age = rng.randrange(90, 98) if rng.random() < 0.1 else rng.randrange(38, 88)
    return Chart(
        patient=patient, birth_year=record_date.year - age,
        mrn=_mrn(rng), pcp=_person(rng), specialist=_person(rng), hospital=_hospital(rng),
        other_hospital=_hospital(rng), street=f"{rng.randrange(2, 990)} {rng.choice(STREET_NAMES)} "
        f"{rng.choice(STREET_SUFFIXES)}", city=rng.choice(CITIES), state=rng.choice(STATES),
        zip_code=rng.choice((_digits(rng, 5), f"0{_digits(rng, 4)}", f"0{_digits(rng, 4)}-{_digits(rng, 4)}")),
        phone=_phone(rng), profession=rng.choice(PROFESSIONS), employer=rng.choice(EMPLOYERS),
        relative=(rng.choice(RELATIVES), _person(rng)), conditions=rng.sample(CONDITIONS, rng.randrange(4, 9)),
        medications=rng.sample(MEDICATIONS, rng.randrange(4, 10)),
        record_date=record_date)


# ---------------------------------------------------------------------------------------------- PHI renderings

def name_form(rng: random.Random, person: Person, kind: str) -> tuple[str, str]:
    """One of the many ways notes write a full name: casing, order, initials and commas vary."""
    f, m, last = person.first, person.middle, person.last
    value = rng.choice((f"{f} {last}", f"{f} {m}. {last}", f"{f} {m} {last}", f"{last}, {f}", f"{last.upper()},"
                        f"{f.upper()}", f"{f.upper()} {last.upper()}", f"{f.lower()} {last.lower()}",
                        f"{f[0]}. {last}", f"{last},{f}", f"{f} {last}"))
    return (kind, value)


def surname(rng: random.Random, person: Person, kind: str) -> tuple[str, str]:
    last = typo(rng, person.last) if rng.random() < 0.06 else person.last
    return (kind, rng.choice((last, last, last, last.upper(), last.lower())))


def typo(rng: random.Random, word: str) -> str:
    """Two neighbouring letters swapped, as in hurried typing."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def title(person: Person) -> str:
    # Fixed per person, so one chart always says Mrs. or always Ms.
    return "Mr." if person.male else "Mrs." if len(person.first) % 2 else "Ms."


def phrase(kind: str, value: str, upper: bool = False) -> list[str | tuple[str, str]]:
    """``the Cottage clinic``, ``the Florida Keys``: the article stays outside the PHI span."""
    article, name = ("the ", value[4:]) if value.startswith("the ") else ("", value)
    return [article.upper(), (kind, name.upper())] if upper else [article, (kind, name)]


def informal_hospital(hospital: Hospital, upper: bool = False) -> list[str | tuple[str, str]]:
    return phrase("HOSPITAL", hospital.informal, upper)


def date_form(rng: random.Random, day: date, style: str | None = None) -> tuple[str, str]:
    y2 = f"{day.year % 100:02d}"
    forms = {"iso": day.isoformat(), "us": f"{day.month:02d}/{day.day:02d}/{y2}",
             "short": f"{day.month}/{day.day}/{y2}", "long": f"{MONTHS[day.month - 1]} {day.day}, {day.year}",
             "us4": f"{day.month}/{day.day}/{day.year}", "dash": f"{day.month}-{day.day:02d}-{y2}",
             "euro": f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}", "md": f"{day.month}/{day.day}",
             "my": f"{day.month}/{y2}", "month_year": f"{MONTHS[day.month - 1]} {day.year}",
             "month": MONTHS[day.month - 1], "year": str(day.year), "apos": f"'{y2}",
             "abbr": f"{day.day:02d}-{MONTHS[day.month - 1][:3].upper()}-{day.year}"}
    return ("DATE", forms[style or rng.choice(tuple(forms))])


def past(rng: random.Random, day: date, lo: int, hi: int) -> date:
    return day - timedelta(days=rng.randrange(lo, hi))


def age_form(rng: random.Random, age: int, male: bool) -> list[str | tuple[str, str]]:
    sex = rng.choice(("M", "man", "male", "gentleman") if male else ("F", "woman", "female", "lady"))
    return rng.choice(([("AGE", str(age)), f" yo {sex}"], [("AGE", str(age)), " yo M" if male else " yo F"],
                       [("AGE", str(age)), f" year-old {sex}"], [("AGE", str(age)), f"-year-old {sex}"],
                       [("AGE", str(age)), f" y/o {sex}"], [("AGE", f"{age}"), "M" if male else "F"],
                       [f"{sex}, age ", ("AGE", str(age))], [("AGE", str(age)), f" year old {sex}"]))


def patient_age(rng: random.Random, chart: Chart) -> list[str | tuple[str, str]]:
    return age_form(rng, chart.age, chart.patient.male)


def staff_code(rng: random.Random, person: Person) -> str:
    return rng.choice((f"{person.first[0]}{person.last[0]}{rng.randrange(1, 99)}",
                       f"{person.last[:3].lower()}{rng.randrange(1, 9)}", f"{person.first[0]}{person.last}".lower()))


def spaced(rng: random.Random, text: str) -> str:
    """Irregular spacing real notes have: doubled spaces and tabs after labels."""
    return text.replace(": ", rng.choice((": ", ":  ", ":\t", ": \t", ":"))) if rng.random() < 0.5 else text


# ---------------------------------------------------------------------------------------------- shared sections

def header(rng: random.Random, note: NoteText, chart: Chart) -> None:
    note.add("\n\n", "Record date: ", date_form(rng, chart.record_date, "iso"), "\n\n")
    if rng.random() < 0.5:
        note.add(" \n" * rng.randrange(1, 4))


def problem_list(rng: random.Random, note: NoteText, chart: Chart) -> None:
    note.line(rng.choice(("Problems", "PROBLEM LIST:", "Past Medical History:", "PMH:", "Active Problems")))
    for i, condition in enumerate(chart.conditions):
        prefix = rng.choice(("", "- ", f"{i + 1}. ", "* "))
        if rng.random() < 0.25:
            note.line(prefix, condition, " (", date_form(rng, past(rng, chart.record_date, 200, 4000),
                                                         rng.choice(("my", "year", "apos"))), ")")
        else:
            note.line(prefix, condition)
    note.add("\n")


def medication_list(rng: random.Random, note: NoteText, chart: Chart) -> None:
    note.line(rng.choice(("Medications", "MEDICATIONS:", "Home Medications:", "Current meds:", "Meds:")))
    for med in chart.medications:
        note.line(rng.choice(("", "  ", "- ")), med)
    note.line("Allergies: ", rng.choice(("NKDA", "Penicillin -> rash", "Sulfa", "codeine (nausea)", "none known")))
    note.add("\n")


def social_history(rng: random.Random, note: NoteText, chart: Chart) -> None:
    rel, person = chart.relative
    note.add(rng.choice(("Social History: ", "SOCIAL HISTORY:  ", "SH: ", "Social: ")))
    choices = [
        lambda: note.add("Lives in ", ("CITY", chart.city), " with his " if chart.patient.male else " with her ",
                         rel, " ", ("PATIENT", person.first), ". "),
        lambda: note.add("Works as a ", ("PROFESSION", chart.profession), " at ", ("ORGANIZATION", chart.employer),
                         ". ") if chart.age < 66 else
        note.add("Retired ", ("PROFESSION", chart.profession), " (", ("ORGANIZATION", chart.employer),
                 f", {rng.randrange(12, 35)} years). "),
        lambda: note.add("Born in ", *phrase("COUNTRY", rng.choice(COUNTRIES)), ", moved to ", ("STATE", chart.state),
                         " in ", date_form(rng, past(rng, chart.record_date, 3000, 15000), "year"), ". "),
        lambda: note.add("Recently back from a trip to ", *phrase("LOCATION-OTHER", rng.choice(LOCATIONS_OTHER)),
                         ". "),
        lambda: note.add("Drives a delivery van for work (plate ", ("VEHICLE", f"{_digits(rng, 1)}{_letters(rng, 2)}-"
                                                                             f"{_digits(rng, 3)}"), "). "),
        lambda: note.add(rng.choice(("Smokes 1 ppd x 30 yrs. ", "Quit tobacco 2 years ago. ", "Never smoker. ")),
                         rng.choice(("EtOH: 2 beers/wk. ", "Denies EtOH. ", "Drinks a 6-pack on weekends. "))),
        lambda: note.add("Her " if not chart.patient.male else "His ", rel, ", ",
                         name_form(rng, person, "PATIENT"), ", is a ", ("PROFESSION", rng.choice(PROFESSIONS)),
                         " and helps with meds. "),
    ]
    for pick in rng.sample(choices, rng.randrange(3, 6)):
        pick()
    note.add("\n\n")


def family_history(rng: random.Random, note: NoteText) -> None:
    note.add(rng.choice(("Family History: ", "FH: ", "FAMILY HISTORY:  ")))
    note.add("Father with MI at ", ("AGE", str(rng.randrange(40, 70))), ". Mother ", rng.choice(("alive at ", "died at ")), ("AGE", str(rng.randrange(60, 101))),
             rng.choice((", DM2.", ", CVA.", ", breast ca.")), " ")
    if rng.random() < 0.4:
        note.add("Brother in his ", ("AGE", f"{rng.randrange(4, 8)}0s"), " with CAD. ")
    note.add("\n\n")


def vitals_and_exam(rng: random.Random, note: NoteText) -> None:
    note.line(rng.choice(("Exam:", "PHYSICAL EXAMINATION:", "PE:", "On examination today,")))
    note.line(spaced(rng, f"VS: T: {rng.randrange(970, 1010) / 10}  HR: {rng.randrange(52, 110)}  BP: "
                          f"{rng.randrange(105, 185)}/{rng.randrange(55, 100)}  RR: {rng.randrange(12, 24)}  "
                          f"Sat: {rng.randrange(90, 100)}% RA  Wt: {rng.randrange(140, 290)} lb"))
    for finding in rng.sample(EXAM_FINDINGS, rng.randrange(3, 7)):
        note.line(finding)
    note.add("\n")


def labs(rng: random.Random, note: NoteText, chart: Chart) -> None:
    drawn = past(rng, chart.record_date, 0, 30)
    note.add(rng.choice(("DATA:", "Labs:", "LABORATORY DATA:", "Pertinent results")), " ")
    if rng.random() < 0.6:
        note.add("(", date_form(rng, drawn, rng.choice(("md", "us", "short"))), " ",
                 f"{rng.randrange(5, 23):02d}:{rng.choice(('00', '15', '30', '45'))}", ")")
    note.add("\n")
    rows = (("NA", 133, 145), ("K", 3.2, 5.6), ("CL", 95, 110), ("CO2", 20, 31), ("BUN", 8, 60), ("CRE", 0.7, 3.1),
            ("GLU", 70, 380), ("HGBA1C", 5.6, 11.9), ("CK", 40, 900), ("TROP-I", 0.0, 2.5), ("CHOL", 120, 280),
            ("LDL", 50, 190), ("HCT", 28, 48))
    for label, lo, hi in rng.sample(rows, rng.randrange(5, 10)):
        value = rng.uniform(lo, hi)
        shown = f"{value:.1f}" if hi < 20 else str(int(value))
        flag = "(H)" if value > lo + 0.85 * (hi - lo) else ""
        note.line(rng.choice((f"{label:<10}\t{shown}{flag}", f"{label} {shown}{flag}", f"{label}: {shown} {flag}")))
    if rng.random() < 0.4:
        note.line("Specimen ", ("BIOID", f"{_letters(rng, 1)}{chart.record_date.year % 100}-{_digits(rng, 5)}"),
                  " sent to pathology.")
    note.add("\n")


def signature(rng: random.Random, note: NoteText, chart: Chart, signer: Person, dictated: bool) -> None:
    note.add("\n" * rng.randrange(1, 4))
    if rng.random() < 0.3:
        note.line("_" * rng.randrange(20, 36))
    note.line(name_form(rng, signer, "DOCTOR"), rng.choice((", M.D.", ", MD", " MD", ", M.D., Ph.D.", ", NP", "")))
    style = rng.randrange(4)
    if style == 0:
        note.line(("DOCTOR", signer.initials()), rng.choice((":", "/")), ("DOCTOR", rng.choice(TRANSCRIBERS)))
    elif style == 1:
        note.line(("DOCTOR", signer.initials()), "/", ("DOCTOR", rng.choice(TRANSCRIBERS)), "/",
                  ("DOCTOR", rng.choice(TRANSCRIBERS)))
    elif style == 2:
        note.line("Pager ", ("PHONE", f"#{_digits(rng, 5)}" if rng.random() < 0.5 else _digits(rng, 5)))
    else:
        note.line(rng.choice(("Login: ", "User: ", "")), ("USERNAME", staff_code(rng, signer)))
    if dictated:
        note.add("\n")
        day = chart.record_date
        for label, offset in (("DD", 0), ("DT", rng.randrange(0, 9)), ("DV", 0)):
            note.line(label, rng.choice((": ", ":")), date_form(rng, day + timedelta(days=offset),
                                                                rng.choice(("us", "short"))))
        if rng.random() < 0.5:
            note.line(rng.choice(("Job #: ", "Doc ID: ", "Transcription No. ")), ("IDNUM", _digits(rng, 6)))
    if rng.random() < 0.5:
        note.line(rng.choice((" ******** Approved but not reviewed by Attending Provider ********",
                              "Electronically signed", "Transcribed but not proofread")))
    note.add("\n\n")


def cc_list(rng: random.Random, note: NoteText, chart: Chart) -> None:
    note.add("cc: ")
    for doctor in (chart.pcp, chart.specialist)[: rng.randrange(1, 3)]:
        note.add(rng.choice(("Dr. ", "")), name_form(rng, doctor, "DOCTOR"), ", ",
                 ("HOSPITAL", rng.choice((chart.hospital.acronym, chart.hospital.name))), "; ")
    note.add("\n\n")


# ---------------------------------------------------------------------------------------------- note styles

def clinic_note(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    if rng.random() < 0.5:
        note.line(("HOSPITAL", rng.choice((chart.hospital.name, chart.hospital.acronym.upper()))), " ",
                  ("DEPARTMENT", rng.choice(DEPARTMENTS)))
        note.line(spaced(rng, f"{rng.choice(('Patient', 'Name', 'RE'))}: "), name_form(rng, p, "PATIENT"))
        note.line(spaced(rng, "MRN: "), ("MEDICALRECORD", chart.mrn), "\n")
    last_seen = past(rng, chart.record_date, 60, 400)
    note.add(title(p), " ", surname(rng, p, "PATIENT"), rng.choice((" is seen today", " returns for follow-up",
                                                                   " comes in today")), ". ")
    note.add(rng.choice(("I have not seen him since ", "Last visit was in ")) if p.male else
             rng.choice(("I have not seen her since ", "Last visit was in ")),
             date_form(rng, last_seen, rng.choice(("month", "month_year", "my", "md"))), ". ")
    note.add("This ", *patient_age(rng, chart), " with ", chart.conditions[0], " ",
             rng.choice(("reports good adherence", "has been checking sugars bid", "notes more DOE")), ". ")
    if rng.random() < 0.5:
        note.add("Over ", ("DATE", rng.choice(HOLIDAYS)), " she " if not p.male else " he ",
                 "ate poorly and glucose ran to 300s. ")
    if rng.random() < 0.5:
        note.add("Was seen at ", *informal_hospital(chart.other_hospital), " last ",
                 ("DATE", rng.choice(WEEKDAYS)), " for ", rng.choice(("chest pain", "a fall", "cellulitis")),
                 "; ", rng.choice(("troponins negative", "no fracture", "started on Keflex")), ". ")
    note.add("His" if p.male else "Her", f" A1c was {rng.randrange(60, 115) / 10}% in ",
             date_form(rng, past(rng, chart.record_date, 20, 120), rng.choice(("my", "md", "month"))), ". ")
    note.add(typo(rng, "Denies") if rng.random() < 0.2 else "Denies", " CP/SOB; 2/2 knee pain walking is limited to ",
             typo(rng, "one block") if rng.random() < 0.2 else "one block", ".\n\n")
    if rng.random() < 0.6:
        problem_list(rng, note, chart)
    medication_list(rng, note, chart)
    vitals_and_exam(rng, note)
    if rng.random() < 0.6:
        labs(rng, note, chart)
    note.line(rng.choice(("Clinical Impression:", "Assessment and Plan:", "A/P:", "IMPRESSION:")), "\n")
    for i, condition in enumerate(chart.conditions[:rng.randrange(2, 4)]):
        note.add(f"#{i + 1}:  {condition} - ", rng.choice(("stable; continue current regimen.",
                                                            "suboptimal; increase dose, recheck in 3 months.",
                                                            "will arrange echo.")), "\n")
    note.add("Follow up with Dr. ", surname(rng, chart.specialist, "DOCTOR"), " in ",
             ("DEPARTMENT", rng.choice(DEPARTMENTS)), " at ", *informal_hospital(chart.hospital), " in 3 months.\n")
    signature(rng, note, chart, chart.pcp, dictated=rng.random() < 0.6)
    return note


def admission_note(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    note.line(("HOSPITAL", chart.hospital.acronym), " ", rng.choice(("Admission Note", "ADMIT NOTE", "H&P")), "\n")
    note.line(spaced(rng, "Name: "), name_form(rng, p, "PATIENT"))
    note.line(spaced(rng, rng.choice(("MR: ", "MRN: ", "Unit No: "))), ("MEDICALRECORD", chart.mrn))
    note.line(spaced(rng, "DOA: "), date_form(rng, chart.record_date, rng.choice(("short", "us", "us4"))))
    note.line(spaced(rng, "PCP: "), name_form(rng, chart.pcp, "DOCTOR"))
    note.line(spaced(rng, "Attending: "), surname(rng, chart.specialist, "DOCTOR"))
    if rng.random() < 0.5:
        note.line(spaced(rng, "Unit: "), ("DEPARTMENT", rng.choice(WARDS)), spaced(rng, "  Room: "),
                  ("ROOM", f"{rng.randrange(1, 12)}{rng.randrange(10, 40):02d}{rng.choice(('', 'A', 'B', '-2'))}"))
    note.line("CODE: FULL\n")
    note.add("HPI:  ", *patient_age(rng, chart), " with ", chart.conditions[0], " admitted for ",
             rng.choice(("cath after positive MIBI", "CHF exacerbation", "DKA", "rapid AF", "foot ulcer")), ". ")
    note.add("Seen by PCP on ", date_form(rng, past(rng, chart.record_date, 2, 20), "md"),
             " with EKG showing ", rng.choice(("RBBB", "new TWI V4-V6", "AF at 130")), ". Transferred from ",
             ("HOSPITAL", chart.other_hospital.acronym), rng.choice((" ED", "", " where cardiology saw him")),
             ". MIBI was stopped 2/2 chest pain at 10:30.\n\n")
    problem_list(rng, note, chart)
    medication_list(rng, note, chart)
    social_history(rng, note, chart)
    if rng.random() < 0.6:
        family_history(rng, note)
    vitals_and_exam(rng, note)
    labs(rng, note, chart)
    note.add("A/P: ", *patient_age(rng, chart), " for cath in AM; heparin gtt; NPO after MN. D/w ",
             rng.choice(("Dr. ", "")), surname(rng, chart.specialist, "DOCTOR"), ".\n")
    signature(rng, note, chart, _person(rng), dictated=False)
    return note


def ed_visit(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    hospital = rng.choice((informal_hospital(chart.hospital, upper=True), [("HOSPITAL", chart.hospital.name.upper())],
                           [("HOSPITAL", chart.hospital.acronym)]))
    note.line(" " * rng.randrange(4, 22), *hospital, " EMERGENCY DEPT VISIT\n \n")
    note.line(("PATIENT", f"{p.last.upper()},{p.first.upper()}" if rng.random() < 0.6 else f"{p.last.upper()}, "
                          f"{p.first.upper()} {p.middle}"), " " * rng.randrange(2, 6),
              ("MEDICALRECORD", chart.mrn), " " * rng.randrange(6, 24), "VISIT DATE: ",
              date_form(rng, chart.record_date, "us"), "\n")
    note.add("PRESENTING COMPLAINT:  ", rng.choice(("Chest pain.", "Groin abscess.", "Hyperglycemia.",
                                                    "Syncope.", "Shortness of breath.")), " \n\n")
    note.add("HISTORY OF PRESENTING COMPLAINT:  This is a ", *patient_age(rng, chart), " who had ",
             rng.choice(("a cardiac catheterization", "a renal artery stent", "a fall at home")), " on ",
             date_form(rng, past(rng, chart.record_date, 3, 40), rng.choice(("dash", "short", "long"))),
             ", now with two days of worsening symptoms. Brought in by ", "his" if p.male else "her", " ",
             chart.relative[0], " ", name_form(rng, chart.relative[1], "PATIENT"), ". \n\n")
    for section in ("PAST MEDICAL HISTORY", "MEDICATIONS", "ALLERGIES"):
        items = {"PAST MEDICAL HISTORY": chart.conditions, "MEDICATIONS": [m.split()[0] for m in chart.medications],
                 "ALLERGIES": ["No known drug allergies"]}[section]
        note.add(f"{section}:  ", ", ".join(items[:5]), ". \n\n")
    note.add("PHYSICAL EXAMINATION:  ", " ".join(rng.sample(EXAM_FINDINGS, 4)).upper() if rng.random() < 0.3
             else " ".join(rng.sample(EXAM_FINDINGS, 4)), " \n\n")
    note.add("CONSULTATIONS (including PCP):  Discussed with Dr. ", surname(rng, chart.pcp, "DOCTOR"), " of ",
             ("HOSPITAL", chart.hospital.acronym), " ", ("DEPARTMENT", rng.choice(DEPARTMENTS)), ". \n\n")
    note.add("FINAL DIAGNOSIS:  ", chart.conditions[0], ". \n\nDISPOSITION:  Admitted in stable condition. \n\n")
    signer = _person(rng)
    code = f"{signer.first[0]}{signer.last[0]}{rng.randrange(10, 99)}"
    note.line("_" * 35, " " * 20, ("IDNUM", f"{_letters(rng, 2)}{_digits(rng, 3)}/{_digits(rng, 5)}"), " \n")
    note.line(("DOCTOR", f"{signer.first.upper()} {signer.last.upper()}"), ", M.D.    ", ("USERNAME", code),
              " " * 20, "D:", date_form(rng, chart.record_date, "us"), " \n")
    note.line(" " * 55, "T:", date_form(rng, chart.record_date + timedelta(days=rng.randrange(0, 3)), "us"), " \n")
    note.line("Dictated by:  ", ("DOCTOR", f"{signer.first.upper()} {signer.last.upper()}"), ", M.D.    ",
              ("USERNAME", code), " \n")
    note.line(" ******** Not reviewed by Attending Physician ********\n\n")
    return note


def discharge_summary(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    admitted = past(rng, chart.record_date, 2, 14)
    note.line(("HOSPITAL", chart.hospital.name.upper() if rng.random() < 0.5 else chart.hospital.name))
    note.line(("STREET", f"{rng.randrange(10, 900)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"), ", ",
              ("CITY", chart.hospital.city), ", ", ("STATE", chart.hospital.state))
    note.line("DISCHARGE SUMMARY\n")
    note.line(spaced(rng, "PATIENT: "), name_form(rng, p, "PATIENT"), spaced(rng, "   UNIT NO: "),
              ("MEDICALRECORD", chart.mrn))
    note.line(spaced(rng, "ACCOUNT: "), ("ACCOUNT", f"{_digits(rng, 4)}-{_digits(rng, 5)}"),
              spaced(rng, "   SSN: "), ("SSN", f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 4)}"))
    note.line(spaced(rng, "ADMISSION DATE: "), date_form(rng, admitted, rng.choice(("us", "us4", "abbr"))))
    note.line(spaced(rng, "DISCHARGE DATE: "), date_form(rng, chart.record_date, rng.choice(("us", "us4", "abbr"))))
    note.line(spaced(rng, "SERVICE: "), ("DEPARTMENT", rng.choice(DEPARTMENTS)), spaced(rng, "   WARD: "),
              ("DEPARTMENT", rng.choice(WARDS)), " Rm ", ("ROOM", str(rng.randrange(100, 1200))), "\n")
    note.add("HISTORY OF PRESENT ILLNESS:  The patient is a ", *patient_age(rng, chart), " with ",
             ", ".join(chart.conditions[:3]), " who presented on ", date_form(rng, admitted, "long"),
             " with ", rng.choice(("increasing dyspnea", "chest pressure radiating to the left arm",
                                   "polyuria and a glucose of 540")), ".\n\n")
    note.add("HOSPITAL COURSE:  Diuresed with IV Lasix; EF 30-35% on echo. Cardiac cath by Dr. ",
             name_form(rng, chart.specialist, "DOCTOR"), " showed 90% LAD lesion, stented (",
             rng.choice(DEVICE_MAKERS), " stent, lot ", ("DEVICE", f"{_letters(rng, 2)}{_digits(rng, 6)}"),
             "). Seen by ", ("DEPARTMENT", rng.choice(DEPARTMENTS)), " for insulin teaching. Evaluated by ",
             "physical therapy; Tinetti score 22/28. Family meeting held ", ("DATE", rng.choice(WEEKDAYS)),
             " at 14:00.\n\n")
    medication_list(rng, note, chart)
    note.add("DISPOSITION:  Home with VNA. ", rng.choice(("Insurance: ", "Health plan: ", "Coverage: ")),
             rng.choice(INSURERS), " # ", ("HEALTHPLAN", f"{_letters(rng, rng.randrange(0, 4))}{_digits(rng, 9)}"),
             ".\nFOLLOW-UP:  Dr. ", surname(rng, chart.pcp, "DOCTOR"), " in 1-2 weeks, ", ("PHONE", chart.phone),
             "; ", ("HOSPITAL", chart.hospital.acronym), " Anticoagulation Clinic on ",
             date_form(rng, chart.record_date + timedelta(days=rng.randrange(3, 14)), rng.choice(("md", "short"))),
             ".\n")
    signature(rng, note, chart, chart.specialist, dictated=True)
    cc_list(rng, note, chart)
    return note


def referral_letter(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p, doc = chart.patient, chart.pcp
    note.line(("HOSPITAL", chart.hospital.name))
    note.line(("DEPARTMENT", rng.choice(DEPARTMENTS)))
    note.line(("STREET", f"{rng.randrange(1, 400)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"))
    note.line(("CITY", chart.hospital.city), ", ", ("STATE", chart.hospital.state), " ",
              ("ZIP", f"0{_digits(rng, 4)}"))
    note.line("Tel ", ("PHONE", _phone(rng)), "   Fax ", ("FAX", _phone(rng)), "\n")
    note.line(date_form(rng, chart.record_date, rng.choice(("long", "us4"))), "\n")
    note.line(name_form(rng, doc, "DOCTOR"), ", M.D.")
    note.line(("HOSPITAL", chart.other_hospital.name))
    note.line(("STREET", f"{rng.randrange(1, 400)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"))
    note.line(("CITY", chart.other_hospital.city), ", ", ("STATE", chart.other_hospital.state), " ",
              ("ZIP", f"0{_digits(rng, 4)}"), "\n")
    note.line("RE: ", name_form(rng, p, "PATIENT"), spaced(rng, "   DOB: "),
              date_form(rng, date(chart.birth_year, rng.randrange(1, 13), rng.randrange(1, 29)),
                        rng.choice(("us", "us4"))), spaced(rng, "   MRN: "), ("MEDICALRECORD", chart.mrn), "\n")
    note.add("Dear ", rng.choice(("Dr. ", "Dr.")), surname(rng, doc, "DOCTOR"), rng.choice((":", ",")), "\n\n")
    note.add("Thank you for referring ", title(p), " ", surname(rng, p, "PATIENT"), ", a ", *patient_age(rng, chart),
             ", whom I saw in ", ("DEPARTMENT", rng.choice(DEPARTMENTS)), " on ",
             date_form(rng, chart.record_date, rng.choice(("long", "month", "md"))), ". As you know, ",
             "he" if p.male else "she", " has had ", chart.conditions[0], " since ",
             date_form(rng, past(rng, chart.record_date, 2000, 9000), rng.choice(("year", "apos", "my"))),
             " and an MI in ", date_form(rng, past(rng, chart.record_date, 300, 3000), "my"), ". ")
    note.add("His" if p.male else "Her", " Parkinson-like tremor is, I think, essential tremor. ",
             "Echo showed EF 45%, mild MR; stress test 9 METs without ischemia (Bruce protocol, Duke score +5). ")
    him = "him" if p.male else "her"
    note.add("I have asked ", him, " to keep a glucose log and to email readings to ",
             ("EMAIL", f"{doc.first[0].lower()}{doc.last.lower()}@{chart.hospital.acronym.lower()}.org"),
             " or upload them at ", ("URL", f"www.{chart.hospital.acronym.lower()}-portal.org"), ".\n\n")
    note.add("I will see ", him, " again after ", ("DATE", rng.choice(HOLIDAYS)),
             ". Please do not hesitate to call me with any questions.\n\n")
    note.line(rng.choice(("Sincerely,", "With best regards,", "Yours truly,")), "\n\n")
    note.line(name_form(rng, chart.specialist, "DOCTOR"), ", M.D.")
    note.line(("DOCTOR", chart.specialist.initials().lower()), "/", ("DOCTOR", rng.choice(TRANSCRIBERS)), "\n")
    cc_list(rng, note, chart)
    return note


def cardiology_consult(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    note.line(("HOSPITAL", chart.hospital.acronym), " ", ("DEPARTMENT", "Cardiology"),
              rng.choice((" Consult Note", " CONSULTATION", " - Device Clinic")), "\n")
    note.line(spaced(rng, "Requesting physician: "), rng.choice(("Dr. ", "")), name_form(rng, chart.pcp, "DOCTOR"))
    note.line(spaced(rng, "Reason: "), rng.choice(("syncope", "AF with RVR", "pacemaker interrogation", "CHF")), "\n")
    note.add("HPI: ", title(p), " ", surname(rng, p, "PATIENT"), " is a ", *patient_age(rng, chart),
             " with ", chart.conditions[0], " s/p ", rng.choice(DEVICE_MAKERS), " ",
             rng.choice(("dual-chamber pacemaker", "ICD", "CRT-D", "loop recorder")), " (model ",
             ("DEVICE", f"{_letters(rng, 2)}{_digits(rng, 2)}{_letters(rng, 1)}"), ", serial ",
             ("DEVICE", f"{_letters(rng, 3)}{_digits(rng, 6)}{_letters(rng, 1)}"), ") implanted at ",
             ("HOSPITAL", chart.other_hospital.name), " in ",
             date_form(rng, past(rng, chart.record_date, 400, 3000), rng.choice(("year", "month_year", "my"))), ". ")
    note.add("Episode on ", ("DATE", rng.choice(WEEKDAYS)), " morning at 07:45 while at ",
             *phrase("LOCATION-OTHER", rng.choice(LOCATIONS_OTHER)), rng.choice((" with family", "")),
             ". No Wolff-Parkinson-White pattern. NYHA class II. CHADS2 score 3.\n\n")
    if rng.random() < 0.5:
        family_history(rng, note)
    vitals_and_exam(rng, note)
    note.add("Interrogation: battery 2.9 V, RA 0.7 V @ 0.4 ms, RV 1.0 V @ 0.4 ms, 3 AHR episodes (longest 4:12). "
             "Remote monitoring transmits from ", ("IPADDR", f"10.{rng.randrange(256)}.{rng.randrange(256)}."
                                                            f"{rng.randrange(1, 255)}"), ".\n\n")
    note.add("IMPRESSION:  ", *patient_age(rng, chart), " with paroxysmal AF; start Coumadin, INR goal 2-3; ",
             "continue Toprol. Will discuss at ", ("DEPARTMENT", rng.choice(DEPARTMENTS)), " conference.\n")
    signature(rng, note, chart, chart.specialist, dictated=rng.random() < 0.5)
    return note


def telephone_note(rng: random.Random, chart: Chart) -> NoteText:
    note = NoteText()
    header(rng, note, chart)
    p = chart.patient
    caller = rng.random() < 0.5
    note.line(rng.choice(("TELEPHONE ENCOUNTER", "Phone note", "Patient portal message")))
    note.add("Spoke with ", "pt" if not caller else f"pt's {chart.relative[0]} ",
             name_form(rng, chart.relative[1] if caller else p, "PATIENT"), " at ", ("PHONE", chart.phone),
             " re: ", rng.choice(("fasting sugars 180-220", "ankle swelling", "refill of Lasix", "a missed dose")),
             ". ")
    note.add("Lives at ", ("STREET", chart.street), ", ", ("CITY", chart.city), " ", ("ZIP", chart.zip_code),
             "; needs ride, no longer drives (", rng.choice(("license ", "DL# ")),
             ("LICENSE", f"{_letters(rng, 1)}{_digits(rng, 8)}"), " suspended after the hypoglycemic ",
             "episode; ", "his" if p.male else "her", " car, plate ",
             ("VEHICLE", f"{_letters(rng, 3)} {_digits(rng, 3)}" if rng.random() < 0.5 else
              f"{_digits(rng, 1)}{_letters(rng, 2)}-{_digits(rng, 3)}"), ", is parked in the lot). ")
    note.add("Employer (", ("ORGANIZATION", chart.employer), ") requests a form by ", ("DATE", rng.choice(WEEKDAYS)),
             "; fax to ", ("FAX", _phone(rng)), ". ")
    note.add(rng.choice(("Email on file: ", "Contact: ")), ("EMAIL", f"{p.first.lower()}.{p.last.lower()}"
                                                                     f"{rng.randrange(1, 99)}@{rng.choice(('mailbox.net', 'ymail.com', 'postbox.org'))}"),
             ". Insurance ", rng.choice(INSURERS), " ID ", ("HEALTHPLAN", f"{_letters(rng, 3)}{_digits(rng, 8)}"), ".\n")
    if rng.random() < 0.5:
        note.add("Portal: ", ("URL", f"https://my{chart.hospital.acronym.lower()}.org/chart/{_digits(rng, 6)}"), "\n")
    note.add("Plan: increase Lantus by 2 units q3d to goal FBS 100-140; call back ", ("DATE", rng.choice(WEEKDAYS)),
             " or ", date_form(rng, chart.record_date + timedelta(days=rng.randrange(2, 8)), "md"), ".\n")
    note.add("\n", rng.choice(("-- ", "")), ("DOCTOR", f"{chart.pcp.first[0]}. {chart.pcp.last}" if rng.random() < 0.5
                                                        else chart.pcp.last.upper()), rng.choice((", RN", ", MD", "")),
             " (", ("USERNAME", staff_code(rng, chart.pcp)), ")\n\n")
    return note


NOTE_STYLES = (clinic_note, clinic_note, admission_note, ed_visit, discharge_summary, referral_letter,
               cardiology_consult, telephone_note)


# ---------------------------------------------------------------------------------------------- corpus, XML, CLI

def generate_notes_d(n: int, seed: int) -> list[GoldNote]:
    """``n`` gold-annotated notes: patients with two to five records each, in time order, styles mixed."""
    rng = random.Random(f"notes-d-{seed}")
    notes: list[GoldNote] = []
    patient_index = 0
    while len(notes) < n:
        chart = new_chart(rng)
        for visit in range(min(rng.randrange(2, 6), n - len(notes))):
            notes.append(rng.choice(NOTE_STYLES)(rng, chart).gold(f"d{patient_index:03d}-{visit + 1:02d}"))
            chart.record_date += timedelta(days=rng.randrange(20, 500))
        patient_index += 1
    return notes


def main(argv: list[str] | None = None) -> list[Path]:
    return write_notes_command(generate_notes_d, __doc__, argv, default_notes=50)


if __name__ == "__main__":
    main()
