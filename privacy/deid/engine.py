"""The de-identifier a hospital runs on every text field before anything is trained on it."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import importlib.metadata
import importlib.resources
import logging
import multiprocessing
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import regex
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
from spacy.lang.en.stop_words import STOP_WORDS

from common.config import DeidSection
from privacy.deid.all_phi import all_phi_recognizers
from privacy.deid.ner import TrainedNerRecognizer
from privacy.deid.nlp import LANGUAGE, OfflineSpacyNlpEngine, load_pipeline
from privacy.deid.recognizers import (
    NOT_EPONYM,
    RegexRecognizer,
    Rule,
    clinical_recognizers,
    deny_list_recognizer,
    facility_initials,
    is_facility_acronym,
    recognizer_signature,
)
from privacy.deid.safelist import grow_name, is_safe_word
from privacy.deid.surrogates import (
    KeyedSurrogates,
    age_over_89,
    generalise_age,
    generalise_zip,
    mask,
    parse_date,
    shift_date,
    year_only,
)
from privacy.deid.terms import is_medical_term

logger = logging.getLogger(__name__)
# Presidio logs every candidate span's text at DEBUG: patient text must never reach a log at any level.
for _name in ("presidio-analyzer", "presidio-anonymizer"):
    logging.getLogger(_name).setLevel(logging.WARNING)
_YEAR = regex.compile(r"(?<![\d/.-])(?:19|20|21)\d{2}(?![\d/-])")  # a year written alone
_ANY_YEAR = regex.compile(r"(?<!\d)(?:19|20|21)\d{2}(?!\d)")

# spaCy labels kept from the statistical NER model; dates and numbers come from patterns, which are more
# precise on clinical text. Organisations pass only where ClinicalNerRecognizer finds them named.
_NER_CONFIGURATION = NerModelConfiguration(
    model_to_presidio_entity_mapping={"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
                                      "ORG": "ORGANIZATION"},
    labels_to_ignore=["NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT",
                      "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"],
    default_score=0.65,
)
# Only the NER model (and its tok2vec) is used: the clinical recognizers carry no context words, so the
# tagger and lemmatizer behind Presidio's context enhancement would cost a third of the time for nothing.
_UNUSED_PIPES = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter")
# Settings that change how fast texts are de-identified, never what comes out.
_THROUGHPUT_SETTINGS = ("batch_size", "num_workers")
_LIBRARIES = ("presidio-analyzer", "presidio-anonymizer", "spacy", "regex")


@dataclass(frozen=True)
class PatientContext:
    """What the structured EHR knows about the patient a text belongs to.

    ``patient_id`` keys the per-patient date shift; the other fields are a deny list: every mention of
    them is removed even where no recognizer would find it.
    """

    patient_id: str
    names: tuple[str, ...] = ()
    mrn: str | None = None
    birth_date: str | None = None  # ISO yyyy-mm-dd
    addresses: tuple[str, ...] = ()
    other_identifiers: tuple[str, ...] = ()

    def deny_list(self) -> RegexRecognizer | None:
        return deny_list_recognizer(self.names, (self.mrn, *self.other_identifiers) if self.mrn else
                                    self.other_identifiers, birth_date_spellings(self.birth_date), self.addresses)


@dataclass(frozen=True)
class DeidResult:
    """One de-identified text: replacements per entity type and PHI-shaped hits left after de-identification."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)
    residual: int = 0


class ResidualRateExceeded(RuntimeError):
    """Too many de-identified texts still look like they hold PHI: the hospital must not train on them."""


def birth_date_spellings(iso: str | None) -> tuple[str, ...]:
    """The ways a birth date is commonly written in notes (03/04/1950, 3/4/50, March 4, 1950...)."""
    parsed = parse_date(iso) if iso else None
    if parsed is None:
        return ()
    d = parsed[0]
    return (iso, d.strftime("%m/%d/%Y"), f"{d.month}/{d.day}/{d.year}", d.strftime("%m/%d/%y"),
            f"{d.month}/{d.day}/{d:%y}", d.strftime("%m-%d-%Y"), f"{d:%B} {d.day}, {d.year}", f"{d:%b} {d.day}, {d.year}",
            f"{d.day} {d:%B} {d.year}")


def residual_rate(results: Sequence[DeidResult]) -> float:
    """Share of texts in which the second pass still found PHI-shaped text."""
    return sum(r.residual > 0 for r in results) / len(results) if results else 0.0


