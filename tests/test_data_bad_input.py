"""Bad input: every kind of broken file gives a DataError naming file, line and field in strict mode,
and in lenient mode is skipped and counted while every valid record is kept."""

from __future__ import annotations

import json
import os
import random
import stat
import time
from pathlib import Path

import pytest

from client.data import DataError, prepare_hospital_data
from client.data.__main__ import main as data_cli
from common.config import RunConfig
from common.private_files import write_private

SECRET = "Zebulon Quattlebaum"  # stands for patient text: must never appear in an error message


def good_note(i: int) -> str:
    return json.dumps({"note_id": f"n{i}", "patient_id": f"p{i}", "date": "2024-01-01",
                       "text": f"Note {i}: asthma with wheezing, start inhaled budesonide and review spirometry."})


# (file name, bytes, expected reason, expected line, expected field) for each kind of bad input.
CORPUS = [
    ("notes.jsonl", f'{{"note_id": "x", "text": "{SECRET}"'.encode(), "malformed-json", 2, None),
    ("notes.jsonl", json.dumps({"note_id": "x", "patient_id": "p", "date": "d"}).encode(), "missing-field", 2, "text"),
    ("notes.jsonl", json.dumps({"note_id": "x", "patient_id": "p", "date": "d", "text": ["a"]}).encode(),
     "wrong-type", 2, "text"),
    ("notes.jsonl", b'{"note_id": "x", "patient_id": "p", "date": "d", "text": "caf\xe9 ' + SECRET.encode() + b'"}',
     "not-utf8", 2, "text"),
    ("notes.jsonl", json.dumps({"note_id": "x", "patient_id": "p", "date": "d", "text": "  "}).encode(),
     "empty-text", 2, "text"),
    ("notes.jsonl", json.dumps({"note_id": "x", "patient_id": "p", "date": "d", "text": SECRET * 400}).encode(),
     "record-too-large", 2, None),
    ("notes.jsonl", b"[1, 2]", "not-an-object", 2, None),
    ("dialogues.jsonl", json.dumps({"messages": [{"role": "doctor", "content": SECRET}]}).encode(),
     "unknown-role", 2, "messages[0].role"),
    # A JSON escape of a lone surrogate decodes, but no UTF-8 can hold it: it crashed the cache write.
    ("notes.jsonl", b'{"note_id": "x", "patient_id": "p", "date": "d", "text": "\\ud800 ' + SECRET.encode() + b'"}',
     "bad-escape", 2, "text"),
    ("dialogues.jsonl", b'{"messages": [{"role": "user", "content": "\\udfff"}]}', "bad-escape", 2,
     "messages[0].content"),
]


def write_with_bad_line(folder: Path, name: str, bad: bytes) -> None:
    if name == "dialogues.jsonl":
        good = [json.dumps({"messages": [{"role": "user", "content": "Is aspirin an antiplatelet drug?"},
                                         {"role": "assistant", "content": "Yes, aspirin inhibits platelets."}]})]
    else:
        good = [good_note(0)]
    (folder / name).write_bytes(b"\n".join([good[0].encode(), bad] + [good_note(i).encode()
                                                                      for i in range(1, 3) if name == "notes.jsonl"]))


def cfg(mode: str) -> RunConfig:
    return RunConfig().replace(**{"deid.enabled": False, "data.cache": False, "data.bad-records": mode,
                                  "data.max-record-bytes": 4096, "data.eval-fraction": 0.0,
                                  "data.quality-filter": False})


@pytest.mark.parametrize("name,bad,reason,line,field", CORPUS, ids=[c[2] for c in CORPUS])
def test_each_bad_record_strict_names_it_lenient_skips_it(tmp_path, name, bad, reason, line, field):
    write_with_bad_line(tmp_path, name, bad)
    with pytest.raises(DataError) as raised:
        prepare_hospital_data(tmp_path, cfg("strict"))
    e = raised.value
    assert (e.reason, e.where.file, e.where.line, e.field) == (reason, name, line, field)
    assert SECRET not in str(e) and "Zebulon" not in str(e)
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert prepared.card.bad_input == {reason: 1}
    kept = prepared.train.notes if name == "notes.jsonl" else prepared.train.conversations
    assert len(kept) == (3 if name == "notes.jsonl" else 1)


