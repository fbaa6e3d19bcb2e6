"""Recognizers for the i2b2-2014 PHI categories that HIPAA Safe Harbor lets stay (``deid.scope = "all-phi"``).

Ages of any value, professions, US states, countries, rooms and beds, hospital departments and other named
places. Each is found by the shape clinical notes write it in or by the words around it, never by a bare
word list alone: "MS" (multiple sclerosis), "OR" (operating room) and "ND" (non-distended) are states only in
an address, "67 mg" is a dose, "10 years" a duration and "T2" a vertebra.
"""

from __future__ import annotations

import regex

from privacy.deid.recognizers import _AMBIGUOUS_STATES, _CAP, _SP, RegexRecognizer, Rule
from privacy.deid.safelist import all_safe
from privacy.deid.terms import US_STATES

# Every entity type this module emits.
ENTITIES = ("AGE", "PROFESSION", "STATE", "COUNTRY", "ROOM", "DEPARTMENT", "LOCATION_OTHER")

# --- ages ----------------------------------------------------------------------------------------------
_AGE = r"(?:1[0-4]\d|[1-9]?\d)"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_SPELLED = rf"(?:(?:{_TENS})(?:[ \t-](?:{_UNITS}))?|{_TEENS}|{_UNITS})"
# "year-old", "yo", "y/o", "y.o.", "years old", "yr-old", "yom"/"yof": an age; "years" alone is a duration.
_AGE_UNIT = r"(?i:[ \t-]*(?:y/o\b|y\.o\.?|yo[mf]?\b|y[ \t]?o\b|(?:years?|yrs?)[ \t-]*old\b|year-old|yr-old|-year\b))"
# "67M with", "67 F presents": a sex letter after the number, then what a one-line summary says next.
_SEX_THEN = (r"(?=[ \t]?[MF][ \t]*(?:,|with\b|w/|who\b|presents|presenting|presented|s/p\b|h/o\b|hx\b|pmh\b|c/o\b|"
             r"admitted|here\b|is\b|$))")
_NOT_TEMPERATURE = r"(?<!(?i:\bt|temp|tmax|tm|temperature|fever|febrile[ \t]+to|afebrile|size|sz)[ \t:]*)"


def age_recognizer() -> RegexRecognizer:
    """Ages of any value: 90+ are Safe Harbor identifiers (generalised to "90+"), younger ones i2b2 PHI."""
    rules = [
        Rule("age-unit", rf"(?<![\d./])(?P<phi>{_AGE})(?={_AGE_UNIT})", 0.85),
        # An age as a header field between separators ("DOB 1-9-48 | 67 yrs | ACCT"); "for 20 years." is a duration.
        Rule("age-field", rf"(?:(?<=[|;][ \t]*)|^[ \t]*)(?P<phi>{_AGE})[ \t]*(?i:yrs?|years?|y)\b(?=[ \t]*(?:[|;]|$))", 0.75),
        Rule("age-sex", rf"{_NOT_TEMPERATURE}(?<![\d./-])(?P<phi>{_AGE}){_SEX_THEN}", 0.7),
        Rule("age-label", rf"(?i:\bage[ds]?\b(?:/(?:sex|gender))?|\bage[ \t]+of|\bage:)[ \t:]*(?P<phi>{_AGE}|(?i:{_SPELLED}))\b(?![ \t]*(?i:mg|ml|kg|%)|/(?![MF]\b))",
             0.85),
        # Family history: "Father with MI at 41", "Mother died at 68", "alive at 84".
        Rule("age-at-event", r"(?i:\b(?:died|alive|deceased|passed[ \t]+away|diagnosed|dx|mi|cva|stroke)[ \t]+at[ \t]+(?:age[ \t]+)?)"
                             rf"(?P<phi>{_AGE})\b(?![ \t]*(?:%|mg|am\b|pm\b|:|\.\d|bpm|mmhg|/))", 0.7),
        Rule("decade", r"(?i:\bin[ \t]+(?:his|her|their)[ \t]+(?:early|mid|late)?[ \t-]*)(?P<phi>(?:[1-9]|10)0'?s)\b", 0.7),
        Rule("spelled", rf"(?i)\b(?P<phi>{_SPELLED}|one[ \t]+hundred(?:[ \t]+(?:and[ \t]+)?\w+)?)(?={_AGE_UNIT})", 0.8),
    ]
    return RegexRecognizer("AGE", rules, name="AgeRecognizer")