def check_residual_rate(results: Sequence[DeidResult], max_rate: float) -> float:
    """Return the residual rate, or raise ``ResidualRateExceeded`` when it is above ``max_rate``."""
    rate = residual_rate(results)
    if rate > max_rate:
        raise ResidualRateExceeded(
            f"{sum(r.residual > 0 for r in results)} of {len(results)} de-identified texts ({rate:.2%}) still hold "
            f"PHI-shaped text, above deid.max-residual-rate={max_rate:.2%}; refusing to train. Review them with "
            "`python -m privacy.deid <data-file> <out-dir> --review review.html` inside the hospital.")
    return rate


class ResidualScanner:
    """The second pass: strict shapes that must never survive de-identification, plus the patient's deny list.

    It reads the output with every replacement shown as a mask, so surrogates (fake but PHI-shaped by
    design) do not count and anything it finds was missed by the first pass.
    """

    RULES = (
        Rule("ssn", r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)", 1.0),
        Rule("phone", r"(?<!\d)\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)", 1.0),
        Rule("email", r"[\w.+-]+@[\w-]+\.[\w.-]+", 1.0),
        Rule("url", r"(?i)\b(?:https?://|www\.)\S+", 1.0),
        Rule("full-date", r"(?<![\d/])(?:\d{1,2}/\d{1,2}/\d{2,4}|(?:19|20)\d{2}-\d{2}-\d{2})(?![\d/])", 1.0),
        Rule("long-number", r"(?<![\d.])\d{7,}(?![\d.])", 1.0),
        Rule("titled-name", r"\b(?:Dr|Mr|Mrs|Ms)\.?[ \t]+[A-Z][a-z]{2,}", 1.0),
    )

    def __init__(self) -> None:
        self._shapes = RegexRecognizer("RESIDUAL", self.RULES, name="ResidualScanner")

    def count(self, masked_text: str, patient: PatientContext | None) -> int:
        hits = self._shapes.analyze(masked_text, ["RESIDUAL"])
        deny = patient.deny_list() if patient else None
        if deny is not None:
            hits += deny.analyze(masked_text, deny.supported_entities)
        return len({(h.start, h.end) for h in hits})


