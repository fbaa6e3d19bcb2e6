"""deid.scope: 'all-phi' (the default) also removes the i2b2 PHI that Safe Harbor keeps; 'safe-harbor' keeps it."""

from __future__ import annotations

import json

import pytest

from client.policy import HospitalPolicy
from common.config import DeidSection, RunConfig
from privacy.deid import Deidentifier
from privacy.deid.all_phi import PROFESSIONS, all_phi_recognizers
from privacy.deid.evaluation import GoldNote, PredictedSpan, gold_span, token_metrics
from privacy.deid.surrogates import KeyedSurrogates

SECRET = b"hospital-secret"


@pytest.fixture(scope="module")
def all_phi() -> Deidentifier:
    return Deidentifier.from_config(DeidSection())


@pytest.fixture(scope="module")
def safe_harbor() -> Deidentifier:
    return Deidentifier.from_config(DeidSection(scope="safe-harbor"))


def found(deid: Deidentifier, text: str) -> dict[str, str]:
    return {text[s.start:s.end]: s.entity_type for s in deid.analyze_batch([text])[0]}


def all_phi_hits(text: str) -> list[tuple[str, str]]:
    """What the all-PHI recognizers alone find (no NER, no Safe Harbor rules)."""
    return [(r.entity_type, text[r.start:r.end]) for rec in all_phi_recognizers()
            for r in rec.analyze(text, rec.supported_entities)]


def test_all_phi_is_the_default():
    assert DeidSection().scope == "all-phi" and RunConfig().deid.scope == "all-phi"


POSITIVES = [
    ("She is a 67 yo woman.", "AGE", "67"),
    ("A 67-year-old man with CHF.", "AGE", "67"),
    ("67 y/o with chest pain.", "AGE", "67"),
    ("67M with HTN presents.", "AGE", "67"),
    ("Pt is a 45 year old female.", "AGE", "45"),
    ("He is 58 years old.", "AGE", "58"),
    ("Age: 67", "AGE", "67"),
    ("PT: LEE, ANN | DOB 1-9-48 | 67 yrs | ACCT 4417", "AGE", "67"),
    ("Aged 8, she had asthma.", "AGE", "8"),
    ("Diagnosed at the age of 34.", "AGE", "34"),
    ("A man in his 60s.", "AGE", "60s"),
    ("A sixty-seven year old man.", "AGE", "sixty-seven"),
    ("He is a retired teacher.", "PROFESSION", "teacher"),
    ("Works as a longshoreman at the port.", "PROFESSION", "longshoreman"),
    ("Occupation: electrician", "PROFESSION", "electrician"),
    ("She is a nurse.", "PROFESSION", "nurse"),
    ("Former police officer, quit smoking.", "PROFESSION", "police officer"),
    ("Boston, MA 02114", "STATE", "MA"),
    ("Portland, OR 97201", "STATE", "OR"),
    ("Moved here from Texas last year.", "STATE", "Texas"),
    ("Her son lives in North Carolina.", "STATE", "North Carolina"),
    ("Visiting from Georgia.", "STATE", "Georgia"),
    ("Dover, DE.", "STATE", "DE"),
    ("Born in Haiti, came to the US in 1990.", "COUNTRY", "Haiti"),
    ("Emigrated from VIETNAM.", "COUNTRY", "VIETNAM"),
    ("Patient in Room 12.", "ROOM", "12"),
    ("Moved to Rm 4B overnight.", "ROOM", "4B"),
    ("ED bed 3.", "ROOM", "3"),
    ("Transferred to Bigelow 11 for telemetry.", "DEPARTMENT", "Bigelow 11"),
    ("Admitted to the Phillips House Wing.", "DEPARTMENT", "Phillips House Wing"),
    ("Fell while jogging near Fenway Park.", "LOCATION_OTHER", "Fenway Park"),
    ("Age: seventy-four   Arrival: 5/5", "AGE", "seventy-four"),
    ("Age/Sex: 66/F\nCollected: 10/24", "AGE", "66"),
    ("A 57-year-old dental hygienist with DM.", "PROFESSION", "dental hygienist"),
    ("Pt is a 75 yo former social worker.", "PROFESSION", "social worker"),
    ("Moved in with family in Marlborough, MA after Easter.", "STATE", "MA"),
    ("Concord, N.Y. 01235", "STATE", "N.Y."),
    ("ROOM: Bed 21   SERVICE: Nephrology", "ROOM", "Bed 21"),
    ("ROOM: Bed 21   SERVICE: Nephrology", "DEPARTMENT", "Nephrology"),
    ("Admitted to Vascular Surgery, bed 4.", "DEPARTMENT", "Vascular Surgery"),
    ("Seen by Dr. Lu in Endocrinology on 3/4.", "DEPARTMENT", "Endocrinology"),
    ("Referred by: HALE, IVY J, Hematology/Oncology", "DEPARTMENT", "Hematology/Oncology"),
    ("Nina Hale, MD\nAnticoagulation Clinic\n", "DEPARTMENT", "Anticoagulation Clinic"),
    ("Follow up with Dr. Lu, Ellery 6 North, in May.", "DEPARTMENT", "Ellery 6 North"),
]


