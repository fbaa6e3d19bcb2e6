"""Third synthetic note generator: the held-out corpus the de-identifier is graded on and never tuned on.

    python -m simulations.synthetic.notes_c OUT_DIR --notes 200 --seed 0

Written without reading the other two generators or the recognizers (no code shared), after what is
publicly described of the i2b2/n2c2 2014 de-identification notes: longitudinal records of diabetic and
cardiac patients ("Record date:" headers, years shifted into the future), discharge summaries with dictation
footers, letters to referring doctors, progress, emergency, telephone, radiology, pathology,
device-clinic and social work notes. PHI follows the 2014 annotation guidelines' types (NAME, PROFESSION, LOCATION,
AGE, DATE, CONTACT, ID and their subtypes) with the guidelines' span rules: titles and degrees stay outside
a name, "yo" outside an age. Names include ordinary English words, hyphens, apostrophes, all-caps headers,
lower-case typing and initials; the notes also carry much non-PHI that looks like PHI (drug names, eponyms,
section headings, lab values, murmur grades, blood pressures).

``generate_notes_c`` gives :class:`~privacy.deid.evaluation.GoldNote` objects with exact character spans;
``write_i2b2`` writes them as i2b2-2014 XML files that ``load_i2b2`` reads back identically.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from privacy.deid.evaluation import GoldNote, gold_span
from simulations.synthetic.command import write_notes_command

# --- PHI vocabulary ----------------------------------------------------------------------------------
FEMALE = ("Abigail", "Adaeze", "Agnes", "Aisha", "Alma", "April", "Beatriz", "Bernadette", "Bonnie", "Candace",
          "Carmen", "Charity", "Chloe", "Constance", "Dawn", "Delphine", "Dolores", "Esperanza", "Eun-ji", "Faith",
          "Fatima", "Fiona", "Geraldine", "Ginger", "Grace", "Gwendolyn", "Hazel", "Holly", "Hope", "Imogen",
          "Iris", "Ivy", "Jewel", "Joy", "June", "Kateryna", "Keisha", "Lakshmi", "Laverne", "Liesel", "Lourdes",
          "Mae", "Marisol", "Mary-Kate", "May", "Mercy", "Mildred", "Ngozi", "Noreen", "Oksana", "Opal", "Pearl",
          "Penny", "Precious", "Priya", "Queenie", "Rosalind", "Ruby", "Sandy", "Siobhan", "Sunny", "Temperance",
          "Thi", "Trinity", "Ursula", "Velma", "Wilhelmina", "Xiomara", "Yolanda", "Zofia", "Autumn", "Summer",
          "Brandy", "Crystal", "Destiny", "Patience", "Violet", "Willow")
MALE = ("Abdul", "Alonzo", "Ambrose", "Art", "Barnaby", "Bill", "Bo", "Buck", "Cash", "Chase", "Cornelius",
        "Dale", "Dashiell", "Deshawn", "Dmitri", "Drew", "Dusty", "Earl", "Efrain", "Emeka", "Ezekiel", "Frank",
        "Gene", "Gus", "Hamid", "Hank", "Hunter", "Ignatius", "Jae-won", "Jean-Luc", "Jerome", "Kwame", "Lane",
        "Lorenzo", "Mack", "Mason", "Miles", "Moses", "Ned", "Nikolai", "Obadiah", "Olufemi", "Otis", "Pat",
        "Pedro", "Rajesh", "Ray", "Reed", "Rich", "Rocco", "Rusty", "Sal", "Shamus", "Sherman", "Stone", "Tad",
        "Thaddeus", "Thanh", "Tobias", "Ulysses", "Vance", "Wade", "Will", "Woody", "Xavier", "Yusuf", "Zeke",
        "Baker", "Cliff", "Duke", "Forrest", "Grant", "King", "Rod", "Skip", "Sterling", "Wolf")
SURNAMES = ("Abbott", "Achterberg", "Adeyemi", "Baker", "Banks", "Barber", "Bell", "Bird", "Bishop", "Black",
            "Bone", "Brooks", "Bush", "Cash", "Castellanos", "Chapel", "Church", "Cook", "Crane", "Cross", "Day",
            "Dean", "Do", "Duchesne", "Fairweather", "Fields", "Fish", "Fox", "Frost", "Gentry", "Glass",
            "Graves", "Green", "Gross", "Hall", "Hammer", "Hart", "Hawk", "Hill", "Ho", "Hope", "Hunter", "King",
            "Knight", "Koch", "Lamb", "Law", "Le", "Little", "Long", "Love", "Ma", "Marsh", "Mason", "Miller",
            "Moody", "Nail", "Ng", "Oh", "Page", "Park", "Payne", "Pepper", "Pope", "Porter", "Potter", "Price",
            "Rice", "Rivers", "Rose", "Salt", "Sharp", "Shepherd", "Short", "Small", "Snow", "Stone", "Strong",
            "Swan", "Waters", "Weaver", "Wells", "White", "Winter", "Wolf", "Wood", "Young", "Xu", "Yu",
            "Abernathy", "Balogun", "Bjornstad", "Cavanaugh", "Dabrowski", "Esposito", "Fitzgerald", "Gallo",
            "Haddad", "Iwasaki", "Jankowski", "Kowalczyk", "Lindqvist", "Mbeki", "Nakamura", "Okonkwo",
            "Papadopoulos", "Quintanilla", "Radovanovic", "Szymanski", "Takahashi", "Urquhart", "Vanderhoek",
            "Wojcik", "Yamamoto", "Zielinski", "Garcia-Lopez", "Smith-Hollis", "Okafor-Reyes", "Hughes-Tate",
            "O'Brien", "O'Malley", "D'Angelo", "D'Souza", "McAllister", "MacPherson", "St. Clair", "De La Cruz",
            "van Dijk", "LaFleur", "DeWitt", "Nguyen", "Tran", "Pham", "Chowdhury", "Venkataraman", "Oyelaran")
PROFESSIONS = ("machinist", "school bus driver", "electrician", "accountant", "hairdresser", "software engineer",
               "mail carrier", "truck driver", "teacher", "lawyer", "line cook", "cashier", "carpenter", "plumber",
               "firefighter", "police officer", "dental hygienist", "librarian", "pharmacist", "home health aide",
               "construction worker", "fisherman", "bartender", "history professor", "custodian", "landscaper",
               "real estate agent", "social worker", "security guard", "waitress", "nurse", "welder",
               "bank teller", "minister", "farmer", "taxi driver", "architect", "seamstress", "roofer")
HOSPITALS = (("Ridgecrest Memorial Hospital", "RMH"), ("St. Agatha's Medical Center", "SAMC"),
             ("Lakeshore General Hospital", "LGH"), ("Maple Valley Community Hospital", "MVCH"),
             ("Brightwater Heart Institute", "BHI"), ("Holloway University Hospital", "HUH"),
             ("Our Lady of the Pines Hospital", "OLP"), ("Cedar Point Regional Medical Center", "CPRMC"),
             ("Granite Falls Hospital", "GFH"), ("Whitcombe Deaconess Hospital", "WDH"),
             ("Merriweather Veterans Medical Center", "MVMC"), ("Sandpiper Bay Hospital", "SBH"),
             ("Kingsbury Baptist Hospital", "KBH"), ("Fairmount Children's and Women's Hospital", "FCWH"),
             ("North Shore Heart Pavilion", "NSHP"), ("Ashgrove County Hospital", "ACH"),
             ("Bellwether General", "BG"), ("Mount Carmel Riverside Hospital", "MCRH"))
CLINICS = ("Oakhurst Family Health Center", "Northgate Internal Medicine", "Pembrook Diabetes Center",
           "Harbourview Cardiology Associates", "Elm Street Health Center", "Tillman Primary Care",
           "Fenwick Community Clinic", "Bayberry Medical Group", "Linden Hill Health Center", "Carver Square Clinic",
           "Eastport Medical Associates", "Hollis Street Urgent Care", "Greenleaf Endocrine Associates",
           "Southfield Physicians Group", "Riverbend Heart & Vascular")
REHAB = ("Willowbrook Rehabilitation Center", "Sunnyside Nursing Home", "Pine Hill Skilled Nursing Facility",
         "Meadowlark Manor", "Heritage House Rehab")
ORGANIZATIONS = ("Harlow Freight", "Merrimack Paper Company", "Kestrel Software", "Eastern Mutual Insurance",
                 "Dunmore Elementary School", "Tri-County Transit", "Bayside Fisheries", "Quarry Hill Concrete",
                 "the Visiting Nurse Association", "Council on Aging", "Harbor House Shelter", "Lighthouse Baptist Church",
                 "Alder & Finch LLP", "Northwind Logistics", "Crescent Bakery", "the Elks Lodge")
INSURERS = ("Tri-County Health Plan", "Granite Mutual", "Keystone Care", "Harborlight Health", "Pilgrim Shield")
DEPARTMENTS = ("Cardiology", "Endocrinology", "Vascular Surgery", "Hematology/Oncology", "Nephrology",
               "Interventional Radiology", "Cardiac Step-Down Unit", "Medical ICU", "Ellery 6 North",
               "Whitman 9", "Diabetes Education", "Anticoagulation Clinic", "Surgical Pathology")
CITIES = ("Framingham", "Worcester", "Quincy", "Salem", "Springfield", "Lowell", "Fall River", "Marlborough",
          "Dedham", "Concord", "Reading", "Mobile", "Bath", "Orange", "Florence", "Independence", "Lynn", "Hope",
          "Marion", "Hudson", "Chelsea", "Milton", "Sharon", "Holly Springs", "Bristol", "Cranston", "Nashua",
          "Portsmouth", "Bangor", "Burlington", "New Bedford", "Brockton", "Peabody", "Revere", "Taunton")
STATES = ("MA", "Massachusetts", "RI", "Rhode Island", "NH", "New Hampshire", "ME", "Maine", "CT", "VT", "N.Y.",
          "Florida", "FL", "Texas", "Ohio", "Georgia", "California")
COUNTRIES = ("Haiti", "Portugal", "Vietnam", "the Dominican Republic", "India", "Ireland", "Cape Verde",
             "Brazil", "Nigeria", "Poland", "Greece", "China", "Guatemala", "Ukraine", "Korea", "Jamaica")
OTHER_PLACES = ("Cape Cod", "the Berkshires", "Fenway Park", "Lake Winnipesaukee", "Martha's Vineyard",
                "the White Mountains", "Walden Pond", "Nantucket", "Disney World", "the Outer Banks")
STREETS = ("Winter Street", "Old Farm Road", "Maple Ave", "Commonwealth Avenue", "Pleasant St.", "Orchard Lane",
           "Hillcrest Drive", "Water Street", "Hemlock Circle", "Prospect Hill Rd", "Salem Turnpike",
           "Union Square", "Birch Terrace", "Mill Pond Way", "Beacon St")
DOMAINS = ("ridgecrest.org", "samc-health.org", "lakeshoregen.org", "mvch.net", "brightwaterheart.org",
           "holloway.edu", "mail.com", "inbox.net")
HOLIDAYS = ("Christmas", "Thanksgiving", "New Year's Eve", "Easter", "Memorial Day", "the Fourth of July",
            "Labor Day", "Halloween", "Christmas Eve", "Valentine's Day", "Passover", "Ramadan")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SEASONS = ("spring", "summer", "fall", "winter")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
NUMBER_WORDS = {41: "forty-one", 52: "fifty-two", 58: "fifty-eight", 63: "sixty-three", 67: "sixty-seven",
                71: "seventy-one", 74: "seventy-four", 79: "seventy-nine", 83: "eighty-three", 92: "ninety-two"}

# --- non-PHI that looks like PHI ---------------------------------------------------------------------
MEDICATIONS = ("metformin 1000 mg po bid", "Lantus 24 units sc qhs", "insulin glargine 18 units at bedtime",
               "Humalog sliding scale", "glipizide 5 mg daily", "lisinopril 20 mg qd", "Toprol XL 50 mg daily",
               "atorvastatin 80 mg qhs", "Lipitor 40mg", "ASA 81 mg daily", "Plavix 75 mg qd",
               "Coumadin 5 mg qpm, 7.5 mg Tues/Sat", "warfarin per INR", "Lasix 40 mg po bid",
               "furosemide 20 mg daily", "spironolactone 25 mg", "Norvasc 10 mg", "NTG 0.4 mg SL prn chest pain",
               "Imdur 30 mg daily", "digoxin 0.125 mg", "amiodarone 200 mg qd", "Eliquis 5 mg bid",
               "KCl 20 mEq daily", "Synthroid 88 mcg", "omeprazole 20 mg daily", "Protonix 40 mg",
               "albuterol MDI 2 puffs q4-6h prn", "Flovent 110 mcg 2 puffs bid", "gabapentin 300 mg tid",
               "Neurontin 600 mg hs", "sertraline 50 mg", "Zoloft 100 mg", "Tylenol 650 mg q6h prn",
               "oxycodone 5 mg q4h prn", "MVI 1 tab daily", "Januvia 100 mg daily", "Jardiance 10 mg",
               "carvedilol 12.5 mg bid", "Coreg 6.25 mg bid", "hydrochlorothiazide 25 mg", "Zestril 10 mg",
               "Sinemet 25/100 tid", "allopurinol 300 mg", "Flomax 0.4 mg qhs", "prednisone taper",
               "Aricept 10 mg", "calcium carbonate 500 mg bid", "vitamin D 1000 IU")
ALLERGIES = ("NKDA", "Penicillin (rash)", "Sulfa - hives", "codeine -> nausea", "ACE inhibitors (cough)",
             "IV contrast (anaphylaxis)", "shellfish", "Keflex", "No known drug allergies")
CONDITIONS = ("type 2 diabetes mellitus", "DM2, poorly controlled", "coronary artery disease s/p CABG",
              "CAD s/p PCI to LAD", "hypertension", "hyperlipidemia", "CHF with EF 35%",
              "atrial fibrillation on anticoagulation", "chronic kidney disease stage 3", "peripheral vascular disease",
              "diabetic neuropathy", "diabetic retinopathy", "obesity, BMI 36", "COPD", "obstructive sleep apnea",
              "hypothyroidism", "gout", "GERD", "depression", "BPH", "Parkinson's disease", "Graves' disease",
              "Hashimoto's thyroiditis", "Crohn's disease", "Barrett's esophagus", "Alzheimer's dementia",
              "Bell's palsy (resolved)", "Wolff-Parkinson-White s/p ablation", "Cushing's syndrome",
              "Hodgkin's lymphoma in remission", "mitral regurgitation", "aortic stenosis", "osteoarthritis",
              "Raynaud's phenomenon", "Dupuytren's contracture", "s/p Nissen fundoplication", "s/p Whipple",
              "Paget's disease of bone", "Sjogren's syndrome", "Addison's disease", "Meniere's disease",
              "Brugada pattern on ECG", "Charcot-Marie-Tooth", "Guillain-Barre (2 yrs ago, recovered)")
EXAM_LINES = ("General: Alert and oriented x3, in no acute distress.", "HEENT: PERRL, EOMI. Oropharynx clear.",
              "Neck: Supple, no JVD, no bruits.", "Lungs: Clear to auscultation bilaterally. No wheezes.",
              "Chest: Bibasilar crackles, L > R.", "CV: RRR, S1 S2 normal, 2/6 systolic ejection murmur at RUSB.",
              "Heart: Irregularly irregular, III/VI holosystolic murmur at apex radiating to axilla.",
              "Abd: Soft, non-tender, non-distended, +BS. Murphy's sign negative.",
              "ABDOMEN: Obese, soft. No hepatosplenomegaly.", "Ext: 1+ pitting edema to mid-shin bilaterally.",
              "Extremities: Warm, 2+ DP/PT pulses. Homans' sign negative.",
              "Neuro: CN II-XII intact. Strength 5/5 throughout. Romberg negative. Babinski downgoing.",
              "Feet: Monofilament sensation decreased on left. No ulcers. Tinel's positive at the wrist.",
              "Skin: Warm, dry. Sternotomy scar well healed.", "Psych: Positive affect, good insight.",
              "Rectal: Guaiac negative.", "GU: Foley in place draining clear yellow urine.")
SYMPTOMS = ("exertional chest pressure", "worsening dyspnea on exertion", "two-pillow orthopnea",
            "polyuria and polydipsia", "palpitations", "lightheadedness on standing", "bilateral leg swelling",
            "numbness in both feet", "a non-healing ulcer on the left great toe", "blurry vision",
            "fatigue", "an episode of syncope", "substernal chest pain radiating to the left arm",
            "nausea and diaphoresis", "PND", "hypoglycemic episodes with sugars in the 40s")
HEADINGS_PLAN = ("Continue current regimen.", "Increase Lasix to 80 mg daily; check BMP in one week.",
                 "A1c goal < 7%. Titrate Lantus by 2 units every 3 days to fasting sugars of 100-130.",
                 "Refer to Ophthalmology for dilated exam.", "Stress test (Bruce protocol) to be scheduled.",
                 "Holter monitor x 48 hours.", "Cardiac rehab referral placed.", "Low-sodium diet, 2 g Na.",
                 "Foot care reviewed. Podiatry follow-up.", "Flu shot given today, left deltoid.",
                 "Check lipid panel, LFTs, TSH.", "Hold metformin 48 h after contrast.",
                 "CHADS2-VASc 4; continue anticoagulation.", "Framingham risk score reviewed with patient.",
                 "Apply Glasgow-Blatchford score if GI bleeding recurs.", "Foley to be removed POD 2.",
                 "Will recheck A1c in 3 months.", "Hope to avoid insulin if weight loss continues.",
                 "May need repeat cath if symptoms recur.", "Sugars rose to 300s on prednisone; Grant of prior auth "
                 "for Jardiance pending.", "Charcot foot: total contact cast per Podiatry.",
                 "Wells score low; no CTA.", "Mobitz I (Wenckebach) on Holter, asymptomatic; no pacer.",
                 "Doppler of carotids: < 50% stenosis bilaterally.", "Swan-Ganz not needed.",
                 "Rusty sputum resolved after Levaquin.", "Faith-based support group encouraged.")


@dataclass(frozen=True)
class Phi:
    """A piece of note text that is PHI of i2b2 2014 type ``kind``."""

    kind: str
    text: str


Piece = str | Phi


class NoteBuilder:
    """Appends text and PHI pieces, recording each PHI piece's exact character span."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._spans: list[tuple[int, int, str]] = []
        self._length = 0

    def add(self, *pieces: Piece) -> NoteBuilder:
        for piece in pieces:
            text = piece.text if isinstance(piece, Phi) else piece
            if isinstance(piece, Phi):
                self._spans.append((self._length, self._length + len(text), piece.kind))
            self._parts.append(text)
            self._length += len(text)
        return self

    def fill(self, template: str, **values: Piece) -> NoteBuilder:
        """Append ``template`` with each ``{field}`` replaced by its value (a PHI value keeps its span)."""
        for literal, field, _, _ in string.Formatter().parse(template):
            self.add(literal)
            if field is not None:
                self.add(values[field])
        return self

    def note(self, note_id: str) -> GoldNote:
        text = "".join(self._parts)
        spans = [gold_span(text, start, end, kind) for start, end, kind in self._spans]
        return GoldNote(note_id, text, spans)


