"""De-identification beyond the first generator's layouts: safe list, context rules, Safe Harbor 90+ years,
eponyms, logs, the second generator and the benchmark's arithmetic. Texts are invented (no real notes)."""

from __future__ import annotations

import logging
import random

import pytest

from common.config import DeidSection
from privacy.deid import Deidentifier, PatientContext
from privacy.deid.evaluation import GoldNote, GoldSpan, PredictedSpan, gold_span, token_metrics
from privacy.deid.safelist import SafeListRecognizer, all_ordinary, all_safe, is_name_candidate
from simulations.synthetic.notes_b import LAYOUTS, generate_note_b


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier.from_config(DeidSection(), None)


def found(deid: Deidentifier, text: str) -> dict[str, str]:
    return {text[s.start:s.end]: s.entity_type for s in deid.analyze_batch([text])[0]}


def removed(deid: Deidentifier, text: str, value: str) -> bool:
    start = text.index(value)
    return any(s.start < start + len(value) and start < s.end for s in deid.analyze_batch([text])[0])


# --- the safe list ------------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["Villegas", "VILLEGAS", "Tavares", "Xzavian", "Gallagher", "Orozco"])
def test_rare_names_are_candidates_in_any_case(word):
    assert is_name_candidate(word)


@pytest.mark.parametrize("word", ["Alert", "Soft", "Clear", "Positive", "Sinus", "ABDOMEN", "DISPOSITION",
                                  "Atenolol", "Hydroxychloroquine", "Prednisone", "Normocephalic", "DaTscan",
                                  "RA", "BUN", "Sternal", "Pond", "Apgars", "Attending", "Provider"])
def test_headings_exam_words_and_drugs_are_not_candidates(word):
    assert not is_name_candidate(word)


# Brand and generic names in no hand-written list: each was a name candidate before the drug dictionary.
@pytest.mark.parametrize("word", ["Tafinlar", "Synjardy", "Eylea", "Refludan", "Cosopt", "Entresto", "Xifaxan",
                                  "NUVIGIL"])
def test_drug_names_from_the_drug_dictionary_are_not_candidates(word):
    assert not is_name_candidate(word)


def test_drug_dictionary_leaves_census_names_and_common_words_out():
    from privacy.deid.terms import drug_words

    assert {"entresto", "xifaxan", "enalapril"} <= drug_words()
    assert is_name_candidate("Dona")  # a brand in the dictionary, and a given name
    assert not {"caps", "sits", "fargo"} & drug_words()


def test_safe_list_grows_over_neighbouring_name_words_and_initials():
    text = "Seen with Gilbert P. Perez and OROZCO,KYLE today."
    spans = {text[r.start:r.end] for r in SafeListRecognizer().analyze(text, ["PERSON"])}
    assert spans == {"Gilbert P. Perez", "OROZCO,KYLE"}


def test_vetoes_tell_headings_from_names():
    assert all_safe("Alert") and all_safe("DISPOSITION") and all_ordinary("Attending Provider")
    assert not all_safe("Villegas") and not all_ordinary("Rose Baker") and not all_ordinary("E. O'Brien")


@pytest.mark.parametrize("text", [
    "Neuro: Alert and oriented.\nAbdomen: Soft, non-tender.\nLungs: Clear.\nECG: Sinus rhythm.",
    "ABDOMEN:  Soft and nontender.\nDISPOSITION (including condition): stable.",
    "He continues taking his Atenolol and Hydroxychloroquine; Prednisone stopped.",
    "On Coumadin, Glipizide, Allopurinol, Glyburide and Nitroglycerin. CXR: Kerley B lines. Pneumovax given.",
    "Not reviewed by Attending Provider",
    "Started Entresto and Xifaxan; Nuvigil in the morning, Synjardy with meals.",
    "Na 138, K 4.1, Cr 1.02, BUN 16, WBC 7.2, Hgb 12.8, INR 1.1, BP 120/80, pain 3/10.",
])
def test_headings_drugs_and_lab_values_stay(deid, text):
    assert found(deid, text) == {}


