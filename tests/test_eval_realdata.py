"""Real-data hospitals: a non-IID split that loses nothing, repeats nothing, and never writes a test item."""

from __future__ import annotations

import json

from simulations.realdata import RealDataPlan, dirichlet_split, topic_of, write_hospitals


def test_dirichlet_split_partitions_every_group_deterministically():
    groups = {"yes": list(range(50)), "no": list(range(100, 130)), "maybe": list(range(200, 210))}
    shares = dirichlet_split(groups, hospitals=3, alpha=0.3, seed=1)
    assert sorted(x for s in shares for x in s) == sorted(x for g in groups.values() for x in g)
    assert shares == dirichlet_split(groups, hospitals=3, alpha=0.3, seed=1)
    assert shares != dirichlet_split(groups, hospitals=3, alpha=0.3, seed=2)


def test_hospitals_get_pubmedqa_outside_test_and_chatdoctor(tmp_path):
    items = {str(p): {"QUESTION": f"Question {p}?", "CONTEXTS": ["one two three four five six"],
                      "final_decision": ("yes", "no", "maybe")[p % 3]} for p in range(30)}
    (tmp_path / "pqal.json").write_text(json.dumps(items))
    (tmp_path / "test.json").write_text(json.dumps({str(p): "yes" for p in range(0, 30, 3)}))
    (tmp_path / "chat.json").write_text(json.dumps([{"instruction": "Doctor?", "input": f"My chest hurts {i}",
                                                     "output": "See a cardiologist soon."} for i in range(6)]))
    plan = RealDataPlan(hospitals=2, alpha=0.5, seed=0, context_words=3, max_chatdoctor=6)
    counts = write_hospitals(tmp_path / "h", plan, pubmedqa=tmp_path / "pqal.json", test_ids=tmp_path / "test.json",
                             chatdoctor=tmp_path / "chat.json")
    rows = [json.loads(line) for i in range(2) for line in (tmp_path / "h" / f"hospital-{i}" / "instructions.jsonl")
            .read_text().splitlines()]
    assert len(rows) == 20 + 6 and sum(sum(c.values()) for c in counts.values()) == 26
    asked = {r["instruction"].split("Question ")[1].split("?")[0] for r in rows if "Question " in r["instruction"]}
    assert not asked & {str(p) for p in range(0, 30, 3)}  # no test id is ever written
    # Contexts cut to their last 3 words (an abstract's results come last).
    questions = [r["instruction"] for r in rows if "Question " in r["instruction"]]
    assert all("four five six" in q and "three" not in q for q in questions)
    assert topic_of("My chest hurts") == "cardio-respiratory" and topic_of("I feel off") == "general"


def test_paired_interval_brackets_the_difference():
    from simulations.benchmarks.federation_pays import paired_interval

    assert paired_interval([True, False] * 50, [True, False] * 50) == (0.0, 0.0)
    assert paired_interval([True] * 40, [False] * 40) == (100.0, 100.0)
    low, high = paired_interval([True] * 60 + [False] * 40, [True] * 50 + [False] * 50)
    assert low < 10 < high


def test_federation_pays_writes_every_arm_and_its_verdict(tmp_path, tiny_model_dir):
    import random

    from simulations.benchmarks.federation_pays import main

    # Distinct clinical-sounding items: de-duplication and the medical-density filter keep them.
    words = ("patients treatment clinical blood pressure therapy disease cardiac risk outcome trial mortality "
             "dose infection surgery diabetes insulin renal hepatic stroke cancer tumour biopsy diagnosis "
             "symptoms fever antibiotic vaccine hospital admission").split()
    rng = random.Random(0)
    items = {str(p): {"QUESTION": f"Does {rng.choice(words)} change {rng.choice(words)} in cohort {p}?",
                      "CONTEXTS": [" ".join(rng.sample(words, 20))], "final_decision": ("yes", "no", "maybe")[p % 3]}
             for p in range(40)}
    (tmp_path / "pqal.json").write_text(json.dumps(items))
    (tmp_path / "test.json").write_text(json.dumps({str(p): "yes" for p in range(0, 40, 4)}))
    main(["--run-config", f"model.name='{tiny_model_dir}' model.quantization='none' data.root='{tmp_path / 'h'}' "
          f"run.output-dir='{tmp_path / 'runs'}' eval.pubmedqa-path='{tmp_path / 'pqal.json'}' "
          f"eval.pubmedqa-test-ids='{tmp_path / 'test.json'}' simulation.num-hospitals=2 train.rounds=1 "
          "train.local-steps=1 data.contamination-check=false"])
    report = json.loads((tmp_path / "runs" / "benchmarks" / "federation_pays.json").read_text())
    # The hospitals hold their items' contexts as notes, so the default arms include cp-ift.
    assert set(report["results"]) == {"base", "alone:hospital-0", "alone:hospital-1", "federation",
                                      "federation-exact", "pooled", "cp-ift"}
    assert report["facts"][0]["test-items"] == 10
    assert all(r["pubmedqa-loglik-n"] == 10 for r in report["results"].values())
    targets = report["targets"]
    low, high = targets["interval-federation-minus-best-alone"]
    assert low <= 100 * (targets["federation"] - targets["best-alone"]) <= high
    assert set(report["facts"][0]["predicted-answer-shares"]["base"]) <= {"yes", "no", "maybe"}
