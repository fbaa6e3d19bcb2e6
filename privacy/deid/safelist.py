"""Philter-style safe list: a word is presumed PHI unless it is known to be safe.

Pattern recognizers find PHI by how notes lay it out; real notes break every layout (names in lower
case or capitals, surnames that are ordinary words, signature codes, bare numbers). A safe list turns
the question round: a capitalised word that is neither a common English word (``wordfreq``, offline:
its data ships in the wheel) nor medical vocabulary, nor a number in a clinical pattern, is a candidate
name whatever the layout. Surnames and given names from the US Census lists (the ``names`` package,
offline) that are rarer as English words than as names are candidates too, and neighbouring name
words and initials join them ("Gilbert P. Perez", "OROZCO,KYLE").

The same vocabulary vetoes the statistical NER and the label rules where they tag section headings and
exam words ("Alert", "Soft", "DISPOSITION", "Attending Provider").
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.resources

import regex
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from privacy.deid.terms import (
    DRUG_WORD_MAX_ZIPF,
    EPONYM_FOLLOWERS,
    MEDICAL_TERMS,
    NOT_PHI_PLACES,
    drug_words,
    is_medical_term,
)

# Zipf frequencies (log10 per billion words): 3 is "a word most adults know", 5 "the, and, clear".
COMMON_WORD_ZIPF = 4.0   # a census name this common as an English word ("Bright", "Rush") needs context
SAFE_WORD_ZIPF = 4.3     # an English word this common is no evidence of a name on its own ("Alert", "Clear")
UNKNOWN_WORD_ZIPF = 1.0  # a capitalised word rarer than this and not a census name is a candidate
RARE_LOWER_ZIPF = 2.5    # a lower-case census name rarer than this ("olinger") is a candidate

# Word endings of drugs, procedures and findings: rare in wordfreq, never names.
_MEDICAL_ENDINGS = regex.compile(
    r"(?i)(?:olol|pril|sartan|statin|azole|mycin|micin|cillin|cycline|floxacin|prazole|tidine|dipine|parin|xaban|"
    r"gatran|gliptin|glitazone|glinide|mab|inib|tinib|ciclovir|vir|semide|thiazide|zepam|zolam|azepam|oxetine|"
    r"triptyline|codone|morphone|profen|asone|olone|terol|tropium|dronate|lukast|setron|tadine|afil|osin|"
    r"itis|osis|ectomy|otomy|ostomy|oplasty|plasty|oscopy|scopy|graphy|gram|emia|uria|pathy|algia|penia|cytosis|"
    r"izide|uride|ipide|amide|purinol|glycerin|vax|basilar|dimer|"
    r"megaly|plegia|paresis|trophy|ology|ologist|ogenic|oma|omas|aemia|ase|ases|itides|ectasis|rrhea|rrhoea)$")
_WORD = regex.compile(r"(?<![\w'’])[A-Za-z][A-Za-z'’]*[A-Za-z]|(?<![\w'’])[A-Za-z](?![\w'’])")
# Between two words of one name: a space, a comma (with or without a space) or an initial's period.
_NAME_GAP = regex.compile(r"(?:[ \t]{1,2}|,[ \t]?)")
_NAME_SHAPE = regex.compile(r"(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)?")
_INITIAL_GAP = regex.compile(r"\.?[ \t]{1,2}")
_DOTTED_CREDENTIAL = regex.compile(r"\.[A-Z]\.?(?![A-Za-z])")  # the M of M.D., the R of R.N.
# Census names that stand beside a name without being part of it ("Dear Alma", "Husband Rajesh", "Rusty Pepper,
# LICSW", "Attending Provider: ...").
NEVER_JOIN_WORDS = frozenset("""
dear husband wife son daughter mother father brother sister aunt uncle attending provider licsw lcsw msw
""".split())


# The census surname list runs to 88,799 names; its tail (one bearer in ~100,000 people or fewer) is
# full of ordinary and medical words ("Sternal", "Supple", "Bun"), so only the commoner part counts.
SURNAME_RANKS = 20_000
# Between zipf 3.5 and 4 a census name is as often a word ("Pond", "Ridge"): only the commonest names pass.
COMMON_NAME_RANKS = 2_500


@functools.lru_cache(maxsize=1)
def _census() -> tuple[frozenset[str], frozenset[str]]:
    files = importlib.resources.files("names")
    lists = []
    for name, ranks in (("dist.all.last", SURNAME_RANKS), ("dist.male.first", COMMON_NAME_RANKS),
                        ("dist.female.first", COMMON_NAME_RANKS)):
        lines = [line for line in files.joinpath(name).read_text().splitlines() if line.strip()]
        lists.append([line.split()[0].lower() for line in lines[:ranks]])
    surnames, male, female = lists
    return frozenset(surnames + male + female), frozenset(surnames[:COMMON_NAME_RANKS] + male + female)


def census_names() -> frozenset[str]:
    """Lower-cased US Census 1990 given names and commoner surnames (public domain, shipped by ``names``)."""
    return _census()[0]


def common_census_names() -> frozenset[str]:
    """The commonest of ``census_names``: given names and the 2,500 commonest surnames."""
    return _census()[1]


@functools.lru_cache(maxsize=1)
def safe_list_signature() -> str:
    """A hash of what decides which words are safe: thresholds, word lists and the versions of the word-frequency
    and census-name data. Part of the de-identifier's fingerprint, so a new list never reuses old output."""
    parts = [COMMON_WORD_ZIPF, SAFE_WORD_ZIPF, UNKNOWN_WORD_ZIPF, RARE_LOWER_ZIPF, SURNAME_RANKS, COMMON_NAME_RANKS,
             _MEDICAL_ENDINGS.pattern, sorted(MEDICAL_TERMS), sorted(NOT_PHI_PLACES), sorted(EPONYM_FOLLOWERS),
             sorted(STOP_WORDS), sorted(NEVER_JOIN_WORDS), DRUG_WORD_MAX_ZIPF, importlib.metadata.version("wordfreq"),
             importlib.metadata.version("names"), importlib.metadata.version("drug-named-entity-recognition")]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@functools.lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    return zipf_frequency(word, "en")


