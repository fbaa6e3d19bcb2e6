"""The trained NER (deid.ner-model): built by the script on a tiny corpus, loaded offline, vetoed by the safe list."""

from __future__ import annotations

import filecmp
import random
from pathlib import Path

import pytest
import spacy

from common.config import DeidSection
from privacy.deid import Deidentifier
from privacy.deid.ner import BUNDLED_DIR, MODEL_NAME, TrainedNerRecognizer, model_digest
from simulations.benchmarks.deid import synthetic_corpus_b
from simulations.deid_ner import build, main, vary_names

# Enough updates for a tiny model to start tagging generator-2 names: seconds on one core.
TINY = {"generators": "2", "notes_per_generator": 16, "epochs": 6, "batch_size": 2, "name_share": 0.0}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("ner") / "model"
    build(folder, **TINY)
    return str(folder)


def test_build_is_reproducible(tiny_model, tmp_path):
    main([str(tmp_path / "again"), "--generators", "2", "--notes", "16", "--epochs", "6", "--batch-size", "2",
          "--name-share", "0"])
    comparison = filecmp.dircmp(tiny_model, tmp_path / "again")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert filecmp.cmp(Path(tiny_model) / "ner" / "model", tmp_path / "again" / "ner" / "model", shallow=False)


def test_tags_names_of_notes_it_never_saw_in_one_batch(tiny_model):
    notes = synthetic_corpus_b(6, 99)  # the benchmark's stream, not the training seeds
    texts = [n.text for n in notes]
    recognizer = TrainedNerRecognizer(tiny_model)
    recognizer.prime(texts)
    batched = [recognizer.analyze(text, recognizer.supported_entities) for text in texts]
    alone = [recognizer.analyze(text, recognizer.supported_entities) for text in texts]  # nothing primed now
    assert [[(r.start, r.end, r.entity_type) for r in doc] for doc in batched] == \
        [[(r.start, r.end, r.entity_type) for r in doc] for doc in alone]
    tagged = [g for note, hits in zip(notes, batched) for g in note.spans if g.category == "NAME"
              and any(h.entity_type == "PERSON" and h.start < g.end and g.start < h.end for h in hits)]
    assert tagged and all(0 < h.score < 1 for hits in batched for h in hits)


def test_deidentifier_runs_it_beside_the_rules(tiny_model):
    texts = [n.text for n in synthetic_corpus_b(6, 99)]
    found = Deidentifier(DeidSection(ner_model=tiny_model)).detections_batch(texts)
    without = Deidentifier(DeidSection(ner_model="")).detections_batch(texts)
    sources = {r.recognition_metadata["recognizer_name"] for doc in found for r in doc}
    assert "TrainedNerRecognizer" in sources
    assert "TrainedNerRecognizer" not in {r.recognition_metadata["recognizer_name"] for doc in without for r in doc}


def test_safe_words_and_eponyms_are_vetoed(tiny_model, monkeypatch):
    text = "ABDOMEN: Soft. Seen by Quillfeather. Wilson disease. Sinus rhythm."
    spans = [(0, 7, "PERSON"), (9, 13, "PERSON"), (23, 35, "PERSON"), (37, 43, "PERSON"), (53, 58, "LOCATION")]
    assert [text[s:e] for s, e, _ in spans] == ["ABDOMEN", "Soft", "Quillfeather", "Wilson", "Sinus"]
    monkeypatch.setattr(TrainedNerRecognizer, "_entities", staticmethod(lambda doc: spans))
    recognizer = TrainedNerRecognizer(tiny_model)
    kept = recognizer.analyze(text, recognizer.supported_entities)
    assert [text[r.start:r.end] for r in kept] == ["Quillfeather"]