# --- professions ---------------------------------------------------------------------------------------
PROFESSIONS = tuple(sorted(set("""
accountant actor actress administrator agent aide analyst architect artist attorney baker banker barber bartender
bookkeeper builder bus-driver butcher carpenter cashier chef chemist clerk coach contractor cook counselor
custodian dancer dentist designer developer dishwasher driver economist editor electrician engineer farmer
firefighter fireman fisherman florist foreman gardener guard hairdresser historian housekeeper hygienist janitor jeweler
journalist judge laborer landscaper lawyer librarian lifeguard linguist machinist mail-carrier mailman manager
mason mechanic merchant miner minister missionary musician nanny nurse officer painter paralegal
paramedic pastor pharmacist photographer physician physicist pilot plumber poet policeman politician porter
priest principal professor programmer psychologist rabbi realtor receptionist reporter researcher roofer
sailor salesman saleswoman scientist seamstress secretary sheriff singer soldier steelworker student surgeon
surveyor tailor teacher teller technician therapist trucker typist veterinarian waiter waitress welder worker writer
""".split()), key=len, reverse=True))
# Words that qualify a profession ("high school teacher", "retired police officer").
_PROFESSION_MODIFIERS = ("high school|elementary school|middle school|school|truck|bus|taxi|cab|construction|factory|"
                         "police|postal|mail|corrections|correctional|software|civil|electrical|mechanical|"
                         "registered|licensed|practical|home health|dental|office|bank|retail|sales|restaurant|"
                         "security|army|navy|air force|marine|medical|research|lab|laboratory|social|case|art|"
                         "music|math|science|english|history|kindergarten|special education|piano|auto|car|"
                         "computer|hotel|real estate|insurance|tax|paper|steel|shipyard|dock|farm|dairy|line|health|home|"
                         "hospital|warehouse|delivery|postal service|child care|day care")
_PROFESSION_WORD = "|".join(p.replace("-", "[ -]") for p in PROFESSIONS)
_PROFESSION = (rf"(?:(?:{_PROFESSION_MODIFIERS})[ \t]+)*(?:{_PROFESSION_WORD})(?:s|es)?"
               rf"(?:[ \t]+(?:worker|assistant|aide|operator|driver|officer|manager))?")
_PROFESSION_CONTEXT = (r"(?i:\b(?:retired|former|formerly[ \t]+an?|works?[ \t]+as[ \t]+an?|worked[ \t]+as[ \t]+an?|"
                       r"working[ \t]+as[ \t]+an?|employed[ \t]+as[ \t]+an?|job[ \t]+as[ \t]+an?|career[ \t]+as[ \t]+an?|"
                       r"is[ \t]+an?|was[ \t]+an?|previously[ \t]+an?|by[ \t]+trade[ \t]+an?))")
# A word after "works as a" that ends the profession rather than being one ("works as a teacher at").
_STOP_AFTER_AS = r"(?:at|for|in|with|and|but|who|since|until|from|on|of|the|to|part|full|time)\b"


def profession_recognizer() -> RegexRecognizer:
    rules = [
        # "retired teacher", "is a nurse", "worked as a truck driver": a listed profession in context.
        Rule("profession-context", rf"{_PROFESSION_CONTEXT}[ \t]+(?:(?i:retired|former|part-time|full-time)[ \t]+)?"
                                   rf"(?P<phi>(?i:{_PROFESSION}))\b", 0.7),
        # "works as a longshoreman": after "as a", any one or two words are the job, listed or not.
        Rule("works-as", rf"(?i:\b(?:works?|worked|working|employed|job|career)[ \t]+as[ \t]+an?)[ \t]+"
                         rf"(?P<phi>(?!{_STOP_AFTER_AS})[A-Za-z][a-z-]+(?:[ \t]+(?!{_STOP_AFTER_AS})[a-z][a-z-]+)?)\b", 0.65),
        # After an age: "a 57-year-old construction worker", "75 yo former social worker".
        Rule("age-profession", rf"(?i:\b(?:\d{{1,3}}|{_SPELLED})[ \t-]*(?:years?[ \t-]old|year-old|yr-old|yo|y/o|y\.o\.))"
                               rf"[ \t]+(?:(?i:former|retired|male|female|man|woman)[ \t]+)?(?P<phi>(?i:{_PROFESSION}))\b", 0.7),
        # "Occupation: retired electrician", "Profession - teacher".
        Rule("profession-label", r"(?i:\b(?:occupation|profession|employment|job|works?)[ \t]*[:=-])[ \t]*"
                                 r"(?P<phi>[A-Za-z][A-Za-z/ \t-]{1,40}?)[ \t]*(?=[.,;\n]|$)", 0.75),
    ]
    return RegexRecognizer("PROFESSION", rules, validate=_not_a_non_answer, name="ProfessionRecognizer")


