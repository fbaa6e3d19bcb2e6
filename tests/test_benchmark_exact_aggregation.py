"""exact_aggregation benchmark on small layers: both paths run and give the same products."""

from simulations.benchmarks.exact_aggregation import measure

SHAPES = {"q_proj": (24, 24), "down_proj": (24, 64)}


def test_factored_and_dense_paths_agree():
    result = measure(layers=2, rank=4, hospitals=2, shapes=SHAPES)
    assert result["layers"] == 2 * len(SHAPES)
    assert result["max_relative_product_difference"] < 1e-6
    assert 0 < result["truncation_error"] < 1  # two rank-4 hospitals truncated to rank 4
    assert result["factored_seconds"] > 0 and result["dense_seconds"] > 0
