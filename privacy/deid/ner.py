"""The project's own trained NER as a Presidio recognizer (``deid.ner-model``).

A small spaCy entity recognizer trained on the synthetic generators' notes, whose labels are already the
de-identifier's entity types (``python -m simulations.deid_ner OUT_DIR`` builds one). It is loaded from
a local folder only and runs over a whole batch of texts at once. The model learnt from synthetic notes,
so on real ones it also tags what those notes never showed it; its hits pass a veto built from vocabulary,
not from any generator's layout (``vetoed``): names and places made of safe words (headings, exam words,
drugs), names with a drug or medical word in them or with no word that could be a name, capital initials
alone, generic or medical organisations, departments of safe words, numbers not said as ages, ordinals
alone as dates; and it trims a date's label letter ("D:07/20/83") and what follows a profession's "from".
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import regex
import spacy
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.language import Language

from privacy.deid.all_phi import ENTITIES as ALL_PHI_ENTITIES
from privacy.deid.recognizers import is_generic_workplace
from privacy.deid.safelist import UNKNOWN_WORD_ZIPF, all_safe, census_names, is_medical_word, plain_word, zipf
from privacy.deid.terms import EPONYM_FOLLOWERS, NOT_PHI_PLACES

MODEL_NAME = "medfed_deid_ner"
BUILD_COMMAND = "python -m simulations.deid_ner DIR"
# deid.ner-model's default: the model that ships in the package, so that a hospital needs nothing built or
# downloaded. Built by ``python -m simulations.deid_ner DIR --generators 1,2,3,4,5 --notes 360 --epochs 8
# --pubmedqa ori_pqal.json --pubmedqa-test-ids test_ground_truth.json`` (README, De-identification).
BUNDLED = "bundled"
BUNDLED_DIR = Path(__file__).with_name("ner_model")


def model_folder(setting: str) -> str:
    """The folder that deid.ner-model names: the bundled model, or the folder given."""
    return str(BUNDLED_DIR) if setting == BUNDLED else setting


# Gold categories of the synthetic notes (privacy.deid.evaluation) -> the entity type the model learns.
ENTITY_OF_CATEGORY = {"NAME": "PERSON", "DATE": "DATE", "AGE": "AGE", "LOCATION": "LOCATION",
                      "ORGANIZATION": "ORGANIZATION", "CONTACT": "PHONE", "ID": "ID", "PROFESSION": "PROFESSION",
                      "STATE": "STATE", "COUNTRY": "COUNTRY", "DEPARTMENT": "DEPARTMENT", "ROOM": "ROOM"}
# A model hit carries no calibrated confidence: one score, above deid.score-threshold's default and below every
# rule's, so that where a rule finds the same text its type wins ("10.2.33.4" is an IP address, not an age).
NER_SCORE = 0.45
_NEXT_WORD = regex.compile(r"(?:'s)?[ \t]+([A-Za-z]+)")
_WORD = regex.compile(r"[A-Za-z][A-Za-z'’]*")
_DATE_LABEL = regex.compile(r"[A-Za-z]{1,3}:[ \t]*(?=\d)")  # the "D:" of "D:07/20/83"
_ORDINAL = regex.compile(r"(?:the[ \t]+)?\d{1,2}(?:st|nd|rd|th)", regex.I)
_AFTER_PROFESSION = regex.compile(r"[ \t]+(?:from|in|at|for|with|since)\b")
# An age is said as one: "67 yo", "aged 67", "67-year-old", "67 M"; a number without that is a measurement.
_AGE_AFTER = regex.compile(r"[ \t-]*(?:y\b|yo\b|y/o|y\.o\.|yrs?\b|years?\b|year-old|[MF]\b|male|female|man|woman|boy|girl)", regex.I)
_AGE_BEFORE = regex.compile(r"\b(?:age|aged|ages)[ \t:]*$", regex.I)
# Medical vocabulary that organisations' names do hold ("Kindred Hospital", "Lakeside Clinic").
_FACILITY_WORDS = frozenset("hospital hospitals clinic clinics unit center centre".split())


@functools.lru_cache(maxsize=2)
def load_ner_model(model_dir: str) -> Language:
    """The trained NER in ``model_dir``, loaded once per process; never downloaded."""
    folder = Path(model_dir)
    if not (folder / "meta.json").is_file():
        raise FileNotFoundError(f"deid.ner-model: no trained NER model in '{model_dir}'. Build one with "
                                f"`{BUILD_COMMAND}`, set deid.ner-model=\"{BUNDLED}\" for the one medfed ships, or "
                                "deid.ner-model=\"\" to de-identify without it.")
    nlp = spacy.load(folder)
    if nlp.meta.get("name") != MODEL_NAME or "ner" not in nlp.pipe_names:
        raise ValueError(f"deid.ner-model: '{model_dir}' is not a model built by `{BUILD_COMMAND}`")
    return nlp


@functools.lru_cache(maxsize=2)
def model_digest(model_dir: str) -> str:
    """A hash of every file of the model folder: a retrained model changes the de-identifier's fingerprint."""
    folder = Path(model_dir)
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


