"""Each processing step on tiny inputs with known answers."""

from __future__ import annotations

from pathlib import Path

from client.data.contamination import ContaminationIndex
from client.data.dedup import Deduplicator
from client.data.pipeline import prepare_hospital_data
from client.data.quality import QualityFilter, clean_text, medical_density
from common.config import RunConfig
from common.records import Conversation, Note

NOTE = ("HPI: 58-year-old with community-acquired pneumonia, fever and productive cough. Chest X-ray shows "
        "right lower lobe consolidation. Plan: amoxicillin and azithromycin, review in 48 hours.")


def note(text: str, i: int = 0) -> Note:
    return Note(f"n{i}", f"p{i}", "2024-01-01", text)


def test_cleaning_removes_urls_citations_boilerplate_and_empty_sections():
    raw = ("HPI: fever and cough [1, 2] (Smith et al., 2020). See https://x.org/a.\n"
           "Allergies: N/A\nFamily history:\n\nPlan: antibiotics.\nPage 2 of 3\nElectronically signed: Dr. Who")
    assert clean_text(raw) == "HPI: fever and cough. See \n\nPlan: antibiotics.".replace(" \n", "\n")


def test_quality_verdicts():
    q = QualityFilter(min_chars=20, max_chars=500, min_medical_density=0.05)
    assert q.verdict(note(NOTE)) is None
    assert q.verdict(note("fever")) == "too-short"
    assert q.verdict(note(NOTE * 5)) == "too-long"
    assert q.verdict(note("The weather was lovely and we walked along the beach all afternoon.")) == \
        "low-medical-density"
    assert medical_density("fever cough pneumonia table") == 0.75


def test_exact_and_near_duplicates_are_removed_first_kept():
    d = Deduplicator(threshold=0.8)
    long_note = NOTE + " Oxygen saturation 94 percent on room air, no confusion, urea normal, CURB-65 score 1."
    near = long_note.replace("score 1.", "score 2.")
    other = "Type 2 diabetes with HbA1c of 8.2 percent; start metformin and arrange retinal screening."
    verdicts = [d.verdict(note(t)) for t in (long_note, long_note.upper(), near, other)]
    assert verdicts == [None, "exact-duplicate", "near-duplicate", None]


def test_contaminated_record_is_dropped():
    benchmark = ("A 58-year-old with community-acquired pneumonia, fever and productive cough: chest x-ray shows "
                 "right lower lobe consolidation. What is the treatment?")
    index = ContaminationIndex([benchmark, "What are the first line drugs for gout in elderly patients?"], n=13)
    assert index.verdict(note(NOTE)) == "overlaps-eval-set"
    assert index.verdict(note("Diabetes follow-up: HbA1c improved on metformin, continue current dose.")) is None
    short = Conversation.from_pair("What are the first line drugs for gout in elderly patients?", "Colchicine.")
    assert index.verdict(short) == "overlaps-eval-set"


def test_pipeline_counts_each_step_with_reasons(tmp_path: Path):
    (tmp_path / "notes.jsonl").write_text("\n".join(
        f'{{"note_id": "n{i}", "patient_id": "p{i}", "date": "2024", "text": "{t}"}}'
        for i, t in enumerate([NOTE, NOTE, "fever", "Follow-up for asthma: wheezing resolved on budesonide "
                               "inhaler; spirometry normal; continue therapy."])) + "\n")
    cfg = RunConfig().replace(**{"deid.enabled": False, "data.cache": False, "data.eval-fraction": 0.0})
    prepared = prepare_hospital_data(tmp_path, cfg, eval_sets=["Follow-up for asthma: wheezing resolved on "
                                                               "budesonide inhaler; spirometry normal; continue"])
    m = prepared.card.to_metrics()
    assert m["data.quality.notes.dropped.too-short"] == 1
    assert m["data.dedup.notes.dropped.exact-duplicate"] == 1
    assert m["data.contamination.notes.dropped.overlaps-eval-set"] == 1
    assert [n.note_id for n in prepared.train.notes] == ["n0"]