# --- people, places and numbers ----------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    first: str
    middle: str  # an initial
    last: str
    female: bool

    def written(self, rng: random.Random, kind: str, styles: tuple[str, ...] | None = None) -> Phi:
        """The name in one of the ways notes write names, as PHI of ``kind`` (PATIENT or DOCTOR)."""
        style = rng.choice(styles or ("first last", "first last", "first m last", "last", "last", "last, first",
                                      "f last", "LAST, FIRST", "first", "lower", "LAST", "initials", "LAST,FIRST",
                                      "f last no dot", "last first"))
        text = {
            "first last": f"{self.first} {self.last}",
            "first m last": f"{self.first} {self.middle}. {self.last}",
            "last": self.last,
            "last, first": f"{self.last}, {self.first}",
            "LAST, FIRST": f"{self.last.upper()}, {self.first.upper()} {self.middle}",
            "f last": f"{self.first[0]}. {self.last}",
            "f last no dot": f"{self.first[0]} {self.last}",
            "LAST,FIRST": f"{self.last.upper()},{self.first.upper()}",
            "last first": f"{self.last} {self.first}",
            "first": self.first,
            "lower": f"{self.first} {self.last}".lower(),
            "LAST": self.last.upper(),
            "initials": self.initials(),
        }[style]
        return Phi(kind, text)

    def initials(self) -> str:
        return (self.first[0] + self.middle + self.last.replace("'", "").replace(" ", "")[0]).upper()

    @property
    def title(self) -> str:
        return "Ms." if self.female else "Mr."