def _not_a_non_answer(value: str) -> bool:
    return value.strip().lower() not in {"none", "n/a", "na", "unknown", "unemployed", "disabled", "not employed", "denies",
                                         "see above", "deferred"}


# --- states, countries ---------------------------------------------------------------------------------
_STATE_NAMES = sorted(US_STATES.values(), key=len, reverse=True)
# State names that are also first names or surnames: only after a comma or a place preposition.
_NAME_LIKE_STATES = ("Washington", "Georgia", "Virginia", "Carolina", "Indiana", "Nevada", "Maine", "Montana",
                     "Dakota", "Florida", "Delaware")
_PLACE_PREPOSITION = (r"(?:(?<=,[ \t]*)|(?<=\b(?:in|from|to|of|at|near|outside|visiting|moved|lives|lived|born|"
                      r"grew[ \t]+up)[ \t]+))")
_UNAMBIGUOUS_STATE_CODES = "|".join(code for code in US_STATES if code not in _AMBIGUOUS_STATES.split("|"))
_ALL_STATE_CODES = "|".join(US_STATES)
# After "Dover, " a code ending the phrase is a state, except the credentials and exam words that follow names
# and findings there ("Smith, MD", "Lee, PA", "Soft, ND", "Plan, MS").
_CODES_AFTER_A_CITY = "|".join(c for c in _AMBIGUOUS_STATES.split("|")
                               if c in US_STATES and c not in ("MD", "DO", "PA", "MA", "ND", "MS"))


# Not M.D., D.O., P.A., M.A., N.D. after a signer's name.
_DOTTED_STATE_CODES = "|".join(rf"{code[0]}\.{code[1]}\." for code in US_STATES if code not in ("MD", "DO", "PA", "MA", "ND"))


def state_recognizer() -> RegexRecognizer:
    plain = "|".join(regex.escape(s) for s in _STATE_NAMES if s not in _NAME_LIKE_STATES)
    name_like = "|".join(regex.escape(s) for s in _STATE_NAMES if s in _NAME_LIKE_STATES)
    rules = [
        Rule("state-name", rf"\b(?P<phi>{plain})\b(?![ \t]+(?:Ave|Avenue|St|Street|Rd|Road|University|State[ \t]+"
                           r"University))", 0.7),
        Rule("state-name-in-context", rf"{_PLACE_PREPOSITION}(?P<phi>(?:West[ \t]+|North[ \t]+|South[ \t]+)?(?:{name_like}))\b"
                                      r"(?![ \t]+(?:Ave|Avenue|St|Street|Rd|Road))", 0.7),
        # Postal codes in an address ("Boston, MA 02114", "Lebanon, NH"): the ambiguous ones (MS, OR, ND,
        # MD...) only before a ZIP, the others after a city and a comma or after a place preposition.
        Rule("state-code-zip", rf"(?<=[A-Za-z.],?[ \t]+)(?P<phi>{_ALL_STATE_CODES})\.?,?[ \t]+\d{{5}}(?:-\d{{4}})?\b", 0.85),
        Rule("state-code", rf"(?:(?<={_CAP},[ \t]*)|(?<=\b(?:in|from|to|moved|lives|born|visiting)[ \t]+))"
                           rf"(?P<phi>{_UNAMBIGUOUS_STATE_CODES})\b(?![-/]|[ \t]*\d)", 0.7),
        Rule("state-code-after-city", rf"(?<={_CAP},[ \t]*)(?P<phi>{_CODES_AFTER_A_CITY})(?=[ \t]*(?:[.,;)]|$))", 0.65),
        # Any code after a place named as one ("moved in with family in Marlborough, MA"): no credential there.
        Rule("state-code-after-place", rf"(?<=\b(?i:in|from|to|near|of|at)[ \t]+{_CAP}(?:[ \t]{_CAP})?,[ \t]*)"
                                       rf"(?P<phi>{_ALL_STATE_CODES})\b(?![-/'])", 0.65),
        # Dotted codes after a city ("Concord, N.Y. 01235").
        Rule("state-code-dotted", rf"(?<=[A-Za-z],?[ \t]+)(?P<phi>{_DOTTED_STATE_CODES})(?![A-Za-z])", 0.7),
    ]
    return RegexRecognizer("STATE", rules, name="StateRecognizer")