def test_csv_with_wrong_header_and_unknown_format(tmp_path):
    (tmp_path / "notes.csv").write_text("id,text\n1,fever\n")
    (tmp_path / "notes.jsonl").write_text(good_note(0) + "\n")
    with pytest.raises(DataError) as raised:
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert raised.value.reason == "wrong-header" and raised.value.where.line == 1
    assert raised.value.field == "note_id, patient_id, date"
    (tmp_path / "scan.dicom").write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="scan.dicom: unknown-format"):
        prepare_hospital_data(tmp_path, cfg("strict"))
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert prepared.card.bad_input == {"wrong-header": 1, "unknown-format": 1}
    assert len(prepared.train.notes) == 1


def test_csv_row_with_wrong_column_count_names_its_line(tmp_path):
    (tmp_path / "notes.csv").write_text('note_id,patient_id,date,text\nn1,p1,2024,"fever\nand cough"\nn2,p2\n'
                                        'n3,p3,2024,wheezing asthma\n')
    with pytest.raises(DataError, match=r"notes.csv:4: wrong-column-count"):
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert len(prepare_hospital_data(tmp_path, cfg("lenient")).train.notes) == 2


def test_fuzzed_files_never_crash_and_never_lose_valid_records(tmp_path):
    """Random byte damage to some lines of a valid file: strict raises only DataError, lenient keeps the rest."""
    rng = random.Random(0)
    for trial in range(25):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        lines, intact = [], 0
        for i in range(12):
            line = good_note(i).encode()
            if rng.random() < 0.3:
                cut = rng.randrange(len(line))
                line = rng.choice([line[:cut], line[:cut] + bytes([rng.randrange(128, 256)]) + line[cut:],
                                   line.replace(b'"text"', b'"txt"'), line[:cut] + b"\x00" + line[cut + 1:]])
            else:
                intact += 1
            lines.append(line)
        (folder / "notes.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        try:
            prepare_hospital_data(folder, cfg("strict"))
        except DataError as e:
            assert e.where.file == "notes.jsonl" and e.where.line >= 1
        prepared = prepare_hospital_data(folder, cfg("lenient"))
        assert len(prepared.train.notes) >= intact
        assert len(prepared.train.notes) + sum(prepared.card.bad_input.values()) == 12


def notes_bytes(n: int = 3, newline: bytes = b"\n") -> bytes:
    return newline.join(good_note(i).encode() for i in range(n)) + newline


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_every_newline_convention_and_a_bom_keep_every_record_and_its_line(tmp_path, newline, bom):
    """A BOM used to cost the first JSONL record (and a whole JSON array); a bare-CR file was one bad line."""
    (tmp_path / "notes.jsonl").write_bytes(bom + notes_bytes(3, newline))
    (tmp_path / "instructions.json").write_bytes(bom + json.dumps(
        [{"instruction": f"How is asthma {i} treated?", "output": "With inhaled corticosteroids."} for i in range(2)]
    ).replace(", ", "," + newline.decode()).encode())
    (tmp_path / "knowledge.csv").write_bytes(bom + newline.join([b"head,relation,tail", b"asthma,has_symptom,wheezing",
                                                                 b"gout,treated_with,colchicine"]) + newline)
    prepared = prepare_hospital_data(tmp_path, cfg("strict"))
    assert {n.note_id for n in prepared.train.notes} >= {"n0", "n1", "n2"}
    assert sum(c.source == "instructions.json" for c in prepared.train.conversations) == 2
    assert prepared.card.files["knowledge"] == 1 and prepared.card.bad_input == {}
    # Line numbers count each convention's lines.
    (tmp_path / "notes.jsonl").write_bytes(bom + newline.join([good_note(0).encode(), b"{", good_note(1).encode()]))
    with pytest.raises(DataError, match=r"notes.jsonl:2: malformed-json"):
        prepare_hospital_data(tmp_path, cfg("strict"))


def test_a_bad_escape_in_a_json_array_names_its_record_and_field(tmp_path):
    (tmp_path / "instructions.json").write_bytes(
        b'[{"instruction": "ok question", "output": "ok answer"}, {"instruction": "\\ud83d", "output": "x"}]')
    with pytest.raises(DataError) as raised:
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert (raised.value.reason, raised.value.where.line, raised.value.field) == ("bad-escape", 2, "instruction")


def test_a_bad_escape_never_crashes_prepare_nor_leaves_a_temporary_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.jsonl").write_bytes(notes_bytes(2) + b'{"note_id": "x", "patient_id": "p", "date": "d", '
                                                        b'"text": "asthma \\ud800 wheeze"}\n')
    cache = tmp_path / "cache"
    prepared = prepare_hospital_data(data, cfg("lenient").replace(**{"data.cache": True,
                                                                     "data.cache-dir": str(cache)}))
    assert prepared.card.bad_input == {"bad-escape": 1} and len(prepared.train.notes) == 2
    assert all(p.suffix == ".json" and p.stat().st_size > 0 for p in cache.iterdir())


