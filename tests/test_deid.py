"""De-identification: recognizers, replacement policies, residual gate, offline build, i2b2 loader, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from common.config import DeidSection
from privacy.deid import Deidentifier, DeidResult, PatientContext, ResidualRateExceeded, check_residual_rate
from privacy.deid.evaluation import GoldNote, GoldSpan, I2b2FormatError, PredictedSpan, load_i2b2, token_metrics
from privacy.deid.surrogates import generalise_zip

FIXTURES = Path(__file__).parent / "fixtures" / "deid"
SECRET = b"hospital-secret"


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier.from_config(DeidSection(), None)


@pytest.fixture(scope="module")
def surrogate_deid() -> Deidentifier:
    return Deidentifier.from_config(DeidSection(method="surrogate", date_mode="shift"), SECRET)


def found(deid: Deidentifier, text: str) -> dict[str, str]:
    """Detected value -> entity type."""
    return {text[s.start:s.end]: s.entity_type for s in deid.analyze_batch([text])[0]}


POSITIVES = [
    ("Name: Garcia, Maria   MRN: 4417823", {"Garcia, Maria": "PERSON", "4417823": "MRN"}),
    ("Attending: Dr. John A. Kowalski", {"John A. Kowalski": "PERSON"}),
    ("PCP: Wei Chen, MD", {"Wei Chen": "PERSON"}),
    ("Seen today with her daughter Imani.", {"Imani": "PERSON"}),
    ("Signed: Tomasz Szymanski, RN", {"Tomasz Szymanski": "PERSON"}),
    ("Admitted 03/04/2019, discharged March 9, 2019.", {"03/04/2019": "DATE", "March 9, 2019": "DATE"}),
    ("Seen on 2019-03-04 and again 4/12.", {"2019-03-04": "DATE", "4/12": "DATE"}),
    ("She is a 93 yo woman.", {"93": "AGE"}),
    ("Lives at 12 Oak Street, Springfield, IL 62704.", {"12 Oak Street": "STREET_ADDRESS", "Springfield": "CITY",
                                                        "62704": "ZIP"}),
    ("Transferred from Lakeside General Hospital.", {"Lakeside General Hospital": "HOSPITAL"}),
    ("Call (555) 123-4567 ext 22 or pager 41234.", {"(555) 123-4567 ext 22": "PHONE", "41234": "PHONE"}),
    ("Fax: 555.321.7654", {"555.321.7654": "PHONE"}),
    ("E-mail maria.g@gmail.com", {"maria.g@gmail.com": "EMAIL_ADDRESS"}),
    ("SSN 123-45-6789", {"123-45-6789": "SSN"}),
    ("Member ID: XJH44512, Acct #: 99812345", {"XJH44512": "HEALTH_PLAN", "99812345": "ACCOUNT"}),
    ("DEA # AB1234563. Pacemaker serial no. SN4481223.", {"AB1234563": "LICENSE", "SN4481223": "DEVICE"}),
    ("VIN 1HGCM82633A004352", {"1HGCM82633A004352": "VEHICLE"}),
    ("Results at https://portal.example.org/p/1 from 10.2.33.4", {"https://portal.example.org/p/1": "URL",
                                                                  "10.2.33.4": "IP_ADDRESS"}),
]


@pytest.mark.parametrize("text,expected", POSITIVES, ids=[e[0][:30] for e in POSITIVES])
def test_recognizers_find_phi(deid, text, expected):
    detected = found(deid, text)
    for value, entity in expected.items():
        assert detected.get(value) == entity, (value, detected)


NEGATIVES = [
    "BP 110/70, HR 72, T 98.6 F.",
    "Apgars 8/9 at delivery.",
    "Take 1/2 tab at bedtime.",
    "Grade 2/6 systolic murmur. Strength 5/5.",
    "Pain 3/10, improved from 7/10 on admission.",
    "History of Parkinson disease with a Foley catheter.",
    "Wilson disease was ruled out. Glasgow Coma Scale 15.",
    "Started Lasix and Coumadin; continue metoprolol 25 mg BID.",
    "Follow up in Cardiology Clinic in 2 weeks.",
    "Na 138 mmol/L, Cr 1.02 mg/dL, Plt 245 K/uL, HbA1c 7.2 %.",
]


@pytest.mark.parametrize("text", NEGATIVES, ids=[t[:30] for t in NEGATIVES])
def test_medical_text_is_not_phi(deid, text):
    assert found(deid, text) == {}


def test_mask_mode_keeps_year_zip3_and_aggregates_old_ages():
    safe_harbor = Deidentifier.from_config(DeidSection(scope="safe-harbor"))
    result = safe_harbor.deidentify("Seen 03/04/2019 by Dr. Kowalski. 93 yo. Springfield, IL 62704.")
    assert "2019" in result.text and "03/04" not in result.text
    assert "[PERSON]" in result.text and "Kowalski" not in result.text
    assert "90+" in result.text and "627" in result.text and "62704" not in result.text
    assert result.counts["PERSON"] == 1 and result.counts["DATE"] == 1 and result.residual == 0


def test_zip_three_digit_rule():
    assert generalise_zip("62704") == "627"
    assert generalise_zip("03601") == "000"  # a 3-digit area under 20,000 people


def test_surrogates_are_consistent_across_notes_and_keyed(surrogate_deid):
    a, b = surrogate_deid.deidentify_batch(["Attending: Dr. Kowalski. MRN: 4417823",
                                            "Seen by Dr. Kowalski today. MRN: 4417823"])
    fake = re.search(r"Dr\. (\w+)", a.text).group(1)
    assert fake != "Kowalski" and f"Dr. {fake}" in b.text
    mrn = re.search(r"MRN: (\S+)", a.text).group(1)
    assert mrn != "4417823" and len(mrn) == 7 and f"MRN: {mrn}" in b.text
    other = Deidentifier.from_config(DeidSection(method="surrogate"), b"another-hospital")
    assert f"Dr. {fake}" not in other.deidentify("Seen by Dr. Kowalski today.").text


def _dates(text: str) -> list[datetime]:
    return [datetime.strptime(d, "%m/%d/%Y") for d in re.findall(r"\d{2}/\d{2}/\d{4}", text)]


def test_date_shift_keeps_intervals_per_patient(surrogate_deid):
    text = "Admitted 03/04/2019. Discharged 03/14/2019."
    p1, p2 = PatientContext("patient-1"), PatientContext("patient-2")
    r1, r1_again, r2 = surrogate_deid.deidentify_batch([text, text, text], [p1, p1, p2])
    d1, d2 = _dates(r1.text), _dates(r2.text)
    assert (d1[1] - d1[0]).days == 10 and (d2[1] - d2[0]).days == 10
    assert d1[0] != datetime(2019, 3, 4) and d1 != d2 and r1.text == r1_again.text


def test_patient_deny_list_removes_known_values(deid):
    patient = PatientContext("p1", names=("Quincy Zebulon",), mrn="A-77", addresses=("Mill Pond Farm",))
    text = "quincy's pain is better, A-77 noted. Lives on mill pond farm."
    assert found(deid, text) == {}
    out = deid.deidentify(text, patient).text
    assert "quincy" not in out.lower() and "A-77" not in out and "mill pond farm" not in out


def test_residual_gate_refuses_training():
    clean = [DeidResult("ok", {}, 0)] * 99
    assert check_residual_rate(clean + [DeidResult("x", {}, 2)], max_rate=0.01) == pytest.approx(0.01)
    with pytest.raises(ResidualRateExceeded, match="refusing to train"):
        check_residual_rate(clean + [DeidResult("x", {}, 1)] * 5, max_rate=0.01)


def test_residual_pass_counts_what_the_first_pass_let_through(deid):
    patient = PatientContext("p1", names=("Albright",))
    lenient = Deidentifier.from_config(replace(DeidSection(), score_threshold=1.0))  # the first pass finds nothing
    assert lenient.deidentify("SSN 123-45-6789, seen by Dr. Albright.").residual >= 2
    assert deid.deidentify("SSN 123-45-6789, seen by Dr. Albright.", patient).residual == 0


def test_fingerprint_follows_what_decides_the_output(deid):
    assert Deidentifier.from_config(DeidSection()).fingerprint == deid.fingerprint
    assert Deidentifier.from_config(replace(DeidSection(), num_workers=4, batch_size=8)).fingerprint == deid.fingerprint
    changed = [replace(DeidSection(), score_threshold=0.6), replace(DeidSection(), date_mode="mask"),
               replace(DeidSection(), method="mask", date_mode="shift")]
    prints = {Deidentifier.from_config(cfg, SECRET).fingerprint for cfg in changed}
    assert len(prints) == len(changed) and deid.fingerprint not in prints
    keyed = {Deidentifier.from_config(changed[2], key).fingerprint for key in (SECRET, b"another-hospital")}
    assert len(keyed) == 2 and not any(SECRET.hex() in f for f in keyed)


def test_fingerprint_changes_with_a_recognizer_rule(deid, monkeypatch):
    from privacy.deid import engine
    from privacy.deid.recognizers import RegexRecognizer, Rule, clinical_recognizers

    extra = RegexRecognizer("ID", [Rule("ward-code", r"\bW\d{3}\b", 0.6)], name="WardCodeRecognizer")
    monkeypatch.setattr(engine, "clinical_recognizers", lambda: [*clinical_recognizers(), extra])
    assert Deidentifier.from_config(DeidSection()).fingerprint != deid.fingerprint


def test_builds_and_runs_with_sockets_disabled():
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise RuntimeError('network used')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from common.config import DeidSection\n"
        "from privacy.deid import Deidentifier\n"
        "from privacy.deid.evaluation import presidio_default_analyzer\n"
        "r = Deidentifier.from_config(DeidSection()).deidentify('Mail jo@example.com, Dr. Smith, 3/4/2019')\n"
        "assert 'jo@example.com' not in r.text and 'Smith' not in r.text, r.counts\n"
        "presidio_default_analyzer().analyze('Mail jo@example.com', 'en')\n"
        "print('offline ok')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "offline ok" in done.stdout


def test_i2b2_loader_reads_spans_and_marks_non_safe_harbor():
    (note,) = load_i2b2(FIXTURES / "i2b2_sample.xml")
    by_value = {note.text[s.start:s.end]: s for s in note.spans}
    assert by_value["Quincy Albright"].category == "NAME" and by_value["Quincy Albright"].hipaa
    assert by_value["93"].hipaa and by_value["7781234"].category == "ID"
    assert not by_value["DE"].hipaa and not by_value["carpenter"].hipaa and not by_value["2087"].hipaa


def test_i2b2_loader_names_the_bad_file(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<deIdi2b2><TEXT>abc</TEXT><TAGS><NAME id='P0' start='x' end='2'/></TAGS></deIdi2b2>")
    with pytest.raises(I2b2FormatError, match="broken.xml.*P0"):
        load_i2b2(tmp_path)


def test_token_metrics_recall_precision_f2():
    note = GoldNote("n", "Dr Smith saw Ann on Monday", [GoldSpan(3, 8, "NAME"), GoldSpan(13, 16, "NAME")])
    report = token_metrics([note], [[PredictedSpan(3, 8, "NAME"), PredictedSpan(20, 26, "DATE")]])
    assert report["overall"]["recall"] == 0.5 and report["overall"]["precision"] == 0.5
    assert report["overall"]["f2"] == 0.5 and report["per_category"]["DATE"]["precision"] == 0.0


def test_fixture_note_is_deidentified(deid):
    (note,) = load_i2b2(FIXTURES / "i2b2_sample.xml")
    spans = deid.analyze_batch([note.text])[0]
    report = token_metrics([note], [[PredictedSpan(s.start, s.end, "X") for s in spans]])
    assert report["overall"]["recall"] == 1.0


def test_cli_deidentifies_a_folder_and_writes_a_private_review(tmp_path):
    from privacy.deid.__main__ import main

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("Seen by Dr. Kowalski on 03/04/2019.")
    (src / "sub" / "b.jsonl").write_text(json.dumps({"id": 1, "text": "SSN 123-45-6789"}) + "\n")
    review = tmp_path / "review.html"
    assert main([str(src), str(tmp_path / "out"), "--review", str(review)]) == 0
    assert "Kowalski" not in (tmp_path / "out" / "a.txt").read_text()
    row = json.loads((tmp_path / "out" / "sub" / "b.jsonl").read_text())
    assert row["id"] == 1 and "123-45-6789" not in row["text"]
    assert "Kowalski" in review.read_text() and review.stat().st_mode & 0o077 == 0