def make_person(rng: random.Random, female: bool | None = None) -> Person:
    female = rng.random() < 0.5 if female is None else female
    return Person(rng.choice(FEMALE if female else MALE), rng.choice(string.ascii_uppercase), rng.choice(SURNAMES),
                  female)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def phone(rng: random.Random, kind: str = "PHONE") -> Phi:
    area, mid, last = rng.choice(("617", "508", "781", "978", "413", "401", "603")), rng.randrange(200, 1000), digits(rng, 4)
    shape = rng.choice(("({a}) {m}-{l}", "{a}-{m}-{l}", "{a}.{m}.{l}", "{a} {m} {l}", "{m}-{l}", "x{e}", "{a}{m}{l}"))
    return Phi(kind, shape.format(a=area, m=mid, l=last, e=rng.randrange(1000, 10000)))


def staff_code(rng: random.Random, person: Person) -> Phi:
    """A username / signature code as EHRs print them: jmh23, RJK, kwolf."""
    initials = person.initials()
    shape = rng.choice(("{i}{n}", "{i}", "{i_low}", "{f}{last}", "{i_low}{n}", "{f}{last}{n1}"))
    last = "".join(c for c in person.last.lower() if c.isalpha())[:7]
    return Phi("USERNAME", shape.format(i=initials, i_low=initials.lower(), n=digits(rng, 2), n1=digits(rng, 1),
                                        f=person.first[0].lower(), last=last))


def zip_code(rng: random.Random) -> str:
    return f"0{rng.randrange(1001, 6999)}" + (f"-{digits(rng, 4)}" if rng.random() < 0.2 else "")


def date_text(rng: random.Random, day: dt.date, shapes: tuple[str, ...] | None = None) -> Phi:
    """``day`` in one of the many shapes notes write dates."""
    shape = rng.choice(shapes or ("iso", "mdy", "mdy", "m/d/yy", "m/d", "mon d, y", "mon d y", "d mon y",
                                  "dd-mon-yyyy", "month y", "m/yy", "mm/yyyy", "mon d", "month dth", "mm/dd/yy",
                                  "m-d-yy", "mm.dd.yyyy", "mon-yy", "month 'yy", "yyyy/mm/dd"))
    m, d, y = day.month, day.day, day.year
    month = MONTHS[m - 1]
    ordinal = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(d, "th")
    text = {
        "iso": f"{y}-{m:02d}-{d:02d}", "mdy": f"{m:02d}/{d:02d}/{y}", "m/d/yy": f"{m}/{d}/{y % 100:02d}",
        "m/d": f"{m}/{d}", "mon d, y": f"{month} {d}, {y}", "mon d y": f"{month[:3]} {d} {y}",
        "d mon y": f"{d} {month} {y}", "dd-mon-yyyy": f"{d:02d}-{month[:3].upper()}-{y}", "month y": f"{month} {y}",
        "m/yy": f"{m}/{y % 100:02d}", "mm/yyyy": f"{m:02d}/{y}", "mon d": f"{month[:3]}. {d}",
        "month dth": f"{month} {d}{ordinal}", "mm/dd/yy": f"{m:02d}/{d:02d}/{y % 100:02d}",
        "m-d-yy": f"{m}-{d}-{y % 100:02d}", "mm.dd.yyyy": f"{m:02d}.{d:02d}.{y}", "mon-yy": f"{month[:3]}-{y % 100:02d}",
        "month 'yy": f"{month} '{y % 100:02d}", "yyyy/mm/dd": f"{y}/{m:02d}/{d:02d}",
    }[shape]
    return Phi("DATE", text)


def vague_date(rng: random.Random, day: dt.date) -> Phi:
    """Dates as people say them: a holiday, a weekday, a season of a year, a bare year."""
    y = day.year
    return Phi("DATE", rng.choice((rng.choice(HOLIDAYS), rng.choice(WEEKDAYS), f"{rng.choice(SEASONS)} of {y}",
                                   f"{rng.choice(SEASONS).title()} {y}", str(y), f"'{y % 100:02d}",
                                   f"{MONTHS[day.month - 1]} of {y}", MONTHS[day.month - 1])))


def age_text(rng: random.Random, age: int) -> Phi:
    return Phi("AGE", NUMBER_WORDS[age] if age in NUMBER_WORDS and rng.random() < 0.3 else str(age))


def decade_text(age: int) -> Phi:
    """An age as its decade ("80s"), as in "a man in his 80s"."""
    return Phi("AGE", f"{age // 10 * 10}s")


@dataclass(frozen=True)
class Chart:
    """One synthetic patient with everything a record about them may mention."""

    patient: Person
    birth: dt.date
    mrn: str
    hospital: tuple[str, str]
    clinic: str
    city: str
    state: str
    zip_code: str
    street: str
    home_phone: Phi
    pcp: Person
    specialist: Person
    resident: Person
    relative: Person
    relation: str
    profession: str
    employer: str
    origin: str
    problems: tuple[str, ...]
    medications: tuple[str, ...]

    def age_at(self, day: dt.date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


def make_chart(rng: random.Random, first_visit: dt.date) -> Chart:
    """A patient first seen on ``first_visit``; one in six is over 89 then (a Safe Harbor age)."""
    patient = make_person(rng)
    age = rng.randrange(90, 101) if rng.random() < 1 / 6 else rng.randrange(36, 90)
    birth = dt.date(first_visit.year - age - 1, rng.randrange(1, 13), rng.randrange(1, 29))
    mrn = rng.choice((digits(rng, 7), f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 2)}", digits(rng, 8),
                      f"{digits(rng, 2)}{rng.choice(string.ascii_uppercase)}{digits(rng, 5)}", digits(rng, 6)))
    relation = "wife" if not patient.female else rng.choice(("husband", "son", "daughter"))
    street = rng.choice((f"{rng.randrange(2, 2400)} {rng.choice(STREETS)}",
                         f"{rng.randrange(2, 400)} {rng.choice(STREETS)}, Apt {rng.randrange(1, 40)}{rng.choice('ABC')}",
                         f"P.O. Box {rng.randrange(10, 9999)}"))
    return Chart(patient, birth, mrn, rng.choice(HOSPITALS), rng.choice(CLINICS), rng.choice(CITIES),
                 rng.choice(STATES), zip_code(rng), street, phone(rng), make_person(rng), make_person(rng),
                 make_person(rng), make_person(rng, female=relation in ("wife", "daughter")), relation,
                 rng.choice(PROFESSIONS), rng.choice(ORGANIZATIONS), rng.choice(COUNTRIES),
                 tuple(rng.sample(CONDITIONS, rng.randrange(3, 8))), tuple(rng.sample(MEDICATIONS, rng.randrange(4, 11))))


