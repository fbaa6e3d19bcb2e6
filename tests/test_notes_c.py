"""The third synthetic note generator (the held-out de-identification corpus): exact gold spans, i2b2-2014 XML
that ``load_i2b2`` reads back identically, determinism by seed and coverage of every i2b2 PHI type."""

from __future__ import annotations

from collections import Counter

import pytest

from privacy.deid.evaluation import I2B2_PARENT_TAGS, load_i2b2, write_i2b2
from simulations.synthetic.notes_c import NoteBuilder, Phi, generate_notes_c, main


@pytest.fixture(scope="module")
def notes():
    return generate_notes_c(50, seed=0)


def test_builder_records_exact_spans():
    note = NoteBuilder().fill("Dear Dr. {doc},\nSeen {date}.", doc=Phi("DOCTOR", "Hawk"),
                              date=Phi("DATE", "3/80")).note("n")
    assert note.text == "Dear Dr. Hawk,\nSeen 3/80."
    assert [(note.text[s.start:s.end], s.kind, s.category) for s in note.spans] == [
        ("Hawk", "DOCTOR", "NAME"), ("3/80", "DATE", "DATE")]


def test_every_span_is_nonempty_and_inside_its_note(notes):
    assert len(notes) == 50
    for note in notes:
        assert note.spans, note.note_id
        for span in note.spans:
            value = note.text[span.start:span.end]
            assert 0 <= span.start < span.end <= len(note.text)
            assert value == value.strip() and value, (note.note_id, span)


def test_spans_do_not_overlap(notes):
    for note in notes:
        ordered = sorted(note.spans, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:])), note.note_id


def test_every_i2b2_type_appears_and_dates_lead(notes):
    counts = Counter(span.kind for note in notes for span in note.spans)
    assert set(counts) == set(I2B2_PARENT_TAGS)
    top = [kind for kind, _ in counts.most_common(4)]
    assert top[0] == "DATE" and set(top) == {"DATE", "DOCTOR", "PATIENT", "HOSPITAL"}


def test_safe_harbor_flags_follow_the_gold_rules(notes):
    spans = [(note.text[s.start:s.end], s) for note in notes for s in note.spans]
    ages = [(int(text), s.hipaa) for text, s in spans if s.kind == "AGE" and text.isdigit()]
    assert any(age > 89 for age, _ in ages) and any(age <= 89 for age, _ in ages)
    assert all(hipaa == (age > 89) for age, hipaa in ages)
    assert not any(s.hipaa for _, s in spans if s.kind in ("STATE", "COUNTRY", "PROFESSION"))
    assert all(s.hipaa for _, s in spans if s.kind in ("PATIENT", "MEDICALRECORD", "PHONE"))


def test_same_seed_same_notes_other_seed_other_notes():
    assert generate_notes_c(12, seed=7) == generate_notes_c(12, seed=7)
    assert [n.text for n in generate_notes_c(12, seed=7)] != [n.text for n in generate_notes_c(12, seed=8)]
    assert len(generate_notes_c(3, seed=7)) == 3


def test_i2b2_xml_round_trip(notes, tmp_path):
    paths = write_i2b2(notes, tmp_path)
    assert [p.stem for p in paths] == [n.note_id for n in notes]
    assert load_i2b2(tmp_path) == sorted(notes, key=lambda n: n.note_id)


def test_xml_escapes_quotes_and_ampersands(tmp_path):
    note = NoteBuilder().add("Works at ", Phi("ORGANIZATION", 'Alder & "Finch" <LLP>'), ".\n").note("amp")
    write_i2b2([note], tmp_path)
    assert load_i2b2(tmp_path / "amp.xml") == [note]


def test_cli_writes_the_folder(tmp_path, capsys):
    main([str(tmp_path / "out"), "--notes", "4", "--seed", "3"])
    assert len(list((tmp_path / "out").glob("*.xml"))) == 4
    assert load_i2b2(tmp_path / "out") == sorted(generate_notes_c(4, seed=3), key=lambda n: n.note_id)
    assert "wrote 4 notes" in capsys.readouterr().out
