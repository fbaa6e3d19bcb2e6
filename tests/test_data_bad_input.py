"""Bad input: every kind of broken file gives a DataError naming file, line and field in strict mode,
and in lenient mode is skipped and counted while every valid record is kept."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from client.data import DataError, prepare_hospital_data
from common.config import RunConfig

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