def _hospital(rng: random.Random, chart: Chart, upper: bool = False) -> Phi:
    name, abbreviation = chart.hospital
    text = rng.choice((name, name, abbreviation))
    return Phi("HOSPITAL", text.upper() if upper else text)


def _doctor(rng: random.Random, person: Person, *styles: str) -> Phi:
    return person.written(rng, "DOCTOR", styles or ("first last", "last", "f last", "first m last", "LAST"))


def _patient(rng: random.Random, chart: Chart, *styles: str) -> Phi:
    return chart.patient.written(rng, "PATIENT", styles or None)


# --- note sections -----------------------------------------------------------------------------------
def _medication_list(b: NoteBuilder, rng: random.Random, chart: Chart, heading: str,
                     visit: dt.date | None = None) -> None:
    b.add(heading, "\n")
    if visit is not None and rng.random() < 0.35:  # a table with start dates, as EHR medication lists print
        b.add("Medication\tDose/Sig\tStart\n")
        for medication in chart.medications:
            name, _, sig = medication.partition(" ")
            started = visit - dt.timedelta(days=rng.randrange(10, 3000))
            b.add(f"{name}\t{sig}\t", date_text(rng, started, ("mdy", "m/d/yy", "mm/yyyy")), "\n")
        return
    bullet = rng.choice(("  ", "- ", "* ", "", "{n}. "))
    for n, medication in enumerate(chart.medications, 1):
        b.add(bullet.format(n=n), medication, "\n")


def _problem_list(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    b.add(rng.choice(("Problems:", "PROBLEM LIST:", "Past Medical History:", "PMH:")), "\n")
    numbered = rng.random() < 0.5
    for n, problem in enumerate(chart.problems, 1):
        b.add(f"{n}. " if numbered else "  ", problem)
        if rng.random() < 0.3:
            b.add(", dx ", date_text(rng, visit - dt.timedelta(days=rng.randrange(200, 6000)),
                                     ("m/yy", "month y", "mm/yyyy", "m/d/yy")))
        elif rng.random() < 0.15:
            b.add(" since ", vague_date(rng, visit - dt.timedelta(days=rng.randrange(400, 7000))))
        b.add("\n")


def _vitals(b: NoteBuilder, rng: random.Random) -> None:
    systolic, diastolic = rng.randrange(100, 182), rng.randrange(58, 104)
    b.add(rng.choice((f"BP {systolic}/{diastolic}  P {rng.randrange(52, 118)}  RR {rng.randrange(12, 24)}  "
                      f"T {rng.randrange(970, 1012) / 10}  Wt {rng.randrange(120, 320)} lb\n",
                      f"VS: T 98.{rng.randrange(10)}, HR {rng.randrange(52, 118)}, BP {systolic}/{diastolic}, "
                      f"RR {rng.randrange(12, 24)}, O2 sat {rng.randrange(88, 100)}% on {rng.choice(('RA', '2L NC'))}\n",
                      f"Vitals: {systolic}/{diastolic}, {rng.randrange(52, 118)}, afebrile. BMI {rng.randrange(22, 44)}.\n")))


def _labs(b: NoteBuilder, rng: random.Random, visit: dt.date) -> None:
    earlier = visit - dt.timedelta(days=rng.randrange(60, 400))
    shapes = ("mm/dd/yy", "m/d/yy", "mdy", "m/d")
    b.add(rng.choice(("Labs:", "LABORATORY DATA:", "Recent labs:", "Lab results")), "\n")
    if rng.random() < 0.12:
        b.fill("Research draw, biorepository ID {bio}.\n", bio=Phi("BIOID", f"{rng.choice(('BR', 'GX'))}{digits(rng, 7)}"))
    if rng.random() < 0.5:  # a table with the dates as column heads
        b.add("Test\t\t", date_text(rng, visit, shapes), "\t", date_text(rng, earlier, shapes), "\n")
        for test, low, high, scale, unit in (("HbA1c", 60, 115, 10, "%"), ("Creatinine", 7, 25, 10, "mg/dL"),
                                             ("K", 33, 54, 10, "mmol/L"), ("LDL", 50, 170, 1, "mg/dL"),
                                             ("BNP", 40, 1400, 1, "pg/mL")):
            b.add(f"{test}\t\t{rng.randrange(low, high) / scale:g}\t{rng.randrange(low, high) / scale:g} {unit}\n")
    else:
        b.add(date_text(rng, visit, shapes), f": Na {rng.randrange(130, 146)}, K {rng.randrange(33, 54) / 10}, "
              f"Cl {rng.randrange(96, 110)}, CO2 {rng.randrange(20, 31)}, BUN {rng.randrange(8, 60)}, "
              f"Cr {rng.randrange(7, 30) / 10}, Glu {rng.randrange(70, 390)}. A1c {rng.randrange(55, 120) / 10}%. "
              f"INR {rng.randrange(9, 35) / 10}. Hct {rng.randrange(280, 460) / 10}. TSH {rng.randrange(3, 60) / 10}.\n")


def _exam(b: NoteBuilder, rng: random.Random) -> None:
    b.add(rng.choice(("PHYSICAL EXAM:", "Exam:", "PE:", "Physical examination")), "\n")
    for line in rng.sample(EXAM_LINES, rng.randrange(4, 9)):
        b.add(line, "\n")


def _interval_events(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A few narrative sentences of what happened since the last visit."""
    p, relative = chart.patient, chart.relative
    pronoun = "She" if p.female else "He"
    earlier = visit - dt.timedelta(days=rng.randrange(20, 150))
    sentences = (
        lambda: b.fill("{pronoun} traveled to {country} over {holiday} and ran out of insulin while away. ",
                       pronoun=pronoun, country=Phi("COUNTRY", chart.origin), holiday=Phi("DATE", rng.choice(HOLIDAYS))),
        lambda: b.fill("Had a mechanical fall at {place} in {month}; no head strike. ", month=Phi("DATE", MONTHS[earlier.month - 1]),
                       place=Phi("LOCATION-OTHER", rng.choice(OTHER_PLACES))),
        lambda: b.fill("ETT at {hospital} on {date}: 7 METS, no ischemia, Duke treadmill score +5. ",
                       hospital=_hospital(rng, chart), date=date_text(rng, earlier)),
        lambda: b.fill("Per Dr. {doc}'s note of {date}, mild NPDR OU, no macular edema. ",
                       doc=_doctor(rng, chart.specialist, "last"), date=date_text(rng, earlier, ("m/d/yy", "m/d", "mon d"))),
        lambda: b.fill("Last colonoscopy {year} with Dr. {doc}: two tubular adenomas. ",
                       year=Phi("DATE", str(visit.year - rng.randrange(2, 9))), doc=_doctor(rng, chart.resident, "last", "f last")),
        lambda: b.fill("{pronoun2} {rel}, {name}, is a {job} and helps with medications. ", pronoun2="Her" if p.female else "His",
                       rel=chart.relation, name=relative.written(rng, "PATIENT", ("first", "first last")),
                       job=Phi("PROFESSION", rng.choice(PROFESSIONS))),
        lambda: b.fill("Moved in with family in {city}, {state} after {holiday}. ", city=Phi("CITY", rng.choice(CITIES)),
                       state=Phi("STATE", rng.choice(STATES)), holiday=Phi("DATE", rng.choice(HOLIDAYS))),
        lambda: b.add("Parkinson's tremor stable on Sinemet. No Raynaud's symptoms. "),
        lambda: b.fill("Now in {pos} {decade}, {pronoun} still drives and lives independently. ",
                       pos="her" if p.female else "his", decade=decade_text(chart.age_at(visit)),
                       pronoun=pronoun.lower()),
        lambda: b.fill("Called {when} with a sugar of 42 after skipping lunch. ", when=vague_date(rng, earlier)),
    )
    for sentence in rng.sample(sentences, rng.randrange(1, 4)):
        sentence()


def social_work_note(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A social work / care coordination note: family, work, services and places."""
    p = chart.patient
    b.fill("Record date: {date}\n\nSOCIAL WORK NOTE\n\nReferred by: {doc}, {dept}\n", date=date_text(rng, visit, ("iso",)),
           doc=_doctor(rng, chart.pcp, "first last", "LAST, FIRST"), dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)))
    b.fill("Met with {name} and {pos} {rel} {relative} in room {room} to discuss discharge planning. ",
           name=_patient(rng, chart, "first last", "last, first"), pos="her" if p.female else "his", rel=chart.relation,
           relative=chart.relative.written(
               rng, "PATIENT", ("first", "first last")), room=Phi("ROOM", f"{rng.randrange(2, 12)}{rng.randrange(10, 40)}"))
    b.fill("Pt is a {age} yo former {job} at {org}, born in {country}, living alone at {street} in {city}. ",
           age=age_text(rng, chart.age_at(visit)), job=Phi("PROFESSION", chart.profession),
           org=Phi("ORGANIZATION", chart.employer), country=Phi("COUNTRY", chart.origin), street=Phi("STREET", chart.street),
           city=Phi("CITY", chart.city))
    b.fill("Income: SSDI. Insurance: {plan}.\n\nPLAN:\n- Referral faxed to {org} ({fax}).\n", plan=Phi("ORGANIZATION", rng.choice(INSURERS)),
           org=Phi("ORGANIZATION", rng.choice(ORGANIZATIONS)), fax=phone(rng, "FAX"))
    b.fill("- Meals on Wheels and a Lifeline button to start {date}.\n- {rel} can be reached at {phone}.\n",
           date=date_text(rng, visit + dt.timedelta(days=3), ("m/d", "mon d")), rel=chart.relation.title(), phone=phone(rng))
    b.fill("- Short-term rehab at {rehab} discussed; family prefers home.\n", rehab=Phi("HOSPITAL", rng.choice(REHAB)))
    b.fill("\n{name}, LICSW\nx{ext}\n", name=make_person(rng).written(rng, "DOCTOR", ("first last",)),
           ext=Phi("PHONE", str(rng.randrange(1000, 10000))))


