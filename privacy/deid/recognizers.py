"""Presidio recognizers for the HIPAA Safe Harbor identifiers as they are written in clinical notes.

Clinical identifiers are recognised by their label ("MRN: 4417823", "Attending: Smith, John") while only
the value is PHI, and names by their capitalisation; Presidio's ``PatternRecognizer`` scores the whole
match case-insensitively and cannot report a sub-group, so ``RegexRecognizer`` below reports the named
group ``phi`` of case-sensitive patterns (labels are made case-insensitive inline with ``(?i:...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import regex
from presidio_analyzer import EntityRecognizer, LocalRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, SpacyRecognizer, UrlRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from privacy.deid.safelist import (
    SafeListRecognizer,
    all_ordinary,
    all_safe,
    is_medical_word,
    is_safe_word,
    safe_list_signature,
    zipf,
)
from privacy.deid.terms import EPONYM_FOLLOWERS, EPONYMS, NOT_PHI_PLACES, US_STATES, is_medical_term

# Entity types this package emits, grouped into the evaluation categories.
CATEGORIES: dict[str, str] = {
    "PERSON": "NAME",
    "DATE": "DATE",
    "AGE": "AGE",
    "STREET_ADDRESS": "LOCATION", "CITY": "LOCATION", "ZIP": "LOCATION", "LOCATION": "LOCATION",
    "HOSPITAL": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
    "PHONE": "CONTACT", "EMAIL_ADDRESS": "CONTACT", "URL": "CONTACT", "IP_ADDRESS": "CONTACT",
    "SSN": "ID", "MRN": "ID", "HEALTH_PLAN": "ID", "ACCOUNT": "ID", "LICENSE": "ID", "VEHICLE": "ID",
    "DEVICE": "ID", "ID": "ID",
    # deid.scope = "all-phi" only (privacy/deid/all_phi.py): i2b2 PHI that Safe Harbor lets stay.
    "PROFESSION": "PROFESSION", "STATE": "LOCATION", "COUNTRY": "LOCATION", "ROOM": "LOCATION",
    "DEPARTMENT": "ORGANIZATION", "LOCATION_OTHER": "LOCATION",
}

# --- building blocks (case-sensitive; ``[ \t]`` so a match never runs across lines) ---------------------
_SP = r"[ \t]+"
_CAP = r"(?:Mc|Mac|O'|D')?[A-Z][a-z]+(?:[-'][A-Z][a-z]+|-[a-z]{2,3}\b)?"  # Smith, McDonald, O'Brien, Smith-Jones, Eun-ji
_UPPER = r"(?:Mc|MC|O'|D')?[A-Z]{2,}(?:[-'][A-Z]{2,})?"            # SMITH, D'SOUZA (headers and signatures)
_INITIAL = r"[A-Z]\.?"
_NAME = rf"{_CAP}(?:{_SP}(?:{_INITIAL}{_SP})?{_CAP}){{0,2}}"        # John Smith, John A. Smith
_TITLE = r"(?:Dr|Drs|Mr|Mrs|Ms|Miss|Mx|Prof|Doctor|Nurse|Sr|Fr|Rev)\.?"
_CREDENTIAL = (r"(?:M\.?D|D\.?O|R\.?N|N\.?P|PA-C|P\.?A|Ph\.?D|MBBS|FACP|FACC|FACS|CNM|LPN|MSW|LICSW|LCSW|"
               r"PharmD|DDS|DMD|CRNA|APRN|ANP|FNP|DPM|OD|PT|OT|RD)\b\.?")
# Capitalised words that start sentences or name things but are never a name on their own.
NOT_NAME_WORDS = frozenset({w.capitalize() for w in STOP_WORDS if w.isalpha()} | {
    "Seen", "Admitted", "Transferred", "Presented", "Discharged", "Followed", "Patient", "Pt", "Per", "Status",
    "Dear", "Please", "Call", "Hospital", "Clinic", "Center", "Phone", "Fax", "Pager", "Date", "Time", "Room",
    "Tel", "Telephone", "Electronically", "Signed", "Cultures", "Re", "Insurance", "Portal", "Sincerely"})
_NOT_NAME_START = "(?!(?:" + "|".join(sorted(NOT_NAME_WORDS)) + r")\b)"
# An initial may be "A." or "I." (stop words as words, never as initials before a name).
# Field names that follow a name on a header line ("Re: Margit Johnson, DOB 03/21/1979").
_HEADER_FIELDS = r"(?:DOB|DOA|DOD|MRN|SSN|AGE|SEX|PCP|ID|ACCT|RM|BED|UNIT|ROOM|DATE|TEL|PH)\b"
_ANY_NAME_WORD = rf"(?:[A-Z]\.(?![A-Za-z])|(?!{_CREDENTIAL}|{_HEADER_FIELDS}){_NOT_NAME_START}(?:{_CAP}|{_UPPER}))"
# Smith, John A | SMITH, JOHN | J. Smith: words joined by one space or a comma, never by a field gap.
# A bare initial may end one ("FOX, WILLOW K"), never start one.
_HEADER_NAME = rf"{_ANY_NAME_WORD}(?:(?:,[ \t]?|[ \t]){_ANY_NAME_WORD}){{0,3}}(?:[ \t][A-Z](?![\w.'’]))?"

_MONTH = ("(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          "Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_MONTH_ANY_CASE = rf"(?:{_MONTH}|(?i:{_MONTH})(?<=[A-Z]{{3,}}))"  # March or MARCH, never "may" or "march"
_M = r"(?:0?[1-9]|1[0-2])"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_ORD = r"(?:st|nd|rd|th)?"
_STATE_ABBR = "|".join(US_STATES)
_STATE_NAME = "|".join(sorted(US_STATES.values(), key=len, reverse=True))
_DOTTED_STATE = "|".join(rf"{code[0]}\.{code[1]}\." for code in US_STATES)  # N.Y., N.H.
# State abbreviations that are also credentials or words are only trusted before a ZIP code.
_AMBIGUOUS_STATES = "MD|DO|PA|MA|ME|IN|OR|OK|HI|CO|MS|LA|DE|ID|OH|NE|AL|GA|SC|NP|ND"  # ND: non-distended


# Between a field label and its value: a colon, '=', or the dot and underscore leaders of form-style headers
# ("Name ........ SMITH, JOHN", "Unit no ____ 4417823").
_FIELD_SEP = r"(?::|=|\.{2,}:?|_{2,}:?)"

# After a surname: the noun that makes it an eponym ("Wilson disease", "Bell's palsy").
NOT_EPONYM = r"(?!(?:'s)?[ \t]+(?i:" + "|".join(sorted(EPONYM_FOLLOWERS)) + r")\b)"


def _label(words: str) -> str:
    """A field label, case-insensitive, followed by an optional '#', 'No.', ':' in any order."""
    return rf"(?i:\b(?:{words})(?:[ \t]*(?:\#|No\.|No\b|Number\b|Num\b|ID\b))?)[ \t]*(?:{_FIELD_SEP}|\#)?[ \t]*\#?[ \t]*"


_ID_VALUE = r"(?P<phi>[A-Z0-9](?:[A-Za-z0-9]|[-/.](?=[A-Za-z0-9])){2,24})(?![A-Za-z0-9])"


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


@dataclass(frozen=True)
class Rule:
    """One pattern: its name (for explanations), the compiled regex and the score of a hit.

    ``veto`` (optional) rejects one hit of this rule only, e.g. a label followed by ordinary words.
    """

    name: str
    pattern: str
    score: float
    veto: Callable[[str], bool] | None = None


class RegexRecognizer(LocalRecognizer):
    """Reports the ``phi`` group (or the whole match) of case-sensitive regexes as one entity type.

    ``validate`` (optional) rejects a candidate value, e.g. an identifier without any digit.
    """

    def __init__(self, entity: str, rules: Sequence[Rule], validate: Callable[[str], bool] | None = None,
                 name: str | None = None) -> None:
        self._compiled = [(r, regex.compile(r.pattern, regex.MULTILINE)) for r in rules]
        self._validate = validate
        super().__init__(supported_entities=[entity], name=name or f"{entity.title()}Recognizer")

    def load(self) -> None:  # patterns are compiled in __init__
        pass

    def signature(self) -> list:
        """Every rule's name, pattern, score and veto, and the validator: what decides this recognizer's hits."""
        return [[r.name, r.pattern, r.score, getattr(r.veto, "__qualname__", None)] for r, _ in self._compiled] + [
            getattr(self._validate, "__qualname__", None)]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        results = []
        for rule, compiled in self._compiled:
            for match in compiled.finditer(text):
                group = "phi" if "phi" in compiled.groupindex and match.group("phi") is not None else 0
                start, end = match.span(group)
                value = text[start:end]
                if end <= start or (self._validate and not self._validate(value)) or (rule.veto and rule.veto(value)):
                    continue
                results.append(RecognizerResult(entity, start, end, rule.score,
                                                recognition_metadata={"recognizer_name": self.name,
                                                                      "pattern": rule.name}))
        return results


# --- names ---------------------------------------------------------------------------------------------
_NAME_LABELS = ("Name|Patient(?:[ \t]+Name)?|Pt(?:[ \t]+Name)?|PCP|Primary[ \t]+Care(?:[ \t]+(?:Physician|Provider|Doctor))?|"
                "Attending(?:[ \t]+(?:Physician|MD|Surgeon))?|Resident|Intern|Fellow|Physician|Provider|Surgeon|"
                "Assistant|Anesthesiologist|Anesthesia|Referring(?:[ \t]+(?:Physician|Provider|MD|Doctor))?|"
                "Referred[ \t]+by|Dictated[ \t]+by|Transcribed[ \t]+by|Signed[ \t]+by|Electronically[ \t]+signed[ \t]+by|"
                "Reviewed[ \t]+by|Seen[ \t]+by|Author|Consultant|Nurse|Contact|Emergency[ \t]+Contact|Next[ \t]+of[ \t]+Kin|"
                "NOK|Guardian|Interpreter|Social[ \t]+Worker|Case[ \t]+Manager|Therapist|Pharmacist|Dictator|"
                "Cosigner|Co-signer|Admitting(?:[ \t]+(?:Physician|MD))?|Discharging(?:[ \t]+(?:Physician|MD))?|"
                "Ordering(?:[ \t]+(?:Physician|Provider|MD))?|Midwife|Mother|Father|Spouse|Proxy|HCP|"
                "Health[ \t]+Care[ \t]+Proxy|Re|Regarding|Completed[ \t]+by|Performed[ \t]+by|Verified[ \t]+by|Entered[ \t]+by")
_RELATIVES = ("wife|husband|spouse|partner|son|daughter|mother|father|mom|dad|sister|brother|aunt|uncle|niece|"
              "nephew|grandson|granddaughter|grandmother|grandfather|friend|fianc[eé]e?|girlfriend|boyfriend|"
              "caregiver|guardian|neighbou?r|roommate|sibling|cousin|stepson|stepdaughter|proxy|HCP")


_NAME_FIELD = (rf"(?:(?i:\b(?:{_NAME_LABELS}))[ \t]*{_FIELD_SEP}|(?i:\b(?:dictated|signed|reviewed|seen|referred|read|triaged|"
               rf"written|typed|noted|approved|transcribed|completed|performed|verified|entered|cosigned)[ \t]+by)"
               rf"[ \t]*:?)[ \t]*(?:{_TITLE}[ \t]+)?")
_LOWER_NAME = r"[a-z][a-z'-]+(?:,?[ \t][a-z][a-z'-]+){0,2}(?=[ \t]*(?:$|[,;()/|]|[ \t]{2}|\.[ \t]*$))"
# A name in any of the shapes notes write it: Stone, A. Stone, Kwame Hunter, SHARP (4+ letters: not ENT, PT).
_SHAPED_NAME = (rf"(?:(?:[A-Z]\.[ \t]*){{0,2}}{_CAP}(?:{_SP}(?:{_INITIAL}{_SP})?{_CAP})?|(?:[A-Z]\.[ \t]*)?"
                rf"(?:Mc|O')?[A-Z]{{4,}}(?:[-'][A-Z]{{2,}})?)(?![\w'])")
# Staff roles written before a name ("oncoming RN A. Stone", "cardiologist Lee", "pcp Hunter").
_ROLE_BEFORE_NAME = (r"(?:\b(?:RN|LPN|LVN|CNA|NP|PA-C|CRNA|PCT)|(?i:\b(?:nurse|resident|intern|fellow|attending|pcp|"
                     r"physician|surgeon|provider|therapist|pharmacist|midwife|chaplain|[a-z]+ologist|[a-z]+iatrist)))")
# Talking to, or being seen by, someone: the name follows ("spoke with Hope Field", "last visit 4/11 with PARK").
_MET_WITH = (r"(?i:\b(?:spoke|speak|spoken|talked|discussed|met|consulted|conferred|called|phoned|evaluated|examined|"
             r"followed|f/u|follow(?:[ -]?up)?|visit|appointment|appt|seen|reviewed|signed[ \t]+out)"
             r"[ \t]+(?:\S+[ \t]+){0,3}?(?:with|by|to))")


def _not_medical(value: str) -> bool:
    return not is_medical_term(value)


def _ordinary_or_medical(value: str) -> bool:
    return all_ordinary(value) or is_medical_term(value)


def _ordinary_not_surname(value: str) -> bool:
    """Veto for names after a name label: ordinary words only, where an eponym is a surname ("Patient: LAW",
    "Attending: Willow Y. Graves") but "Provider: see below" is no name."""
    return all_ordinary(value) and not any(w.strip(".,'").lower() in _SURNAME_EPONYMS for w in value.split())


_SURNAME_EPONYMS = frozenset(EPONYMS) | EPONYM_FOLLOWERS


_SPELLED_AGE_START = r"(?i:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|one[ \t]+hundred)"


def _all_words(value: str) -> bool:
    """Veto for dictation codes ("jfb/orr", "NAM:bixby"): a line of words only ("neg/pos") is no code."""
    return all(is_safe_word(part) or is_medical_term(part) for part in regex.split(r"[:/]", value))


def name_recognizer() -> RegexRecognizer:
    rules = [
        # After a title even an eponym or a medical word is a name ("Dr. Swan", "Mr. GRAVES", "Dr. Law").
        Rule("title", rf"\b{_TITLE}{_SP}(?P<phi>(?:[A-Z]\.[ \t]*){{0,2}}{_CAP}(?:{_SP}{_CAP})?|{_UPPER})", 0.85),
        Rule("credential", rf"(?P<phi>(?:{_CAP}|[A-Z]\.)(?:{_SP}(?:{_INITIAL}{_SP})?{_CAP}){{1,2}}|{_UPPER}(?:{_SP}{_UPPER}){{1,2}}|"
                           rf"(?:{_CAP}|{_UPPER}),[ \t]?(?:{_CAP}|{_UPPER})(?:{_SP}{_INITIAL})?)"
                           rf"[ \t]*,?[ \t]*(?<![A-Za-z]){_CREDENTIAL}", 0.85, is_medical_term),
        Rule("header", rf"{_NAME_FIELD}(?P<phi>{_HEADER_NAME})", 0.85, _ordinary_not_surname),
        Rule("cc", rf"(?:^|\b)cc[ \t]*:[ \t]*(?:{_TITLE}[ \t]+)?(?P<phi>{_HEADER_NAME})", 0.8, _ordinary_or_medical),
        # Real notes write names after a label in lower case too ("cc: church", "signed by: john smith").
        Rule("header-lower", rf"(?:{_NAME_FIELD}|(?:^|\b)cc[ \t]*:[ \t]*)(?P<phi>{_LOWER_NAME})", 0.7, _ordinary_or_medical),
        Rule("relative", rf"(?i:\b(?:{_RELATIVES}))(?:'s)?[ \t]*,?[ \t]+(?:(?i:named|is|was)[ \t]+)?(?P<phi>{_CAP}(?:{_SP}{_CAP})?)"
                         r"(?![ \t]*(?i:disease|syndrome|history|hx|with|had|has|was|is|and|who))", 0.7, is_medical_term),
        # A relative's first and last name typed in lower case, before what they do ("wife dawn gallo called").
        Rule("relative-lower", rf"(?i:\b(?:{_RELATIVES}))(?:'s)?[ \t]+(?P<phi>[a-z][a-z'-]+[ \t][a-z][a-z'-]+)(?=[ \t]*[,(]|[ \t]+"
                               r"(?:at|called|calls|is|was|who|came|phoned|visited|present|reports|states|brought|confirmed)\b)",
             0.6, _ordinary_or_medical),
        # Who answers a telephone encounter ("reed hunter confirmed identity w/ dob").
        Rule("confirmed-identity", rf"(?:^|(?<=[.!?][ \t]+))[ \t]*(?P<phi>{_CAP}(?:{_SP}{_CAP}){{0,2}}|[a-z][a-z'-]+(?:[ \t][a-z][a-z'-]+){{0,2}})"
                                   r"(?=[ \t]+(?:confirmed|verified)[ \t]+(?:identity|id\b|name|dob|date))", 0.6, _ordinary_or_medical),
        # Further names of a "cc:" list ("cc: V. Szymanski; Zeke Ma").
        Rule("cc-list", rf"(?<=^[ \t]*cc[ \t]*:[^\n]*;)[ \t]*(?:{_TITLE}[ \t]+)?(?P<phi>{_HEADER_NAME})", 0.75, _ordinary_or_medical),
        # A name opening a header line before a record number in brackets ("Skip Crane (308139) is seen").
        Rule("name-before-number", rf"^[ \t]*(?P<phi>{_NAME}|{_HEADER_NAME})[ \t]*\((?=[ \t]*(?i:mrn|mr|#)?[ \t:#]*[A-Z]?\d{{5,}})",
             0.65, _ordinary_or_medical),
        Rule("subject", rf"(?:^|(?<=[.!?:][ \t]+))(?P<phi>{_NOT_NAME_START}{_NAME})(?={_SP}is{_SP}an?{_SP}(?:\d|{_SPELLED_AGE_START}))", 0.75,
             _ordinary_or_medical),
        Rule("signature", rf"^[ \t]*(?:-{{2,}}[ \t]*)?(?P<phi>{_CAP}(?:{_SP}(?:{_INITIAL}{_SP})?{_CAP}){{1,2}})[ \t]*,?[ \t]*$"
                          rf"(?=\n[ \t]*(?:{_CREDENTIAL}|(?i:attending|resident|physician|nurse|pager|md|signed)))", 0.6,
                          _ordinary_or_medical),
        # Notes typed in one case: "seen by dr smith", "DR. VILLEGAS", "mrs. baker called".
        Rule("title-any-case", rf"\b(?i:dr|mr|mrs|doctor)\.?[ \t]+(?P<phi>[a-z][a-z'-]{{2,}}(?:[ \t][a-z][a-z'-]{{2,}}(?=[ \t]*[,.;(]|[ \t]*$))?|"
                               rf"(?:Mc|O')?[A-Z]{{3,}}(?:[-'][A-Z]{{2,}})?|{_CAP})\b", 0.7, _ordinary_or_medical),
        # A patient named by surname at the start of a sentence, before a status verb ("Glass resting", "BAKER denies").
        Rule("status-subject", r"(?:^|(?<=[.!?][ \t]+))[ \t]*(?P<phi>(?:Mc|O')?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[a-z][a-z'-]{2,}|"
                               r"(?:Mc|O')?[A-Z]{3,})(?=[ \t]+(?:resting|reports|denies|states|presents|presented|complains|"
                               r"tolerating|ambulating|sleeping|agrees|declines|declined|refuses|refused|verbalizes|"
                               r"understands|endorses|tolerated)\b)", 0.6, _ordinary_or_medical),
        Rule("role", rf"{_ROLE_BEFORE_NAME}[ \t]+(?:{_TITLE}[ \t]+)?(?P<phi>{_SHAPED_NAME})", 0.7, _ordinary_or_medical),
        Rule("role-lower", r"(?i:\bpcp)[ \t]+(?:(?i:is|was)[ \t]+)?(?:(?i:dr)\.?[ \t]+)?(?P<phi>[a-z][a-z'-]{2,})\b", 0.6,
             _ordinary_or_medical),
        Rule("met-with", rf"{_MET_WITH}[ \t]+(?:{_TITLE}[ \t]+)?(?P<phi>{_SHAPED_NAME})", 0.65, _ordinary_or_medical),
        # A name in brackets after a relative, in any case ("Family (soren) at bedside", "wife (Mary)").
        Rule("relative-bracket", rf"(?i:\b(?:{_RELATIVES}|family|parents?|children|kids))(?:'s)?[ \t]*\([ \t]*"
                                 r"(?P<phi>[A-Za-z][A-Za-z'-]+(?:[ \t]+[A-Za-z][A-Za-z'-]+)?)[ \t]*\)", 0.65, _ordinary_or_medical),
        # A signature line: a name, a slash, the signer's code ("Park, G. / gpar4", "leilani cook / lcoo3").
        Rule("signature-code", rf"^[ \t]*(?P<phi>{_HEADER_NAME}|[a-z][a-z'-]+(?:,?[ \t][a-z][a-z'-]+){{0,2}})[ \t]*/[ \t]*"
                               r"[A-Za-z]{2,6}\d{0,3}[ \t]*$", 0.65, _ordinary_or_medical),
        # The signer after a role and a slash ("SP47 RT / Kwame Hunter", "PCT / amara fairweather").
        Rule("role-slash", rf"\b(?:RN|LPN|LVN|CNA|RT|PCT|NP|PA|MD|DO|CRNA|NA|MA)[ \t]*/[ \t]*"
                           rf"(?P<phi>{_HEADER_NAME}|[a-z][a-z'-]+(?:,?[ \t][a-z][a-z'-]+){{0,2}})[ \t]*$", 0.65, _ordinary_or_medical),
        # Caret-separated export headers ("EDVISIT^4417823^Garcia, Maria^03/04/19^LEE, ANN").
        Rule("caret-field", rf"(?<=\^)[ \t]*(?P<phi>{_HEADER_NAME})[ \t]*(?=\^|$)", 0.8, _ordinary_not_surname),
        # Dictation codes: the author's initials, then the lower-case names of typists ("XGT:holmes", "GPP/church/olinger").
        # The author's initials in capitals stay: the real i2b2 notes do not annotate them ("NAM:bixby" -> bixby);
        # typed in lower case they are part of the code ("jfb/orr").
        Rule("dictation-code", r"(?m)^[ \t]*(?:[A-Z]{2,4}[:/](?P<phi>[a-z]{2,}(?:/[a-z]{2,})*)|"
                               r"(?P<phi>[a-z]{2,4}[:/][a-z]{2,}(?:/[a-z]{2,})*))[ \t]*$", 0.8, _all_words),
        # A signer in lower case before a credential on a line of its own ("bart hill, M.D.").
        Rule("signature-lower", rf"^[ \t]*(?P<phi>[a-z][a-z'-]+(?:[ \t][a-z]\.?)?[ \t][a-z][a-z'-]+)[ \t]*,?[ \t]*{_CREDENTIAL}\b",
             0.7, is_medical_term),
        # A surname alone before a credential opening a line ("GLASS, RN (NG26)", "-- Park, MD").
        Rule("surname-credential", rf"^[ \t]*(?:-{{1,3}}[ \t]*)?(?:[A-Z]\.[ \t]*)?(?P<phi>{_UPPER}|{_CAP}),[ \t]*{_CREDENTIAL}\b", 0.7,
             is_medical_term),
        # A name on the line above a pager number ("Banks, Jocasta" / "Pager 09336", "D. Little" / "Pager #73263").
        Rule("name-before-pager", rf"^[ \t]*(?P<phi>(?:[A-Z]\.[ \t]*)?{_HEADER_NAME}|[a-z][a-z'-]+[ \t][a-z][a-z'-]+)[ \t]*$"
                                  r"(?=\n[ \t]*(?i:pager|beeper|pgr)\b)", 0.65, _ordinary_or_medical),
    ]
    return RegexRecognizer("PERSON", rules, name="ClinicalNameRecognizer")


class ClinicalNerRecognizer(SpacyRecognizer):
    """spaCy PERSON, place and organisation entities, minus what clinical text makes it get wrong.

    Drops allow-listed drugs, diseases and eponyms ("Parkinson", "Foley"), surnames used as eponyms
    ("Wilson disease"), states and countries (not Safe Harbor identifiers) and all-caps abbreviations.
    A place the safe list calls an ordinary word ("Reading", "Orange") is kept after a place preposition.
    Organisations are kept where they name one (see ``_named_organization``), typed HOSPITAL when a facility.
    """

    ENTITIES = ["PERSON", "LOCATION", "ORGANIZATION"]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        kept = []
        for result in super().analyze(text, entities, nlp_artifacts):
            if result.entity_type == "ORGANIZATION":
                named = _named_organization(text, result)
                if named is not None:
                    kept.append(named)
                continue
            if result.entity_type == "PERSON" and "\n" in text[result.start:result.end]:
                # A name ends at its line: "Lois Fairweather\nAttending: ..." would make "Attending" a name everywhere.
                result.end = result.start + len(text[result.start:result.end].split("\n", 1)[0].rstrip())
            value = text[result.start:result.end]
            if self._is_false_positive(result.entity_type, value, text[result.end:result.end + 24],
                                       text[max(0, result.start - 16):result.start]):
                continue
            kept.append(result)
        return kept

    @staticmethod
    def _is_false_positive(entity: str, value: str, following: str, preceding: str = "") -> bool:
        letters = [c for c in value if c.isalpha()]
        if len(letters) < 2 or any(c.isdigit() for c in value) or any(is_medical_term(w) for w in value.split()):
            return True
        if value.isupper() and len(value) <= 5:  # HPI, CHF, NKDA
            return True
        if not any(w[:1].isupper() for w in value.split()) or value.split()[0].capitalize() in NOT_NAME_WORDS:
            return True
        if entity == "LOCATION":
            if value.strip(" .,").lower() in NOT_PHI_PLACES or "\n" in value:
                return True
            # "in Reading", "to Orange": a place the model found where a place is written.
            return all_safe(value) and not _PLACE_BEFORE.search(preceding)
        if all_safe(value):  # section headings and exam words: "Alert", "Soft", "DISPOSITION"
            return True
        next_word = regex.match(r"(?:'s)?[ \t]+([A-Za-z]+)", following)
        return bool(next_word and next_word.group(1).lower() in EPONYM_FOLLOWERS)


_PLACE_BEFORE = regex.compile(r"\b(?:in|from|to|near|at|outside|of)[ \t]+$")
_JOINING_WORDS = frozenset({"of", "the", "and", "&", "for", "on", "at"})


def _named_organization(text: str, result: RecognizerResult) -> RecognizerResult | None:
    """A spaCy ORG span as a HOSPITAL or ORGANIZATION, or None where it names nothing.

    The span is cut at its line's end and a leading "the". A facility or organisation kind word ("Hospital",
    "Clinic", "LLC") needs one word beside it that is neither generic nor medical; without one, two or more
    capitalised words, none medical, where not all are ordinary words unless they stand mid-line (a heading
    starts a line: "Past Medical History", but "services through Harbor House Shelter").
    """
    start = result.start
    value = text[start:result.end].split("\n", 1)[0]
    lead = regex.match(r"(?i:the)[ \t]+", value)
    if lead:
        start, value = start + lead.end(), value[lead.end():]
    # "Lakeshore General Hospital Emergency Department", "MEDICAL CENTER DEPARTMENT OF RADIOLOGY": the department is no name.
    department = regex.search(r"[ \t]+(?i:emergency|department|dept|division)\b", value)
    if department:
        value = value[:department.start()]
    value = value.rstrip(" \t.,;:-")
    # Only the capitalised run that ends the span names it: "Attends a Catholic Church" -> "Catholic Church".
    tail = regex.search(r"(?:(?<=^)|(?<=[ \t]))(?:[A-Z][\w'’&.-]*(?:[ \t]+(?:(?:of|the|and|&|for|on|at|in)[ \t]+)*)?)+$", value)
    if tail is None:
        return None
    start, value = start + tail.start(), tail.group()
    if not value or regex.search(r"[\d/\t]", value):
        return None
    end = start + len(value)
    metadata = {"recognizer_name": ClinicalNerRecognizer.__name__, "pattern": "spacy-org"}
    if regex.search(rf"\b(?i:{_FACILITY_KIND})", value):
        return RecognizerResult("HOSPITAL", start, end, result.score, recognition_metadata=metadata) \
            if _names_a_facility(value) else None
    if regex.search(rf"\b{_ORGANIZATION_KIND}(?!\w)", value):
        return RecognizerResult("ORGANIZATION", start, end, result.score, recognition_metadata=metadata) \
            if _names_an_organization(value) else None
    words = [w for w in regex.split(r"[ \t]+", value) if w.lower() not in _JOINING_WORDS]
    parts = [p for w in words for p in regex.split(r"[-'’]", w) if p]
    if (len(words) < 2 or not all(regex.fullmatch(r"[A-Z][a-z]+(?:['’-][A-Za-z][a-z]*)*", w) for w in words)
            or any(is_medical_term(p) or is_medical_word(p) for p in parts) or words[0] in NOT_NAME_WORDS):
        return None
    line_start = text.rfind("\n", 0, start) + 1
    # Ordinary words at a line's start, after a field gap or before a colon are a heading or label ("Discharge Date:").
    if all_safe(value) and (not text[line_start:start].strip() or regex.search(r"(?:[ \t]{2}|\t)$", text[line_start:start])
                            or regex.match(r"[ \t]*:", text[end:])):
        return None
    return RecognizerResult("ORGANIZATION", start, end, result.score, recognition_metadata=metadata)


# --- dates and ages ------------------------------------------------------------------------------------
# Fractions that look like month/day: doses (1/2 tab), vitals (BP 110/70 is out of range anyway),
# scores and grades (Apgars 8/9, 2/6 murmur, 5/5 strength, 3/10 pain).
_NOT_DATE_BEFORE = (r"(?<!(?i:apgars?|apgar[ \t]+scores?|bp|b/p|blood[ \t]+pressure|strength|murmur|grade|pain|"
                    r"score|scored|motor|reflexes|pulses|power|rated|gcs|ratio|\bx)[ \t:]*(?:of|was|is|are|=)?[ \t]*"
                    r"(?:\d{1,2}/\d{1,2}[ \t]*(?:,|and)[ \t]*)?)")
_NOT_DATE_AFTER = (r"(?![ \t]*(?i:tabs?\b|tablets?|caps?\b|capsules?|pills?|ns\b|strength|murmur|systolic|diastolic|"
                   r"holosystolic|pain|power|reflex|mg\b|ml\b|mcg\b|in\b|inch|of\b|str|normal[ \t]+saline|"
                   r"\+|dose|units?\b|teaspoon|tsp|cup|bilaterally|b/l|at[ \t]+\d|min|and[ \t]+\d{1,2}[ \t]+min|sem\b|hsm\b|esm\b)"
                   # "stopped 2/2 chest pain": "2/2" before a word is "secondary to", unless a date word leads it.
                   r"|(?<=(?<!(?i:on|since|from|until|of|dated|in|by)[ \t]+)(?<![\d/])2/2)[ \t]+"
                   r"(?!(?:and|at|for|to|with|in|on|the|was|were|he|she|pt|patient)\b)[a-z]{3,})")


def date_recognizer() -> RegexRecognizer:
    year = r"(?:\d{4}|'\d{2}|\d{2})"
    rules = [
        Rule("iso", rf"(?<![\d/.-])(?:19|20|21)\d{{2}}([-/.]){_M}\1{_D}(?![\d/.-]\d)", 0.9),
        Rule("us-numeric", rf"(?<![\d/.-]){_M}([-/.]){_D}\1(?:\d{{4}}|\d{{2}})(?![\d/]|\.\d)", 0.85),
        Rule("month-day-year", rf"\b{_MONTH_ANY_CASE}\.?[ \t]+{_D}{_ORD}(?:,?[ \t]*{year})?\b", 0.85),
        Rule("day-month-year", rf"\b{_D}{_ORD}[ \t]*(?:of[ \t]+)?{_MONTH_ANY_CASE}\.?(?:,?[ \t]*(?:\d{{4}}|'?\d{{2}}))?\b", 0.85),
        Rule("day-mon-year", rf"\b{_D}-{_MONTH_ANY_CASE}-(?:\d{{4}}|\d{{2}})\b", 0.85),
        # DEC-17-2006, Jan/05/2016: a month's name in a numeric date, as EHR exports and lab systems print it.
        Rule("mon-day-year", rf"\b{_MONTH_ANY_CASE}([-/.]){_D}\1(?:\d{{4}}|\d{{2}})\b", 0.85),
        Rule("month-year", rf"\b{_MONTH_ANY_CASE}\.?,?[ \t]+(?:of[ \t]+)?(?:19|20)\d{{2}}\b", 0.85),
        # Dec-14, Mar '09, MAY-20: a month then a two-digit year after a hyphen or apostrophe.
        Rule("month-short-year-named", rf"\b{_MONTH_ANY_CASE}\.?(?:-|[ \t]*'|[ \t]*’)\d{{2}}\b(?!-)", 0.75),
        Rule("numeric-month-year", rf"(?<![\d/.-]){_M}[/-](?:19|20)\d{{2}}(?![\d/])", 0.7),
        # 3/80, 8/79: a second number above 31 is no day, so this is month/year (scores and ratios excluded).
        Rule("month-short-year", rf"{_NOT_DATE_BEFORE}(?<![\d/.,-]){_M}/(?:3[2-9]|[4-9]\d|00)(?![\d/]|\.\d){_NOT_DATE_AFTER}",
             0.6),
        # "7/10" after "pain" is a score even a few words later ("pain 3/10, improved from 7/10"); "2/2 to" is "secondary to".
        Rule("month-day", rf"{_NOT_DATE_BEFORE}(?<!(?i:pain)[^.\n]{{0,40}}[ \t](?=\d{{1,2}}/10\b))(?<![\d/.,-])(?!2/2[ \t]+(?i:to)\b){_M}/{_D}(?![\d/]|\.\d){_NOT_DATE_AFTER}", 0.6),
        # The end of a range, "1/14-1/18" (the start is found by the rule above).
        Rule("month-day-range", rf"(?<!(?i:pain|score|strength|murmur|grade|power|apgars?)[^.\n]{{0,30}})"
                                rf"(?<=(?<![\d/]){_M}/{_D}[ \t]*[-–][ \t]*)(?P<phi>{_M}/{_D})(?![\d/]|\.\d)", 0.6),
        Rule("month-name", r"\b(?:January|February|March|April|June|July|August|September|October|November|December)\b", 0.5),
        # A month abbreviated alone ("seen in Aug", "since Dec."), capitalised: "dec" and "MAR" are other words.
        Rule("month-abbreviation", r"\b(?:Jan|Feb|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?(?![ \t]*\d)", 0.5),
        # A day of the month alone after a preposition ("on the 5th", "since the 21st").
        Rule("day-ordinal", r"(?i:\b(?:on|since|until|till|by|from|before|after)[ \t]+the)[ \t]+(?P<phi>(?:[12]?\d|3[01])(?:st|nd|rd|th))\b"
                            r"(?![ \t]+(?i:percentile|grade|day|week|month|year|time|dose|cycle|rib|finger|toe|digit|"
                            r"intercostal|ics|cranial|nerve|vertebra))", 0.55),
        Rule("holiday", r"\b(?:Christmas(?:[ \t]+Eve)?|Thanksgiving|Easter|New[ \t]+Year's(?:[ \t]+(?:Day|Eve))?|"
                        r"Independence[ \t]+Day|Memorial[ \t]+Day|Labor[ \t]+Day|Halloween|Valentine's[ \t]+Day|Passover|"
                        r"Ramadan|Hanukk?ah|Chanukah|Yom[ \t]+Kippur|Rosh[ \t]+Hashanah|Diwali|Lunar[ \t]+New[ \t]+Year|"
                        r"(?:(?i:the)[ \t]+)?Fourth[ \t]+of[ \t]+July|Veterans[ \t]+Day|Mother's[ \t]+Day|Father's[ \t]+Day)\b", 0.6),
        Rule("weekday", r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", 0.5),
        # Typed in lower case, a weekday is a date where a time word leads it ("since tuesday", "last friday").
        Rule("weekday-lower", r"(?i:\b(?:since|on|last|next|this|until|till|by|before|after|from|early|late))[ \t]+"
                              r"(?P<phi>(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b", 0.5),
        # A season after a word of time ("since summer", "in the winter", "last spring"); "fall" is also an injury.
        Rule("season-context", r"(?i:\b(?:in|during|since|around|over|through|until|till|by|last|this|next|past|early|late|"
                               r"mid)(?:[ \t]+the)?)[ \t]+(?P<phi>(?i:spring|summer|autumn|winter))\b(?![ \t]*(?i:of[ \t]+\d))", 0.6),
        # A season with its year ("Spring 2069", "fall of 2083"): the season narrows the date, so it goes too.
        Rule("season-year", r"\b(?i:spring|summer|fall|autumn|winter)(?:[ \t]+of)?[ \t]+(?:19|20|21)\d{2}\b", 0.7),
    ]
    return RegexRecognizer("DATE", rules, name="ClinicalDateRecognizer")


def age_recognizer() -> RegexRecognizer:
    over_89 = r"(?:9\d|1[0-4]\d)"
    rules = [
        Rule("age-unit", rf"(?<![\d.])(?P<phi>{over_89})(?=[ \t-]*(?i:y/?o\b|y\.o\.|yrs?\b|years?\b|year-old|yo[mf]?\b|"
                         r"-?year|yr-old))", 0.85),
        # "92 F" is an age, "T 99 F" a temperature.
        Rule("age-sex", rf"(?<!(?i:\bt|temp|tmax|tm|temperature|fever|febrile[ \t]+to|afebrile)[ \t:]*)(?<![\d.])"
                        rf"(?P<phi>{over_89})(?=[ \t]?(?:M|F)\b)", 0.7),
        Rule("age-label", rf"(?i:\bage[ds]?\b|\bage:)[ \t:]*(?P<phi>{over_89})\b", 0.85),
        Rule("decade", r"\b(?i:in[ \t]+(?:his|her|their)[ \t]+)(?P<phi>(?:9|10)0s)\b", 0.7),
        Rule("spelled", r"(?i)\b(?P<phi>ninety(?:[ \t-](?:one|two|three|four|five|six|seven|eight|nine))?|one[ \t]+hundred"
                        r"(?:[ \t]+(?:and[ \t]+)?\w+)?)(?=[ \t-]+(?:years?|yrs?|y/?o)\b)", 0.8),
    ]
    return RegexRecognizer("AGE", rules, name="AgeOver89Recognizer")


# --- geography below state -----------------------------------------------------------------------------
_STREET_SUFFIX = ("(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Terrace|Ter|Place|Pl|"
                  "Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Row|Alley|Plaza|Crescent|Path|Pike|Turnpike)")


def address_recognizer() -> RegexRecognizer:
    word = rf"(?:{_CAP}|\d+(?:st|nd|rd|th)|(?:Route|Rte|County[ \t]+Road|State[ \t]+Route)[ \t]+\d+)"
    unit = r"(?:,?[ \t]+(?i:apt|apartment|suite|ste|unit|#|fl|floor|room|rm)\.?[ \t]*#?[A-Z0-9-]+)?"
    rules = [
        Rule("street", rf"\b\d{{1,6}}[A-Z]?{_SP}(?:[NSEW]\.?{_SP})?(?:{word}{_SP}){{0,3}}{word}{_SP}"
                       rf"(?i:{_STREET_SUFFIX})\b\.?{unit}", 0.85),
        # Headers and dispositions in capitals, before the town ("1020 LAFAYETTE SQ, AVON"): without the town,
        # capitals after a number are as often a dose or a scan ("10 UNITS SQ", "2 VIEW CHEST CT").
        Rule("street-caps", rf"\b\d{{1,6}}[A-Z]?{_SP}(?:[NSEW]\.?{_SP})?(?:[A-Z]{{3,}}[A-Z']*{_SP}){{1,3}}"
                            rf"(?:{_STREET_SUFFIX.upper()})\b\.?{unit}(?=,[ \t]*[A-Z])", 0.8),
        # A numbered road needs no suffix ("9014 County Road 12", "410 Route 9").
        Rule("numbered-road", r"\b\d{1,6}[ \t]+(?:[NSEW]\.?[ \t]+)?(?:County[ \t]+Road|State[ \t]+Route|Route|Rte|Highway|Hwy|"
                              r"Farm[ \t]+Road)[ \t]+\d{1,4}[A-Z]?\b", 0.8),
        Rule("po-box", r"\b(?i:p\.?[ \t]?o\.?[ \t]*box)[ \t]*\d+", 0.85),
    ]
    return RegexRecognizer("STREET_ADDRESS", rules, name="StreetAddressRecognizer")


def city_recognizers() -> list[RegexRecognizer]:
    city = rf"(?P<phi>(?:(?:St|Ste|Mt|Ft|Pt)\.?[ \t]+)?{_CAP}(?:{_SP}{_CAP}){{0,2}}|{_UPPER}(?:{_SP}{_UPPER})?)"
    before_state = [
        Rule("city-state-zip", rf"{city},?[ \t]+(?:{_STATE_ABBR}|{_STATE_NAME}|{_DOTTED_STATE})\.?,?[ \t]+\d{{5}}\b", 0.85),
        # An address line without a state: "12 Oak St, Kettle Falls 99141".
        Rule("city-zip", rf"(?<=,[ \t]*)(?!(?:{_STATE_ABBR})\b){city}[ \t]+\d{{5}}(?:-\d{{4}})?\b", 0.75),
        Rule("city-state", rf"{city},[ \t]*(?:(?!(?:{_AMBIGUOUS_STATES})\b)(?:{_STATE_ABBR})|{_STATE_NAME})\b", 0.7),
    ]
    by_context = [
        # "Lives with his wife Ursula in Burlington", "Moved in with family in Marlborough".
        Rule("lives-with-in", rf"(?i:\b(?:lives|living|resides|residing|moved|staying)\b)[^.\n]{{0,40}}?[ \t](?i:in)[ \t]+{city}", 0.6),
        # A facility and its town ("Willowbrook Rehabilitation Center in Bath").
        Rule("facility-in", rf"(?<=(?:{_FACILITY_KIND}|Rehab|Home|Facility|Manor)s?)[ \t]+(?:in|of)[ \t]+{city}", 0.6),
        Rule("city-label", rf"(?i:\b(?:city|town|hometown|city/state))[ \t]*:[ \t]*{city}", 0.8),
        Rule("lives-in", rf"(?i:\b(?:lives|living|resides|residing|moved|relocated|born|grew[ \t]+up|home|visiting|"
                         rf"travel(?:l?ed)?|trip|originally|emigrated|immigrated|came|returned|vacation(?:ed|ing)?|flew|drove)[ \t]+(?:in|to|from|at))[ \t]+{city}", 0.6),
    ]

    def not_a_state_or_term(value: str) -> bool:
        return value.lower() not in NOT_PHI_PLACES and not is_medical_term(value)

    # Before a state any name is a city ("Lebanon, NH", "New York, NY"); elsewhere states and countries stay.
    return [RegexRecognizer("CITY", before_state, validate=_not_medical, name="CityStateRecognizer"),
            RegexRecognizer("CITY", by_context, validate=not_a_state_or_term, name="CityByContextRecognizer")]


def zip_recognizer() -> RegexRecognizer:
    rules = [
        Rule("after-state", rf"(?<=\b(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?[ \t]+)(?P<phi>\d{{5}}(?:-\d{{4}})?)\b", 0.85),
        Rule("zip-plus-four", r"(?<![\w-])(?P<phi>\d{5}-\d{4})(?![\w-])", 0.7),
        Rule("zip-label", r"(?i:\bzip(?:[ \t]*code)?|\bpostal[ \t]+code)[ \t:#]*(?P<phi>\d{5}(?:-\d{4})?)\b", 0.85),
    ]
    return RegexRecognizer("ZIP", rules, name="ZipCodeRecognizer")


# "General" and "Regional" alone end many US hospital names ("Massachusetts General", "Ashtabula Regional").
_FACILITY_KIND = (r"(?:Hospital|General|Regional|Medical[ \t]+Cent(?:er|re)|Health[ \t]+Cent(?:er|re)|Health[ \t]+System|Healthcare|"
                  r"Health[ \t]+Care|Clinic|Infirmary|Institute|Nursing[ \t]+(?:Home|Facility)|Rehabilitation[ \t]+"
                  r"(?:Center|Hospital|Facility)|Rehab|Hospice|Medical[ \t]+Group|Care[ \t]+Center|Surgery[ \t]+Center|"
                  r"Surgical[ \t]+Center|Urgent[ \t]+Care|Pharmacy|Memorial|Sanatorium|Medical[ \t]+Associates|"
                  r"Associates|Specialists|Cancer[ \t]+Center|Heart[ \t]+Center|Dialysis[ \t]+(?:Center|Unit)|"
                  r"Living[ \t]+Center|Senior[ \t]+Living|Assisted[ \t]+Living|Home[ \t]+Care|VNA|Pavilion|Children'?s|Health|"
                  r"Cent(?:er|re)|Primary[ \t]+Care|Internal[ \t]+Medicine|Family[ \t]+(?:Medicine|Practice)|"
                  r"Physicians(?:[ \t]+Group)?|Group[ \t]+Practice|Manor)")
# Words that describe a service rather than name a place: "Cardiology Clinic" is not an identifier.
_GENERIC_FACILITY_WORDS = frozenset("""
the of and for a an cardiology oncology medicine internal family primary care surgery surgical urgent walk-in
diabetes heart eye kidney renal lung liver pain sleep wound dialysis cancer children's womens women's mens
general community regional university county state city memorial medical health emergency outpatient inpatient
pediatric pediatrics neurology psychiatry psychiatric orthopedic orthopedics physical rehabilitation rehab
infusion anticoagulation coumadin lipid hypertension endocrine endocrinology gi gastroenterology pulmonary
rheumatology dermatology urology gynecology obstetrics ob/gyn dental vascular transplant hospital this our your
his her their local outside another other same home nursing skilled veterans senior private surgeon attorney
mental public behavioral behavioural occupational employee student population bone sexual oral good poor fair
excellent overall global travel men's wellness device pacemaker arrhythmia
""".split())


def employer_recognizer() -> RegexRecognizer:
    """Employers and schools named after "works at", "employed by", "retired from" (i2b2 ORGANIZATION)."""
    org = rf"(?:{_CAP}|[A-Z]{{2,6}}|&)(?:[ \t]+(?:of[ \t]+|the[ \t]+|&[ \t]+)?(?:{_CAP}|[A-Z]{{2,6}})){{0,4}}"
    rules = [Rule("employer", rf"(?i:\b(?:works?|worked|working|employed|retired|job|teaches|taught|studies|"
                              rf"volunteers?)[ \t]+(?:as[ \t]+an?[ \t]+\w+[ \t]+)?(?:at|for|from|by|with))[ \t]+"
                              rf"(?:the[ \t]+)?(?P<phi>{org})", 0.6, is_generic_workplace),
             # Where someone was, gets help from or is sent: "formerly with Eastern Mutual", "services through
             # Harbor House Shelter", "former landscaper at Harlow Freight", "referral faxed to Tri-County Transit".
             Rule("organization-context", rf"(?i:\b(?:formerly|previously)[ \t]+(?:with|at|of|for)|services?[ \t]+(?:through|from|"
                                          rf"with|by|via)|referral[ \t]+(?:faxed|sent|made)[ \t]+to|member[ \t]+of|"
                                          rf"(?:former|retired)[ \t]+[a-z]+(?:[ \t][a-z]+){{0,2}}[ \t]+(?:at|with|for))[ \t]+"
                                          rf"(?:the[ \t]+)?(?P<phi>{org})", 0.6, is_generic_workplace),
             # The insurer after its label ("Insurance: Granite Mutual, member ID ..."); "Medicare" alone is no one's.
             Rule("insurer-label", rf"(?i:\b(?:insurance|insurer|payer|payor|health[ \t]+plan|carrier)[ \t]*:[ \t]*)"
                                   rf"(?P<phi>{org})", 0.6, is_generic_workplace)]
    return RegexRecognizer("ORGANIZATION", rules, name="EmployerRecognizer")


# Words that end an organisation's name; the capitalised words before them are the name.
_ORGANIZATION_KIND = (r"(?:Inc\.?|LLC|L\.L\.C\.|Corp(?:oration)?\.?|Company|Co\.|Ltd\.?|School(?:[ \t]+District)?|"
                      r"District|Board|University|College|Academy|Bank|Industries|Foundation|Association|Society|"
                      r"Credit[ \t]+Union|Enterprises|Logistics|Manufacturing|Motors|Airlines|Railroad|Church|Temple|"
                      r"Synagogue|Mosque)")
_GENERIC_ORGANIZATION_WORDS = frozenset("""
elementary high middle junior senior public private catholic christian support review ethics tumor medical nursing
law business graduate american national international united general state federal new first school board
community county city town church temple day sunday bible the of and for a an our his her their this local
stroke alzheimer's lupus arthritis parkinson's blind deaf
""".split()) | _GENERIC_FACILITY_WORDS


def organization_recognizer() -> RegexRecognizer:
    """Organisations named by their kind ("Fulton Tool Company", "Riverside Unified School District")."""
    word = rf"(?:{_CAP}|[A-Z]{{2,6}}|St\.?)"
    rules = [Rule("named-organization", rf"\b(?P<phi>{_NOT_NAME_START}{word}(?:(?:[ \t]+(?:of|the|and|&)[ \t]+|[ \t]{{1,2}}|-)"
                                        rf"{word}){{0,4}}{_SP}{_ORGANIZATION_KIND})(?![\w])", 0.6)]

    return RegexRecognizer("ORGANIZATION", rules, validate=_names_an_organization, name="OrganizationNameRecognizer")


def _names_an_organization(value: str) -> bool:
    words = regex.sub(_ORGANIZATION_KIND, " ", value).replace("-", " ").replace("&", " ").split()
    return any(w.lower().strip(".") not in _GENERIC_ORGANIZATION_WORDS and not is_medical_term(w) for w in words)


def is_generic_workplace(value: str) -> bool:
    """One ordinary word ("works at Home") or only generic ones ("the Hospital"); a capitalised run of ordinary
    words is a name ("Coastal Freight Lines", "Riverside Unified School District")."""
    words = value.lower().replace("&", " ").split()
    return all_safe(value) and (len(words) == 1 or all(w in _GENERIC_FACILITY_WORDS for w in words))


# Hospital units and services written as capitals after "admitted to", "seen in": not a facility's name.
_UNIT_ABBREVIATIONS = frozenset("""
ed er icu micu sicu ccu cvicu nicu picu csicu tsicu ctu or pacu ep gi ent pt ot slp ir ct mri us cath lab ob
obgyn gyn ld l&d ns nsg med surg tele ems ama snf rehab hosp clinic ward floor home ltac ltc vna er/ed cdu obs
id sw cm onc heme hem cna lpn aprn pcp ccm ptot nhs usa us mr mrn acct ssn rm dl npi dea csn fin bed ext pg pgr
dob tel fax job ref cc
""".split())


def is_facility_acronym(value: str) -> bool:
    """Initials that can stand for a facility: no unit, label or medical abbreviation, nor a common word in
    capitals ("AT", "PM")."""
    return value.lower() not in _UNIT_ABBREVIATIONS and not is_medical_term(value) and zipf(value.lower()) < 4.5


# Words a hospital's initials leave out ("Our Lady of the Rosary Hospital" -> OLRH, also OLOTRH).
_INITIALS_SKIP = frozenset("of the and for at in on &".split())


def facility_initials(name: str) -> list[str]:
    """The initials a note may use for a facility named in full: of every word, and without the small words."""
    words = regex.findall(r"[A-Za-z][A-Za-z']*", name)
    if len(words) < 2:
        return []
    every = "".join(w[0].upper() for w in words)
    content = "".join(w[0].upper() for w in words if w.lower() not in _INITIALS_SKIP)
    return [i for i in dict.fromkeys((content, every)) if len(i) >= 3]


def hospital_acronym_recognizer() -> RegexRecognizer:
    """Hospitals named by their initials where notes say where a patient went ("transferred from BMH", "seen at FIH")."""
    acronym = r"(?P<phi>[A-Z]{2,5})"
    rules = [
        Rule("facility-acronym", r"(?i:\b(?:admitted|admission|transferred|transfer|seen|followed|presented|went|"
                                 r"sent|discharged|referred|evaluated|treated|hospitali[sz]ed|cared[ \t]+for|care|"
                                 r"stay|visit|surgery|delivered|born)[ \t]+(?:to|at|from|by|in)[ \t]+(?:the[ \t]+)?)"
                                 rf"{acronym}\b(?![-/])", 0.6),
        # Where something was done: "ETT at MVMC on 2/10", "implanted at OLP by Dr. Rose", "labs @ BMH."
        Rule("at-acronym", rf"(?:\bat|@)[ \t]+(?:the[ \t]+)?{acronym}\b(?=[ \t]+(?:on|by|in|for|with|since|until|was|and|"
                           r"x\d)\b|[ \t]*[,.;)]|[ \t]*$)", 0.55),
        # The hospital's initials before its emergency department or a department of it ("BHI Emergency Department").
        Rule("acronym-department", rf"\b{acronym}[ \t]+(?=(?:Emergency|EMERGENCY)[ \t]+(?:Department|Room|DEPARTMENT|ROOM)|"
                                   r"(?:Department|DEPARTMENT)[ \t]+(?:of|OF)\b)", 0.6),
        # A letterhead opening with the initials, then the service or the kind of note ("GPVH Cardiology Consult Note",
        # "BVH ADMIT NOTE", "NHI H&P", "SAMC EMERGENCY DEPT VISIT").
        Rule("acronym-letterhead", rf"^[ \t]*(?:THE[ \t]+)?{acronym}[ \t]+(?=H&P\b|(?i:admit|admission|consult|consultation|"
                                   r"emergency|progress|discharge|clinic|[a-z]+ology|podiatry|internal[ \t]+medicine|"
                                   r"[a-z]+[ \t]+surgery)\b)", 0.6),
        # Of or at the hospital's service: "Discussed with Dr. Reed of TBHC Cardiology".
        Rule("acronym-service", rf"(?i:\b(?:of|at|from)[ \t]+)(?:the[ \t]+)?{acronym}[ \t]+(?=(?:[A-Z][a-z]+[ \t]+)?"
                                r"(?:[A-Z][a-z]+ology|Podiatry|Surgery|Medicine|Clinic|Care[ \t]+Unit|Intensive)\b)", 0.6),
        # A record number behind the hospital's initials ("FCWH #2431972", "OLP #4310333").
        Rule("acronym-number", rf"\b{acronym}[ \t]*#[ \t]*(?=[A-Z]?\d)", 0.6),
        # A header: the initials alone on a line above the document's title or department ("SAMC" / "Discharge Summary").
        Rule("acronym-header", rf"^[ \t]*{acronym}[ \t]*$(?=\n[ \t]*(?i:discharge|admission|admitting|emergency|progress|"
                               r"consult|operative|clinic|office|department|radiology|pathology|[a-z]+ology\b|"
                               r"[a-z/ \t-]{0,40}\b(?:clinic|service|unit|department|center|education)[ \t]*$|"
                               r"\d{1,5}[ \t]+[a-z]+[ \t]+[a-z]))", 0.6),
    ]
    return RegexRecognizer("HOSPITAL", rules, validate=is_facility_acronym, name="FacilityAcronymRecognizer")


def hospital_recognizer() -> RegexRecognizer:
    word = rf"(?:{_CAP}(?:'s)?|St\.?|Mt\.?|[A-Z]{{2,5}})"
    joiner = r"(?:[ \t]+(?:of|the|and|&|for)(?:[ \t]+the)?[ \t]+|[ \t]{1,2}|-)"  # never across a field gap
    upper_word = r"(?:ST\.?|MT\.?|[A-Z][A-Z']*[A-Z])"
    upper_joiner = r"(?:[ \t]+(?:OF|THE|AND|&|FOR)[ \t]+|[ \t]{1,2}|-)"
    rules = [
        Rule("named-facility", rf"\b(?P<phi>(?:Our[ \t]+(?=Lady\b))?{_NOT_NAME_START}{word}(?:{joiner}{word}){{0,5}}{_SP}{_FACILITY_KIND}s?)\b", 0.75),
        # Headers write the whole name in capitals ("PINECREST REGIONAL :: EMERGENCY DEPT").
        Rule("named-facility-caps", rf"(?P<phi>\b{upper_word}(?:{upper_joiner}{upper_word}){{0,5}}{_SP}(?i:{_FACILITY_KIND})S?)\b",
             0.75, lambda value: value != value.upper()),
        Rule("facility-of", rf"\b(?P<phi>(?:Hospital|University|Clinic|Institute|College)[ \t]+of[ \t]+{_CAP}"
                            rf"(?:{_SP}{_CAP}){{0,3}})", 0.75),
        Rule("facility-label", rf"(?i:\b(?:facility|hospital|institution|site|clinic|practice|location|transferred"
                               rf"[ \t]+from|admitted[ \t]+to|outside[ \t]+hospital|osh))[ \t]*:[ \t]*"
                               rf"(?P<phi>{word}(?:{joiner}{word}){{0,6}})", 0.75),
        # A place the patient was seen, or returns to for follow-up, named without its kind ("was seen at
        # Northgate last Friday", "in Podiatry at Lakeshore in 3 months"): not an ordinary word there.
        Rule("seen-at-place", rf"(?i:\b(?:seen|treated|evaluated|admitted|followed)[ \t]+(?:up[ \t]+)?at[ \t]+(?:the[ \t]+)?)"
                              rf"(?P<phi>{word}(?:[ \t]+{word}){{0,3}})(?=[ \t]+(?:last|on|for|in|yesterday|this|over)\b|[ \t]*[,.;])",
             0.6, _everyday_place),
        Rule("follow-up-at-place", rf"(?<=\bat[ \t]+(?:the[ \t]+)?)(?P<phi>{word}(?:[ \t]+{word}){{0,3}})"
                                   r"(?=[ \t]+in[ \t]+\d{1,2}[ \t]+(?:days?|weeks?|months?|years?)\b)", 0.6, _everyday_place),
        # A letterhead naming the hospital in capitals before its emergency department ("NORTHGATE EMERGENCY DEPT VISIT").
        Rule("caps-before-emergency", rf"^[ \t]*(?:THE[ \t]+)?(?P<phi>{upper_word}(?:[ \t]+{upper_word}){{0,4}})"
                                      r"(?=[ \t]+EMERGENCY[ \t]+(?:DEPT|DEPARTMENT|ROOM|WARD)\b)", 0.6, _everyday_place),
    ]
    return RegexRecognizer("HOSPITAL", rules, validate=_names_a_facility, name="FacilityNameRecognizer")


def _everyday_place(value: str) -> bool:
    """Veto where the context already says a place: only everyday words ("at Home", "at the Clinic") are none;
    a town-like name of ordinary words ("Willow Bend", "Granite Point VA") still is one."""
    return all(zipf(w) >= 4.5 or w.lower() in _GENERIC_FACILITY_WORDS for w in regex.findall(r"\w+", value))


def _names_a_facility(value: str) -> bool:
    words = regex.sub(f"(?i:{_FACILITY_KIND})", " ", value).replace("-", " ").split()
    return any(w.lower().strip(".") not in _GENERIC_FACILITY_WORDS and not is_medical_term(w) for w in words)


# --- contact -------------------------------------------------------------------------------------------
def phone_recognizer() -> RegexRecognizer:
    extension = r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,6})?"
    rules = [
        Rule("nanp", rf"(?<![\d-])(?:\+?1[ \t.-]?)?(?:\(\d{{3}}\)[ \t]?|\d{{3}}[ \t./-])\d{{3}}[ \t.-]\d{{4}}(?![\d-]){extension}", 0.8),
        Rule("international", r"(?<![\d-])\+\d{1,3}(?:[ \t.-]?\(?\d{1,4}\)?){2,5}(?![\d-])", 0.7),
        Rule("local", r"(?<![\d-])\d{3}-\d{4}(?![\d-])", 0.6),
        Rule("pager-ext", r"(?i:\b(?:pager|pgr|beeper|bpr|ext\.?|extension|phone|tel|fax|cell|mobile|beep|page)\b)"
                          r"[ \t]*(?:(?i:number|no\.?|#)[ \t]*)?[:#.]?[ \t]*(?P<phi>\d{4,7}|\d-\d{4}|\d{2}-\d{3,4})(?![\d/]|\.\d)", 0.75),
        Rule("x-ext", r"\b[xX](?P<phi>\d{4,6}|\d-\d{4})\b", 0.7),
    ]
    return RegexRecognizer("PHONE", rules, name="ClinicalPhoneRecognizer")


# --- identifiers ---------------------------------------------------------------------------------------
_ID_LABELS: dict[str, str] = {
    "MRN": ("MRN|MR|MR#|MRUN|Med(?:ical)?[ \t]*Rec(?:ord)?s?|Medical[ \t]+Record(?:[ \t]+(?:Number|No))?|"
            "Unit(?:[ \t]+(?:Number|No))|Hospital[ \t]+(?:Number|No)|Chart|Patient[ \t]*ID|Pt[ \t]*ID|PID|EMPI|MPI|"
            "Hosp[ \t]*No|Record[ \t]+(?:Number|No)"),
    "HEALTH_PLAN": ("Member(?:[ \t]*ID)?|Subscriber(?:[ \t]*ID)?|Policy|Insurance(?:[ \t]*ID)?|Plan(?:[ \t]*ID)|"
                    "Group|Medicare|Medicaid|HICN|MBI|Beneficiary(?:[ \t]*ID)?|Health[ \t]+Plan(?:[ \t]*ID)?|"
                    "Insurance[ \t]+Policy|Payer[ \t]*ID|BCBS|Blue[ \t]+Cross"),
    "ACCOUNT": ("Account|Acct|Encounter|Visit|CSN|FIN|Billing|Admission(?:[ \t]*ID)?|Case|Accession|Order|"
                "Requisition|Specimen|Claim|Invoice|Episode|Adm[ \t]*No|Financial"),
    "LICENSE": ("License|Licence|Lic|DEA|NPI|Certificate|Cert|Registration|Driver'?s[ \t]+Licen[cs]e|DL|Passport|"
                "UPIN|State[ \t]+Licen[cs]e|Board[ \t]+Cert(?:ification)?|Permit"),
    "VEHICLE": "VIN|Vehicle(?:[ \t]*ID)?|License[ \t]+Plate|Licen[cs]e[ \t]+Plate[ \t]+Number|Plate|Tag",
    "DEVICE": ("Serial|S/N|SN|Model|Lot|Device(?:[ \t]*ID)?|UDI|IMEI|MAC[ \t]+Address|Implant(?:[ \t]*ID)?|"
               "Pacemaker(?:[ \t]+Serial)?|Catalog|Cat|REF|Part"),
    "ID": ("ID|Identifier|Ref(?:erence)?|Code|Tracking|Study[ \t]*ID|Subject[ \t]*ID|Biobank|Sample|Barcode|"
           "Container|Bio[ \t]*ID|Username|User[ \t]*ID|Login|"
           # Dictation footers: "Job #: 158336  Batch: 03980", "Document: 6-9715839", "Confirmation #".
           "Job|Batch|Document|Doc|Dictation|Transcription|Confirmation|Ticket|Report[ \t]+(?:ID|Number|No)"),
}


def _id_value_ok(value: str) -> bool:
    return _has_digit(value) and len(value) >= 3 and not regex.fullmatch(r"\d{1,2}(?:[./]\d+)?", value)


def labelled_id_recognizers() -> list[RegexRecognizer]:
    """One recognizer per identifier type, each finding values written after its labels."""
    return [RegexRecognizer(entity, [Rule("label", rf"{_label(words)}{_ID_VALUE}", 0.85)], validate=_id_value_ok,
                            name=f"Labelled{entity.title().replace('_', '')}Recognizer")
            for entity, words in _ID_LABELS.items()]


def ssn_recognizer() -> RegexRecognizer:
    rules = [
        Rule("dashed", r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])", 0.85),
        Rule("labelled", r"(?i:\bssn|\bsocial[ \t]+security(?:[ \t]+(?:number|no\.?|#))?|\bss#)[ \t:#]*"
                         r"(?P<phi>\d{9}|\d{3}[- ]\d{2}[- ]\d{4})\b", 0.9),
    ]
    return RegexRecognizer("SSN", rules, name="SsnRecognizer")


def vehicle_recognizer() -> RegexRecognizer:
    # VINs: 17 characters, no I, O or Q, mixing letters and digits.
    vin = r"\b(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z])[A-HJ-NPR-Z0-9]{17}\b"
    # A licence plate written with a space, which the labelled-ID rule does not take ("plate SNA 113").
    plate = (r"(?i:\b(?:licen[cs]e[ \t]+)?plates?(?:[ \t]+(?:number|no\.?|#))?[ \t:#]*)"
             r"(?P<phi>(?=[A-Z0-9 -]*\d)(?=[A-Z0-9 -]*[A-Z])[A-Z0-9]{2,4}[ -][A-Z0-9]{2,4})\b")
    return RegexRecognizer("VEHICLE", [Rule("vin", vin, 0.8), Rule("plate-with-space", plate, 0.75)], name="VinRecognizer")


_CLINICAL_CODE_PREFIXES = ("(?:CD|CA|HER|FEV|PD|PDL|IL|COVID|SARS|BRCA|HLA|APOE|EGFR|ALK|JAK|CYP|ICD|CPT|DSM|NYHA|"
                           "TNM|PT|AVR|MVR|TVR|BNP|HBA|HGBA|LDL|HDL|VLDL|PCO|PO|SPO|SAO|FIO|ETCO|NS|LR|ABG|GCS|APACHE|"
                           "SOFA|CHA|HAS|MELD|ASA|CKD|ESRD|T|DM|MMSE|MOCA|PHQ|GAD|CURB|CIWA|NIHSS|QT|QTC|PR|QRS|LV|RV|"
                           "EF|IVC|SVC|AV|SA|VF|VT|ST|DVT|VTE|AKI|UTI|HIV|HCV|HBV|HPV|EBV|CMV|HSV|VZV|RSV|MRSA|VRE|GBS|"
                           "GCS|BP|HR|RR|HT|WT|BMI|TSH|INR|PTT|MCV|RDW|WBC|RBC|HGB|HCT|PLT|MG|MCG|ML|MM|CM|KG|BID|TID|QID|"
                           "QHS|PRN|SQ|IM|IV|OS|OD|OU|AD|AS|AU|GTT|UNITS|FT|IN|LB|OZ|DOSE|CPAP|BIPAP|PEEP|VC|AC|SIMV)")


_CLINICAL_CODE = regex.compile(rf"(?i){_CLINICAL_CODE_PREFIXES}\d")


def _is_a_word(value: str) -> bool:
    """Veto for codes where a signature stands (a line's end after a slash): letters alone must be no word."""
    return not _has_digit(value) and (is_safe_word(value) or is_medical_term(value))


def _not_a_staff_code(value: str) -> bool:
    """Veto for signer codes: letters alone must be no word ("trans", "prn"); letters and digits no lab or lead."""
    if not _has_digit(value):
        return is_safe_word(value) or is_medical_term(value)
    return bool(_CLINICAL_CODE.match(value))


def _is_a_short_word(value: str) -> bool:
    """Veto for codes on a line of their own: 2-4 lower-case letters there are a code ("orc", "xi") unless
    medical; longer ones, or capitals, must be no word either."""
    if _has_digit(value):
        return False
    if value.islower() and len(value) <= 4:
        return is_medical_term(value)
    return is_safe_word(value) or is_medical_term(value)


# Where notes put the signer's code: after a slash ending a signature line ("PARK / gpar4", "XV/ycd"), alone on
# a line after dashes ("-- stona"), in brackets after a name ("(mras2)", "[tmc]"), before a staff role ("nwacy
# PCT"), alone on the line that ends a note or comes before "cc:" or the dictation fields ("igross", "AHB"),
# after a dictation date ("TD: 06/13/2081 xi") and after a signer's credential ("Young, MD   DXY").
_STAFF_CODE = r"(?:[a-z]{2,9}\d{0,3}|[A-Z]{2,4}\d{0,3})"
_DICTATION_FIELD = r"(?i:cc|dd|dt|td|pager|job|d:|t:|enc)\b"
_STAFF_CODE_RULES = (
    Rule("code-after-slash", rf"(?:(?<=[ \t])|(?<=\b[A-Z]{{2,4}}\d{{0,3}}))/[ \t]*(?P<phi>{_STAFF_CODE})[ \t]*$", 0.6,
         _is_a_word),
    Rule("code-after-dashes", rf"^[ \t]*-{{1,3}}[ \t]*(?P<phi>{_STAFF_CODE})[ \t]*$", 0.6, _is_a_word),
    Rule("code-in-brackets", r"\([ \t]*(?P<phi>[a-z]{2,5}\d{1,3}|[A-Z]{2,4}\d{2,3})[ \t]*\)", 0.6, _not_a_staff_code),
    Rule("code-in-square-brackets", rf"\[[ \t]*(?P<phi>{_STAFF_CODE})[ \t]*\]", 0.6, _is_a_word),
    Rule("code-before-role", r"\b(?P<phi>[a-z]{3,6}\d{0,3}|[A-Z]{2,4}\d{2,3})[ \t]+(?:RN|LPN|LVN|CNA|RT|PCT|NP|CRNA)\b",
         0.6, _not_a_staff_code),
    Rule("code-line", rf"^[ \t]*(?P<phi>{_STAFF_CODE})[ \t]*$(?=\n[ \t]*{_DICTATION_FIELD}|\s*\Z)", 0.6, _is_a_short_word),
    Rule("code-after-signature", rf"(?<=(?:{_CREDENTIAL}|(?i:provider|attending|physician|signed[ \t]+by)[ \t]*:[^\n]*)"
                                 rf"[ \t]*\n)[ \t]*(?P<phi>{_STAFF_CODE})[ \t]*$", 0.6, _is_a_short_word),
    # The typist's code ends the dictation line whatever the date's shape ("TD: April 10, 2075  0015  ferreir").
    Rule("code-after-dictation-date", rf"(?i:\b(?:td|dt|dd)[ \t]*:)[^\n]*?\d[ \t]+(?P<phi>{_STAFF_CODE})[ \t]*$", 0.6,
         _is_a_short_word),
    # Who entered or typed it, by code ("ENTERED BY: at82", "Reviewed by: dm72, PharmD", "Transcribed by: hr23").
    Rule("code-after-by-label", r"(?i:\b(?:entered|transcribed|typed|reviewed|dictated|signed|prepared|verified|recorded|"
                                r"documented|completed)[ \t]+by[ \t]*:?[ \t]*)(?P<phi>[a-z]{2,9}\d{1,3}|[a-z]{2,9}(?=[ \t]*,[ \t]*"
                                rf"{_CREDENTIAL}))(?![\w.-])", 0.65, _not_a_staff_code),
    # A signer's code after the name and a slash, at the line's end ("Fairweather, Kwabena/zmood").
    Rule("code-after-name-slash", rf"(?<=\b{_CAP})/(?P<phi>[a-z]{{2,9}}\d{{0,3}})[ \t]*$", 0.6, _is_a_word),
    # A signer in lower case after dashes, before a credential ("-- temple, RN").
    Rule("code-before-credential", rf"^[ \t]*-{{1,3}}[ \t]*(?P<phi>[a-z][a-z'-]{{2,}})[ \t]*,[ \t]*{_CREDENTIAL}\b", 0.6,
         is_medical_term),
    Rule("code-after-login-label", r"(?i:\b(?:user(?:name)?|login|user[ \t]*id)[ \t]*:[ \t]*)(?P<phi>[A-Za-z][A-Za-z0-9._-]{1,19})[ \t]*$",
         0.7, _is_a_short_word),
    Rule("code-in-brackets-at-line-end", rf"(?<=(?:{_CREDENTIAL}|^[ \t]*-{{1,3}}[ \t]*[A-Z][A-Za-z.', \t-]*)[ \t]*)\([ \t]*(?P<phi>[a-z]{{3,12}}\d{{0,3}})[ \t]*\)[ \t]*$",
         0.6, _is_a_word),
    Rule("code-after-credential", rf"(?<![A-Za-z]){_CREDENTIAL}[ \t]{{2,}}(?P<phi>{_STAFF_CODE})[ \t]*$", 0.6, _is_a_word),
)


def unlabelled_id_recognizer() -> RegexRecognizer:
    """Long digit runs and letter+digit codes: record numbers written without a label."""
    rules = [
        Rule("long-number", r"(?<![\d.,/:-])\d{6,}(?![\d]|[.,]\d)", 0.6),
        Rule("hyphenated-number", r"(?<![\w./:-])\d{2,}-\d{2,}-\d{2,}(?:-\d+)*(?![\w-])", 0.5),
        Rule("code", r"\b(?=[A-Z0-9-]*\d{4})[A-Z]{1,4}-?\d{4,}[A-Z0-9]*\b", 0.6),
        Rule("code-with-part", r"\b[A-Z]{1,4}\d{2,}[/-]\d{3,}\b", 0.6),
        Rule("dashed-number", r"(?<![\w./:-])\d{1,3}-\d{5,}(?![\w-])", 0.55),
        # A bare five-digit number with no unit after it: a ZIP, an extension or a record number.
        Rule("five-digits", r"(?<![\d.,/:$-])\d{5}(?![\d]|[.,]\d)(?![ \t]*(?i:units?\b|u\b|iu\b|mg|mcg|ml|g\b|k\b|/|cells|copies|"
                            r"ng|pg|steps|kcal|cal\b|feet|ft\b|miles|lbs?\b|dollars|%))", 0.5),
        # Staff signature codes (FB59, JQ77): letters then digits, not a lab, gene or lead name.
        Rule("staff-code", rf"\b(?!{_CLINICAL_CODE_PREFIXES}\d)[A-Z]{{2,4}}\d{{2,3}}\b", 0.55),
        *_STAFF_CODE_RULES,
    ]
    return RegexRecognizer("ID", rules, name="UnlabelledIdRecognizer")


def clinical_recognizers(ner_strength: float = 0.65) -> list[LocalRecognizer]:
    """Every recognizer of the clinical analyzer (Presidio's own e-mail, URL and IP recognizers included)."""
    return [
        name_recognizer(), ClinicalNerRecognizer(ner_strength=ner_strength), date_recognizer(), age_recognizer(),
        address_recognizer(), *city_recognizers(), zip_recognizer(), hospital_recognizer(), hospital_acronym_recognizer(),
        employer_recognizer(), organization_recognizer(),
        phone_recognizer(),
        ssn_recognizer(), vehicle_recognizer(), unlabelled_id_recognizer(), *labelled_id_recognizers(),
        SafeListRecognizer(),
        EmailRecognizer(supported_entity="EMAIL_ADDRESS"), UrlRecognizer(supported_entity="URL"),
        IpRecognizer(supported_entity="IP_ADDRESS"),
    ]


def deny_list_recognizer(names: Iterable[str], identifiers: Iterable[str], birth_dates: Iterable[str],
                         addresses: Iterable[str]) -> RegexRecognizer | None:
    """Exact mentions of one patient's known values from the structured EHR (any case, whole words)."""
    rules_by_entity: dict[str, list[str]] = {"PERSON": [], "MRN": [], "DATE": [], "STREET_ADDRESS": []}
    for name in names:
        rules_by_entity["PERSON"] += [w for w in regex.split(r"[\s,]+", name) if len(w.strip(".")) >= 2]
    rules_by_entity["MRN"] += [i for i in identifiers if i]
    rules_by_entity["DATE"] += [d for d in birth_dates if d]
    rules_by_entity["STREET_ADDRESS"] += [a for a in addresses if a]
    rules = []
    for entity, values in rules_by_entity.items():
        if values:
            alternatives = "|".join(regex.escape(v) for v in sorted(set(values), key=len, reverse=True))
            eponym = NOT_EPONYM if entity == "PERSON" else ""
            rules.append((entity, Rule(f"deny-{entity.lower()}", rf"(?i)(?<!\w)(?:{alternatives})(?!\w){eponym}", 0.95)))
    if not rules:
        return None
    return _MultiEntityDenyList(rules)


class _MultiEntityDenyList(LocalRecognizer):
    """Ad-hoc recognizer for one document: each deny-list rule reports its own entity type."""

    def __init__(self, rules: list[tuple[str, Rule]]) -> None:
        self._recognizers = [RegexRecognizer(entity, [rule], name=f"DenyList{entity.title()}")
                             for entity, rule in rules]
        super().__init__(supported_entities=[e for e, _ in rules], name="PatientDenyListRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        return [r for rec in self._recognizers for r in rec.analyze(text, entities, nlp_artifacts)]


def recognizer_signature(recognizer: EntityRecognizer) -> list:
    """What decides one recognizer's detections, for the de-identifier's fingerprint."""
    parts: list = [type(recognizer).__qualname__, recognizer.name, sorted(recognizer.supported_entities)]
    if isinstance(recognizer, RegexRecognizer):
        parts += recognizer.signature()
    elif isinstance(recognizer, PatternRecognizer):
        parts.append(recognizer.to_dict())
    elif isinstance(recognizer, SafeListRecognizer):
        parts += [recognizer.score, safe_list_signature()]
    elif isinstance(recognizer, SpacyRecognizer):
        parts += [recognizer.ner_strength, safe_list_signature()]
    return parts