class TrainedNerRecognizer(LocalRecognizer):
    """Entities of the trained NER. ``scope="safe-harbor"`` drops the types only all-PHI removes.

    ``prime(texts)`` runs the model over a batch at once; ``analyze`` then reads those results (a text
    not primed is tagged on its own).
    """

    def __init__(self, model_dir: str, scope: str = "all-phi", batch_size: int = 64) -> None:
        model_dir = model_folder(model_dir)
        self.model_dir = model_dir
        self._nlp = load_ner_model(model_dir)
        self._batch_size = batch_size
        self._primed: dict[str, list[tuple[int, int, str]]] = {}
        labels = self._nlp.get_pipe("ner").labels
        entities = [label for label in labels if scope == "all-phi" or label not in ALL_PHI_ENTITIES]
        super().__init__(supported_entities=entities, name="TrainedNerRecognizer")

    def load(self) -> None:
        pass

    def signature(self) -> list:
        """What decides this recognizer's detections, for the de-identifier's fingerprint."""
        patterns = [p.pattern for p in (_DATE_LABEL, _AGE_AFTER, _AGE_BEFORE, _ORDINAL, _AFTER_PROFESSION)]
        return [MODEL_NAME, model_digest(self.model_dir), NER_SCORE, sorted(_FACILITY_WORDS), patterns,
                sorted(self.supported_entities)]

    def prime(self, texts: Sequence[str]) -> None:
        self._primed = {text: self._entities(doc)
                        for text, doc in zip(texts, self._nlp.pipe(texts, batch_size=self._batch_size))}

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        found = self._primed.pop(text, None)
        if found is None:
            found = self._entities(self._nlp(text))
        kept = []
        for start, end, label in found:
            if label == "DATE" and (prefix := _DATE_LABEL.match(text, start, end)):
                start = prefix.end()
            if label == "PROFESSION" and (tail := _AFTER_PROFESSION.search(text, start, end)):
                end = tail.start()  # "teacher from Texas": the place is the rules' to find, and typed as a place
            if label in entities and label in self.supported_entities and not vetoed(
                    label, text[start:end], text[max(0, start - 12):start], text[end:end + 24]):
                kept.append(RecognizerResult(label, start, end, NER_SCORE, recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return kept

    @staticmethod
    def _entities(doc: spacy.tokens.Doc) -> list[tuple[int, int, str]]:
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def vetoed(entity: str, value: str, preceding: str, following: str) -> bool:
    """True when a hit of the model is no PHI by its words alone.

    Names and places: only safe words, a non-PHI place, or a surname used as an eponym ("Wilson disease").
    Names also: a drug or medical word in it ("Enalapril Maleate"), no word that could be a name (a census
    name or a word unknown to English: "Acetylsalicylic Acid", "erythema that extends"), or capital initials
    alone ("XGT", which the real i2b2 notes leave as text). Organisations that the employer rules would
    call generic ("Medicare" alone) or with a medical word in them ("Right Carotid Artery Dz"; "Hospital" and
    "Clinic" do not count). Departments made of safe words ("Cardiology Clinic": a specialty names no one).
    Ages not said as ages ("O2 SAT 97", "EF 55%"), and ordinals alone as dates ("the 3rd day"): the rules
    decide those from their context."""
    if entity == "AGE":
        return not (_AGE_AFTER.match(following) or _AGE_BEFORE.search(preceding))
    if entity == "DATE":
        return bool(_ORDINAL.fullmatch(value.strip()))
    if entity == "DEPARTMENT":
        return all_safe(value)
    words = _WORD.findall(value)
    if entity == "ORGANIZATION":  # the employer rules' own test first ("Medicare", "the Hospital")
        return is_generic_workplace(value) or any(is_medical_word(w) and w.lower() not in _FACILITY_WORDS for w in words)
    if entity not in ("PERSON", "LOCATION"):
        return False
    if all_safe(value):
        return True
    if entity == "LOCATION":
        return value.strip(" .,").lower() in NOT_PHI_PLACES
    if any(is_medical_word(w) for w in words) or not any(_could_be_a_name(w) for w in words):
        return True
    if len(words) == 1 and words[0].isupper() and len(words[0]) <= 4:
        return True
    next_word = _NEXT_WORD.match(following)
    return bool(next_word and next_word.group(1).lower() in EPONYM_FOLLOWERS)


def _could_be_a_name(word: str) -> bool:
    low = plain_word(word)
    return len(low) > 1 and (low in census_names() or zipf(low) < UNKNOWN_WORD_ZIPF)