def is_medical_word(word: str) -> bool:
    """Listed medical vocabulary, or a drug's name or a word with a drug's or finding's ending that is no census
    name (Thomas ends like "lymphomas", Chase like "lipase", Dona is a drug's brand)."""
    if is_medical_term(word):
        return True
    low = plain_word(word)
    return (low in drug_words() or bool(_MEDICAL_ENDINGS.search(word))) and low not in census_names()


def plain_word(word: str) -> str:
    """Lower case without apostrophes: O'Brien is listed as OBRIEN."""
    return regex.sub(r"['’]", "", word.lower())


def is_safe_word(word: str) -> bool:
    """True when ``word`` alone is not evidence of PHI: medical vocabulary, or an English word more common
    than it is a name (never a rare census name, whatever its case)."""
    low = plain_word(word)
    if len(low) < 2 or low in STOP_WORDS or is_medical_word(low) or low in NOT_PHI_PLACES:
        return True
    frequency = zipf(low)
    return frequency >= SAFE_WORD_ZIPF or (low not in census_names() and frequency >= 3.0)


def is_ordinary_word(word: str) -> bool:
    """True when ``word`` is medical vocabulary or an English word that is no census name at all."""
    low = plain_word(word)
    return (len(low) < 2 or low in STOP_WORDS or is_medical_word(low)
            or (low not in census_names() and zipf(low) >= 3.0))


