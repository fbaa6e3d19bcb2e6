"""The hospital data pipeline end to end: formats in, split stage datasets and a data card out."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from client.data import DataError, prepare_hospital_data
from common.config import RunConfig
from simulations.synthetic.hospital import generate_hospital


@dataclass
class FakeResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)
    residual: int = 0


class FakeDeidentifier:
    """Replaces 8-digit numbers (the synthetic MRNs) so the test can see de-identification happened."""

    def __init__(self, fingerprint: str = "fake-eight-digit-mask") -> None:
        self.calls = 0
        self.fingerprint = fingerprint

    def deidentify_batch(self, texts, patients=None):
        self.calls += 1
        out = []
        for t in texts:
            new, n = re.subn(r"\b\d{8}\b", "[ID]", t)
            out.append(FakeResult(new, {"ID": n} if n else {}))
        return out


def config(**overrides) -> RunConfig:
    return RunConfig().replace(**overrides)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hospital")
    generate_hospital(path, 0, seed=0, scale=40)
    return path


def test_refuses_raw_text_when_deid_is_on_but_missing(hospital):
    with pytest.raises(DataError, match="no-deidentifier"):
        prepare_hospital_data(hospital, config())


def test_synthetic_hospital_is_deidentified_split_and_counted(hospital, tmp_path):
    deid = FakeDeidentifier()
    prepared = prepare_hospital_data(hospital, config(**{"data.cache-dir": str(tmp_path)}), deid)
    train, heldout = prepared.train, prepared.heldout
    assert train.notes and train.conversations and train.preferences
    assert heldout.notes and heldout.conversations
    assert not any(re.search(r"\b\d{8}\b", n.text) for n in train.notes + heldout.notes)
    progress_notes = [n for n in train.notes + heldout.notes if n.note_id.startswith("hospital-0-n")]
    assert progress_notes and prepared.card.identifiers["ID"] >= len(progress_notes)  # one MRN each
    train_patients = {n.patient_id for n in train.notes} - {""}  # knowledge paragraphs have no patient
    assert train_patients.isdisjoint(n.patient_id for n in heldout.notes)
    metrics = prepared.card.to_metrics()
    assert all(isinstance(v, (int, float)) for v in metrics.values())
    assert metrics["data.tokens.cp.train"] > 0


def test_split_is_deterministic_by_seed(hospital, tmp_path):
    cfg = config(**{"deid.enabled": False, "data.cache": False, "data.eval-fraction": 0.3})
    a = prepare_hospital_data(hospital, cfg)
    b = prepare_hospital_data(hospital, cfg)
    c = prepare_hospital_data(hospital, cfg.replace(**{"run.seed": 7}))
    ids = lambda p: [n.note_id for n in p.heldout.notes]  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)
    assert len(a.heldout.notes) == pytest.approx(0.3 * (len(a.train.notes) + len(a.heldout.notes)), abs=2)


def test_rerun_hits_the_cache_and_filter_changes_do_not_redo_deid(hospital, tmp_path):
    cfg = config(**{"data.cache-dir": str(tmp_path / "cache")})
    deid = FakeDeidentifier()
    first = prepare_hospital_data(hospital, cfg, deid)
    calls = deid.calls
    second = prepare_hospital_data(hospital, cfg, deid)
    assert (first.card.cache_hit, second.card.cache_hit) == (False, True)
    assert deid.calls == calls
    assert second.train.notes == first.train.notes and second.heldout.conversations == first.heldout.conversations
    assert second.card.identifiers == first.card.identifiers
    third = prepare_hospital_data(hospital, cfg.replace(**{"data.min-chars": 60}), deid)
    assert not third.card.cache_hit and deid.calls == calls  # re-filtered from cached de-identified records


def test_a_deidentifier_with_another_fingerprint_misses_the_cache(hospital, tmp_path):
    cfg = config(**{"data.cache-dir": str(tmp_path / "cache")})
    prepare_hospital_data(hospital, cfg, FakeDeidentifier())
    same, changed = FakeDeidentifier(), FakeDeidentifier("fake-with-other-rules")
    assert prepare_hospital_data(hospital, cfg, same).card.cache_hit and same.calls == 0
    assert not prepare_hospital_data(hospital, cfg, changed).card.cache_hit and changed.calls > 0


def test_changed_input_misses_the_cache(tmp_path):
    folder = tmp_path / "h"
    generate_hospital(folder, 1, seed=0, scale=10)
    cfg = config(**{"deid.enabled": False})
    prepare_hospital_data(folder, cfg)
    with open(folder / "preferences.jsonl", "a") as f:
        f.write('{"prompt": "Which drug treats gout flares?", "chosen": "Colchicine treats gout flares.", '
                '"rejected": "Antibiotics."}\n')
    again = prepare_hospital_data(folder, cfg)
    assert not again.card.cache_hit
    assert (folder / ".medfed-cache").is_dir()


def test_ehr_deny_lists_fail_closed_when_the_deidentifier_cannot_be_imported(hospital, tmp_path, monkeypatch):
    # Without privacy.deid the EHR patients' names would go unmasked: the hospital must stop, not train on.
    monkeypatch.setitem(sys.modules, "privacy.deid", None)  # makes `from privacy.deid import ...` fail
    with pytest.raises(ImportError, match="privacy.deid"):
        prepare_hospital_data(hospital, config(**{"data.cache": False}), FakeDeidentifier())