def test_a_failed_private_write_leaves_no_temporary_file(tmp_path):
    (tmp_path / "entry.json").mkdir()  # the rename cannot replace a folder
    with pytest.raises(OSError):
        write_private(tmp_path / "entry.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_a_link_to_its_own_folder_reads_each_file_once_and_two_never_hang(tmp_path):
    """``sub -> .`` read notes.jsonl 41 times; two such links hung ``check`` for minutes."""
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    os.symlink(".", tmp_path / "sub")
    os.symlink("..", tmp_path / "up")  # and one out of the folder
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert len(prepared.train.notes) == 3
    assert prepared.card.bad_input == {"repeated-link": 1, "link-outside": 1}
    with pytest.raises(DataError) as raised:
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert (raised.value.where.file, raised.value.reason) == ("sub", "repeated-link")
    os.unlink(tmp_path / "up")
    os.symlink(".", tmp_path / "sub2")
    (tmp_path / "deep").mkdir()
    os.symlink("..", tmp_path / "deep" / "back")
    started = time.monotonic()
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert time.monotonic() - started < 10
    assert len(prepared.train.notes) == 3 and prepared.card.bad_input == {"repeated-link": 3}


def test_links_inside_the_folder_are_followed_once(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "notes.jsonl").write_bytes(notes_bytes(3))
    os.symlink("exports/notes.jsonl", tmp_path / "a_notes.jsonl")  # sorts before its target: still read once
    os.symlink("exports", tmp_path / "current")
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert len(prepared.train.notes) == 3 and prepared.card.bad_input == {"repeated-link": 2}
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "dialogues.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": "Is aspirin an antiplatelet drug?"}, {"role": "assistant", "content": "Yes."}]}))
    os.symlink("linked", tmp_path / ".hidden-real")  # hidden entries are skipped, links or not
    assert len(prepare_hospital_data(tmp_path, cfg("lenient")).train.conversations) == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("make,reason", [
    (lambda d: os.symlink("nowhere.jsonl", d / "gone_notes.jsonl"), "dangling-link"),
    (lambda d: os.symlink("loop_notes.jsonl", d / "loop_notes.jsonl"), "symlink-loop"),
    (lambda d: os.mkfifo(d / "fifo_notes.jsonl"), "not-a-regular-file"),
    (lambda d: os.symlink("/dev/zero", d / "zero_notes.jsonl"), "link-outside"),
], ids=["dangling", "loop", "fifo", "device-link"])
def test_dangling_and_looping_links_and_fifos_are_named_never_opened(tmp_path, make, reason):
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    make(tmp_path)
    bad = next(p.name for p in tmp_path.iterdir() if p.name != "notes.jsonl")
    with pytest.raises(DataError) as raised:
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert (raised.value.where.file, raised.value.reason) == (bad, reason)
    prepared = prepare_hospital_data(tmp_path, cfg("lenient").replace(**{"data.cache": True}))
    assert len(prepared.train.notes) == 3 and prepared.card.bad_input == {reason: 1}
    assert data_cli(["check", str(tmp_path), "--no-deid"]) == 0