def _social(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    p = chart.patient
    sentences = [
        lambda: b.fill(rng.choice(("Works as a {job} at {org}. ", "Retired {job}, formerly with {org}. ")),
                       job=Phi("PROFESSION", chart.profession), org=Phi("ORGANIZATION", chart.employer)),
        lambda: b.fill("Lives with {pro} {rel} {name} in {city}. ", pro="his" if not p.female else "her",
                       rel=chart.relation, name=chart.relative.written(rng, "PATIENT", ("first", "first last")),
                       city=Phi("CITY", chart.city)),
        lambda: b.fill("Emigrated from {country} in {year}. ", country=Phi("COUNTRY", chart.origin),
                       year=Phi("DATE", str(visit.year - rng.randrange(5, 40)))),
        lambda: b.fill("Quit smoking {when} (40 pack-years). ", when=vague_date(rng, visit - dt.timedelta(days=900))),
        lambda: b.fill("Spent {holiday} with family on {place}. ", holiday=Phi("DATE", rng.choice(HOLIDAYS)),
                       place=Phi("LOCATION-OTHER", rng.choice(OTHER_PLACES))),
        lambda: b.add("Drinks 2-3 beers on weekends. No illicit drugs. "),
        lambda: b.fill("Services through {org}. ", org=Phi("ORGANIZATION", rng.choice(ORGANIZATIONS))),
    ]
    b.add(rng.choice(("Social history: ", "SOCIAL HISTORY:\n", "SH: ", "Social: ")))
    for sentence in rng.sample(sentences, rng.randrange(2, 5)):
        sentence()
    b.add("\n")


def _signature(b: NoteBuilder, rng: random.Random, doctor: Person, chart: Chart, visit: dt.date) -> None:
    shape = rng.randrange(6)
    if shape == 0:
        b.fill("\n______________________________\n{name}, M.D.\n", name=_doctor(rng, doctor, "first m last", "first last"))
    elif shape == 1:
        b.fill("\nElectronically signed by {name} MD on {date} [{code}]\n", name=_doctor(rng, doctor, "first last", "LAST"),
               date=date_text(rng, visit, ("mdy", "m/d/yy", "iso")), code=staff_code(rng, doctor))
    elif shape == 2:
        b.fill("\n{name}, MD, PhD\n{dept}\n", name=_doctor(rng, doctor, "first m last"),
               dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)))
    elif shape == 3:
        b.fill("\n{code}\n", code=staff_code(rng, doctor))
    elif shape == 4:
        b.fill("\n{name} / {code}\nPager #{pager}\n", name=_doctor(rng, doctor, "f last", "first last"),
               code=staff_code(rng, doctor), pager=Phi("PHONE", digits(rng, 5)))
    else:
        b.fill("\nSigned: {name}, NP for Dr. {attending}\n", name=_doctor(rng, chart.resident, "first last"),
               attending=_doctor(rng, doctor, "last"))
    if rng.random() < 0.4:
        b.fill("cc: {first}; {second}\n", first=_doctor(rng, chart.pcp, "first last", "f last"),
               second=_doctor(rng, chart.specialist, "first last", "last"))


def _dictation_footer(b: NoteBuilder, rng: random.Random, doctor: Person, attending: Person, visit: dt.date) -> None:
    typed = visit + dt.timedelta(days=rng.randrange(0, 4))
    b.fill("\nDictated By: {name}\nAttending Provider: {attending}\n", name=_doctor(rng, doctor, "LAST, FIRST", "first last"),
           attending=_doctor(rng, attending, "LAST, FIRST", "first m last"))
    b.fill("{code}\nDD: {dd}\nDT: {dt}\nTD: {td} {typist}\n", code=staff_code(rng, doctor),
           dd=date_text(rng, visit, ("mm/dd/yy",)), dt=date_text(rng, typed, ("mm/dd/yy",)),
           td=date_text(rng, typed, ("m/d/yy", "mdy")),
           typist=Phi("USERNAME", rng.choice(string.ascii_lowercase) + rng.choice(string.ascii_lowercase)))
    b.fill("Job #: {job}  Batch: {batch}\neScription document: {doc}\n", job=Phi("IDNUM", digits(rng, 6)),
           batch=Phi("IDNUM", digits(rng, 5)), doc=Phi("IDNUM", f"{rng.randrange(1, 9)}-{digits(rng, 7)}"))


def _registration(b: NoteBuilder, rng: random.Random, chart: Chart) -> None:
    """The face-sheet block registration prints above a note."""
    b.fill("SSN: {ssn}   Acct: {account}\nInsurance: {plan}, member ID {plan_id}\n",
           ssn=Phi("SSN", f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 4)}"), account=Phi("ACCOUNT", digits(rng, 10)),
           plan=Phi("ORGANIZATION", rng.choice(INSURERS)),
           plan_id=Phi("HEALTHPLAN", f"{rng.choice(('XJH', 'MBR', 'QZ', 'H'))}{digits(rng, 9)}"))
    b.fill("Address: {street}, {city}, {state} {zip}\n", street=Phi("STREET", chart.street),
           city=Phi("CITY", chart.city), state=Phi("STATE", chart.state), zip=Phi("ZIP", chart.zip_code))


def _record_number(b: NoteBuilder, rng: random.Random, chart: Chart) -> None:
    """The medical record number under one of its many labels, some naming the hospital ("RMH #")."""
    label = rng.randrange(6)
    if label == 0:
        b.add(Phi("HOSPITAL", chart.hospital[1]), " #", Phi("MEDICALRECORD", chart.mrn))
    else:
        b.add(("MRN: ", "MR# ", "Unit No: ", "Med Rec #: ", "Hosp. No. ")[label - 1], Phi("MEDICALRECORD", chart.mrn))


def _letterhead(b: NoteBuilder, rng: random.Random, chart: Chart) -> None:
    upper = rng.random() < 0.5
    b.add(_hospital(rng, chart, upper), "\n")
    if rng.random() < 0.6:
        b.add(Phi("DEPARTMENT", rng.choice(DEPARTMENTS)), "\n")
    b.fill("{street}\n{city}, {state} {zip}\n", street=Phi("STREET", f"{rng.randrange(1, 900)} {rng.choice(STREETS)}"),
           city=Phi("CITY", rng.choice(CITIES)), state=Phi("STATE", rng.choice(STATES)),
           zip=Phi("ZIP", zip_code(rng)))
    b.fill("Tel: {tel}   Fax: {fax}\n", tel=phone(rng), fax=phone(rng, "FAX"))
    if rng.random() < 0.3:
        b.fill("{url}\n", url=Phi("URL", rng.choice(("www.", "https://www.", "http://")) + rng.choice(DOMAINS)))


