"""What a person reads: each line once in medfed's format, no library noise, a named line per node event."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest

from common.logs import configure_console, log_node_event
from tests.federation_harness import LocalGrid, make_hospitals, run_federation, tiny_config

LINE = re.compile(r"^\d\d:\d\d:\d\d medfed (INFO|WARNING|ERROR) ")


def _console(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_library_lines_appear_once_at_warning_and_known_harmless_ones_not_at_all(capsys):
    logging.basicConfig()  # as Opacus does on import: a second, plain handler on the root logger
    configure_console(verbose=False)
    flower = logging.getLogger("flwr")
    flower.info("configure_train: Sampled 3 nodes (out of 3)")
    flower.warning("a Flower warning")
    logging.getLogger("bitsandbytes.backends.cpu.ops").warning(
        "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'.")
    logging.getLogger("bitsandbytes.backends.cpu.ops").warning("some other bitsandbytes warning")
    logging.getLogger("medfed.test").info("a medfed line")
    for text, category in (("`torch.jit.script_method` is deprecated. Please switch to `torch.compile`.",
                            DeprecationWarning), ("an unknown warning", UserWarning)):
        # What logging.captureWarnings sends (pytest catches real warnings before they reach it).
        logging.getLogger("py.warnings").warning("%s", warnings.formatwarning(text, category, "x.py", 3, "warn()"))
    lines = _console(capsys)
    assert [re.sub(r"^\S+ ", "", line) for line in lines] == [
        "flwr WARNING a Flower warning", "bitsandbytes WARNING some other bitsandbytes warning",
        "medfed INFO a medfed line", lines[-1].split(" ", 1)[1]]
    assert "UserWarning: an unknown warning" in lines[-1] and "\n" not in lines[-1]


def test_verbose_shows_library_info_lines(capsys):
    configure_console(verbose=True)
    try:
        logging.getLogger("flwr").info("configure_train: Sampled 3 nodes (out of 3)")
    finally:
        configure_console(verbose=False)
    assert [line.split(" ", 1)[1] for line in _console(capsys)] == [
        "flwr INFO configure_train: Sampled 3 nodes (out of 3)"]


def test_node_event_line_names_the_node_and_its_hospital(capsys):
    line = log_node_event(42, "hospital-1", "rejected", "train: lora_B has NaN")
    assert line == "node 42 (hospital-1) rejected: train: lora_B has NaN"
    assert _console(capsys)[0].endswith("medfed WARNING node 42 (hospital-1) rejected: train: lora_B has NaN")


def _no_reply(message, deliver):
    return None  # the hospital never answers this round


@pytest.mark.slow
def test_a_dropped_node_is_named_and_so_is_its_return(tmp_path, tiny_model_dir, caplog):
    hospitals = make_hospitals(tmp_path / "hospitals", count=2)
    grid = LocalGrid(hospitals, faults={(2, "hospital-1"): _no_reply})
    cfg = tiny_config(tiny_model_dir, tmp_path / "runs", **{"train.rounds": 3, "strategy.min-nodes": 1})
    with caplog.at_level(logging.INFO, logger="medfed"):
        run_federation(cfg, grid)
    events = [r.getMessage() for r in caplog.records if r.name == "medfed.nodes"]
    assert events == ["node 2 (hospital-1) dropped: no reply to round 2 (train) within 3600s (strategy.round-timeout)",
                      "node 2 (hospital-1) rejoined: replied again after missing round 2"]
    progress = [r.getMessage() for r in caplog.records if r.name == "medfed.server" and "hospital-0: loss" in r.getMessage()]
    assert len(progress) == 3 and all(" tokens · " in line and "/2 hospitals · " in line for line in progress)
    assert "[1/2 hospitals" in progress[1]  # round 2: the only reply


@pytest.mark.slow
def test_tiny_simulation_console_has_each_line_once_and_no_library_warning(tmp_path, tiny_model_dir):
    overrides = {"model.name": str(tiny_model_dir), "model.quantization": "none",
                 "adapter.target-modules": "all-linear", "train.rounds": 2, "train.local-steps": 2,
                 "train.batch-size": 2, "train.max-seq-len": 64, "simulation.num-hospitals": 2,
                 "simulation.scale": 20, "data.root": str(tmp_path / "hospitals"),
                 "run.output-dir": str(tmp_path / "runs")}  # de-identification on: Presidio and spaCy load too
    run_config = " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("MEDFED_VERBOSE", None)
    result = subprocess.run([sys.executable, "-m", "simulations.run", "--run-config", run_config], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # The closing summary is one multi-line record: its lines are indented under its first.
    logged = [line for line in lines if not line.startswith("  ") and line != "medfed run finished"]
    assert logged and all(LINE.match(line) for line in logged), "\n".join(logged)
    assert all(" WARNING " not in line and " ERROR " not in line for line in logged), "\n".join(logged)
    repeated = [line for line, n in Counter(line.split(" ", 1)[1] for line in logged).items() if n > 1]
    assert not repeated
    text = "\n".join(lines)
    for noise in ("Warning:", "it/s]", "\x1b[", "Loading weights", "ClientAppActor"):
        assert noise not in text
    assert sum("hospital-" in line and ": loss " in line for line in logged) == 4  # a line per hospital per round