COUNTRIES = tuple(sorted(set("""
Afghanistan Albania Algeria Argentina Armenia Australia Austria Bangladesh Belarus Belgium Bolivia Bosnia Brazil
Britain Bulgaria Burma Cambodia Cameroon Canada Chile China Colombia Congo Croatia Cuba Cyprus Czechia Denmark
Ecuador Egypt England Eritrea Estonia Ethiopia Fiji Finland France Germany Ghana Greece Guatemala Guyana Haiti
Honduras Hungary Iceland India Indonesia Iran Iraq Ireland Israel Italy Jamaica Japan Jordan Kazakhstan Kenya
Korea Kosovo Kuwait Laos Latvia Lebanon Liberia Libya Lithuania Malaysia Mali Mexico Moldova Mongolia Morocco
Mozambique Myanmar Nepal Netherlands Nicaragua Nigeria Norway Pakistan Panama Paraguay Peru Philippines Poland
Portugal Romania Russia Rwanda Scotland Senegal Serbia Singapore Slovakia Somalia Spain Sudan Sweden Switzerland
Syria Taiwan Tanzania Thailand Tunisia Turkey Uganda Ukraine Uruguay USA Uzbekistan Venezuela Vietnam Wales
Yemen Zambia Zimbabwe
""".split()) | {"United States", "United Kingdom", "Puerto Rico", "Dominican Republic", "El Salvador",
                "Costa Rica", "South Africa", "South Korea", "North Korea", "Sri Lanka", "Saudi Arabia",
                "New Zealand", "Sierra Leone", "Ivory Coast", "Cape Verde", "Trinidad", "U.S.A.", "U.S.",
                "Hong Kong", "Soviet Union"}, key=len, reverse=True))


def country_recognizer() -> RegexRecognizer:
    """Countries by name, capitalised or in capitals ("US" and "UK" are left: "US abdomen" is an ultrasound)."""
    names = "|".join(regex.escape(c) for c in COUNTRIES)
    upper = "|".join(regex.escape(c.upper()) for c in COUNTRIES if c.upper() != c)
    rules = [Rule("country", rf"(?<![\w.])(?P<phi>{names}|{upper})(?!\w)(?![ \t]+(?:Ave|Avenue|St|Street|Rd|Road))", 0.7)]
    return RegexRecognizer("COUNTRY", rules, name="CountryRecognizer")


# --- rooms, departments, other places ------------------------------------------------------------------
def room_recognizer() -> RegexRecognizer:
    """Room and bed numbers ("Room 12", "Rm 4B", "bed 3", "room #212-2"); "room air" and "bed rest" stay."""
    rules = [Rule("room-bed", r"(?i:\b(?:room|rm|bed|bay|bed[ \t]+space|cubicle|pod)\b\.?)[ \t]*(?:#|no\.?|number)?[ \t:]*"
                              r"(?P<phi>[A-Z]?\d{1,4}[A-Za-z]?(?:[-/]\d{1,3}[A-Za-z]?)?)(?![\w%]|\.\d|[ \t]*(?i:mg|ml|l\b|lpm|%))", 0.75)]
    # The operating room after its label ("OR: 5D-15", "OR #4"), and a room number where the patient was admitted or
    # moved ("admitted to 241 on the ...", "transferred to 4B-12"): a bare number there is no dose or duration.
    shape = r"(?P<phi>\d{1,2}[A-Z](?:-?\d{1,3}[A-Z]?)?|\d{3,4}[A-Z]?)(?![\w%]|\.\d)"
    rules.append(Rule("operating-room", rf"\b(?:OR|O\.R\.)[ \t]*(?::|#)[ \t]*{shape}", 0.7))
    rules.append(Rule("room-placed", rf"(?i:\b(?:admitted|transferred|moved|returned|brought)[ \t]+(?:back[ \t]+)?to[ \t]+(?:room[ \t]+)?)"
                                     rf"{shape}(?![ \t]*(?i:mg|ml|units?|days?|hours?|weeks?|months?|years?|times|percent|%))", 0.6))
    # After a room label, a named bay and its number ("Room: Trauma 14", "ROOM: Bed 21").
    rules.append(Rule("room-label-named", r"(?i:\b(?:room|rm|location)[ \t]*:[ \t]*)(?P<phi>[A-Z][A-Za-z]+[ \t]+\d{1,4}[A-Za-z]?)\b", 0.7))
    return RegexRecognizer("ROOM", rules, name="RoomBedRecognizer")


