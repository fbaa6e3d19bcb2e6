"""Privacy units under DP-SGD: a unit's rows are clipped together (a preference pair, a patient's records).

A one-layer linear model and plain SGD make the update exactly -lr x (sum of clipped unit gradients) /
(expected units per batch), so what each unit may contribute can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from privacy.dp import DPStep, make_private
from privacy.dp.engine import count_units, sample_rate


@dataclass(frozen=True)
class Row:
    x: tuple[float, ...]
    unit: str = ""


class Squared:
    """One row per example; loss (w·x - 1)^2."""

    def collate(self, examples):
        return {"x": torch.tensor([e.x for e in examples])}

    def per_sample_loss(self, model, batch):
        return (model(batch["x"]).squeeze(-1) - 1) ** 2, len(batch["x"])


class Paired:
    """Two rows per example, laid out as HA lays out chosen and rejected rows: one loss per pair."""

    def collate(self, examples):
        return {"x": torch.tensor([e.x for e in examples] + [tuple(-v for v in e.x) for e in examples])}

    def per_sample_loss(self, model, batch):
        scores = model(batch["x"]).squeeze(-1)
        pairs = len(scores) // 2
        return -torch.nn.functional.logsigmoid(scores[:pairs] - scores[pairs:]), pairs


def _update(objective, examples, step: DPStep) -> torch.Tensor:
    """The parameter change of one DP-SGD step at sample rate 1 (step.batch_size >= units), SGD with lr 1."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1, bias=False)
    torch.nn.init.constant_(model.weight, 0.1)
    before = model.weight.detach().clone()
    training = make_private(model, torch.optim.SGD(model.parameters(), lr=1.0), examples, step, steps=1, seed=0)
    try:
        for chunk in training.batches(examples):
            training.loss(objective, objective.collate(chunk)).backward()
            training.step()
    finally:
        training.close()
    return (model.weight.detach() - before).flatten()


def _plain_update(objective, examples) -> torch.Tensor:
    model = torch.nn.Linear(3, 1, bias=False)
    torch.nn.init.constant_(model.weight, 0.1)
    losses, _ = objective.per_sample_loss(model, objective.collate(examples))
    losses.mean().backward()
    return -model.weight.grad.flatten()


def test_a_pairs_two_rows_match_plain_training_and_are_clipped_together():
    pairs = [Row((1.0, 0.0, 2.0)), Row((0.0, 3.0, 1.0))]
    free = _update(Paired(), pairs, DPStep(0.0, 1e6, sample_rate=1.0))
    torch.testing.assert_close(free, _plain_update(Paired(), pairs))
    # One pair, a tiny C: the whole pair moves the model by C, not by C per row.
    moved = _update(Paired(), pairs[:1], DPStep(0.0, 1e-3, sample_rate=1.0))
    assert moved.norm().item() == pytest.approx(1e-3, rel=1e-4)


def test_a_patient_with_many_records_contributes_one_clipped_gradient():
    records = [Row((1.0, 2.0, 0.5), "p1")] * 4 + [Row((0.0, 1.0, 1.0), "p2")]
    assert count_units(records, "patient") == 2 and count_units(records, "record") == 5
    clip = 1e-3
    record_level = _update(Squared(), records, DPStep(0.0, clip, sample_rate=1.0))
    patient_level = _update(Squared(), records, DPStep(0.0, clip, sample_rate=1.0, unit="patient"))
    # Every unit's gradient is clipped to exactly C: sums of unit directions over the expected units.
    g1 = _plain_update(Squared(), records[:1])
    g2 = _plain_update(Squared(), records[4:])
    direction = g1 / g1.norm() * clip, g2 / g2.norm() * clip
    torch.testing.assert_close(record_level, (4 * direction[0] + direction[1]) / 5)
    torch.testing.assert_close(patient_level, (direction[0] + direction[1]) / 2)


def test_records_without_a_patient_stay_their_own_unit_and_the_cap_bounds_a_patient():
    records = [Row((1.0, 0.0, 0.0), "p1")] * 5 + [Row((0.0, 1.0, 0.0))] * 2
    assert count_units(records, "patient") == 3
    training = make_private(torch.nn.Linear(3, 1), torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                            records, DPStep(1.0, 1.0, sample_rate=sample_rate(3, 3), unit="patient", max_records_per_unit=2),
                            steps=1, seed=0)
    try:
        assert sorted(len(g) for g in training.groups) == [1, 1, 2]
        assert training.sample_rate == 1.0
    finally:
        training.close()
