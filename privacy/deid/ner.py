"""The project's own trained NER as a Presidio recognizer (``deid.ner-model``).

A small spaCy entity recognizer trained on the synthetic generators' notes, whose labels are already the
de-identifier's entity types (``python -m simulations.deid_ner OUT_DIR`` builds one). It is loaded from
a local folder only, runs over a whole batch of texts at once, and its names and places pass the same
safe-list veto as spaCy's own NER: a hit made only of safe words (headings, exam words, drugs) is kept
as text.
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
from privacy.deid.safelist import all_safe
from privacy.deid.terms import EPONYM_FOLLOWERS, NOT_PHI_PLACES, is_medical_term

MODEL_NAME = "medfed_deid_ner"
BUILD_COMMAND = "python -m simulations.deid_ner DIR"
# Gold categories of the synthetic notes (privacy.deid.evaluation) -> the entity type the model learns.
ENTITY_OF_CATEGORY = {"NAME": "PERSON", "DATE": "DATE", "AGE": "AGE", "LOCATION": "LOCATION",
                      "ORGANIZATION": "ORGANIZATION", "CONTACT": "PHONE", "ID": "ID", "PROFESSION": "PROFESSION",
                      "STATE": "STATE", "COUNTRY": "COUNTRY", "DEPARTMENT": "DEPARTMENT", "ROOM": "ROOM"}
# A model hit carries no calibrated confidence: one score, above deid.score-threshold's default.
NER_SCORE = 0.6
_VETOED = ("PERSON", "LOCATION")  # as for spaCy's NER: names and places made of safe words are not PHI
_NEXT_WORD = regex.compile(r"(?:'s)?[ \t]+([A-Za-z]+)")


@functools.lru_cache(maxsize=2)
def load_ner_model(model_dir: str) -> Language:
    """The trained NER in ``model_dir``, loaded once per process; never downloaded."""
    folder = Path(model_dir)
    if not (folder / "meta.json").is_file():
        raise FileNotFoundError(f"deid.ner-model: no trained NER model in '{model_dir}'. Build it with "
                                f"`{BUILD_COMMAND}` (make setup builds the default one), or set deid.ner-model=\"\" "
                                "to de-identify without it.")
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
        return [MODEL_NAME, model_digest(self.model_dir), NER_SCORE, _VETOED, sorted(self.supported_entities)]

    def prime(self, texts: Sequence[str]) -> None:
        self._primed = {text: self._entities(doc)
                        for text, doc in zip(texts, self._nlp.pipe(texts, batch_size=self._batch_size))}

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        found = self._primed.pop(text, None)
        if found is None:
            found = self._entities(self._nlp(text))
        return [RecognizerResult(label, start, end, NER_SCORE,
                                 recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                                       RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
                for start, end, label in found
                if label in entities and label in self.supported_entities
                and not vetoed(label, text[start:end], text[end:end + 24])]

    @staticmethod
    def _entities(doc: spacy.tokens.Doc) -> list[tuple[int, int, str]]:
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def vetoed(entity: str, value: str, following: str) -> bool:
    """True when a name or place hit is no PHI: only safe words, a medical term, a non-PHI place, or a
    surname used as an eponym ("Wilson disease")."""
    if entity not in _VETOED:
        return False
    if all_safe(value) or any(is_medical_term(w) for w in value.split()):
        return True
    if entity == "LOCATION":
        return value.strip(" .,").lower() in NOT_PHI_PLACES
    next_word = _NEXT_WORD.match(following)
    return bool(next_word and next_word.group(1).lower() in EPONYM_FOLLOWERS)
