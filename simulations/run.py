"""Run the whole federation locally: synthetic hospitals, Flower's simulation engine, the real apps.

    python -m simulations.run                                  # the defaults: 3 hospitals, SmolLM2, QLoRA, IFT
    python -m simulations.run --run-config "train.rounds=2 model.quantization='none'"
    python -m simulations.run --verbose                        # also Flower's, Ray's and transformers' INFO lines

The same ServerApp and ClientApp that a real deployment runs are used; only the transport is simulated.
Synthetic hospital data is generated under ``data.root`` first (deterministic, reused when present).
"""

from __future__ import annotations

import argparse
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import torch

from common.config import RunConfig
from common.logs import configure_console, get_logger, worker_environment
from simulations.synthetic.hospital import generate_federation

log = get_logger("simulation")


def parse_overrides(text: str) -> dict[str, Any]:
    """Parse ``"key=value key2=value2"`` with TOML values, as ``flwr run --run-config`` does."""
    overrides = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--run-config: {item!r} is not key=value")
        try:
            overrides[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            overrides[key] = value  # a bare word is a string, as a shell user would expect
    return overrides


def ensure_synthetic_hospitals(cfg: RunConfig) -> list[Path]:
    """Generate the simulated hospitals' data unless the same generation is already on disk."""
    root = Path(cfg.data.root).expanduser()
    stamp = {"seed": cfg.run.seed, "hospitals": cfg.simulation.num_hospitals, "scale": cfg.simulation.scale}
    stamp_file = root / "generated.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return [root / f"hospital-{i}" for i in range(cfg.simulation.num_hospitals)]
    log.info("generating %d synthetic hospitals under %s", cfg.simulation.num_hospitals, root)
    paths = generate_federation(root, cfg.simulation.num_hospitals, cfg.run.seed, cfg.simulation.scale)
    stamp_file.write_text(json.dumps(stamp))
    return paths


def simulate(overrides: dict[str, Any]) -> None:
    """Validate the configuration, make the hospitals' data, and run the federation to the end."""
    from flwr.simulation import run_simulation

    from client.app import app as client_app
    from server.app import make_app

    cfg = RunConfig.from_flat(overrides)  # fail on a bad key before anything heavy starts
    ensure_synthetic_hospitals(cfg)
    # One simulated hospital at a time gets every core: local training is compute-bound, and
    # hospitals that share a worker process share its copy of the base model.
    resources = {"num_cpus": os.cpu_count() or 1, "num_gpus": 1.0 if torch.cuda.is_available() else 0.0}
    log.info("simulating %d hospitals with Flower and Ray; outputs in %s", cfg.simulation.num_hospitals,
             Path(cfg.run.output_dir).expanduser() / cfg.run.name)
    # Ray workers inherit this process's environment: the simulated hospitals log warnings only (unless
    # verbose), since the coordinator prints a line per hospital reply.
    saved = dict(os.environ)
    os.environ.update(worker_environment(log_level="WARNING"))
    try:
        run_simulation(server_app=make_app(overrides), client_app=client_app,
                       num_supernodes=cfg.simulation.num_hospitals,
                       backend_config={"client_resources": resources, "init_args": {"include_dashboard": False}})
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-config", default="", help="space-separated key=value overrides (TOML values)")
    parser.add_argument("--verbose", action="store_true",
                        help="also print the libraries' INFO lines (Flower, Ray, transformers, ...) and every "
                             "hospital's own log")
    args = parser.parse_args(argv)
    if args.verbose:
        configure_console(verbose=True)
    simulate(parse_overrides(args.run_config))


if __name__ == "__main__":
    main()
