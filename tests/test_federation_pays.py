"""The cp-ift arm of ``simulations.benchmarks.federation_pays`` on a hand-made PubMedQA-shaped fixture."""

from __future__ import annotations

import json
import random

import pytest

WORDS = ("patients treatment clinical blood pressure therapy disease cardiac risk outcome trial mortality dose "
         "infection surgery diabetes insulin renal hepatic stroke cancer tumour biopsy diagnosis symptoms fever "
         "antibiotic vaccine hospital admission").split()


def write_pubmedqa(folder, items: int = 40) -> tuple[dict, set[str]]:
    """Distinct clinical-sounding items (de-duplication and the medical-density filter keep them); every
    fourth id is a test id."""
    rng = random.Random(0)
    records = {str(p): {"QUESTION": f"Does {rng.choice(WORDS)} change {rng.choice(WORDS)} in cohort {p}?",
                        "CONTEXTS": [f"Cohort {p}: " + " ".join(rng.sample(WORDS, 20))],
                        "final_decision": ("yes", "no", "maybe")[p % 3]} for p in range(items)}
    test_ids = {str(p) for p in range(0, items, 4)}
    (folder / "pqal.json").write_text(json.dumps(records))
    (folder / "test.json").write_text(json.dumps({p: "yes" for p in sorted(test_ids)}))
    return records, test_ids


def test_realdata_writes_each_training_context_as_a_note_and_no_test_context(tmp_path):
    from simulations.realdata import RealDataPlan, write_hospitals

    records, test_ids = write_pubmedqa(tmp_path)
    write_hospitals(tmp_path / "h", RealDataPlan(2, 1.0, 0), pubmedqa=tmp_path / "pqal.json",
                    test_ids=tmp_path / "test.json")
    notes = [json.loads(line) for i in range(2)
             for line in (tmp_path / "h" / f"hospital-{i}" / "notes.jsonl").read_text().splitlines()]
    ids = {n["note_id"].removeprefix("pubmedqa-") for n in notes}
    assert ids == set(records) - test_ids and len(notes) == len(ids)
    assert all(n["text"] == "\n".join(records[n["note_id"].removeprefix("pubmedqa-")]["CONTEXTS"]) for n in notes)


def test_leak_check_counts_a_test_context_planted_in_a_hospitals_notes():
    from common.evaluation import MultipleChoiceItem
    from simulations.benchmarks.federation_pays import Hospital, leaked_contexts

    test = [MultipleChoiceItem("1", "q?", (("yes", "yes"),), "yes", context="Fever  rose\nin cohort 1.")]
    clean = Hospital("h", [], [], note_texts=("Fever fell in cohort 2.",))
    assert leaked_contexts([clean], test) == 0
    assert leaked_contexts([clean, Hospital("g", [], [], note_texts=("Fever rose in cohort 1.",))], test) == 1


@pytest.mark.slow
def test_cp_ift_arm_pretrains_on_the_notes_then_spends_the_federations_ift_budget(tmp_path, tiny_model_dir):
    from simulations.benchmarks.federation_pays import main

    write_pubmedqa(tmp_path)
    main(["--arms", "base,federation,cp-ift", "--run-config",
          f"model.name='{tiny_model_dir}' model.quantization='none' data.root='{tmp_path / 'h'}' "
          f"run.output-dir='{tmp_path / 'runs'}' eval.pubmedqa-path='{tmp_path / 'pqal.json'}' "
          f"eval.pubmedqa-test-ids='{tmp_path / 'test.json'}' simulation.num-hospitals=2 train.rounds=1 "
          "train.local-steps=1 data.contamination-check=false stage.cp.rounds=2 stage.cp.local-steps=2"])
    report = json.loads((tmp_path / "runs" / "benchmarks" / "federation_pays.json").read_text())
    assert set(report["results"]) == {"base", "federation", "cp-ift"}
    facts = report["facts"][0]
    # Right or wrong per scored item, per arm, so that any two arms can be compared after the run.
    assert set(report["per-item"]) == {"base", "federation", "cp-ift"}
    assert all(len(v) == facts["test-items"] and set(v) <= {0.0, 1.0} for v in report["per-item"].values())
    assert facts["test-contexts-in-notes"] == 0 and sum(facts["notes-per-hospital"]) == 30
    cp_ift = facts["cp-ift"]
    assert cp_ift["adapter-change-after-cp"] > 0  # the CP stage trained the adapter on the notes
    assert (cp_ift["budget-cp"]["rounds"], cp_ift["budget-cp"]["steps-per-hospital"]) == (2, 4)
    assert all(n > 0 for n in cp_ift["budget-cp"]["examples-per-hospital"])
    assert (cp_ift["budget-ift"]["rounds"], cp_ift["budget-ift"]["steps-per-hospital"]) == (1, 1)
    # Same IFT rounds and batch order from a different start: the scores differ from the federation's.
    assert report["results"]["cp-ift"]["heldout-loss"] != report["results"]["federation"]["heldout-loss"]
    low, high = report["targets"]["interval-cp-ift-minus-federation"]
    assert low <= high