# Words that describe a kind of unit rather than name one: "Cardiac Care Unit" is not an identifier.
_GENERIC_UNIT_WORDS = frozenset("""
the of and a an medical surgical intensive critical cardiac coronary care step down stepdown neuro neurology
neurosurgical trauma burn pediatric neonatal labor delivery maternity oncology cardiology psychiatric psychiatry
behavioral rehabilitation rehab emergency observation dialysis transplant short stay post anesthesia recovery
respiratory medicine surgery general inpatient outpatient telemetry tele unit ward wing floor department dept
clinic service services division center centre main east west north south new old
""".split())


# A hospital department or service by what it does ("Cardiology", "Hematology/Oncology", "Medical ICU",
# "Anticoagulation Clinic", "Cardiac Step-Down Unit"): PHI only where a note says it is the patient's or signer's.
_SPECIALTY_PREFIX = ("(?:Interventional|Pediatric|Surgical|General|Vascular|Cardiac|Cardiothoracic|Thoracic|Transplant|"
                     "Internal|Family|Emergency|Nuclear|Infectious|Pulmonary|Plastic|Colorectal)[ \t]+")
_SPECIALTY = (f"(?:{_SPECIALTY_PREFIX}(?:Surgery|Medicine|Diseases?)|(?:{_SPECIALTY_PREFIX})?"
              "(?:Cardiology|Endocrinology|Nephrology|Neurology|Oncology|Hematology(?:/Oncology)?|Heme/Onc|Gastroenterology|"
              "Pulmonology|Rheumatology|Dermatology|Urology|Gynecology|Obstetrics|Radiology|Neurosurgery|Orthopa?edics|"
              "Pathology|Electrophysiology|Geriatrics|Psychiatry|Ophthalmology|Otolaryngology|Podiatry|Anesthesiology|"
              "Hepatology|Allergy|Immunology|Diabetes[ \t]+Education|Anticoagulation|Arrhythmia|Wound[ \t]+Care|"
              "Palliative[ \t]+Care|Physical[ \t]+Therapy|Social[ \t]+Work|Emergency[ \t]+Department|Diabetes[ \t]+Cent(?:er|re)|"
              "Cardiac[ \t]+Rehab(?:ilitation)?|Labor[ \t]+and[ \t]+Delivery|Infusion[ \t]+Cent(?:er|re)|"
              "Pulmonary[ \t]+Function[ \t]+Lab(?:oratory)?|Cath(?:eterization)?[ \t]+Lab|Echo(?:cardiography)?[ \t]+Lab|"
              "Endoscopy[ \t]+(?:Suite|Unit)|Dialysis[ \t]+(?:Unit|Cent(?:er|re))|Bone[ \t]+Marrow[ \t]+Transplant[ \t]+Unit|"
              "Renal(?=[ \t]+(?:Clinic|Service|Unit))))"
              "(?:[ \t]+(?:Clinic|Service|Services|Unit|Department|Division))?")
_CARE_UNIT = ("(?:(?:Medical|Surgical|Cardiac|Coronary|Neuro|Neurosurgical|Trauma|Pediatric|Neonatal|Cardiothoracic)[ \t-]+"
              "(?:ICU|Intensive[ \t]+Care(?:[ \t]+Unit)?|Step[ \t-]?Down(?:[ \t]+Unit)?|Care[ \t]+Unit))")
