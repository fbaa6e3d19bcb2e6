"""Audit arithmetic: exposure from ranks, AUC, planting canaries that survive as distinct notes."""

from __future__ import annotations

import json
import math

from privacy.audit.canary import exposure, make_canaries, plant
from privacy.audit.membership import auc


def test_exposure_is_maximal_for_the_best_ranked_canary_and_zero_for_the_worst():
    alternatives = [2.0] * 99 + [3.0]
    assert exposure(1.0, alternatives) == math.log2(101)
    assert exposure(5.0, alternatives) == 0.0
    assert exposure(2.5, alternatives) == math.log2(101) - math.log2(100)


def test_auc_separates_perfect_random_and_inverted_scores():
    assert auc([3, 4, 5], [0, 1, 2]) == 1.0
    assert auc([0, 1], [0, 1]) == 0.5
    assert auc([0], [1]) == 0.0


def test_plant_puts_each_canary_at_the_head_of_distinct_notes(tmp_path):
    notes = tmp_path / "notes.jsonl"
    notes.write_text("".join(json.dumps({"note_id": f"n{i}", "patient_id": "p", "date": "2020-01-01",
                                         "text": f"note {i}"}) + "\n" for i in range(10)))
    canaries = make_canaries(2, seed=0)
    assert plant(notes, canaries, repeats=3, seed=0) == 6
    texts = [json.loads(line)["text"] for line in notes.read_text().splitlines()]
    for canary in canaries:
        assert sum(t.startswith(canary.text) for t in texts) == 3
    assert len(texts) == 10 and len(set(texts)) == 10