@pytest.mark.parametrize("text,entity,value", POSITIVES, ids=[p[0][:30] for p in POSITIVES])
def test_each_all_phi_recognizer_finds_its_shape(text, entity, value):
    assert (entity, value) in all_phi_hits(text)


NEGATIVES = [
    "Grade 2/6 systolic murmur.", "T2 hyperintensity on MRI.", "Abdomen soft, NT, ND.", "Soft, ND, +BS.",
    "History of MS, on interferon.", "Taken to the OR in stable condition.", "Metoprolol 67 mg daily.",
    "Diabetes for 10 years.", "Smoker | quit 20 years ago |", "Placed a 14 F Foley.", "T 99 F overnight.", "On room air, bed rest.",
    "Started on Lasix 40 daily.", "Follow up in the Cardiac Care Unit.", "Seen by Smith, MD.", "Jones, PA, saw her.",
    "US abdomen unremarkable.", "Occupation: none", "Dr. Virginia Hunt saw him.", "Washington was at bedside.",
    "Return on Day 3 to the Nursing Station.", "IN: 1200 mL, OUT: 800 mL.", "Reviewed with the team, OK to discharge.",
    "Signed by Ann Page, M.D. on arrival.", "Admitted to Medicine for observation.", "Refer to Ophthalmology for a dilated exam.",
    "Admitted to MICU overnight.", "Discussed with Cardiology today.", "Age 5/10 on the scale.",
]


@pytest.mark.parametrize("text", NEGATIVES, ids=[t[:30] for t in NEGATIVES])
def test_all_phi_recognizers_leave_clinical_text(text):
    assert all_phi_hits(text) == []


def test_scope_decides_what_is_removed(all_phi, safe_harbor):
    text = "A 67 yo retired teacher from Texas, born in Haiti, now in Room 12."
    kept = safe_harbor.deidentify(text).text
    removed = all_phi.deidentify(text).text
    for value in ("67", "teacher", "Texas", "Haiti", "Room 12"):
        assert value in kept
    for value in ("67", "teacher", "Texas", "Haiti", "12"):
        assert value not in removed, removed
    assert removed.count("[AGE]") == 1 and "[PROFESSION]" in removed and "[STATE]" in removed


def test_safe_harbor_keeps_states_in_addresses_and_ages_under_90(all_phi, safe_harbor):
    text = "Lives at 12 Oak Street, Springfield, IL 62704. A seventy-two year old man."
    kept = safe_harbor.deidentify(text).text
    assert "IL" in kept and "seventy-two" in kept and "Springfield" not in kept
    removed = all_phi.deidentify(text).text
    assert "IL" not in removed and "seventy-two" not in removed


def test_under_all_phi_every_age_is_masked_and_only_90_plus_folds_birth_years(all_phi, safe_harbor):
    assert "[AGE]" in all_phi.deidentify("A 93 yo man.").text  # mask mode: no age left, not even 90+
    assert "90+" in safe_harbor.deidentify("A 93 yo man.").text
    assert "2019" in all_phi.deidentify("A 67 yo man seen in 2019.").text  # a 67-year-old's years stay


def test_all_phi_with_dates_masked_removes_years_written_alone(all_phi):
    masked = Deidentifier.from_config(DeidSection(date_mode="mask"))
    text = "Symptoms since 2087. Metoprolol 2000 mg? No: 1900 kcal diet, shift 0700-1900."
    out = masked.deidentify(text).text
    assert "2087" not in out and "2000 mg" in out and "1900 kcal" in out and "0700-1900" in out, out
    assert "2087" in all_phi.deidentify(text).text  # date-mode year keeps the year


def test_fingerprint_changes_with_scope(all_phi, safe_harbor):
    assert all_phi.fingerprint != safe_harbor.fingerprint


