"""The fifth synthetic note generator: deterministic, exact non-overlapping spans, every main i2b2 type, XML round trip."""

import pytest

from privacy.deid.evaluation import load_i2b2
from simulations.benchmarks.deid import SYNTHETIC_CORPORA
from simulations.synthetic.notes_e import generate_notes_e, main


@pytest.fixture(scope="module")
def notes():
    return generate_notes_e(50, seed=3)


def test_same_seed_same_notes_other_seed_other_notes(notes):
    again = generate_notes_e(50, seed=3)
    assert [(n.text, n.spans) for n in again] == [(n.text, n.spans) for n in notes]
    assert [n.text for n in generate_notes_e(50, seed=4)] != [n.text for n in notes]


def test_spans_are_exact_and_do_not_overlap(notes):
    for note in notes:
        spans = sorted(note.spans, key=lambda s: s.start)
        for span in spans:
            value = note.text[span.start:span.end]
            assert value and value == value.strip(), (note.note_id, span)
        for left, right in zip(spans, spans[1:]):
            assert left.end <= right.start, (note.note_id, left, right)


def test_notes_are_long_like_real_hospital_records(notes):
    lengths = sorted(len(n.text) for n in notes)
    assert lengths[len(lengths) // 2] >= 2000


def test_main_i2b2_types_occur_in_fifty_notes(notes):
    kinds = {s.kind for n in notes for s in n.spans}
    main_types = {"PATIENT", "DOCTOR", "USERNAME", "PROFESSION", "ROOM", "DEPARTMENT", "HOSPITAL", "ORGANIZATION",
                  "STREET", "CITY", "STATE", "COUNTRY", "ZIP", "LOCATION-OTHER", "AGE", "DATE", "PHONE", "FAX",
                  "EMAIL", "URL", "IPADDR", "SSN", "MEDICALRECORD", "HEALTHPLAN", "ACCOUNT", "LICENSE", "DEVICE",
                  "IDNUM"}
    assert main_types <= kinds, main_types - kinds


def test_years_alone_and_young_ages_are_not_safe_harbor(notes):
    spans = [(n.text[s.start:s.end], s) for n in notes for s in n.spans]
    assert any(s.kind == "DATE" and not s.hipaa and text.isdigit() for text, s in spans)
    assert any(s.kind == "AGE" and not s.hipaa for _, s in spans)
    assert any(s.kind == "AGE" and s.hipaa for _, s in spans)  # ages over 89 occur too


def test_xml_round_trips_through_the_i2b2_reader(notes, tmp_path):
    main([str(tmp_path), "--notes", "50", "--seed", "3"])
    loaded = {n.note_id: n for n in load_i2b2(tmp_path)}
    assert len(loaded) == len(notes)
    for note in notes:
        back = loaded[note.note_id]
        assert back.text == note.text
        assert sorted(back.spans, key=lambda s: s.start) == sorted(note.spans, key=lambda s: s.start)


def test_registered_as_a_benchmark_corpus():
    assert "synthetic_e" in SYNTHETIC_CORPORA