def test_an_unknown_arm_is_refused_before_anything_runs(capsys):
    from simulations.benchmarks.federation_pays import main

    with pytest.raises(SystemExit):
        main(["--arms", "base,cp-ft"])
    assert "unknown cp-ft" in capsys.readouterr().err


def _report(seeds: list[int], per_item: dict[str, list[list[float]]], lr: float = 5e-3) -> dict:
    """A knowledge report as ``main`` writes it, for runs whose per-seed item scores are ``per_item``."""
    per_seed = [{arm: {"knowledge-accuracy": sum(v[i]) / len(v[i])} for arm, v in per_item.items()}
                for i in range(len(seeds))]
    return {"task": "chatdoctor-knowledge", "data": "chatdoctor-knowledge", "seeds": seeds,
            "hospitals": [{} for _ in seeds], "facts": [{} for _ in seeds], "stage": {}, "stage-cp": {},
            "results-per-seed": per_seed, "results": {}, "higher-is-better": True,
            "per-item": {arm: [x for seed_values in v for x in seed_values] for arm, v in per_item.items()},
            "targets": {"metric": "knowledge-accuracy"}, "seconds": 10.0, "threads": 1,
            "config": {"run.seed": seeds[0], "data.root": f"/tmp/{seeds[0]}", "train.learning-rate": lr},
            "arguments": {"task": "chatdoctor-knowledge", "seeds": ",".join(map(str, seeds)), "arms": ""}}


def test_combined_reports_pool_every_seed_and_item(tmp_path):
    from simulations.benchmarks.federation_pays import combine_reports, main

    a = _report([0], {"base": [[0, 0, 1, 0]], "alone:hospital-0": [[1, 0, 1, 0]], "federation": [[1, 1, 1, 0]]})
    b = _report([1, 2], {"base": [[0, 0, 0, 0], [1, 0, 0, 0]], "alone:hospital-0": [[0, 0, 1, 0], [1, 0, 0, 0]],
                         "federation": [[1, 1, 1, 1], [1, 1, 0, 0]]})
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    combined = combine_reports([tmp_path / "a.json", tmp_path / "b.json"])
    assert combined["seeds"] == [0, 1, 2]
    assert combined["per-item"]["federation"] == [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0]
    # Means over the three seeds: federation (0.75 + 1 + 0.5) / 3, base (0.25 + 0 + 0.25) / 3.
    assert combined["results"]["federation"]["knowledge-accuracy"] == pytest.approx(0.75)
    assert combined["results"]["base"]["knowledge-accuracy"] == pytest.approx(1 / 6)
    assert combined["targets"]["federation-beats-base"] is True
    low, high = combined["targets"]["interval-federation-minus-base"]
    assert 0 < low <= 100 * (0.75 - 1 / 6) <= high
    main(["--combine", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(tmp_path / "c.json")])
    assert json.loads((tmp_path / "c.json").read_text())["seeds"] == [0, 1, 2]


def test_combining_refuses_other_settings_and_repeated_seeds(tmp_path):
    from simulations.benchmarks.federation_pays import combine_reports

    arms = {"base": [[0, 1]], "federation": [[1, 1]]}
    (tmp_path / "a.json").write_text(json.dumps(_report([0], arms)))
    (tmp_path / "other-lr.json").write_text(json.dumps(_report([1], arms, lr=1e-3)))
    (tmp_path / "same-seed.json").write_text(json.dumps(_report([0], arms)))
    with pytest.raises(ValueError, match=r"other-lr.json: field 'config' differs"):
        combine_reports([tmp_path / "a.json", tmp_path / "other-lr.json"])
    with pytest.raises(ValueError, match=r"same-seed.json: seed 0 is also in"):
        combine_reports([tmp_path / "a.json", tmp_path / "same-seed.json"])


def test_fedavgm_server_step():
    import torch

    from simulations.benchmarks.federation_pays import fedavgm

    state, mean = {"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([2.0, 0.0])}
    same, _ = fedavgm(state, mean, None, lr=1.0, momentum=0.0)
    assert torch.equal(same["w"], mean["w"])  # lr 1, no momentum: FedAvg
    summed, velocity = fedavgm(state, mean, None, lr=3.0, momentum=0.0)
    assert torch.equal(summed["w"], torch.tensor([4.0, -4.0]))  # the mean update applied three times
    # With momentum the previous round's pseudo-gradient is carried: v = 0.5 * (-1, 2) + (-1, 2).
    second, _ = fedavgm(state, mean, velocity, lr=1.0, momentum=0.5)
    assert torch.equal(second["w"], torch.tensor([2.5, -1.0]))
