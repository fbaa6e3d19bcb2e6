"""Client-level DP: hospitals weigh the same in the noisy mean, and Flower's accountant survives a restart."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict

from common.config import ConfigError, RunConfig
from privacy.dp.client_level import (
    UNIFORM_WEIGHT,
    CoordinatorPrivacy,
    aggregation_weight_key,
    client_level_accountant,
    client_weight_metric,
    compose_release,
    held_out_metrics_by_examples,
    with_client_level_dp,
)
from server.strategies import build_strategy


def _config(**overrides) -> RunConfig:
    return RunConfig.from_flat({"dp.client-level": "server-fixed", "dp.client-noise-multiplier": 0.0,
                                "dp.client-clipping-norm": 1e6, "simulation.num-hospitals": 2, **overrides})


def _reply(value: float, examples: int, cfg: RunConfig) -> Message:
    metrics = MetricRecord({"num-examples": examples, **client_weight_metric(cfg)})
    arrays = ArrayRecord({"w": Array(np.full(3, value, dtype=np.float32))})
    return Message(RecordDict({"arrays": arrays, "metrics": metrics}), dst_node_id=0, message_type="train")


def test_under_client_level_dp_every_hospital_weighs_the_same(flower_task):
    # A hospital with 9x the examples would otherwise move the mean 9x as far as the noise assumes.
    for level, expected in (("none", 0.92), ("server-fixed", 0.6)):
        cfg = _config(**{"dp.client-level": level})
        strategy = with_client_level_dp(build_strategy(cfg.strategy, aggregation_weight_key(cfg)), cfg)
        initial = ArrayRecord({"w": Array(np.zeros(3, dtype=np.float32))})
        if level != "none":  # Flower's server-side wrapper clips against the arrays it last sent
            strategy.current_arrays = initial
        arrays, _ = strategy.aggregate_train(1, [_reply(0.2, 1, cfg), _reply(1.0, 9, cfg)])
        np.testing.assert_allclose(arrays["w"].numpy(), expected, atol=1e-6)


def test_held_out_scores_still_weigh_by_examples(flower_task):
    # Evaluation is not the noised release: the federation's held-out loss is a mean over its examples.
    cfg = _config()
    strategy = with_client_level_dp(build_strategy(cfg.strategy, aggregation_weight_key(cfg),
                                                   held_out_metrics_by_examples), cfg)
    replies = [Message(RecordDict({"metrics": MetricRecord({"num-examples": n, "eval-loss": loss,
                                                            **client_weight_metric(cfg)})}),
                       dst_node_id=0, message_type="evaluate") for n, loss in ((1, 1.0), (9, 2.0))]
    metrics = strategy.aggregate_evaluate(1, replies)
    assert metrics["eval-loss"] == pytest.approx(1.9) and UNIFORM_WEIGHT not in metrics


def test_accountant_round_trips_and_refuses_an_undeclared_hospital():
    cfg = _config(**{"dp.client-noise-multiplier": 1.0})
    accountant = client_level_accountant(cfg)
    for _ in range(3):
        compose_release(accountant, cfg, 2)
    restarted = client_level_accountant(cfg)
    restarted.load_state_dict(accountant.state_dict())
    assert restarted.num_releases == 3
    assert restarted.get_epsilon(cfg.dp.delta) == accountant.get_epsilon(cfg.dp.delta) > 0
    with pytest.raises(ConfigError, match="dp.client-population"):
        compose_release(accountant, cfg, 3)
    assert client_level_accountant(_config()) is None  # σ = 0: nothing to account, ε is reported as infinite


def test_the_coordinators_privacy_object_charges_rounds_and_survives_a_restart():
    cfg = _config(**{"dp.client-noise-multiplier": 1.0})
    privacy = CoordinatorPrivacy(cfg)
    privacy.charge(2)
    privacy.charge(2)
    restarted = CoordinatorPrivacy(cfg)
    restarted.load_state_dict(privacy.state_dict())
    summary = restarted.summary(history=[])["client_level"]
    assert summary["releases"] == 2 and summary["epsilon"] == privacy.accountant.get_epsilon(cfg.dp.delta) > 0
    off = CoordinatorPrivacy(_config(**{"dp.client-level": "none"}))
    off.charge(2)  # nothing to charge
    assert off.state_dict() is None and "client_level" not in off.summary(history=[])
    assert off.wrap(strategy := build_strategy(cfg.strategy)) is strategy
