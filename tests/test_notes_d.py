"""The fourth synthetic note generator (the held-out de-identification corpus): deterministic by seed, exact and
non-overlapping gold spans, every i2b2-2014 PHI type present, and i2b2 XML that ``load_i2b2`` reads back."""

from __future__ import annotations

from collections import Counter

import pytest

from privacy.deid.evaluation import I2B2_TYPES, load_i2b2, write_i2b2
from simulations.benchmarks.deid import main as benchmark
from simulations.synthetic.notes_d import NoteText, generate_notes_d, main


@pytest.fixture(scope="module")
def notes():
    return generate_notes_d(50, seed=0)


def test_same_seed_same_notes_other_seed_other_notes(notes):
    again = generate_notes_d(50, seed=0)
    assert [(n.note_id, n.text, n.spans) for n in again] == [(n.note_id, n.text, n.spans) for n in notes]
    assert [n.text for n in generate_notes_d(50, seed=1)] != [n.text for n in notes]


def test_asks_for_n_gets_n():
    assert [len(generate_notes_d(n, seed=3)) for n in (0, 1, 7)] == [0, 1, 7]


def test_builder_spans_point_at_their_values():
    note = NoteText().add("Dear Dr. ", ("DOCTOR", "Hall"), ",\nSeen ", ("DATE", "3/80"), ".").gold("x")
    assert note.text == "Dear Dr. Hall,\nSeen 3/80."
    assert [(note.text[s.start:s.end], s.kind, s.category, s.hipaa) for s in note.spans] == [
        ("Hall", "DOCTOR", "NAME", True), ("3/80", "DATE", "DATE", True)]


def test_every_span_is_its_text_trimmed_and_inside_the_note(notes):
    for note in notes:
        assert note.spans, note.note_id
        for span in note.spans:
            value = note.text[span.start:span.end]
            assert 0 <= span.start < span.end <= len(note.text)
            assert value and value == value.strip() and "\n" not in value, (note.note_id, span)


def test_spans_do_not_overlap(notes):
    for note in notes:
        ordered = sorted(note.spans, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:], strict=False)), note.note_id


def test_every_i2b2_type_occurs_in_fifty_notes(notes):
    kinds = Counter(span.kind for note in notes for span in note.spans)
    assert set(I2B2_TYPES) <= set(kinds), set(I2B2_TYPES) - set(kinds)
    assert kinds["DATE"] > 100 and kinds["DOCTOR"] > 50 and kinds["PATIENT"] > 30


def test_safe_harbor_flags_follow_the_rules(notes):
    spans = [(note.text[s.start:s.end], s) for note in notes for s in note.spans]
    assert {s.hipaa for _, s in spans if s.kind in ("STATE", "COUNTRY", "PROFESSION", "DEPARTMENT", "ROOM")} == {False}
    assert {s.hipaa for value, s in spans if s.kind == "AGE"} == {True, False}  # young ages and some over 89
    assert any(not s.hipaa for value, s in spans if s.kind == "DATE" and len(value) == 4)  # years alone


def test_xml_round_trips_through_the_i2b2_reader(notes, tmp_path):
    write_i2b2(notes[:12], tmp_path)
    loaded = {n.note_id: n for n in load_i2b2(tmp_path)}
    assert len(loaded) == 12
    for note in notes[:12]:
        back = loaded[note.note_id]
        assert back.text == note.text
        assert sorted(back.spans, key=lambda s: s.start) == sorted(note.spans, key=lambda s: s.start)


def test_cli_writes_the_requested_notes(tmp_path):
    assert len(main([str(tmp_path), "--notes", "3", "--seed", "2"])) == 3
    assert [n.text for n in load_i2b2(tmp_path)] == [n.text for n in generate_notes_d(3, seed=2)]


def test_benchmark_refuses_i2b2_corpus_without_its_folder(tmp_path):
    with pytest.raises(SystemExit):
        benchmark(["--corpora", "i2b2", "--out", str(tmp_path / "out.json")])
    assert not (tmp_path / "out.json").exists()