# --- context rules --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("Xzavian G. Tavares, M.D.\nXGT:holmes\n", "holmes"),
    ("Gilbert P. Perez, M.D.\n\nGPP/church/olinger\n", "church"),
    ("Gilbert P. Perez, M.D.\n\nGPP/church/olinger\n", "olinger"),
    ("FILBERT BRIGHT, M.D.    FB59\n", "FB59"),
    ("____________   XW277/90683\n", "XW277/90683"),
    ("s/p CABG x 4 in 3/80. Compared with 8/79-- QRS narrower.", "3/80"),
    ("s/p CABG x 4 in 3/80. Compared with 8/79-- QRS narrower.", "8/79"),
    ("Sincerely,\n\nMiller, Raj, M.D.\n", "Miller, Raj"),
    ("Mr. villegas is seen today.", "villegas"),
])
def test_context_rules_find_phi(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize("text", [
    "HbA1c 7.2, CD4 450, FEV1 2.1 L, T4 normal, ECG leads V1-V3, C5 radiculopathy.",
    "Grade 2/6 murmur, strength 5/5, pain 7/10, Apgars 8/9, 1/2 tab.",
    "Dx coded as ICD10; EF 55%, PO2 88, CO2 24.",
])
def test_clinical_codes_and_fractions_are_not_ids_or_dates(deid, text):
    assert found(deid, text) == {}


# --- issue #19: eponyms, Safe Harbor ages, logs ---------------------------------------------------------
def test_eponym_stays_when_a_namesake_is_in_the_note(deid):
    out = deid.deidentify("Seen by Dr. Wilson. Wilson disease was considered; Wilson agreed.").text
    assert "Wilson disease" in out and "Dr. Wilson" not in out and "Wilson agreed" not in out


def test_eponym_stays_when_the_patient_has_the_name(deid):
    patient = PatientContext("p", names=("Anna Wilson",))
    out = deid.deidentify("Wilson disease ruled out in Anna Wilson.", patient).text
    assert "Wilson disease" in out and "Anna" not in out and "Anna Wilson" not in out


def test_birth_years_of_patients_over_89_are_folded(deid):
    out = deid.deidentify("Seen 03/04/2021. 92 year old woman born in 1929 (DOB 05/06/1929). Admitted 2/3/2019.").text
    assert "1929" not in out and "92" not in out and "2021" in out and "2019" in out


def test_birth_years_stay_when_no_age_is_over_89(deid):
    out = deid.deidentify("Seen 03/04/2021. 72 year old woman born in 1949 (DOB 05/06/1949).").text
    assert "1949" in out and "05/06" not in out


def test_no_phi_reaches_logs_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    with Deidentifier.from_config(DeidSection(), None) as fresh:
        fresh.deidentify("Patient Quentin Villegas, MRN 4417823, seen 03/04/2021 by Dr. Tavares, "
                         "e-mail quentin.villegas@gmail.com.")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the engine still logs its counts
    # Presidio's own DEBUG lines (context words, decision process) quote text: its loggers stay above DEBUG
    # even when the application asks for DEBUG everywhere.
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    for phi in ("Quentin", "Villegas", "4417823", "03/04/2021", "Tavares"):
        assert phi not in logged


# --- the second generator -------------------------------------------------------------------------------
def test_second_generator_gold_spans_align_and_use_every_layout():
    rng = random.Random(7)
    kinds, texts = set(), set()
    for _ in range(200):
        note = generate_note_b(rng)
        texts.add(note.text.split("\n", 1)[0][:12])
        for span in note.spans:
            value = note.text[span.start:span.end]
            assert value and value == value.strip(), (span, value)
            kinds.add(span.kind)
        ordered = sorted(note.spans, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:]))  # no overlapping gold
    assert {"PATIENT", "DOCTOR", "USERNAME", "DATE", "HOSPITAL", "IDNUM", "PHONE", "AGE"} <= kinds
    assert len(LAYOUTS) == 4 and len(texts) >= 4


def test_second_generator_ages_are_phi_only_over_89():
    rng = random.Random(3)
    for _ in range(300):
        note = generate_note_b(rng)
        for span in note.spans:
            if span.kind == "AGE":
                assert int(note.text[span.start:span.end]) > 89


# --- the benchmark's arithmetic, counted by hand ------------------------------------------------------
def test_token_metrics_match_a_hand_count():
    text = "Dr Smith saw Ann in Ohio on 3/80; nurse RN."
    # tokens: Dr Smith saw Ann in Ohio on 3 80 nurse RN
    spans = [gold_span(text, 3, 8, "DOCTOR"), gold_span(text, 13, 16, "PATIENT"),
             gold_span(text, 20, 24, "STATE"), gold_span(text, 28, 32, "DATE")]
    assert [s.hipaa for s in spans] == [True, True, False, True]
    predicted = [PredictedSpan(3, 8, "NAME", "a"), PredictedSpan(20, 24, "LOCATION", "b"),
                 PredictedSpan(28, 30, "DATE", "b"), PredictedSpan(40, 42, "NAME", "a")]
    report = token_metrics([GoldNote("n", text, spans)], [predicted])
    # Safe Harbor tokens: Smith, Ann, 3, 80 -> caught Smith, 3 (the span 28-30 covers "3/" only).
    assert report["overall"]["true_positive_tokens"] == 2 and report["overall"]["false_negative_tokens"] == 2
    assert report["overall"]["recall"] == 0.5
    # All PHI adds Ohio (caught): 3 of 5.
    assert report["all_phi"]["recall"] == 0.6
    # Predicted tokens: Smith, Ohio, 3, RN; only RN is no PHI -> precision 3/4 over all PHI.
    assert report["all_phi"]["false_positive_tokens"] == 1 and report["all_phi"]["precision"] == 0.75
    assert report["all_phi"]["f2"] == round(5 * 0.75 * 0.6 / (4 * 0.75 + 0.6), 4)
    assert report["per_type"]["DATE"] == {"gold_tokens": 2, "recall": 0.5}
    assert report["per_type"]["PATIENT"]["recall"] == 0.0
    assert report["per_recognizer"] == {"a": {"phi_tokens": 1, "only_phi_tokens": 1, "false_positive_tokens": 1},
                                        "b": {"phi_tokens": 2, "only_phi_tokens": 2, "false_positive_tokens": 0}}


