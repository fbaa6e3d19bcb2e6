"""A stage's strategy stack: DP wrapper outside, LoRA-aware aggregation in the middle, Flower's strategy inside."""

from __future__ import annotations

import pytest
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    FedMedian,
    FedProx,
)

from common.config import STRATEGIES, RunConfig
from privacy.dp.client_level import UNIFORM_WEIGHT, CoordinatorPrivacy
from server.aggregation import ExactLoRA
from server.flower_strategies import FLOWER_STRATEGIES
from server.strategies import build_stack, build_strategy
from server.strategy_state import _chain


def _stack(name: str = "fedavg", **overrides):
    cfg = RunConfig.from_flat(overrides)
    return [type(s) for s in _chain(build_stack(cfg, name, CoordinatorPrivacy(cfg)))]


def test_the_stack_is_dp_outside_exact_lora_in_the_middle_flower_inside():
    assert _stack(**{"dp.client-level": "server-fixed", "strategy.aggregation": "exact"}) == [
        DifferentialPrivacyServerSideFixedClipping, ExactLoRA, FedAvg]
    assert _stack("fedmedian", **{"dp.client-level": "client-adaptive"}) == [
        DifferentialPrivacyClientSideAdaptiveClipping, FedMedian]
    assert _stack("fedprox", **{"strategy.aggregation": "exact"}) == [ExactLoRA, FedProx]
    assert _stack() == [FedAvg]


def test_the_innermost_strategy_weighs_by_the_privacy_objects_key():
    cfg = RunConfig.from_flat({"dp.client-level": "server-fixed"})
    inner = _chain(build_stack(cfg, "fedavg", CoordinatorPrivacy(cfg)))[-1]
    assert inner.weighted_by_key == UNIFORM_WEIGHT


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_name_the_config_accepts_is_built(name):
    assert set(FLOWER_STRATEGIES) == set(STRATEGIES)
    strategy = build_strategy(RunConfig.from_flat({"strategy.name": name}).strategy)
    assert type(strategy).__name__.lower() == name
