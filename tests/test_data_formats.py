"""Each input format and kind parses into the expected records (fixtures in tests/fixtures/data/hospital)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from client.data.errors import BadInputPolicy, Location
from client.data.knowledge import facts_to_records, parse_knowledge_row
from client.data.loaders import load_hospital

FIXTURE = Path(__file__).parent / "fixtures" / "data" / "hospital"


@pytest.fixture(scope="module")
def loaded():
    policy = BadInputPolicy("strict")
    return load_hospital(FIXTURE, policy, 1_000_000)


def test_every_file_kind_is_read(loaded):
    assert loaded.files == {"notes": 1, "instructions": 1, "dialogues": 1, "preferences": 1, "knowledge": 2,
                            "ehr-patients": 1, "ehr-encounters": 1, "ehr-diagnoses": 1, "ehr-medications": 1,
                            "ehr-labs": 1}


def test_csv_notes_keep_multiline_text(loaded):
    n1 = next(n for n in loaded.data.notes if n.note_id == "n1")
    assert (n1.patient_id, n1.date) == ("p1", "2024-03-01")
    assert "Plan: start budesonide-formoterol" in n1.text


def test_alpaca_sharegpt_and_openai_become_conversations(loaded):
    by_first = {c.messages[0].content: c for c in loaded.data.conversations}
    with_input = by_first["Summarise the treatment.\n\nPatient with asthma on inhaled corticosteroids."]
    assert [m.role for m in with_input.messages] == ["user", "assistant"]
    sharegpt = by_first["Doctor, I have chest pain when climbing stairs."]
    assert sharegpt.messages[1].role == "assistant"
    openai = by_first["You are a careful clinician."]
    assert [m.role for m in openai.messages] == ["system", "user", "assistant"]


def test_preferences(loaded):
    (pair,) = loaded.data.preferences
    assert pair.rejected == "Search the internet for it."
    assert pair.patient_id == "p7"  # optional: what patient-level DP groups by


def test_knowledge_table_row_becomes_expected_qa_and_text():
    facts = parse_knowledge_row({"disease": "migraine", "symptoms": "throbbing headache;nausea",
                                 "medications": "sumatriptan"}, Location("kg.csv", 2))
    pairs, notes = facts_to_records(facts)
    assert [(c.messages[0].content, c.messages[1].content) for c in pairs] == [
        ("What are the symptoms of migraine?", "Common symptoms of migraine include throbbing headache and nausea."),
        ("Which medications are used to treat migraine?", "Migraine is commonly treated with sumatriptan."),
    ]
    assert notes[0].text == ("Common symptoms of migraine include throbbing headache and nausea. "
                             "Migraine is commonly treated with sumatriptan.")


def test_triples_are_grouped_by_entity_and_relation(loaded):
    answers = {c.messages[1].content for c in loaded.data.conversations}
    assert "Common symptoms of gout include joint pain and swelling." in answers
    assert "Gout is commonly treated with colchicine." in answers


def test_ehr_tables_become_one_narrative_per_encounter(loaded):
    (note,) = [n for n in loaded.data.notes if n.note_id.startswith("ehr:")]
    assert note.patient_id == "p3"
    assert note.text == ("74-year-old male patient seen on 2024-01-10 in cardiology for chest pain. "
                         "Diagnoses: stable angina (I20.8). Medications: aspirin 75 mg daily. "
                         "Laboratory results: troponin 12 ng/L (normal).")
    assert loaded.identities["p3"]["names"] == ("Alan", "Turing", "Alan Turing")


def test_parquet_and_saved_dataset_are_read_like_any_table(tmp_path):
    import datasets

    rows = [{"prompt": "Is aspirin an antiplatelet drug?", "chosen": "Yes, aspirin inhibits platelets.",
             "rejected": "No."}]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "preferences.parquet"))
    datasets.Dataset.from_list([{"note_id": "a", "patient_id": "p", "date": "2024", "text": "fever and cough"}]
                               ).save_to_disk(str(tmp_path / "notes_export"))
    loaded = load_hospital(tmp_path, BadInputPolicy("strict"), 1_000_000)
    assert loaded.data.preferences[0].chosen == rows[0]["chosen"]
    assert loaded.data.notes[0].text == "fever and cough"


def test_manifest_names_files_and_kinds(tmp_path):
    shutil.copy(FIXTURE / "preferences.jsonl", tmp_path / "export_a.jsonl")
    shutil.copy(FIXTURE / "notes.csv", tmp_path / "ignored_notes.csv")
    (tmp_path / "medfed-data.json").write_text(json.dumps({"files": [{"path": "export_a.jsonl",
                                                                        "kind": "preferences"}]}))
    loaded = load_hospital(tmp_path, BadInputPolicy("strict"), 1_000_000)
    assert len(loaded.data.preferences) == 1 and not loaded.data.notes


def test_ehr_narratives_keep_the_case_de_identification_needs(tmp_path):
    """``str.capitalize()`` lowercased every name and place after the first letter, hiding them from NER."""
    (tmp_path / "patients.csv").write_text("patient_id,birth_date,sex\np1,1950-02-01,F\n")
    (tmp_path / "encounters.csv").write_text(
        "encounter_id,patient_id,date,department,reason\n"
        "e1,p1,2024-01-10,Whitcombe Memorial Hospital,review by Dr Amos Whitcombe in Springfield Ohio\n")
    (note,) = load_hospital(tmp_path, BadInputPolicy("strict"), 1_000_000).data.notes
    assert note.text == ("74-year-old female patient seen on 2024-01-10 in Whitcombe Memorial Hospital for "
                         "review by Dr Amos Whitcombe in Springfield Ohio.")
    (tmp_path / "patients.csv").write_text("patient_id,birth_date,sex\np1,,\n")
    assert load_hospital(tmp_path, BadInputPolicy("strict"), 1_000_000).data.notes[0].text.startswith(
        "Patient seen on 2024-01-10 in Whitcombe Memorial Hospital")
