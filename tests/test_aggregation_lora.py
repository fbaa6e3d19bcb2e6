"""LoRA-aware aggregation: exact product averaging, mixed ranks, FFA-LoRA, and the valid combinations."""

import pytest
import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAdam, FedAvg, FedAvgM
from flwr.supercore.task_identity import TaskIdentity

from common import lowrank, wire
from common.config import ConfigError, RunConfig
from common.exchange import AdapterExchange
from server.aggregation import ExactLoRA, check_aggregation

ALPHA = 16.0
LAYERS = {"l0.q_proj": (12, 10), "l1.v_proj": (6, 10)}  # prefix -> (out, in)


@pytest.fixture(autouse=True)
def server_identity(monkeypatch):
    """Flower's strategies build messages, which need the run id a ServerApp process would have."""
    monkeypatch.setattr(TaskIdentity, "_run_id", 1)
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 1)


def adapter(rank: int, seed: int, *, zero_b: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for prefix, (out, inp) in LAYERS.items():
        state[f"{prefix}.lora_A.weight"] = torch.randn(rank, inp, generator=g)
        state[f"{prefix}.lora_B.weight"] = torch.zeros(out, rank) if zero_b else torch.randn(out, rank, generator=g)
    return state


def reply(state: dict[str, torch.Tensor], examples: int) -> Message:
    content = RecordDict({"arrays": ArrayRecord(state), "metrics": MetricRecord({"num-examples": examples})})
    return Message(content=content, dst_node_id=1, message_type="train")


class NoGrid:
    def get_node_ids(self):
        return [1, 2, 3]


def run_round(strategy: ExactLoRA, global_state, hospital_states, weights):
    strategy.configure_train(1, ArrayRecord(global_state), ConfigRecord({}), NoGrid())
    arrays, metrics = strategy.aggregate_train(1, [reply(s, w) for s, w in zip(hospital_states, weights)])
    return arrays.to_torch_state_dict(), metrics


def weighted_mean_of_products(states, weights):
    total = sum(weights)
    return {p: sum(w * lowrank.products(s, ALPHA)[p] for s, w in zip(states, weights)) / total for p in LAYERS}


def fedavg_strategy():
    return FedAvg(min_train_nodes=1, min_available_nodes=1)


def test_exact_equals_mean_of_products_when_the_rank_allows_it():
    # Global rank 8 holds the mean of two rank-4 products exactly; the global starts at ΔW = 0 (B = 0).
    hospitals, weights = [adapter(4, 1), adapter(4, 2)], [30, 10]
    result, metrics = run_round(ExactLoRA(fedavg_strategy(), rank=8, alpha=ALPHA), adapter(8, 0, zero_b=True),
                                hospitals, weights)
    expected = weighted_mean_of_products(hospitals, weights)
    got = lowrank.products(result, ALPHA)
    for prefix in LAYERS:
        assert torch.allclose(got[prefix], expected[prefix], atol=1e-5 * expected[prefix].abs().max())
    assert metrics["truncation-error"] < 1e-6
    # FedAvg of factors gets the same inputs measurably wrong (padding aside, mean(B)·mean(A) != mean(B·A)).
    factor_mean = {k: (30 * hospitals[0][k] + 10 * hospitals[1][k]) / 40 for k in hospitals[0]}
    naive = lowrank.products(factor_mean, ALPHA)
    assert (naive["l0.q_proj"] - expected["l0.q_proj"]).norm() > 0.1 * expected["l0.q_proj"].norm()


def test_exact_truncates_to_the_best_rank_r_approximation_and_reports_the_error():
    hospitals, weights = [adapter(4, 3), adapter(4, 4)], [1, 1]
    result, metrics = run_round(ExactLoRA(fedavg_strategy(), rank=4, alpha=ALPHA), adapter(4, 5), hospitals, weights)
    assert lowrank.rank_of(result) == 4
    mean = weighted_mean_of_products(hospitals, weights)
    discarded = total = 0.0
    for prefix, product in mean.items():
        u, s, vh = torch.linalg.svd(product.double(), full_matrices=False)
        best = (u[:, :4] * s[:4]) @ vh[:4]
        assert torch.allclose(lowrank.products(result, ALPHA)[prefix].double(), best, atol=1e-4)
        discarded, total = discarded + float(s[4:].pow(2).sum()), total + float(s.pow(2).sum())
    assert metrics["truncation-error"] == pytest.approx((discarded / total) ** 0.5, rel=1e-4)
    assert metrics["truncation-error"] > 0.05


def test_mixed_ranks_aggregate_and_each_hospital_gets_its_own_rank_back():
    global_state = adapter(8, 6)
    exchange = AdapterExchange("lora", 8, ALPHA, True, "float32", 0)
    sent = {r: exchange.outgoing(global_state, r) for r in (2, 4, 8)}
    hospitals = [{k: v + 0.01 for k, v in sent[r].items()} for r in (2, 4, 8)]
    result, _ = run_round(ExactLoRA(fedavg_strategy(), rank=8, alpha=ALPHA), global_state, hospitals, [1, 1, 1])
    assert lowrank.rank_of(result) == 8
    for r in (2, 4, 8):
        own = exchange.outgoing(result, r)
        assert lowrank.rank_of(own) == r
        wire.validate(exchange.encode(own), exchange.spec(result, r))
        # Slicing SVD-ordered factors is the best rank-r approximation of the global product.
        for prefix, product in lowrank.products(result, ALPHA).items():
            u, s, vh = torch.linalg.svd(product.double(), full_matrices=False)
            best = (u[:, :r] * s[:r]) @ vh[:r]
            assert torch.allclose(lowrank.products(own, ALPHA)[prefix].double(), best, atol=1e-4)


def test_a_lower_rank_hospital_that_did_not_train_leaves_the_global_unchanged():
    # Rank correction: P_g + (P_i - P_g at r_i). Without it, the rank-2 copy would pull the global to rank 2.
    global_state = lowrank.factorise(lowrank.products(adapter(8, 7), ALPHA), lowrank.lora_pairs(adapter(8, 7)), 8,
                                     ALPHA).state
    exchange = AdapterExchange("lora", 8, ALPHA, True, "float32", 0)
    result, _ = run_round(ExactLoRA(fedavg_strategy(), rank=8, alpha=ALPHA), global_state,
                          [exchange.outgoing(global_state, 2), exchange.outgoing(global_state, 8)], [1, 1])
    for prefix, product in lowrank.products(global_state, ALPHA).items():
        assert torch.allclose(lowrank.products(result, ALPHA)[prefix], product, atol=1e-4)


def test_exact_works_with_a_server_optimiser():
    strategy = ExactLoRA(FedAdam(min_train_nodes=1, min_available_nodes=1, eta=0.1), rank=4, alpha=ALPHA)
    global_state = adapter(4, 8)
    for server_round in (1, 2):
        strategy.configure_train(server_round, ArrayRecord(global_state), ConfigRecord({}), NoGrid())
        arrays, metrics = strategy.aggregate_train(server_round, [reply(adapter(4, 9), 1), reply(adapter(4, 10), 1)])
        new_state = arrays.to_torch_state_dict()
        assert set(new_state) == set(global_state) and lowrank.rank_of(new_state) == 4
        assert "truncation-error" in metrics
        global_state = new_state


def random_factors(rank: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Three layers: a generic one, a rank-deficient one (B's columns all alike) and a zero update (B = 0)."""
    state = {}
    for prefix, (out, inp) in {"wide": (6, 10), "deficient": (12, 10), "zero": (12, 10)}.items():
        b = torch.randn(out, rank, generator=g)
        if prefix == "deficient":
            b = b[:, :1].expand(out, rank) * torch.randn(rank, generator=g)
        state[f"{prefix}.lora_A.weight"] = torch.randn(rank, inp, generator=g)
        state[f"{prefix}.lora_B.weight"] = torch.zeros(out, rank) if prefix == "zero" else b
    return state


@pytest.mark.parametrize("hospitals", [1, 2, 3, 4])
def test_factored_mean_is_refactorised_like_the_dense_mean(hospitals):
    # Mixed ranks 4, 2, 1, 3: K = 1 fits the global rank 4, K >= 2 must truncate; the dense SVD is the reference.
    g = torch.Generator().manual_seed(hospitals)
    states = [random_factors(r, g) for r in (4, 2, 1, 3)[:hospitals]]
    weights = [float(w) for w in torch.rand(hospitals, generator=g) + 0.1]
    weights = [w / sum(weights) for w in weights]
    pairs = lowrank.lora_pairs(states[0])
    per_hospital = [lowrank.factored_products(s, ALPHA) for s in states]
    factored = lowrank.weighted_sum(per_hospital, weights)
    dense = {p: left @ right for p, (left, right) in factored.items()}
    reference = {p: sum(w * (h[p][0] @ h[p][1]) for h, w in zip(per_hospital, weights)) for p in pairs}
    for p in pairs:  # the concatenation is the weighted sum itself
        assert torch.allclose(dense[p], reference[p], rtol=0, atol=1e-12 * (1 + reference[p].abs().max()))
    got, expected = lowrank.factorise(factored, pairs, 4, ALPHA), lowrank.factorise(dense, pairs, 4, ALPHA)
    got_products, expected_products = lowrank.products(got.state, ALPHA), lowrank.products(expected.state, ALPHA)
    for p in pairs:
        difference = (got_products[p].double() - expected_products[p].double()).norm()
        assert difference <= 1e-6 * expected_products[p].double().norm()
        a, b = pairs[p]  # the same split of the singular values between B and A (norms are sign-free)
        assert torch.allclose(got.state[a].norm(dim=1), expected.state[a].norm(dim=1), atol=1e-5)
        assert torch.allclose(got.state[b].norm(dim=0), expected.state[b].norm(dim=0), atol=1e-5)
    assert not got_products["zero"].any() and got.state["zero.lora_A.weight"].shape == (4, 10)
    assert got.relative_error == pytest.approx(expected.relative_error, rel=1e-9, abs=1e-12)
    assert got.worst_layer == pytest.approx(expected.worst_layer, rel=1e-9, abs=1e-12)
    assert got.total == pytest.approx(expected.total, rel=1e-12)
    assert (got.relative_error > 0.01) == (hospitals > 1)


def test_weighted_mean_strategy_agrees_with_the_dense_path():
    # FedAvgM without momentum at server learning rate 1 steps to the plain mean, through dense products.
    global_state = lowrank.factorise(lowrank.products(adapter(8, 12), ALPHA), lowrank.lora_pairs(adapter(8, 12)), 8,
                                     ALPHA).state
    exchange = AdapterExchange("lora", 8, ALPHA, True, "float32", 0)
    hospitals = [{k: v + 0.05 * torch.randn_like(v) for k, v in exchange.outgoing(global_state, r).items()}
                 for r in (2, 8, 4)]
    dense = ExactLoRA(FedAvgM(min_train_nodes=1, min_available_nodes=1, server_momentum=0.0,
                              server_learning_rate=1.0), rank=8, alpha=ALPHA)
    factored = ExactLoRA(fedavg_strategy(), rank=8, alpha=ALPHA)
    assert factored.factored and not dense.factored
    got, got_metrics = run_round(factored, global_state, hospitals, [5, 3, 2])
    expected, expected_metrics = run_round(dense, global_state, hospitals, [5, 3, 2])
    for prefix, product in lowrank.products(expected, ALPHA).items():
        assert (lowrank.products(got, ALPHA)[prefix] - product).norm() <= 1e-5 * product.norm()
    assert got_metrics["truncation-error"] == pytest.approx(expected_metrics["truncation-error"], rel=1e-3)


def test_ffa_lora_exchanges_only_b():
    exchange = AdapterExchange("ffa-lora", 4, ALPHA, False, "float16", 0)
    state = adapter(4, 11)
    assert set(exchange.outgoing(state, 4)) == {k for k in state if ".lora_B." in k}
    assert exchange.spec(state, 4).num_bytes * 2 < wire.AdapterSpec.of(state, "float16").num_bytes


def test_ranks_other_than_the_global_one_are_rejected_without_exact_aggregation():
    exchange = AdapterExchange("lora", 8, ALPHA, False, "float16", 0)
    with pytest.raises(wire.WireError, match="aggregation=exact"):
        exchange.spec(adapter(8, 0), 4)
    with pytest.raises(wire.WireError, match="outside"):
        AdapterExchange("lora", 8, ALPHA, True, "float16", 0).spec(adapter(8, 0), 16)


@pytest.mark.parametrize("overrides, message", [
    ({"adapter.method": "ffa-lora", "strategy.aggregation": "exact"}, "already exact"),
    ({"adapter.hospital-ranks": "8,4"}, "need strategy.aggregation=exact"),
    ({"adapter.hospital-ranks": "8,16", "strategy.aggregation": "exact"}, "1..adapter.rank"),
])
def test_invalid_combinations_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_aggregation(RunConfig.from_flat(overrides))
