"""What replaces each piece of PHI: masks, keyed surrogates, Safe Harbor generalisations and date shifts.

Surrogates come from an HMAC of the real value under the hospital's secret, so the same value always
gets the same fake value across a hospital's notes (a patient stays one person in the training text),
no mapping table is stored, and without the secret nobody can recompute or invert it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

# Safe Harbor: three-digit ZIP prefixes whose areas hold 20,000 people or fewer are replaced by 000
# (HHS de-identification guidance, 2000 Census).
RESTRICTED_ZIP3 = frozenset({"036", "059", "063", "102", "203", "556", "592", "790", "821", "823", "830", "831",
                             "878", "879", "884", "890", "893"})

# Syllables that combine into pronounceable names that are unlikely to be any real patient's.
_ONSETS = ("Bra", "Cal", "Dar", "El", "Fen", "Gar", "Hal", "Is", "Jar", "Kel", "Lor", "Mar", "Nor", "Or", "Pel",
           "Quin", "Ros", "Sel", "Tor", "Ul", "Val", "Wen", "Yar", "Zel", "Ash", "Bel", "Cor", "Del", "Fal", "Gil")
_ENDINGS = ("den", "rick", "ton", "lin", "wood", "ley", "mont", "ford", "vin", "sett", "ara", "ina", "by", "well",
            "dale", "ric", "vey", "nell", "more", "ston")
_PLACE_ENDINGS = ("ville", "burg", "field", "port", "haven", "brook", "ridge", "ton", "dale", "wood")
_STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way", "Place")
_FACILITY_KINDS = ("General Hospital", "Medical Center", "Community Hospital", "Clinic", "Health Center")
# Fake values of the all-PHI categories: a job, a state and a country stay a job, a state and a country.
_PROFESSIONS = ("teacher", "electrician", "accountant", "carpenter", "librarian", "mechanic", "clerk", "engineer",
                "cook", "painter", "farmer", "driver")
_STATE_NAMES = ("Vermont", "Oregon", "Nebraska", "Ohio", "Kansas", "Utah", "Iowa", "Idaho", "Arizona", "Kentucky")
_STATE_CODES = ("VT", "NE", "KS", "UT", "IA", "AZ", "KY", "NV", "WI", "MN")
_COUNTRIES = ("Norway", "Chile", "Portugal", "Kenya", "Canada", "Japan", "Poland", "Peru", "Ireland", "Ghana")
_UNIT_KINDS = ("Wing", "Pavilion", "Unit", "Tower")

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%m.%d.%Y",
                "%d-%b-%Y", "%d-%b-%y", "%B %d, %Y", "%B %d %Y", "%b %d, %Y", "%b %d %Y", "%b. %d, %Y", "%d %B %Y", "%d %b %Y",
                "%B %Y", "%b %Y", "%m/%Y", "%B %d", "%b %d", "%b. %d", "%m/%d")
_YEARLESS = {"%B %d", "%b %d", "%b. %d", "%m/%d"}
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b")


def mask(entity: str) -> str:
    return f"[{entity}]"


def generalise_age(_: str) -> str:
    """Safe Harbor aggregates every age over 89 into one category."""
    return "90+"


def age_over_89(value: str) -> bool:
    """True for an age Safe Harbor requires removed: digits above 89, or spelled from "ninety" up."""
    digits = re.sub(r"\D", "", value)
    if digits:
        return int(digits) > 89
    return value.strip().lower().startswith(("ninety", "one hundred"))


def generalise_zip(value: str) -> str:
    """Safe Harbor keeps the first three ZIP digits unless that area is small (then 000)."""
    prefix = value[:3]
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def parse_date(value: str) -> tuple[datetime, str] | None:
    """The date and the strptime format ``value`` is written in, or None if it is not a full calendar date."""
    cleaned = _ORDINAL.sub("", value.strip()).replace("Sept", "Sep")
    for fmt in DATE_FORMATS:
        try:  # 2000 is a leap year, so a yearless 2/29 still parses
            parsed = (datetime.strptime(f"{cleaned} 2000", f"{fmt} %Y") if fmt in _YEARLESS
                      else datetime.strptime(cleaned, fmt))
        except ValueError:
            continue
        return parsed, fmt
    return None


def year_only(value: str) -> str:
    """Safe Harbor keeps the year of a date and nothing else."""
    found = re.search(r"\b(?:19|20|21)\d{2}\b", value)
    if found:
        return found.group(0)
    parsed = parse_date(value)
    if parsed and parsed[1] not in _YEARLESS and "%y" in parsed[1]:
        return str(parsed[0].year)
    return mask("DATE")


class KeyedSurrogates:
    """Deterministic fake values derived from HMAC-SHA256(secret, entity type + normalised value)."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("surrogates need a non-empty hospital secret")
        self._secret = secret

    def _digest(self, *parts: str) -> bytes:
        return hmac.new(self._secret, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).digest()

    def _pick(self, options: tuple[str, ...], *parts: str, salt: str = "") -> str:
        return options[int.from_bytes(self._digest(salt, *parts)[:4], "big") % len(options)]

    def name_word(self, word: str) -> str:
        """One fake name per real name word, so 'John Smith' and 'Smith' stay consistent."""
        key = word.strip(".").lower()
        if len(key) == 1:  # an initial stays an initial
            return chr(ord("A") + self._digest("initial", key)[0] % 26) + ("." if word.endswith(".") else "")
        fake = self._pick(_ONSETS, "name", key, salt="a") + self._pick(_ENDINGS, "name", key, salt="b")
        return fake.upper() if word.isupper() else fake

    def person(self, value: str) -> str:
        return re.sub(r"[A-Za-z][A-Za-z'’-]*\.?", lambda m: self.name_word(m.group(0)), value)

    def same_shape(self, entity: str, value: str) -> str:
        """Digits become digits and letters letters, punctuation kept: IDs, phones, SSNs keep their format."""
        stream = self._digest("shape", entity, re.sub(r"\W", "", value).upper())
        out = []
        for i, c in enumerate(value):
            byte = stream[i % len(stream)] ^ (i // len(stream))
            if c.isdigit():
                out.append(str(byte % 10))
            elif c.isalpha() and entity not in ("PHONE", "SSN"):  # "ext", "x" stay readable
                letter = chr(ord("A") + byte % 26)
                out.append(letter if c.isupper() else letter.lower())
            else:
                out.append(c)
        return "".join(out)

    def place(self, value: str) -> str:
        return self._pick(_ONSETS, "place", value.lower()) + self._pick(_PLACE_ENDINGS, "place", value.lower(), salt="p")

    def street(self, value: str) -> str:
        number = int.from_bytes(self._digest("street-no", value.lower())[:2], "big") % 9000 + 100
        return f"{number} {self.place(value)} {self._pick(_STREET_KINDS, 'street', value.lower())}"

    def facility(self, value: str) -> str:
        return f"{self.place(value)} {self._pick(_FACILITY_KINDS, 'facility', value.lower())}"

    def email(self, value: str) -> str:
        return f"user{self._digest('email', value.lower()).hex()[:8]}@example.org"

    def url(self, value: str) -> str:
        return f"https://example.org/{self._digest('url', value.lower()).hex()[:10]}"

    def ip(self, value: str) -> str:
        d = self._digest("ip", value)
        return f"10.{d[0]}.{d[1]}.{d[2]}"

    def age(self, value: str) -> str:
        """90+ for a Safe Harbor age; a younger age becomes a keyed one of the same decade (a 67-year-old stays
        in his sixties, so the clinical picture holds, but the exact age is gone)."""
        if age_over_89(value) or not value.isdigit():
            return generalise_age(value) if age_over_89(value) else mask("AGE")
        decade = int(value) // 10 * 10
        return str(decade + self._digest("age", value)[0] % 10)

    def profession(self, value: str) -> str:
        return self._pick(_PROFESSIONS, "profession", value.lower())

    def state(self, value: str) -> str:
        """A postal code stays a postal code and a name a name."""
        options = _STATE_CODES if value.isupper() and len(value.strip(".")) == 2 else _STATE_NAMES
        return self._pick(options, "state", value.lower())

    def country(self, value: str) -> str:
        return self._pick(_COUNTRIES, "country", value.lower())

    def department(self, value: str) -> str:
        return f"{self.place(value)} {self._pick(_UNIT_KINDS, 'unit', value.lower())}"

    def replace(self, entity: str, value: str) -> str:
        """The surrogate for ``value`` found as ``entity`` (types without a fake form are masked)."""
        if entity in _SAME_SHAPE:
            return self.same_shape(entity, value)
        method = _BY_ENTITY.get(entity)
        return getattr(self, method)(value) if method else mask(entity)

    def date_shift_days(self, patient_id: str, max_days: int) -> int:
        """A non-zero shift in [-max_days, max_days], the same for every date of one patient."""
        digest = self._digest("date-shift", patient_id)
        days = int.from_bytes(digest[:4], "big") % max_days + 1
        return days if digest[4] & 1 else -days


def shift_date(value: str, days: int) -> str:
    """``value`` moved by ``days``, written in its own format; a date that cannot be parsed is masked."""
    parsed = parse_date(value)
    if parsed is None:
        return mask("DATE")
    moment, fmt = parsed
    if fmt in ("%B %Y", "%b %Y", "%m/%Y"):
        moment = moment.replace(day=15)  # month precision: shift the middle of the month
    return (moment + timedelta(days=days)).strftime(fmt)


# Which surrogate each entity type gets: a fake of its own kind, or the same shape with other characters.
_BY_ENTITY = {"AGE": "age", "PROFESSION": "profession", "STATE": "state", "COUNTRY": "country",
              "DEPARTMENT": "department", "LOCATION_OTHER": "place", "PERSON": "person", "CITY": "place",
              "LOCATION": "place", "STREET_ADDRESS": "street", "HOSPITAL": "facility", "EMAIL_ADDRESS": "email",
              "URL": "url", "IP_ADDRESS": "ip"}
_SAME_SHAPE = frozenset({"PHONE", "SSN", "MRN", "HEALTH_PLAN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "ID", "ROOM"})