def is_name_candidate(word: str) -> bool:
    """True when ``word``, in the case it is written, is likely a name with no context at all."""
    low = plain_word(word)
    if len(low) < 2 or low in STOP_WORDS or low in EPONYM_FOLLOWERS or low in NOT_PHI_PLACES or is_medical_word(low):
        return False
    frequency = zipf(low)
    if word.islower():
        return low in census_names() and frequency < RARE_LOWER_ZIPF
    if word.isupper() and len(word) < 4:  # RA, ASA, BUN: abbreviations
        return False
    if low in census_names():
        return frequency < 3.5 or (frequency < COMMON_WORD_ZIPF and low in common_census_names())
    # An unknown word is a candidate only in a name's shape (Xzavian, not DaTscan or an abbreviation).
    return bool(_NAME_SHAPE.fullmatch(word)) and frequency < UNKNOWN_WORD_ZIPF


def all_safe(phrase: str) -> bool:
    """True when every word of ``phrase`` is safe (see ``is_safe_word``): the veto on context-free detections."""
    words = _WORD.findall(phrase)
    return bool(words) and all(is_safe_word(w) for w in words)


def all_ordinary(phrase: str) -> bool:
    """True when every word of ``phrase`` is ordinary (see ``is_ordinary_word``): the veto on label rules,
    where a name that is also a common word ("Attending: Rose Baker") must stay a name."""
    words = [w for w in _WORD.findall(phrase) if len(w) > 1]  # an initial says nothing either way
    return bool(words) and all(is_ordinary_word(w) for w in words)


def grow_name(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of a name found at ``text[start:end]`` grown over neighbouring name words and initials on its
    line, as the safe list grows its own candidates ("Winter" -> "Winter, E.", "SHARP" -> "E. SHARP")."""
    words = list(_WORD.finditer(text, max(0, start - 64), min(len(text), end + 64)))
    inside = [i for i, w in enumerate(words) if start <= w.start() and w.end() <= end]
    if not inside:
        return start, end
    first, last = inside[0], inside[-1]
    while first > 0 and SafeListRecognizer._joins(text, words[first - 1], words[first]):
        first -= 1
    while last + 1 < len(words) and SafeListRecognizer._joins(text, words[last], words[last + 1]):
        last += 1
    return min(start, words[first].start()), max(end, words[last].end())


class SafeListRecognizer(LocalRecognizer):
    """PERSON candidates from the safe list, grown over neighbouring name words and initials."""

    def __init__(self, score: float = 0.5) -> None:
        self.score = score
        super().__init__(supported_entities=["PERSON"], name="SafeListRecognizer")

    def load(self) -> None:
        census_names()

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        words = list(_WORD.finditer(text))
        results = []
        i = 0
        while i < len(words):
            if not is_name_candidate(words[i].group()):
                i += 1
                continue
            first = last = i
            while first > 0 and self._joins(text, words[first - 1], words[first]):
                first -= 1
            while last + 1 < len(words) and self._joins(text, words[last], words[last + 1]):
                last += 1
            results.append(RecognizerResult("PERSON", words[first].start(), words[last].end(), self.score,
                                            recognition_metadata={"recognizer_name": self.name, "pattern": "safe-list"}))
            i = last + 1
        return results

    @staticmethod
    def _joins(text: str, left: regex.Match, right: regex.Match) -> bool:
        """Whether two neighbouring words belong to one name: a name-shaped word or initial, same line."""
        gap = text[left.end():right.start()]
        if len(right.group()) == 1 and _DOTTED_CREDENTIAL.match(text, right.end()):
            return False
        if not (_NAME_GAP.fullmatch(gap) or (len(left.group()) == 1 and _INITIAL_GAP.fullmatch(gap))):
            return False
        for w in (left.group(), right.group()):
            if w.lower() in NEVER_JOIN_WORDS:
                return False
            if not (w[0].isupper() and (len(w) == 1 or is_name_candidate(w) or not is_safe_word(w)
                                        or (w.lower() in census_names() and w.lower() not in STOP_WORDS))):
                return False
        return True
