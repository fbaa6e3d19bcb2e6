"""The sixth (held-out) note generator: deterministic, exact non-overlapping spans, an i2b2 XML round trip."""

from __future__ import annotations

from privacy.deid.evaluation import I2B2_TYPES, load_i2b2
from simulations.benchmarks.deid import SYNTHETIC_CORPORA
from simulations.synthetic.notes_f import NOTE_KINDS, generate_notes_f, main


def _spans(notes):
    return [[(s.start, s.end, s.kind) for s in n.spans] for n in notes]


def test_deterministic_per_seed_and_different_across_seeds():
    a, b = generate_notes_f(12, 3), generate_notes_f(12, 3)
    assert [n.text for n in a] == [n.text for n in b] and _spans(a) == _spans(b)
    assert [n.text for n in a] != [n.text for n in generate_notes_f(12, 4)]
    assert generate_notes_f(5, 3)[2].text == a[2].text  # each note has its own stream


def test_spans_exact_known_and_non_overlapping():
    for note in generate_notes_f(60, 0):
        assert "[[" not in note.text and "]]" not in note.text
        assert 600 <= len(note.text) <= 3000
        end = 0
        for span in sorted(note.spans, key=lambda s: s.start):
            value = note.text[span.start:span.end]
            assert value and value == value.strip(), (note.note_id, value)
            assert span.start >= end, (note.note_id, value)
            assert span.kind in I2B2_TYPES
            end = span.end


def test_i2b2_round_trip(tmp_path):
    main([str(tmp_path), "--notes", "15", "--seed", "7"])
    loaded = {n.note_id: n for n in load_i2b2(tmp_path)}
    for note in generate_notes_f(15, 7):
        back = loaded[note.note_id]
        assert back.text == note.text
        assert _spans([back]) == _spans([note])
        assert [s.hipaa for s in back.spans] == [s.hipaa for s in note.spans]


def test_main_types_and_every_note_kind_occur_in_50_notes():
    notes = generate_notes_f(50, 0)
    kinds = {s.kind for n in notes for s in n.spans}
    assert {"PATIENT", "DOCTOR", "USERNAME", "PROFESSION", "ROOM", "DEPARTMENT", "HOSPITAL", "ORGANIZATION",
            "STREET", "CITY", "STATE", "ZIP", "AGE", "DATE", "PHONE", "FAX", "EMAIL", "URL", "IPADDR", "SSN",
            "MEDICALRECORD", "HEALTHPLAN", "ACCOUNT", "LICENSE", "IDNUM"} <= kinds
    assert {n.note_id.rsplit("-", 1)[1] for n in notes} == set(NOTE_KINDS)


def test_age_spans_are_numbers_and_names_carry_no_title():
    for note in generate_notes_f(40, 1):
        for s in note.spans:
            value = note.text[s.start:s.end]
            if s.kind == "AGE":
                assert value.rstrip("s").isdigit(), value
            if s.kind in ("PATIENT", "DOCTOR"):
                assert not value.lower().startswith(("dr ", "dr.", "mr.", "ms.", "mrs."))


def test_registered_in_the_benchmark():
    assert "synthetic_f" in SYNTHETIC_CORPORA