# A ward by building and floor ("Ellery 6 North", "Whitman 9").
_WARD = rf"{_CAP}[ \t]+\d{{1,2}}(?:[ \t]+(?:North|South|East|West|[A-Z]))?\b"
_DEPARTMENT = rf"(?:{_CARE_UNIT}|{_SPECIALTY}|{_WARD})"


def department_recognizers() -> list[RegexRecognizer]:
    """Named wards and units inside a hospital ("Ellison 10", "Blake 7 step-down", "Phillips House Wing"), and
    departments where the note places the patient or the signer in one ("Admitted to Medical ICU", "SERVICE:
    Nephrology", "Seen by Dr. Ma in Cardiology", a department on its own line under a letterhead or signature)."""
    word = rf"(?:{_CAP})"
    by_context = [
        # The department after its label, first or after the broader service ("Service: Medicine, Wound Care Clinic").
        Rule("department-label", rf"(?i:\b(?:service|department|dept|division|unit|ward|floor|location)[ \t]*:[ \t]*)"
                                 rf"(?:[A-Z][a-z]+,[ \t]*)?(?P<phi>{_DEPARTMENT})(?![\w-])", 0.65),
        # Where a room was, on which unit: "admitted to 2B-20 on the Cardiac Step-Down Unit".
        Rule("department-room-on", rf"(?i:\b(?:admitted|transferred|moved)[ \t]+to[ \t]+\S+[ \t]+on[ \t]+the[ \t]+)"
                                   rf"(?P<phi>{_DEPARTMENT})(?![\w-])", 0.6),
        # A department before its hospital's initials: "Pulmonary Function Lab, MLMC", "Cardiology, BWH".
        Rule("department-before-acronym", rf"\b(?P<phi>{_DEPARTMENT}),[ \t]*(?=[A-Z]{{2,5}}\b(?![ \t]*:))", 0.55),
        Rule("department-placed", rf"(?i:\b(?:admitted|transferred|moved|sent|returned|discharged)[ \t]+(?:back[ \t]+)?(?:to|from)"
                                  rf"[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?![\w-])", 0.6),
        Rule("department-seen-in", rf"(?i:\b(?:seen|saw|evaluated|followed|treated)(?:[ \t]+by[ \t]+(?:dr\.?[ \t]+)?[^\n,;]{{1,30}}?)?"
                                   rf"[ \t]+in[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?![\w-])", 0.6),
        # Consulted, or met at its conference: "Seen by Nephrology for teaching", "discuss at Podiatry conference".
        Rule("department-seen-by", rf"(?i:\b(?:seen|evaluated|followed|consulted)[ \t]+by[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?![\w-])",
             0.6),
        Rule("department-conference", rf"(?i:\bat[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?=[ \t]+(?i:conference|rounds|meeting)\b)", 0.6),
        # Where the patient goes, before the hospital: "Follow up with Dr. Hill in Endocrinology at Meridian".
        Rule("department-at-hospital", rf"(?i:\bin[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?=[ \t]+at[ \t]+(?:the[ \t]+)?[A-Z])", 0.6),
        Rule("department-saw-in", rf"(?i:\bsaw[ \t]+(?:\w+[ \t]+)?in[ \t]+(?:the[ \t]+)?)(?P<phi>{_DEPARTMENT})(?![\w-])", 0.6),
        # After the hospital's initials: "GPVH Cardiology Consult Note", "of NHI Vascular Surgery".
        Rule("department-after-acronym", rf"(?<=\b[A-Z]{{2,5}}[ \t]+)(?P<phi>{_DEPARTMENT})(?![\w-])", 0.55),
        Rule("department-line", rf"^[ \t]*(?P<phi>{_CARE_UNIT}|{_SPECIALTY})[ \t]*(?:$|(?=[ \t]+-[ \t]+))", 0.55),
        Rule("department-after-name", rf"(?<=(?:\b(?:Dr|MD|M\.D|PhD)\.?[ \t]+{_CAP}(?:[-'][A-Z][a-z]+)?|(?i:referred[ \t]+by)[ \t]*:[^\n]*),[ \t]*)"
                                      rf"(?P<phi>{_DEPARTMENT})(?=[ \t]*(?:,|$))", 0.6),
    ]
    named = [
        # A ward named by a building and a floor number, where a patient is or goes.
        Rule("ward-number", rf"(?i:\b(?:to|on|from|in|at)[ \t]+(?:the[ \t]+)?)(?P<phi>{word}(?:{_SP}{word})?[ \t]+\d{{1,2}})"
                            r"\b(?![ \t]*(?:mg|ml|am|pm|years?|yrs?|days?|weeks?|months?|hours?|%|/|:))", 0.6),
        # Words joined by one space: "Name: Richard Patel   Unit No: 5039061" is a name and a field label.
        Rule("named-unit", rf"\b(?P<phi>{word}(?:[ \t]{word}){{0,2}}[ \t](?:Unit|Ward|Wing|Pavilion|Building|Tower))\b"
                           r"(?![ \t]*(?i:no\b|number|#|:))", 0.6),
    ]

    def names_a_unit(value: str) -> bool:
        words = regex.sub(r"\d+", " ", value).lower().split()
        # "on Lasix 40", "to Nursing Station" are a dose and a place anyone has: a unit's name is no common word.
        return (any(w not in _GENERIC_UNIT_WORDS for w in words) and not _months_or_days(words)
                and not all_safe(" ".join(words)))

    # A department found by its context is one whatever its words; a named unit must name one.
    return [RegexRecognizer("DEPARTMENT", named, validate=names_a_unit, name="DepartmentRecognizer"),
            RegexRecognizer("DEPARTMENT", by_context, name="DepartmentByContextRecognizer")]