class Deidentifier:
    """Finds PHI with Presidio's analyzer (clinical recognizers, offline spaCy) and replaces it.

    ``cfg.scope`` decides what PHI is: "safe-harbor" the HIPAA identifiers, "all-phi" (the default) also the
    i2b2 categories Safe Harbor lets stay (``privacy/deid/all_phi.py``).

    Build it once per process with ``from_config``; ``deidentify_batch`` is the call for data pipelines.
    """

    def __init__(self, cfg: DeidSection, secret: bytes | None = None) -> None:
        if (cfg.method == "surrogate" or cfg.date_mode == "shift") and not secret:
            raise ValueError("deid.method='surrogate' and deid.date-mode='shift' need the hospital secret "
                             "(pass secret=...); it keys the surrogates and must never be stored beside the data")
        self.cfg = cfg
        self._secret = secret
        nlp_engine = OfflineSpacyNlpEngine(cfg.spacy_model, _NER_CONFIGURATION, exclude=_UNUSED_PIPES)
        recognizers = clinical_recognizers() + (all_phi_recognizers(keep_years=cfg.date_mode == "year")
                                                if cfg.scope == "all-phi" else [])
        self._trained_ner = TrainedNerRecognizer(cfg.ner_model, cfg.scope, cfg.batch_size) if cfg.ner_model else None
        if self._trained_ner:
            recognizers.append(self._trained_ner)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE],
                                       default_score_threshold=cfg.score_threshold)
        self._anonymizer = AnonymizerEngine()
        self._surrogates = KeyedSurrogates(secret) if secret else None
        self._residual = ResidualScanner()
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_config(cls, cfg: DeidSection, secret: bytes | None = None) -> Deidentifier:
        return cls(cfg, secret)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of everything that decides this de-identifier's output: its settings (method, date mode,
        thresholds, model), every registered recognizer's rules, the safe list, the residual scanner, this
        package's code, the library versions and (as an HMAC tag, never the key) the secret.

        Data caches key on it, so text de-identified under other rules or settings is never reused.
        """
        model = load_pipeline(self.cfg.spacy_model, _UNUSED_PIPES).meta
        parts = {
            "settings": {k: v for k, v in dataclasses.asdict(self.cfg).items() if k not in _THROUGHPUT_SETTINGS},
            "recognizers": [recognizer_signature(r) for r in self.analyzer.registry.recognizers],
            "ner": [_NER_CONFIGURATION.to_dict(), _UNUSED_PIPES, model.get("name"), model.get("version")],
            "trained-ner": self._trained_ner.signature() if self._trained_ner else None,
            "residual": [[r.name, r.pattern] for r in ResidualScanner.RULES],
            "code": _package_source_digest(),
            "libraries": [importlib.metadata.version(name) for name in _LIBRARIES],
            "secret": hmac.new(self._secret, b"medfed-deid-fingerprint", hashlib.sha256).hexdigest()
            if self._secret else None,
        }
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    # -- detection --------------------------------------------------------------------------------------
    def analyze_batch(self, texts: Sequence[str], patients: Sequence[PatientContext | None] | None = None
                      ) -> list[list[RecognizerResult]]:
        """Non-overlapping PHI spans of every text (the first pass), in text order."""
        return [merge_overlaps(found) for found in self.detections_batch(texts, patients)]

    def detections_batch(self, texts: Sequence[str], patients: Sequence[PatientContext | None] | None = None
                         ) -> list[list[RecognizerResult]]:
        """Every recognizer's own detections, overlapping, each naming its recognizer (for attribution)."""
        patients = _aligned(texts, patients)
        artifacts = self.analyzer.nlp_engine.process_batch(list(texts), LANGUAGE, batch_size=self.cfg.batch_size)
        if self._trained_ner:
            self._trained_ner.prime(texts)
        found = []
        for (text, nlp_artifacts), patient in zip(artifacts, patients):
            deny = patient.deny_list() if patient else None
            results = self.analyzer.analyze(text, LANGUAGE, nlp_artifacts=nlp_artifacts,
                                            ad_hoc_recognizers=[deny] if deny else None,
                                            score_threshold=self.cfg.score_threshold)
            results += grow_names(text, results)
            found.append(results + propagate_names(text, results) + propagate_facilities_and_codes(text, results))
        return found

    # -- replacement ------------------------------------------------------------------------------------
    def deidentify_batch(self, texts: Sequence[str], patients: Sequence[PatientContext | None] | None = None
                         ) -> list[DeidResult]:
        """De-identify ``texts`` (``patients[i]`` belongs to ``texts[i]``, or None when unknown)."""
        patients = _aligned(texts, patients)
        workers = self.cfg.num_workers
        if workers > 1 and len(texts) >= 2 * self.cfg.batch_size:
            return self._deidentify_in_processes(texts, patients)
        results = [self._replace(text, spans, patient)
                   for text, spans, patient in zip(texts, self.analyze_batch(texts, patients), patients)]
        logger.info("de-identified %d texts: %s", len(results), dict(sum((Counter(r.counts) for r in results), Counter())))
        return results

    def deidentify(self, text: str, patient: PatientContext | None = None) -> DeidResult:
        return self.deidentify_batch([text], [patient])[0]

    def _replace(self, text: str, spans: list[RecognizerResult], patient: PatientContext | None) -> DeidResult:
        cutoff = _birth_year_cutoff(text, spans)
        if cutoff is not None:  # the birth years of a 90+ patient go too, written alone or in a date
            spans = merge_overlaps(spans + [RecognizerResult("DATE", m.start(), m.end(), 0.9) for m in _YEAR.finditer(text)
                                            if int(m.group()) <= cutoff])
        operators = {entity: OperatorConfig("custom", {"lambda": self._replacement_for(entity, patient, cutoff)})
                     for entity in {s.entity_type for s in spans}}
        output = self._anonymizer.anonymize(text, spans, operators, ConflictResolutionStrategy.REMOVE_INTERSECTIONS)
        masked = self._anonymizer.anonymize(
            text, spans, {e: OperatorConfig("replace", {"new_value": mask(e)}) for e in operators},
            ConflictResolutionStrategy.REMOVE_INTERSECTIONS).text
        counts = Counter(item.entity_type for item in output.items)
        return DeidResult(output.text, dict(counts), self._residual.count(masked, patient))

    def _replacement_for(self, entity: str, patient: PatientContext | None, cutoff: int | None = None
                         ) -> Callable[[str], str]:
        if entity == "AGE":
            if self.cfg.scope == "safe-harbor":
                return generalise_age  # only ages over 89 are found
            if self.cfg.method == "surrogate":
                return self._surrogates.age
            return lambda _: mask("AGE")
        if entity == "ZIP":
            return generalise_zip
        if entity == "DATE":
            if self.cfg.date_mode == "mask":
                return lambda _: mask("DATE")
            if self.cfg.date_mode == "shift" and patient is not None:
                days = self._surrogates.date_shift_days(patient.patient_id, self.cfg.date_shift_max_days)
                return lambda value: shift_date(value, days)
            if cutoff is not None:
                return lambda value: _fold_old_year(year_only(value), cutoff)
            return year_only  # Safe Harbor; also the fallback when a text has no known patient to shift by
        if self.cfg.method == "surrogate":
            return lambda value: self._surrogates.replace(entity, value)
        return lambda _: mask(entity)

    # -- parallelism ------------------------------------------------------------------------------------
    def _deidentify_in_processes(self, texts: Sequence[str], patients: Sequence[PatientContext | None]
                                 ) -> list[DeidResult]:
        if self._pool is None:
            # spawn, not fork: the parent may hold threads (torch, tokenizers) that fork would copy mid-state.
            self._pool = ProcessPoolExecutor(self.cfg.num_workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(self.cfg, self._secret))
        size = max(1, -(-len(texts) // (4 * self.cfg.num_workers)))
        chunks = [(list(texts[i:i + size]), list(patients[i:i + size])) for i in range(0, len(texts), size)]
        return [r for part in self._pool.map(_worker_deidentify, chunks) for r in part]

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Deidentifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=1)
def _package_source_digest() -> str:
    """Hash of this package's source files: a changed rule or propagation step changes the fingerprint."""
    files = sorted((f for f in importlib.resources.files(__package__).iterdir() if f.name.endswith(".py")),
                   key=lambda f: f.name)
    return hashlib.sha256(b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in files)).hexdigest()


