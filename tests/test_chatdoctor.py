"""ChatDoctor as hospitals: the disease table, its split, and the template questions asked about it."""

from __future__ import annotations

import json

import pytest

from common.jsonfiles import RecordFileError
from simulations.chatdoctor import (
    Disease,
    knowledge_pairs,
    knowledge_questions,
    load_diseases,
    pick_diseases,
    split_answers,
    split_by_disease,
)

TABLE = """idx,disease,Symptom,Medical Tests,Medications
0,Panic disorder,"['Anxiety and nervousness', 'Depression', 'Shortness of breath']","['Psychotherapy']","['Lorazepam', 'Alprazolam (Xanax)']"
1,Vocal cord polyp,"['Hoarse voice', 'Sore throat', 'Difficulty speaking']","['Laryngoscopy']","['Esomeprazole (Nexium)']"
2,Turner syndrome,"['Groin mass', 'Leg pain', 'Hip pain']","['Echocardiography']","['Somatropin']"
3,Cryptorchidism,"['Swelling of scrotum', 'Pain in testicles', 'Jaundice']","['Pelvis exam']","['Hepatitis B Vaccine', 'Nystatin']"
"""


@pytest.fixture
def diseases(tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    return load_diseases(tmp_path / "table.csv")


def test_table_rows_become_diseases_and_bad_cells_name_line_and_field(diseases, tmp_path):
    assert diseases[0] == Disease("Panic disorder", ("Anxiety and nervousness", "Depression", "Shortness of breath"),
                                  ("Psychotherapy",), ("Lorazepam", "Alprazolam (Xanax)"))
    (tmp_path / "bad.csv").write_text(TABLE.replace("['Somatropin']", "Somatropin"))
    with pytest.raises(RecordFileError, match=r"bad.csv:4: field 'Medications'"):
        load_diseases(tmp_path / "bad.csv")


def test_a_known_row_gives_the_expected_questions_and_options(diseases):
    items = {i.item_id: i for i in knowledge_questions(diseases, seed=0)}
    symptoms = items["symptoms:Panic disorder"]
    assert symptoms.question.startswith("A patient presents with ") and "Which disease is the most likely?" in symptoms.question
    for shown in ("anxiety and nervousness", "depression", "shortness of breath"):  # 3 of its 3 symptoms
        assert shown in symptoms.question
    assert symptoms.answer == "Panic disorder" and len(symptoms.labels) == 4
    assert set(symptoms.labels) == {d.name for d in diseases}  # the distractors are the other diseases
    medication = items["medication:Panic disorder"]
    assert medication.question == "Which of these medications is used to treat Panic disorder?"
    assert medication.answer in ("Lorazepam", "Alprazolam (Xanax)")
    assert not set(medication.labels) - {medication.answer} & {"Lorazepam", "Alprazolam (Xanax)"}
    assert knowledge_questions(diseases, seed=0) == knowledge_questions(diseases, seed=0)


def test_training_pairs_state_the_facts_in_other_words_than_the_questions(diseases):
    questions = {i.question for i in knowledge_questions(diseases, seed=0)}
    pairs = knowledge_pairs(diseases[0], seed=0)
    assert pairs and not {q for q, _ in pairs} & questions
    assert not any("most likely" in q or "Which of these medications" in q for q, _ in pairs)
    assert any("Lorazepam" in a for _, a in pairs) and any("Panic disorder" in a for _, a in pairs)


def test_every_training_answer_starts_with_the_fact_a_question_scores(diseases):
    # The scored option text starts the answer, so the fact must lead it: the disease, or each asked medication.
    pairs = knowledge_pairs(diseases[0], seed=0)
    leads = [a for _, a in pairs]
    assert sum(a.startswith("Panic disorder ") for a in leads) == 4  # one per symptom pair
    assert sum(a.startswith("Lorazepam") for a in leads) == sum(a.startswith("Alprazolam (Xanax)") for a in leads) == 1
    assert len(pairs) == 4 + 2


def test_a_disease_sample_is_seeded_in_table_order_and_zero_keeps_all(diseases):
    picked = pick_diseases(diseases, 2, seed=0)
    assert len(picked) == 2 and picked == [d for d in diseases if d in picked]
    assert picked == pick_diseases(diseases, 2, seed=0)
    assert {tuple(pick_diseases(diseases, 2, seed=s)) for s in range(10)} != {tuple(picked)}
    assert pick_diseases(diseases, 0, seed=0) == pick_diseases(diseases, 9, seed=0) == diseases


def test_disease_split_is_complete_disjoint_and_seeded():
    names = [f"disease {i}" for i in range(100)]
    split = split_by_disease(names, 3, seed=1)
    assert sorted(n for part in split for n in part) == sorted(names)
    assert sum(map(len, split)) == len(set().union(*map(set, split)))
    assert sorted(map(len, split)) == [33, 33, 34]
    assert split == split_by_disease(names, 3, seed=1) and split != split_by_disease(names, 3, seed=2)


def test_answers_follow_the_disease_they_name_and_none_is_lost(tmp_path):
    pairs = [{"instruction": "Doctor?", "input": f"case {i}", "output": f"You may have {name}."}
             for i, name in enumerate(["Turner syndrome", "Cryptorchidism", "a cold"] * 5)]
    (tmp_path / "chat.json").write_text(json.dumps(pairs))
    split = [["Turner syndrome"], ["Cryptorchidism"]]
    shares, test = split_answers(tmp_path / "chat.json", split, seed=0, heldout=3)
    assert len(test) == 3 and sum(map(len, shares)) == 12
    assert all("Cryptorchidism" not in i.reference for i in shares[0])
    assert all("Turner" not in i.reference for i in shares[1])
    assert {i.prompt for s in shares for i in s}.isdisjoint(i.prompt for i in test)


@pytest.mark.slow
def test_knowledge_benchmark_scores_every_arm_on_every_disease(tmp_path, tiny_model_dir):
    from simulations.benchmarks.federation_pays import main

    rows = "".join(f"{i + 4},Disease {i}itis,\"['Fever {i}', 'Cough {i}', 'Rash {i}']\",\"['Biopsy {i}']\","
                   f"\"['Drug {i}', 'Tablet {i}']\"\n" for i in range(5))
    (tmp_path / "chatdoctor").mkdir()
    (tmp_path / "chatdoctor" / "disease_database_mini.csv").write_text(TABLE + rows)
    main(["--task", "chatdoctor-knowledge", "--data-dir", str(tmp_path), "--run-config",
          f"model.name='{tiny_model_dir}' model.quantization='none' data.root='{tmp_path / 'h'}' "
          f"run.output-dir='{tmp_path / 'runs'}' train.rounds=1 train.local-steps=1 data.quality-filter=false"])
    report = json.loads((tmp_path / "runs" / "benchmarks" / "federation_pays_chatdoctor-knowledge.json").read_text())
    assert report["facts"][0]["diseases-per-hospital"] == [3, 3, 3]
    assert all(r["knowledge-n"] == 18 for r in report["results"].values())  # 2 questions on each of 9 diseases
    assert set(report["results"]) == {"base", "alone:hospital-0", "alone:hospital-1", "alone:hospital-2",
                                      "federation", "federation-exact", "pooled"}
    targets = report["targets"]
    low, high = targets["interval-federation-exact-minus-pooled"]
    assert low <= 100 * (targets["federation-exact"] - targets["pooled"]) <= high


@pytest.mark.slow
def test_answers_benchmark_reports_perplexity_and_rouge_of_every_arm(tmp_path, tiny_model_dir):
    from simulations.benchmarks.federation_pays import main

    (tmp_path / "chatdoctor").mkdir()
    (tmp_path / "chatdoctor" / "disease_database_mini.csv").write_text(TABLE)
    names = ["Panic disorder", "Vocal cord polyp", "Turner syndrome", "Cryptorchidism"]
    pairs = [{"instruction": "If you are a doctor, answer.", "input": f"Doctor, I have fever and cough, case {i}.",
              "output": f"It sounds like {names[i % 4]}; we should run a blood test and start treatment {i}."}
             for i in range(40)]
    (tmp_path / "chatdoctor" / "chatdoctor5k.json").write_text(json.dumps(pairs))
    main(["--task", "chatdoctor-answers", "--data-dir", str(tmp_path), "--heldout-answers", "6", "--rouge-items", "2",
          "--rouge-tokens", "4", "--run-config",
          f"model.name='{tiny_model_dir}' model.quantization='none' data.root='{tmp_path / 'h'}' "
          f"run.output-dir='{tmp_path / 'runs'}' train.rounds=1 train.local-steps=1 data.quality-filter=false "
          "simulation.num-hospitals=2 data.dedup=false"])
    report = json.loads((tmp_path / "runs" / "benchmarks" / "federation_pays_chatdoctor-answers.json").read_text())
    assert report["facts"][0]["pairs-per-hospital"] and sum(report["facts"][0]["pairs-per-hospital"]) == 34
    for row in report["results"].values():
        assert row["answers-perplexity"] > 1 and row["answers-rouge-n"] == 2
    assert "federation-below-every-alone" in report["targets"]
