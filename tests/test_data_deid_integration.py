"""The data pipeline with the real de-identifier: the two halves agree on the interface and the result is clean."""

from __future__ import annotations

import csv

import pytest

from client.data import prepare_hospital_data
from common.config import RunConfig
from privacy.deid import Deidentifier
from simulations.synthetic.hospital import generate_hospital


@pytest.fixture(scope="module")
def deidentifier():
    return Deidentifier.from_config(RunConfig().deid)


def test_synthetic_hospital_through_presidio_keeps_no_known_identifier(tmp_path, deidentifier):
    generate_hospital(tmp_path / "h", 0, seed=3, scale=12)
    cfg = RunConfig().replace(**{"data.cache-dir": str(tmp_path / "cache")})
    prepared = prepare_hospital_data(tmp_path / "h", cfg, deidentifier)
    with open(tmp_path / "h" / "ehr" / "patients.csv", newline="") as f:
        patients = list(csv.DictReader(f))
    known = {p[k] for p in patients for k in ("mrn", "last_name") if p.get(k)}
    texts = [n.text for n in prepared.train.notes + prepared.heldout.notes]
    assert texts and known
    leaks = sum(value in text for value in known for text in texts)
    assert leaks == 0
    card = prepared.card
    assert card.identifiers.get("PERSON", 0) > 0 and card.residual_rate <= cfg.deid.max_residual_rate
    assert "data.identifiers.residual-rate" in card.to_metrics()


def test_ehr_narratives_reach_presidio_in_their_original_case(tmp_path, deidentifier):
    """Lower-cased by str.capitalize(), the clinician, hospital and town of an encounter went unmasked."""
    (tmp_path / "patients.csv").write_text("patient_id,birth_date,sex\np1,1950-02-01,F\n")
    (tmp_path / "encounters.csv").write_text(
        "encounter_id,patient_id,date,department,reason\n"
        "e1,p1,2024-01-10,Whitcombe Memorial Hospital,chest pain reviewed by Dr Amos Whitcombe in Springfield Ohio\n")
    cfg = RunConfig().replace(**{"data.cache": False, "data.quality-filter": False, "data.eval-fraction": 0.0})
    (note,) = prepare_hospital_data(tmp_path, cfg, deidentifier).train.notes
    for identifier in ("Amos", "Whitcombe", "Springfield", "whitcombe", "springfield", "amos"):
        assert identifier not in note.text
