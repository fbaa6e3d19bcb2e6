"""The run configuration: defaults match pyproject, and every kind of mistake names the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from common.config import ConfigError, RunConfig, reference_markdown


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


ROOT = Path(__file__).parents[1]


def test_pyproject_declares_every_key_at_its_default():
    # `flwr run --run-config` can only override keys that pyproject declares.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    flat = _flatten(pyproject["tool"]["flwr"]["app"]["config"])
    assert set(flat) == set(RunConfig().to_flat()), "regenerate with: python -m common.config --toml"
    assert RunConfig.from_flat(flat) == RunConfig()


def test_readme_reference_is_current():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- config-reference:start -->\n", 1)[1].split("\n<!-- config-reference:end -->")[0]
    assert block == reference_markdown(), "regenerate with: python -m common.config"


@pytest.mark.parametrize("key, value, message", [
    ("train.roundz", 3, "unknown config key 'train.roundz'; allowed in [train]: train.rounds"),
    ("trian.rounds", 3, "unknown config key 'trian.rounds'; sections are: run, model"),
    ("train.rounds", "3", "config key 'train.rounds' must be int, got str"),
    ("train.rounds", True, "config key 'train.rounds' must be int, got bool"),
    ("strategy.name", "fedfoo", "allowed values: fedavg, fedprox, fedadam"),
    ("train.rounds", 0, "config key 'train.rounds' is 0; it must be >= 1"),
    ("adapter.dropout", 0.95, "config key 'adapter.dropout' is 0.95; it must be <= 0.9"),
])
def test_bad_values_name_the_key_and_what_is_allowed(key, value, message):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_flat({key: value})
    assert message in str(err.value)


def test_ints_are_accepted_for_floats_and_round_trip():
    cfg = RunConfig.from_flat({"train.learning-rate": 1, "train.rounds": 5})
    assert cfg.train.learning_rate == 1.0 and isinstance(cfg.train.learning_rate, float)
    assert RunConfig.from_flat(cfg.to_flat()) == cfg
    assert cfg.replace(**{"train.rounds": 7}).train.rounds == 7


def test_reference_table_lists_every_key():
    table = reference_markdown()
    assert all(f"`{key}`" in table for key in RunConfig().to_flat())


@pytest.mark.parametrize("key", ["validation.norm-factor", "deid.score-threshold", "deid.max-residual-rate",
                                 "dp.target-epsilon", "train.learning-rate"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"'{key}'.*finite"):
        RunConfig.from_flat({key: value})


@pytest.mark.parametrize("name", ["", "..", "../..", "../x", "/etc", "a/b", "a\\\\b", ".hidden", "x\\n", "a b"])
def test_run_name_is_a_plain_name(name):
    with pytest.raises(ConfigError, match="'run.name'.*plain name"):
        RunConfig.from_flat({"run.name": name})


def test_run_name_accepts_ordinary_names():
    assert RunConfig.from_flat({"run.name": "cp-ift_2026.12"}).run.name == "cp-ift_2026.12"