# (the text, the span the model tagged, its label, what is kept of it; None: vetoed). Each is a wrong hit the
# NER trained on synthetic notes made on the five real i2b2 notes, rewritten, or on the unit tests' texts.
@pytest.mark.parametrize(("text", "span", "label", "kept"), [
    ("Home Medications: Acetylsalicylic Acid (Aspirin) PO 81 MG QD", "Acetylsalicylic Acid", "PERSON", None),
    ("      Enalapril Maleate   10 MG (10MG TABLET take 1) PO QD", "Enalapril Maleate", "PERSON", None),
    ("There is some surrounding erythema that extends on to the skin.", "some surrounding erythema that extends",
     "PERSON", None),
    ("Gilbert P. Perez, M.D.\nGPP/church\n", "GPP", "PERSON", None),
    ("HTN\nRight Carotid Artery Dz\nObesity", "Right Carotid Artery Dz", "ORGANIZATION", None),
    ("Follow up in Cardiology Clinic.", "Cardiology Clinic", "DEPARTMENT", None),
    ("O2 SAT   97 \n BLOOD PRESSURE 135/80", "97", "AGE", None),
    ("Fever since the 3rd day of admission.", "the 3rd", "DATE", None),
    ("Seen by Quillfeather today.", "Quillfeather", "PERSON", "Quillfeather"),
    ("signed Dona Villegas, RN", "Dona Villegas", "PERSON", "Dona Villegas"),
    ("A 67 yo man.", "67", "AGE", "67"),
    ("Works at Raytheon Systems.", "Raytheon Systems", "ORGANIZATION", "Raytheon Systems"),
    ("Rehab at Kindred Hospital.", "Kindred Hospital", "ORGANIZATION", "Kindred Hospital"),
    ("Insurance: Medicare", "Medicare", "ORGANIZATION", None),
    ("FB59   D:07/20/83 ", "D:07/20/83", "DATE", "07/20/83"),
    ("A retired teacher from Texas.", "retired teacher from Texas", "PROFESSION", "retired teacher"),
])
def test_vocabulary_vetoes_and_trims_the_models_hits(monkeypatch, text, span, label, kept):
    start = text.index(span)
    monkeypatch.setattr(TrainedNerRecognizer, "_entities", staticmethod(lambda doc: [(start, start + len(span), label)]))
    recognizer = TrainedNerRecognizer("bundled")  # it knows every label
    assert label in recognizer.supported_entities
    assert [text[r.start:r.end] for r in recognizer.analyze(text, recognizer.supported_entities)] == \
        ([kept] if kept else [])


def test_the_bundled_model_is_the_default_and_loads_offline():
    assert DeidSection().ner_model == "bundled"
    recognizer = TrainedNerRecognizer("bundled")
    assert recognizer.model_dir == str(BUNDLED_DIR) and recognizer._nlp.meta["name"] == MODEL_NAME
    assert {"PERSON", "DATE", "ID", "AGE"} <= set(recognizer.supported_entities)
    text = "Seen by Dr. Quillon Abernathy on 03/14/2089 at Saint Brendan Regional Medical Center."
    assert {r.entity_type for r in recognizer.analyze(text, recognizer.supported_entities)} >= {"PERSON", "DATE"}


def test_safe_harbor_scope_drops_all_phi_types(tiny_model):
    all_phi = TrainedNerRecognizer(tiny_model, "all-phi").supported_entities
    assert "AGE" in all_phi and "PERSON" in all_phi  # generator 2 annotates ages over 89
    assert "AGE" not in TrainedNerRecognizer(tiny_model, "safe-harbor").supported_entities


def test_fingerprint_follows_the_model(tiny_model, tmp_path):
    build(tmp_path / "other", **{**TINY, "seed": 1})
    prints = [Deidentifier(DeidSection(ner_model=m)).fingerprint for m in ("", tiny_model, tiny_model)]
    assert prints[0] != prints[1] == prints[2]
    # Same path, retrained model: the files' digest, not the path, tells them apart.
    moved = tmp_path / "model"
    build(moved, **TINY)
    first = Deidentifier(DeidSection(ner_model=str(moved))).fingerprint
    (moved / "ner" / "model").write_bytes((tmp_path / "other" / "ner" / "model").read_bytes())
    model_digest.cache_clear()
    assert Deidentifier(DeidSection(ner_model=str(moved))).fingerprint != first


def test_missing_model_names_the_key_and_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"deid\.ner-model.*python -m simulations\.deid_ner"):
        Deidentifier(DeidSection(ner_model=str(tmp_path / "absent")))


def test_other_spacy_folders_are_refused(tmp_path):
    spacy.blank("en").to_disk(tmp_path / "blank")
    with pytest.raises(ValueError, match=r"deid\.ner-model.*not a model built by"):
        Deidentifier(DeidSection(ner_model=str(tmp_path / "blank")))


def test_name_variation_keeps_spans_and_case():
    note = synthetic_corpus_b(1, 3)[0]
    varied = vary_names(note, random.Random(0), ["quillfeather"], 1.0)
    names = [(note.text[g.start:g.end], varied.text[v.start:v.end]) for g, v in zip(note.spans, varied.spans)
             if g.category == "NAME" and g.kind != "USERNAME"]
    assert names and all(_case(new) == _case(old) and "quillfeather" in new.lower() for old, new in names
                         if any(len(w.strip(",.")) > 1 for w in old.split()))
    others = [(note.text[g.start:g.end], varied.text[v.start:v.end]) for g, v in zip(note.spans, varied.spans)
              if g.category != "NAME" or g.kind == "USERNAME"]
    assert all(a == b for a, b in others)


def _case(name: str) -> str:
    return "upper" if name.isupper() else "lower" if name.islower() else "mixed"