_CALENDAR_WORDS = frozenset("january february march april may june july august september october november december "
                            "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
                            "saturday sunday day week grade stage type class level step phase cycle room bed".split())


def _months_or_days(words: list[str]) -> bool:
    return any(w in _CALENDAR_WORDS for w in words)


def other_location_recognizer() -> RegexRecognizer:
    """Named landmarks ("Fenway Park", "Logan Airport", "Walden Pond"): i2b2 LOCATION-OTHER."""
    # Where someone goes or is: "Park" alone ends many surnames ("PCP: Susan Park"), never after "near".
    rules = [Rule("landmark", rf"(?i:\b(?:at|near|in|to|from|by|around|visited|visiting|the)[ \t]+)"
                              rf"(?P<phi>{_CAP}(?:[ \t]{_CAP}){{0,2}}[ \t](?:Park|Airport|Mall|Beach|Lake|Pond|River|"
                              r"Island|Stadium|Arena|Mountains?|Bay|Harbor|Harbour|Square|Station))\b"
                              r"(?![ \t]+(?:Road|Rd|Street|St|Avenue|Ave|Drive|Dr|Lane|Ln|Way|Court|Ct|Boulevard|Blvd))", 0.6)]
    return RegexRecognizer("LOCATION_OTHER", rules, validate=lambda value: not all_safe(value), name="LandmarkRecognizer")


def year_recognizer() -> RegexRecognizer:
    """Years written alone ("symptoms since 2087"): i2b2 DATE, kept by Safe Harbor and by deid.date-mode=year."""
    rules = [Rule("year-alone", r"(?<![\d/.:,-])(?:19|20|21)\d{2}(?![\d/-]|[.,]\d)(?![ \t]*(?i:mg|mcg|ml|cc|units?\b|u\b|iu\b|"
                                r"kcal|cal\b|calories|g\b|grams|steps|hours?|hrs?\b|h\b|lbs?|%|feet|ft\b|miles|m\b|-))", 0.6),
             # A year cut to two digits after an apostrophe ("quit '09", "since '75"); 5'10" is a height.
             Rule("short-year", r"(?<![\w'’])['’](?P<phi>\d{2})\b(?!['’\"]|[ \t]*(?:in\b|inch))", 0.6)]
    return RegexRecognizer("DATE", rules, name="YearRecognizer")


def all_phi_recognizers(keep_years: bool = True) -> list[RegexRecognizer]:
    """The recognizers ``deid.scope = "all-phi"`` adds to the Safe Harbor ones; years alone too unless the
    date mode keeps them (``keep_years``: deid.date-mode=year)."""
    return [*([] if keep_years else [year_recognizer()]), age_recognizer(), profession_recognizer(), state_recognizer(), country_recognizer(), room_recognizer(),
            *department_recognizers(), other_location_recognizer()]