# --- note types --------------------------------------------------------------------------------------
def progress_note(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A longitudinal clinic visit of a diabetic or cardiac patient, i2b2-style "Record date:" header."""
    p = chart.patient
    b.fill("Record date: {date}\n\n", date=date_text(rng, visit, ("iso",)))
    if rng.random() < 0.5:
        b.fill("{clinic}\n", clinic=Phi("HOSPITAL", rng.choice((chart.clinic, chart.clinic.upper()))))
    header = rng.randrange(3)
    if header == 0:
        b.fill("Patient: {name}\n", name=_patient(rng, chart, "LAST, FIRST", "first last", "LAST,FIRST"))
        _record_number(b, rng, chart)
        b.fill("\nDOB: {dob}\n\n", dob=date_text(rng, chart.birth, ("mdy", "m/d/yy", "iso")))
    elif header == 1:
        b.fill("{name} is a {age} year old {sex} seen today for follow-up of {problem}.\n\n",
               name=_patient(rng, chart, "first last", "first m last"), age=age_text(rng, chart.age_at(visit)),
               sex="woman" if p.female else "man", problem=chart.problems[0])
    else:
        b.fill("{title} {name} returns to clinic. {age} yo with {problem}.\n\n", title=p.title,
               name=_patient(rng, chart, "last", "LAST"), age=age_text(rng, chart.age_at(visit)), problem=chart.problems[0])
    b.add(rng.choice(("Interval History:", "S:", "HPI:", "Subjective:")), " ")
    last_visit = visit - dt.timedelta(days=rng.randrange(60, 200))
    b.fill("Since last seen on {last}, {pronoun} reports {symptom}. ", last=date_text(rng, last_visit),
           pronoun="she" if p.female else "he", symptom=rng.choice(SYMPTOMS))
    if rng.random() < 0.5:
        b.fill("Was admitted to {hospital} over {holiday} for {symptom}, discharged to {rehab}. ",
               hospital=_hospital(rng, chart), holiday=Phi("DATE", rng.choice(HOLIDAYS)), symptom=rng.choice(SYMPTOMS),
               rehab=Phi("HOSPITAL", rng.choice(REHAB)))
    if rng.random() < 0.5:
        b.fill("Seen by Dr. {doc} in {dept} on {date}, who started {med}. ", doc=_doctor(rng, chart.specialist, "last"),
               dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)), date=date_text(rng, last_visit + dt.timedelta(days=20)),
               med=rng.choice(MEDICATIONS))
    _interval_events(b, rng, chart, visit)
    b.add("Home fingersticks 140-220. Denies chest pain at rest.\n\n")
    _problem_list(b, rng, chart, visit)
    b.add("\n")
    _medication_list(b, rng, chart, rng.choice(("Medications:", "MEDICATIONS:", "Current meds:")), visit)
    b.add("\nAllergies: ", rng.choice(ALLERGIES), "\n\n")
    if rng.random() < 0.6:
        _social(b, rng, chart, visit)
        b.add("\n")
    _vitals(b, rng)
    _exam(b, rng)
    b.add("\n")
    _labs(b, rng, visit)
    b.add("\nAssessment and Plan:\n")
    for n, plan in enumerate(rng.sample(HEADINGS_PLAN, rng.randrange(2, 5)), 1):
        b.add(f"{n}) {plan}\n")
    b.fill("Return to clinic in {weeks} weeks, or sooner prn. Next visit {date}.\n", weeks=str(rng.randrange(2, 16)),
           date=date_text(rng, visit + dt.timedelta(days=rng.randrange(30, 120)), ("m/d", "mon d", "mdy", "month dth")))
    _signature(b, rng, chart.pcp, chart, visit)


def discharge_summary(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A hospital discharge summary with a dictation header and footer."""
    admitted = visit - dt.timedelta(days=rng.randrange(2, 12))
    if rng.random() < 0.5:
        b.fill("Record date: {date}\n\n", date=date_text(rng, visit, ("iso",)))
    b.add(_hospital(rng, chart, upper=True), "\n")
    b.add(rng.choice(("DISCHARGE SUMMARY", "Discharge Summary", "DISCHARGE SUMMARY - FINAL")), "\n\n")
    b.fill("PATIENT: {name}          UNIT NO: {mrn}\n", name=_patient(rng, chart, "LAST, FIRST", "LAST"),
           mrn=Phi("MEDICALRECORD", chart.mrn))
    b.fill("ADMISSION DATE: {a}\nDISCHARGE DATE: {d}\n", a=date_text(rng, admitted, ("mdy", "mm/dd/yy", "m/d/yy")),
           d=date_text(rng, visit, ("mdy", "mm/dd/yy", "m/d/yy")))
    if rng.random() < 0.5:
        b.fill("ROOM: {room}   SERVICE: {dept}\n", room=Phi("ROOM", rng.choice((
            f"{rng.randrange(2, 14)}{rng.randrange(10, 60)}{rng.choice(('A', 'B', ''))}", f"Bed {rng.randrange(1, 30)}"))),
            dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)))
    if rng.random() < 0.4:
        _registration(b, rng, chart)
    b.fill("\nPRINCIPAL DIAGNOSIS: {dx}\n\nHISTORY OF PRESENT ILLNESS:\n", dx=chart.problems[0])
    b.fill("{title} {name} is a {age}-year-old {job} with {problems} who presented to the {hospital} Emergency "
           "Department with {symptom}. ", title=chart.patient.title, name=_patient(rng, chart, "last"),
           age=age_text(rng, chart.age_at(visit)), job=Phi("PROFESSION", chart.profession), problems=", ".join(chart.problems[1:3]),
           hospital=_hospital(rng, chart), symptom=rng.choice(SYMPTOMS))
    b.fill("Onset was {when}. {pronoun} was transferred from {other} for catheterization.\n\n",
           when=vague_date(rng, admitted), pronoun="She" if chart.patient.female else "He",
           other=Phi("HOSPITAL", rng.choice(HOSPITALS)[0]))
    b.add("HOSPITAL COURSE:\n")
    b.fill("1. CV: Cardiac enzymes peaked with troponin 2.31 on {day}. Cath on {cath} by Dr. {doc} showed 90% "
           "proximal LAD stenosis; a drug-eluting stent was placed. Echo: EF 40-45%, 2+ MR.\n",
           day=date_text(rng, admitted + dt.timedelta(days=1), ("m/d", "mon d")),
           cath=date_text(rng, admitted + dt.timedelta(days=2), ("m/d", "m/d/yy")), doc=_doctor(rng, chart.specialist))
    b.add("2. Endocrine: Metformin held; covered with insulin sliding scale. A1c 9.1%.\n")
    b.add("3. Renal: Creatinine 1.4 -> 1.1 with gentle hydration. Foley removed HD 3.\n\n")
    _medication_list(b, rng, chart, "DISCHARGE MEDICATIONS:")
    b.add("\nDISPOSITION: ")
    if rng.random() < 0.5:
        b.fill("to {rehab} in {city}.\n", rehab=Phi("HOSPITAL", rng.choice(REHAB)), city=Phi("CITY", rng.choice(CITIES)))
    else:
        b.fill("home with services from {vna}.\n", vna=Phi("ORGANIZATION", rng.choice(ORGANIZATIONS)))
    b.fill("CONDITION ON DISCHARGE: Stable.\nFOLLOW-UP: Dr. {pcp} in 1-2 weeks ({phone}); Dr. {spec}, "
           "{dept}, on {date}.\n", pcp=_doctor(rng, chart.pcp, "last", "first last"), phone=phone(rng),
           spec=_doctor(rng, chart.specialist, "last"), dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)),
           date=date_text(rng, visit + dt.timedelta(days=rng.randrange(7, 40))))
    _dictation_footer(b, rng, chart.resident, chart.specialist, visit)
    if rng.random() < 0.5:
        b.fill("cc: {pcp}, M.D., {clinic}\n", pcp=_doctor(rng, chart.pcp, "first m last", "first last"),
               clinic=Phi("HOSPITAL", chart.clinic))