def test_surrogates_are_plausible_and_consistent():
    keyed = KeyedSurrogates(SECRET)
    assert keyed.age("67") == keyed.age("67") and keyed.age("67").startswith("6") and keyed.age("93") == "90+"
    assert keyed.profession("carpenter") == keyed.profession("Carpenter")
    assert keyed.profession("carpenter") != "carpenter" or keyed.profession("welder") != "welder"
    assert len(keyed.state("TX")) == 2 and keyed.state("TX").isupper() and len(keyed.state("Texas")) > 2
    assert keyed.country("Haiti")[0].isupper() and keyed.replace("ROOM", "4B")[-1].isalpha()
    surrogate = Deidentifier.from_config(DeidSection(method="surrogate"), SECRET)
    text = surrogate.deidentify("A 67 yo retired teacher from Texas.").text
    assert "[" not in text and "teacher" not in text and "Texas" not in text, text
    assert any(p in text for p in ("teacher", "electrician", "accountant", "carpenter", "librarian", "mechanic",
                                   "clerk", "engineer", "cook", "painter", "farmer", "driver"))


def test_professions_list_has_no_duplicates():
    assert len(PROFESSIONS) == len(set(PROFESSIONS))


def test_cli_scope_flag(tmp_path):
    from privacy.deid.__main__ import main

    note = tmp_path / "n.txt"
    note.write_text("A 67 yo retired teacher from Texas.")
    assert main([str(note), str(tmp_path / "default.txt"), "--method", "mask", "--date-mode", "mask"]) == 0
    assert main([str(note), str(tmp_path / "sh.txt"), "--scope", "safe-harbor"]) == 0
    assert "67" not in (tmp_path / "default.txt").read_text() and "teacher" not in (tmp_path / "default.txt").read_text()
    assert "67 yo retired teacher from Texas" in (tmp_path / "sh.txt").read_text()


def test_policy_requiring_all_phi_refuses_safe_harbor_and_safe_harbor_accepts_both():
    weaker = RunConfig().replace(**{"deid.scope": "safe-harbor"})
    assert any("deid.scope=safe-harbor" in r for r in HospitalPolicy().refusals(weaker))
    lenient = HospitalPolicy(deid_scope="safe-harbor")
    assert lenient.refusals(weaker) == [] and lenient.refusals(RunConfig()) == []


def test_benchmark_counts_all_phi_categories_by_hand():
    # Tokens: A 67 yo teacher from Texas saw Dr Lee  -> gold: 67 (AGE, not Safe Harbor), Texas (STATE), Lee.
    text = "A 67 yo teacher from Texas saw Dr Lee"
    note = GoldNote("n", text, [gold_span(text, 2, 4, "AGE"), gold_span(text, 21, 26, "STATE"),
                                gold_span(text, 34, 37, "DOCTOR")])
    assert [s.hipaa for s in note.spans] == [False, False, True]
    safe_harbor = [PredictedSpan(34, 37, "NAME", "names")]
    report = token_metrics([note], [safe_harbor])
    assert report["overall"]["recall"] == 1.0 and report["all_phi"]["recall"] == round(1 / 3, 4)
    assert report["all_phi"]["precision"] == 1.0
    all_phi = safe_harbor + [PredictedSpan(2, 4, "AGE", "AgeRecognizer"), PredictedSpan(21, 26, "LOCATION", "StateRecognizer"),
                             PredictedSpan(8, 15, "PROFESSION", "ProfessionRecognizer")]  # "teacher": not annotated here
    report = token_metrics([note], [all_phi])
    assert report["overall"]["recall"] == 1.0 and report["all_phi"]["recall"] == 1.0
    assert report["all_phi"]["true_positive_tokens"] == 3 and report["all_phi"]["false_positive_tokens"] == 1
    # A corpus that does not annotate professions: the teacher token is counted apart, not as an error.
    apart = token_metrics([note], [all_phi], frozenset({"ProfessionRecognizer"}))
    assert apart["all_phi"]["false_positive_tokens"] == 0 and apart["unannotated_tokens"] == 1
    # ...but a gold token found only by such a recognizer is still a true positive.
    assert token_metrics([note], [all_phi], frozenset({"AgeRecognizer"}))["all_phi"]["true_positive_tokens"] == 3


def test_scope_is_read_from_json_config_keys():
    cfg = RunConfig.from_flat({**RunConfig().to_flat(), "deid.scope": "safe-harbor"})
    assert cfg.deid.scope == "safe-harbor"
    with pytest.raises(Exception, match="deid.scope"):
        RunConfig.from_flat({**RunConfig().to_flat(), "deid.scope": json.dumps("none")})