def _aligned(texts: Sequence[str], patients: Sequence[PatientContext | None] | None) -> list[PatientContext | None]:
    if patients is None:
        return [None] * len(texts)
    if len(patients) != len(texts):
        raise ValueError(f"deidentify_batch got {len(texts)} texts but {len(patients)} patient contexts")
    return list(patients)


def _birth_year_cutoff(text: str, spans: Sequence[RecognizerResult]) -> int | None:
    """Where a text gives an age over 89, the last year that can be a birth year (Safe Harbor folds them into
    the 90+ category): 90 years before the text's latest year; with no year to go by, every year. None when
    the text gives no such age."""
    if not any(s.entity_type == "AGE" and age_over_89(text[s.start:s.end]) for s in spans):
        return None
    years = [int(m.group()) for m in _ANY_YEAR.finditer(text)]
    return max(years) - 90 if years else 9999


def _fold_old_year(kept: str, cutoff: int) -> str:
    return mask("DATE") if kept.isdigit() and int(kept) <= cutoff else kept


def merge_overlaps(results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Union of overlapping detections, typed by the most confident (then longest) one.

    Union rather than Presidio's pick-one resolution: a token covered by any detection is PHI.
    """
    merged: list[RecognizerResult] = []
    best: list[RecognizerResult] = []
    for r in sorted(results, key=lambda r: (r.start, -r.end)):
        if merged and r.start < merged[-1].end:
            last = merged[-1]
            if (r.score, r.end - r.start) > (best[-1].score, best[-1].end - best[-1].start):
                best[-1] = r
            merged[-1] = RecognizerResult(best[-1].entity_type, last.start, max(last.end, r.end), best[-1].score,
                                          recognition_metadata=best[-1].recognition_metadata)
        else:
            merged.append(RecognizerResult(r.entity_type, r.start, r.end, r.score,
                                           recognition_metadata=r.recognition_metadata))
            best.append(r)
    return merged


_WORD_TOKEN = regex.compile(r"\w+(?:[-']\w+)*")
_PLAIN_WORD = regex.compile(r"\w+")
_NOT_EPONYM = regex.compile(NOT_EPONYM)
_CODE_AFTER_NAME = regex.compile(r"[ \t]*\([ \t]*([a-z]{2,6}\d{0,3}|[A-Za-z]{2,6}\d{1,3})[ \t]*\)")  # not (PCP)
_NAME_WORD = regex.compile(r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z]{3,}")


def grow_names(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Detected names grown over the initials and name words beside them, whichever recognizer found them
    ("Name ... Winter, E.", "E. SHARP / esha8", "FIELD, HUNTER"), and the signer's code in brackets after
    a name ("rasmussen, mateus (mras2)")."""
    grown = []
    for r in results:
        if r.entity_type != "PERSON":
            continue
        start, end = grow_name(text, r.start, r.end)
        if (start, end) != (r.start, r.end):
            grown.append(RecognizerResult("PERSON", start, end, r.score,
                                          recognition_metadata={"recognizer_name": "NameGrowth"}))
        code = _CODE_AFTER_NAME.match(text, end)
        if code and (any(c.isdigit() for c in code.group(1)) or not is_safe_word(code.group(1))):
            grown.append(RecognizerResult("ID", code.start(1), code.end(1), r.score,
                                          recognition_metadata={"recognizer_name": "NameGrowth"}))
    return grown


def propagate_names(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Other mentions of name words already found in the same text ("Dr. Villegas" ... "Villegas agreed")."""
    words = set()
    for r in results:
        if r.entity_type == "PERSON":
            for w in _NAME_WORD.findall(text[r.start:r.end]):
                if len(w) >= 3 and w.lower() not in STOP_WORDS and not is_medical_term(w):
                    words.update({w, w.upper(), w.capitalize()})
                    if not is_safe_word(w):  # "villegas" too, but never "rose" for a Rose
                        words.add(w.lower())
    if not words:
        return []
    # Not before an eponym's noun: Dr. Wilson in the note leaves "Wilson disease" a disease.
    hits = []
    for m in _WORD_TOKEN.finditer(text):  # Smith-Jones whole, else its parts ("Brien" of O'Brien)
        for part in [m] if m.group() in words else _PLAIN_WORD.finditer(text, m.start(), m.end()):
            if part.group() in words and _NOT_EPONYM.match(text, part.end()):
                hits.append(RecognizerResult("PERSON", part.start(), part.end(), 0.6,
                                             recognition_metadata={"recognizer_name": "NamePropagation"}))
    return hits


_ACRONYM = regex.compile(r"[A-Z]{2,6}")
# Capitals only with digits: an author's capital initials alone stay, as the real i2b2 notes leave them.
_STAFF_CODE_SHAPE = regex.compile(r"[a-z]{2,9}\d{0,3}|[A-Z]{2,4}\d{2,3}")


def propagate_facilities_and_codes(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Other mentions of what one context already showed to be PHI in the same text: a facility's initials
    ("OLRH" found after "transferred from" is OLRH everywhere), the initials of a facility named in full ("Our
    Lady of the Rosary Hospital" ... "(OLRH Heart Failure Program)"), and a staff code ("TD: 3/2 todri" ...
    "-- todri, RN"). Whole words, exact case: a code is rare as a word by construction."""
    facility, codes = set(), set()
    for r in results:
        value = text[r.start:r.end]
        if r.entity_type == "HOSPITAL":
            facility.update(a for a in [value, *facility_initials(value)] if _ACRONYM.fullmatch(a) and is_facility_acronym(a))
        elif r.entity_type in ("ID", "PERSON") and _STAFF_CODE_SHAPE.fullmatch(value) and not is_safe_word(value) \
                and not is_medical_term(value):
            codes.add(value)
    hits = []
    for entity, values in (("HOSPITAL", facility), ("ID", codes)):
        if values:
            pattern = regex.compile(rf"(?<![\w/-])(?:{'|'.join(map(regex.escape, sorted(values, key=len, reverse=True)))})(?![\w/-])")
            hits += [RecognizerResult(entity, m.start(), m.end(), 0.6, recognition_metadata={"recognizer_name": "Propagation"})
                     for m in pattern.finditer(text)]
    return hits


_worker: Deidentifier | None = None


def _init_worker(cfg: DeidSection, secret: bytes | None) -> None:
    global _worker
    _worker = Deidentifier(cfg.__class__(**{**cfg.__dict__, "num_workers": 1}), secret)


def _worker_deidentify(chunk: tuple[list[str], list[PatientContext | None]]) -> list[DeidResult]:
    return _worker.deidentify_batch(*chunk)
