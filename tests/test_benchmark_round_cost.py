"""round_cost's arithmetic on recorded numbers: the reference ratio, per-round overhead and evaluation shares."""

from __future__ import annotations

import pytest

from common.tokens import IGNORE, Example
from simulations.benchmarks.round_cost import full_rows, round_rows, summarise, throughput_ratio

# Four interleaved trials as a run recorded them: reference, medfed, reference, medfed.
TRIALS = [{"loop": "reference", "tokens": 3072, "seconds": 24.0}, {"loop": "medfed", "tokens": 2900, "seconds": 20.0},
          {"loop": "reference", "tokens": 3072, "seconds": 32.0}, {"loop": "medfed", "tokens": 2800, "seconds": 25.0}]


def test_throughput_ratio_pools_each_loop_and_reports_every_pair():
    result = throughput_ratio(TRIALS)
    assert result["reference_tokens_per_second"] == pytest.approx(6144 / 56)
    assert result["medfed_tokens_per_second"] == pytest.approx(5700 / 45)
    assert result["ratio"] == pytest.approx((5700 / 45) / (6144 / 56))
    assert result["pair_ratios"] == pytest.approx([(2900 / 20) / (3072 / 24), (2800 / 25) / (3072 / 32)])
    assert result["median_pair_ratio"] == pytest.approx(sum(result["pair_ratios"]) / 2)


def _round(n, seconds, train, evaluate, local):
    hospitals = {f"h{i}": {"train.train-seconds": t, "train.tokens-per-second": 100.0 + i, "train.quantized-4bit": 1,
                           "train.peak-rss-mb": 900.0 + i} for i, t in enumerate(local)}
    return {"server_round": n, "seconds": seconds, "train_seconds": train, "evaluate_seconds": evaluate,
            "bytes_up": 3000 * len(local), "bytes_down": 3000 * len(local), "hospitals": hospitals}


def test_round_rows_give_overhead_and_evaluation_shares_and_steady_rounds_skip_the_first():
    rows = round_rows([_round(1, 100.0, 80.0, 20.0, [30.0, 30.0]),  # model load and data preparation: 20 s overhead
                       _round(2, 50.0, 40.0, 10.0, [19.0, 19.0]),
                       _round(3, 50.0, 40.0, 10.0, [18.0, 18.0])])
    assert [r["overhead_share"] for r in rows] == pytest.approx([0.25, 0.05, 0.1])
    assert [r["evaluation_share"] for r in rows] == pytest.approx([0.2, 0.2, 0.2])
    summary = summarise(rows, base_model_bytes=600_000)
    assert summary["steady_overhead_share_max"] == pytest.approx(0.1)
    assert summary["targets"] == {"bytes_ratio_le_1pct": True, "overhead_le_10pct": True}
    assert summary["bytes_ratio_per_hospital_round"] == pytest.approx(0.005)
    assert summary["mean_tokens_per_second"] == pytest.approx(100.5)


def test_reference_rows_are_full_and_keep_the_labels_in_step():
    examples = [Example([1, 2, 3], [IGNORE, 2, 3]), Example([4, 5], [IGNORE, 5]), Example([6, 7, 8], [IGNORE, 7, 8])]
    ids, labels = full_rows(examples, 3)
    assert ids == [[1, 2, 3], [4, 5, 6]] and labels == [[IGNORE, 2, 3], [IGNORE, 5, IGNORE]]


def test_scale_fit_is_a_least_squares_line_and_flags_a_point_off_it():
    from simulations.benchmarks.scale import federation_point, linear_fit

    points = [{"tokens_per_round": x, "train_phase_seconds": 2.0 + 0.01 * x} for x in (100, 200, 400, 800)]
    fit = linear_fit(points)
    assert fit["intercept_seconds"] == pytest.approx(2.0) and fit["seconds_per_token"] == pytest.approx(0.01)
    assert fit["within_15pct"] and max(fit["relative_deviation"]) == pytest.approx(0.0, abs=1e-9)
    points[1]["train_phase_seconds"] *= 1.5
    assert not linear_fit(points)["within_15pct"]

    def row(n, train):
        return {"server_round": n, "seconds": train + 1, "train_seconds": train, "hospitals": {
            "h0": {"train.train-tokens": 500, "train.num-examples": 5, "train.process-model-loads": 1},
            "h1": {"train.train-tokens": 300, "train.num-examples": 3, "train.process-model-loads": 1}}}

    point = federation_point(2, [row(1, 30.0), row(2, 10.0), row(3, 12.0)])
    assert point["train_phase_seconds"] == pytest.approx(11.0) and point["tokens_per_round"] == 800
    assert point["rows_per_round"] == 8 and point["max_model_loads_per_process"] == 1