@pytest.mark.timeout(30)
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a device file")
def test_a_device_file_in_the_folder_is_named_never_opened(tmp_path):
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    os.mknod(tmp_path / "tape_notes.jsonl", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # what /dev/zero is
    with pytest.raises(DataError, match=r"tape_notes.jsonl: not-a-regular-file"):
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert len(prepare_hospital_data(tmp_path, cfg("lenient")).train.notes) == 3


@pytest.mark.timeout(30)
def test_a_fifo_named_in_a_manifest_and_an_unreadable_file_are_named(tmp_path):
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "medfed-data.toml").write_text('[[files]]\npath = "notes.jsonl"\nkind = "notes"\n'
                                               '[[files]]\npath = "pipe.jsonl"\nkind = "notes"\n'
                                               '[[files]]\npath = "folder.jsonl"\nkind = "notes"\nformat = ".jsonl"\n')
    prepared = prepare_hospital_data(tmp_path, cfg("lenient"))
    assert len(prepared.train.notes) == 3
    assert prepared.card.bad_input == {"not-a-regular-file": 1, "unreadable-file": 1}
    with pytest.raises(DataError, match=r"pipe.jsonl, field 'files\[1\].path': not-a-regular-file"):
        prepare_hospital_data(tmp_path, cfg("strict"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_named(tmp_path):
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    (tmp_path / "more_notes.jsonl").write_bytes(notes_bytes(1))
    (tmp_path / "more_notes.jsonl").chmod(0)
    with pytest.raises(DataError, match=r"more_notes.jsonl: unreadable-file"):
        prepare_hospital_data(tmp_path, cfg("strict"))
    assert len(prepare_hospital_data(tmp_path, cfg("lenient")).train.notes) == 3


def test_a_changed_file_named_by_the_manifest_outside_the_folder_misses_the_cache(tmp_path):
    data, exports = tmp_path / "data", tmp_path / "exports"
    data.mkdir()
    exports.mkdir()
    (exports / "notes.jsonl").write_bytes(notes_bytes(2))
    (data / "medfed-data.toml").write_text('[[files]]\npath = "../exports/notes.jsonl"\nkind = "notes"\n')
    cached = cfg("strict").replace(**{"data.cache": True})
    assert not prepare_hospital_data(data, cached).card.cache_hit
    assert prepare_hospital_data(data, cached).card.cache_hit
    (exports / "notes.jsonl").write_bytes(notes_bytes(3))
    again = prepare_hospital_data(data, cached)
    assert not again.card.cache_hit and len(again.train.notes) == 3


def test_the_cache_and_the_data_card_are_private_to_their_owner(tmp_path):
    (tmp_path / "notes.jsonl").write_bytes(notes_bytes(3))
    cache = tmp_path / ".medfed-cache"
    cache.mkdir(mode=0o755)  # left open by an earlier version
    cache.chmod(0o755)
    old = os.umask(0o022)
    try:
        prepare_hospital_data(tmp_path, cfg("strict").replace(**{"data.cache": True}))
        assert data_cli(["prepare", str(tmp_path), "--no-deid"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entries = list(cache.iterdir())
    assert {p.name for p in entries} >= {"data-card.json", "data-card.txt"} and len(entries) >= 4
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entries)