def test_recognizer_attribution_counts_overlaps_and_sole_catches():
    text = "Dr Smith saw Ann"
    note = GoldNote("n", text, [gold_span(text, 3, 8, "DOCTOR"), gold_span(text, 13, 16, "PATIENT")])
    predicted = [PredictedSpan(3, 8, "NAME", "a"), PredictedSpan(0, 8, "NAME", "b"), PredictedSpan(13, 16, "NAME", "b")]
    report = token_metrics([note], [predicted])
    # Dr: b, wrongly; Smith: a and b; Ann: b alone.
    assert report["per_recognizer"] == {"a": {"phi_tokens": 1, "only_phi_tokens": 0, "false_positive_tokens": 0},
                                        "b": {"phi_tokens": 2, "only_phi_tokens": 1, "false_positive_tokens": 1}}
    assert report["all_phi"]["recall"] == 1.0 and report["all_phi"]["precision"] == round(2 / 3, 4)


def test_gold_span_marks_what_safe_harbor_lets_stay():
    text = "age 45, age 93, in 2019, on 3/4/2019"
    assert not gold_span(text, 4, 6, "AGE").hipaa and gold_span(text, 12, 14, "AGE").hipaa
    assert not gold_span(text, 19, 23, "DATE").hipaa and gold_span(text, 28, 36, "DATE").hipaa
    assert gold_span(text, 0, 3, "PROFESSION") == GoldSpan(0, 3, "PROFESSION", False, "PROFESSION")


def test_cli_reads_i2b2_xml_and_drops_the_tags(tmp_path):
    from privacy.deid.__main__ import main

    src = tmp_path / "in"
    src.mkdir()
    (src / "n1.xml").write_text('<?xml version="1.0"?><deIdi2b2><TEXT><![CDATA[Record date: 2069-04-07\n'
                                'Mr. Villegas is seen today.\nXGT:holmes\n]]></TEXT><TAGS>'
                                '<NAME id="P1" start="29" end="37" TYPE="PATIENT" text="Villegas"/></TAGS></deIdi2b2>')
    (src / "n2.txt").write_text("Seen by Dr. Tavares on 3/80.")
    assert main([str(src), str(tmp_path / "out"), "--method", "mask", "--date-mode", "mask"]) == 0
    xml_out = (tmp_path / "out" / "n1.xml").read_text()
    assert "<TEXT>" in xml_out and "is seen today" in xml_out
    for phi in ("Villegas", "holmes", "2069", "TAGS"):
        assert phi not in xml_out
    txt_out = (tmp_path / "out" / "n2.txt").read_text()
    assert "Tavares" not in txt_out and "3/80" not in txt_out


@pytest.mark.parametrize("text,value", [
    ("cc: church\n", "church"),
    ("Signed by: john villegas\n", "john villegas"),
    ("He works at Fulton Tool & Die as a machinist.", "Fulton Tool & Die"),
    ("A ninety-two year old man.", "ninety-two"),
    ("Unit number 5-5487412 on file.", "5-5487412"),
    ("Call back at extension 84710 please.", "84710"),
])
def test_lower_case_labels_employers_spelled_ages_and_bare_numbers(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize("text", [
    "cc: patient and family\n",
    "Reviewed by: the attending team\n",
    "He works at home and retired from teaching.",
    "A man on heparin 25000 units and 10000 mg total.",
])
def test_lower_case_labels_employers_and_numbers_negatives(deid, text):
    assert found(deid, text) == {}


def test_safe_list_vocabularies_ship_with_their_packages():
    from privacy.deid.safelist import census_names, zipf

    assert {"smith", "villegas", "mary"} <= census_names() and "sternal" not in census_names()
    assert zipf("clear") > 5 > zipf("villegas") > zipf("xzavian") == 0


def test_found_names_propagate_to_lower_case_but_common_words_do_not(deid):
    out = deid.deidentify("Dr. Villegas and Dr. Rose saw him. villegas agreed; a rose was on the table.").text
    assert "villegas" not in out and "a rose was" in out


def test_date_ranges_and_two_digit_years(deid):
    assert removed(deid, "admitted 1/14-1/18 for CHF", "1/18") and removed(deid, "Date: 7 Apr 69", "69")
    assert found(deid, "pain 3/10-5/10, BP 120/80-130/85") == {}


def test_general_and_regional_end_hospital_names(deid):
    assert found(deid, "Transferred from Ashtabula General for cath.") == {"Ashtabula General": "HOSPITAL"}
    assert found(deid, "In General, he is well. The Surgeon General warns. General: well appearing.") == {}