def clinic_letter(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A consultant's letter to the referring doctor."""
    _letterhead(b, rng, chart)
    b.add("\n", date_text(rng, visit, ("mon d, y", "mdy", "d mon y")), "\n\n")
    b.fill("{pcp}, M.D.\n{clinic}\n{street}\n{city}, {state} {zip}\n\n", pcp=_doctor(rng, chart.pcp, "first m last"),
           clinic=Phi("HOSPITAL", chart.clinic), street=Phi("STREET", f"{rng.randrange(1, 900)} {rng.choice(STREETS)}"),
           city=Phi("CITY", rng.choice(CITIES)), state=Phi("STATE", rng.choice(STATES)), zip=Phi("ZIP", zip_code(rng)))
    b.fill("RE: {name}\nDOB: {dob}\nMR#: {mrn}\n\n", name=_patient(rng, chart, "first m last", "first last", "LAST, FIRST"),
           dob=date_text(rng, chart.birth, ("mdy", "m/d/yy")), mrn=Phi("MEDICALRECORD", chart.mrn))
    b.fill(rng.choice(("Dear Dr. {doc}:\n\n", "Dear {doc},\n\n")), doc=_dear(rng, chart.pcp))
    b.fill("Thank you for referring {name}, a pleasant {age}-year-old {job}, whom I saw in {dept} clinic today. "
           "As you know, {pronoun} has {problems}. ", name=_patient(rng, chart, "first last", "first m last"),
           age=age_text(rng, chart.age_at(visit)), job=Phi("PROFESSION", chart.profession),
           dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)), pronoun="she" if chart.patient.female else "he",
           problems=" and ".join(chart.problems[:2]))
    b.fill("Since {when} {pronoun} has noted {symptom}.\n\n", when=vague_date(rng, visit - dt.timedelta(days=120)),
           pronoun="she" if chart.patient.female else "he", symptom=rng.choice(SYMPTOMS))
    _medication_list(b, rng, chart, "Current medications:")
    b.add("\nOn examination, ")
    _vitals(b, rng)
    for line in rng.sample(EXAM_LINES, 3):
        b.add(line, " ")
    b.add("\n\nImpression and recommendations: ", " ".join(rng.sample(HEADINGS_PLAN, 3)), "\n\n")
    b.fill("I will see {pronoun} again in {month}. Please do not hesitate to call me at {phone} or e-mail "
           "{email} with questions.\n\nSincerely,\n\n", pronoun="her" if chart.patient.female else "him",
           month=Phi("DATE", MONTHS[(visit.month + 2) % 12]), phone=phone(rng),
           email=Phi("EMAIL", f"{chart.specialist.first[0].lower()}{chart.specialist.last.lower().replace(' ', '')}"
                              f"@{rng.choice(DOMAINS)}".replace("'", "")))
    b.fill("{doc}, M.D.\n{code}\n", doc=_doctor(rng, chart.specialist, "first m last", "first last"),
           code=staff_code(rng, chart.specialist))
    b.fill("cc: {name}\n", name=_patient(rng, chart, "first m last", "first last"))


def _dear(rng: random.Random, person: Person) -> Phi:
    """The salutation's name part: "Dear Dr. Hawk", "Dear Kelly" (the "Dr." stays outside the span)."""
    return Phi("DOCTOR", rng.choice((person.last, person.first, f"{person.first} {person.last}")))


def ed_note(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """An emergency department note with triage line, course and disposition."""
    b.add(rng.choice(("EMERGENCY DEPARTMENT NOTE", "ED Attending Note", "ED VISIT")), "\n")
    b.fill("{hospital} Emergency Department\n", hospital=_hospital(rng, chart))
    b.fill("Patient: {name}   ", name=_patient(rng, chart, "LAST, FIRST", "first last", "lower"))
    _record_number(b, rng, chart)
    b.fill("   Age: {age}   Arrival: {date} 02:14\n", age=age_text(rng, chart.age_at(visit)),
           date=date_text(rng, visit, ("mdy", "m/d/yy", "iso")))
    if rng.random() < 0.35:
        _registration(b, rng, chart)
    b.fill("PCP: {pcp}     Room: {room}\n\n", pcp=_doctor(rng, chart.pcp, "LAST, FIRST", "first last", "LAST"),
           room=Phi("ROOM", f"{rng.choice(('A', 'B', 'C', 'Trauma '))}{rng.randrange(1, 30)}"))
    b.fill("CHIEF COMPLAINT: {symptom}\n\nHPI: {age} y/o {sex} {brought} with {symptom2} that began {when}. ",
           symptom=rng.choice(SYMPTOMS), age=age_text(rng, chart.age_at(visit)), sex="F" if chart.patient.female else "M",
           brought=rng.choice(("BIBA", "walked in", "brought in by family")), symptom2=rng.choice(SYMPTOMS),
           when=Phi("DATE", rng.choice(WEEKDAYS)) if rng.random() < 0.5 else "this morning")
    b.fill("{rel} {name} at bedside ({phone}). PMH significant for {problems}.\n\n", rel=chart.relation.title(),
           name=chart.relative.written(rng, "PATIENT", ("first", "first last", "lower")), phone=phone(rng),
           problems=", ".join(chart.problems[:3]))
    if rng.random() < 0.3:
        b.fill("Returned from visiting family in {country} {when}; {language}-speaking, interpreter used.\n",
               country=Phi("COUNTRY", chart.origin), when=Phi("DATE", f"last {rng.choice(WEEKDAYS)}"),
               language=rng.choice(("Portuguese", "Spanish", "Haitian Creole", "Vietnamese", "Polish")))
    b.add("ROS: Positive for fatigue. Negative for fevers, chills, melena. All other systems reviewed and negative.\n")
    _medication_list(b, rng, chart, "MEDS:", visit)
    b.add("ALLERGIES: ", rng.choice(ALLERGIES), "\n\n")
    _vitals(b, rng)
    _exam(b, rng)
    b.add("\nECG: Sinus rhythm at 88, LBBB, unchanged from prior. CXR: No acute process.\n")
    b.add(f"Troponin < 0.01. Lactate {rng.randrange(8, 40) / 10}. Glucose {rng.randrange(60, 480)}.\n\n")
    b.add("ED COURSE: Given ASA 325 mg, NTG SL x2 with relief. Heparin drip started per ACS protocol.\n")
    b.fill("Discussed with cardiology fellow Dr. {fellow} (pager {pager}). ", fellow=_doctor(rng, chart.resident, "last", "f last"),
           pager=phone(rng))
    b.fill("Admitted to {dept}, bed {room}.\n\n", dept=Phi("DEPARTMENT", rng.choice(DEPARTMENTS)),
           room=Phi("ROOM", f"{rng.randrange(2, 12)}-{rng.randrange(10, 50)}"))
    b.add("DISPOSITION: Admit. CONDITION: Guarded.\n")
    _signature(b, rng, chart.specialist, chart, visit)


def telephone_note(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A short, quickly typed telephone encounter, often in lower case."""
    b.fill("Record date: {date}\n\nTelephone encounter\n", date=date_text(rng, visit, ("iso",)))
    caller = chart.relative.written(rng, "PATIENT", ("first", "lower", "first last"))
    lines = (
        lambda: b.fill("pt's {rel} {name} called re: sugars running 300s since {day}. ", rel=chart.relation,
                       name=caller, day=Phi("DATE", rng.choice(WEEKDAYS).lower() if rng.random() < 0.5 else
                                            rng.choice(WEEKDAYS))),
        lambda: b.fill("spoke w/ dr {doc}, ok to increase lantus to 30 units qhs. ",
                       doc=_doctor(rng, chart.pcp, "lower", "last")),
        lambda: b.fill("call back # {phone}. ", phone=phone(rng)),
        lambda: b.fill("{name} confirmed identity w/ dob {dob}. ", name=_patient(rng, chart, "lower", "first"),
                       dob=date_text(rng, chart.birth, ("m/d/yy", "mdy"))),
        lambda: b.add("reviewed hypoglycemia sx and rule of 15. pt verbalized understanding. "),
        lambda: b.fill("will fax rx to pharmacy at {fax}. ", fax=phone(rng, "FAX")),
        lambda: b.fill("portal msg sent from {ip}, flagged by IT as outside network. ",
                       ip=Phi("IPADDR", f"{rng.randrange(24, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")),
        lambda: b.fill("appt moved to {date} at {clinic}. ",
                       date=date_text(rng, visit + dt.timedelta(days=rng.randrange(3, 30)), ("m/d", "mon d")),
                       clinic=Phi("HOSPITAL", rng.choice((chart.clinic, chart.clinic.lower())))),
        lambda: b.fill("needs new glucometer: device serial {serial}. ",
                       serial=Phi("DEVICE", f"{rng.choice(('GM', 'FS', 'OT'))}{digits(rng, 8)}")),
    )
    for line in rng.sample(lines, rng.randrange(4, len(lines) + 1)):
        line()
    b.add("\n")
    b.fill("-- {code}\n", code=staff_code(rng, chart.resident))


def radiology_report(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """An imaging report with accession number and an impression."""
    exam = rng.choice(("CT CHEST W/O CONTRAST", "CXR PA/LAT", "US RENAL", "CTA CORONARY", "MRI BRAIN W/WO",
                       "NUCLEAR STRESS TEST (SESTAMIBI)", "ABDOMEN 2 VIEWS"))
    b.add(_hospital(rng, chart, upper=True), " DEPARTMENT OF RADIOLOGY\n")
    b.fill("EXAM: {exam}\nDATE OF EXAM: {date}\nACCESSION: {acc}\nPATIENT: {name}  MRN {mrn}  DOB {dob}\n",
           exam=exam, date=date_text(rng, visit, ("mdy", "dd-mon-yyyy", "iso")),
           acc=Phi("IDNUM", f"{rng.choice(('RA', 'CT', 'E'))}{digits(rng, 7)}"),
           name=_patient(rng, chart, "LAST, FIRST", "LAST"), mrn=Phi("MEDICALRECORD", chart.mrn),
           dob=date_text(rng, chart.birth, ("mdy", "m/d/yy")))
    b.fill("ORDERING: {doc}\n\nCLINICAL HISTORY: {age}{sex} with {symptom}.\n", doc=_doctor(rng, chart.pcp, "LAST, FIRST", "first last"),
           age=age_text(rng, chart.age_at(visit)), sex="F" if chart.patient.female else "M", symptom=rng.choice(SYMPTOMS))
    b.fill("COMPARISON: {prior}.\n\nFINDINGS: ", prior=date_text(rng, visit - dt.timedelta(days=rng.randrange(90, 900))))
    b.add(rng.choice(("Heart size is mildly enlarged. Sternotomy wires are intact. No pleural effusion. ",
                      "Kidneys measure 10.1 and 10.8 cm. No hydronephrosis. ",
                      "Small fixed inferior defect. No reversible ischemia. LVEF 48%. ",
                      "Scattered periventricular T2 hyperintensities. No acute infarct. ")))
    b.add("Degenerative changes of the thoracic spine. A 4 mm nodule in the right upper lobe (series 3, image 41).\n\n")
    b.add("IMPRESSION:\n1. No acute cardiopulmonary process.\n2. Follow-up per Fleischner Society guidelines.\n\n")
    b.fill("Findings discussed with {doc} by telephone at 15:40 on {date}.\n", doc=_doctor(rng, chart.pcp, "first last", "last"),
           date=date_text(rng, visit, ("m/d/yy", "mdy")))
    b.fill("Radiologist: {rad}, MD   {code}\n", rad=_doctor(rng, chart.specialist, "first m last", "LAST, FIRST"),
           code=staff_code(rng, chart.specialist))
    if rng.random() < 0.5:
        b.fill("Images stored on PACS node {ip}\n", ip=Phi("IPADDR", f"10.{rng.randrange(256)}.{rng.randrange(256)}."
                                                                       f"{rng.randrange(1, 255)}"))


def pathology_report(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A surgical pathology report with specimen numbers."""
    b.fill("SURGICAL PATHOLOGY REPORT\n{hospital}\n\n", hospital=_hospital(rng, chart, upper=rng.random() < 0.5))
    b.fill("Accession No: {acc}\nPatient: {name}   Unit #: {mrn}\nAge/Sex: {age}/{sex}\n",
           acc=Phi("IDNUM", f"S{visit.year % 100:02d}-{digits(rng, 5)}"), name=_patient(rng, chart, "LAST, FIRST"),
           mrn=Phi("MEDICALRECORD", chart.mrn), age=age_text(rng, chart.age_at(visit)), sex="F" if chart.patient.female else "M")
    b.fill("Collected: {c}   Received: {r}\nSubmitting physician: {doc}\n",
           c=date_text(rng, visit, ("mm/dd/yy", "mdy")), r=date_text(rng, visit + dt.timedelta(days=1), ("mm/dd/yy", "mdy")),
           doc=_doctor(rng, chart.specialist, "LAST, FIRST", "first last"))
    if rng.random() < 0.4:
        b.fill("Biobank consent on file, sample ID {bio}\n", bio=Phi("BIOID", f"BB-{digits(rng, 6)}"))
    b.add("\nSPECIMEN: Left great toe, amputation.\n\nGROSS DESCRIPTION: Received in formalin labeled with the "
          "patient's name and medical record number is a 4.5 x 2.8 x 2.1 cm digit.\n\n")
    b.add("MICROSCOPIC: Sections show acute osteomyelitis with necrotic bone. Margins viable. Moderate "
          "atherosclerosis of digital arteries. PAS stain negative for fungi. Gram stain: gram-positive cocci.\n\n")
    b.add("DIAGNOSIS:\n  A. Acute osteomyelitis, distal phalanx.\n  B. Bone margin free of infection.\n\n")
    b.fill("Pathologist: {path}, M.D.\nReport electronically signed {date}\n",
           path=_doctor(rng, chart.resident, "first m last", "LAST, FIRST"), date=date_text(rng, visit + dt.timedelta(days=3)))


def device_clinic_note(b: NoteBuilder, rng: random.Random, chart: Chart, visit: dt.date) -> None:
    """A pacemaker/ICD interrogation note with the device's serial number."""
    b.fill("Record date: {date}\n\n{dept} - Device Clinic\n", date=date_text(rng, visit, ("iso",)),
           dept=Phi("DEPARTMENT", rng.choice(("Electrophysiology", "Cardiology", "Arrhythmia Service"))))
    implanted = visit - dt.timedelta(days=rng.randrange(300, 3000))
    b.fill("{name} ({mrn}) is seen for routine interrogation of a Medtronic dual-chamber ICD, serial no. {serial}, "
           "implanted {when} at {hospital} by Dr. {doc} for ischemic cardiomyopathy.\n",
           name=_patient(rng, chart, "first last", "LAST, FIRST", "last, first"), mrn=Phi("MEDICALRECORD", chart.mrn),
           serial=Phi("DEVICE", f"{rng.choice(('PJN', 'BZY', 'RWQ'))}{digits(rng, 6)}{rng.choice('HSR')}"),
           when=date_text(rng, implanted, ("m/yy", "month y", "mdy", "mm/yyyy")), hospital=_hospital(rng, chart),
           doc=_doctor(rng, chart.specialist, "last", "first last"))
    b.add(f"Battery: {rng.randrange(3, 11)} years. RA lead impedance {rng.randrange(350, 700)} ohms, RV lead "
          f"{rng.randrange(350, 700)} ohms. Threshold 0.75 V @ 0.4 ms. No VT/VF episodes. AF burden < 1%.\n")
    b.add("Mode DDD, lower rate 60. No changes made.\n")
    if rng.random() < 0.5:
        b.fill("Remote monitoring via CareLink, transmitter SN {tx}; next remote check {date}.\n",
               tx=Phi("DEVICE", digits(rng, 9)), date=date_text(rng, visit + dt.timedelta(days=90)))
    if rng.random() < 0.5:
        b.fill("Reminded not to drive for 6 months after shock (license {lic}, plate {plate}).\n",
               lic=Phi("LICENSE", f"S{digits(rng, 8)}"),
               plate=Phi("VEHICLE", f"{digits(rng, 1)}{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
                                    f"{digits(rng, 3)}"))
    if rng.random() < 0.3:
        b.fill("SSN on registration: {ssn}\n", ssn=Phi("SSN", f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 4)}"))
    b.fill("\nHome address confirmed: {street}, {city}, {state} {zip}. Home phone {phone}.\n",
           street=Phi("STREET", chart.street), city=Phi("CITY", chart.city), state=Phi("STATE", chart.state),
           zip=Phi("ZIP", chart.zip_code), phone=chart.home_phone)
    _signature(b, rng, chart.specialist, chart, visit)


NOTE_TYPES: tuple[tuple[Callable[[NoteBuilder, random.Random, Chart, dt.date], None], float], ...] = (
    (progress_note, 0.34), (discharge_summary, 0.16), (clinic_letter, 0.14), (ed_note, 0.1),
    (telephone_note, 0.08), (radiology_report, 0.07), (pathology_report, 0.04), (device_clinic_note, 0.07),
    (social_work_note, 0.04),
)


def generate_notes_c(n: int, seed: int = 0) -> list[GoldNote]:
    """``n`` synthetic notes with gold PHI spans, deterministic in ``seed``.

    Notes come in longitudinal records: one to five notes of the same patient at increasing dates, each a
    type drawn by frequency (progress notes most often). Note ids are ``c{seed}-{record}-{visit}``.
    """
    rng = random.Random(f"notes-c-{seed}")
    notes: list[GoldNote] = []
    kinds, weights = zip(*NOTE_TYPES, strict=True)
    record = 0
    while len(notes) < n:
        # Mostly i2b2-style surrogate years in the future, some present-day ones.
        visit = dt.date(rng.randrange(2060, 2100) if rng.random() < 0.75 else rng.randrange(2008, 2025),
                        rng.randrange(1, 13), rng.randrange(1, 29))
        chart = make_chart(rng, visit)
        for number in range(min(rng.randrange(1, 6), n - len(notes))):
            b = NoteBuilder()
            if rng.random() < 0.3:
                b.add("\n\n")
            rng.choices(kinds, weights)[0](b, rng, chart, visit)
            notes.append(b.note(f"c{seed}-{record:04d}-{number}"))
            visit += dt.timedelta(days=rng.randrange(20, 400))
        record += 1
    return notes


def main(argv: list[str] | None = None) -> list[Path]:
    return write_notes_command(generate_notes_c, __doc__, argv, default_notes=200)


if __name__ == "__main__":
    main()
