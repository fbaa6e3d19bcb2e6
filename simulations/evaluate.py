"""Score a finished run's adapter on the benchmarks configured in ``[eval]``.

    python -m simulations.evaluate runs/default --run-config "eval.pubmedqa-path=... eval.max-items=100"

Writes ``<run>/benchmarks.json`` (numbers only) and prints it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common.config import RunConfig
from common.evaluation.suite import run_benchmarks
from common.model import load_exported_adapter
from simulations.run import parse_overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a finished run folder (holds config.json and adapter/)")
    parser.add_argument("--run-config", default="", help="[eval] overrides, space-separated key=value")
    args = parser.parse_args(argv)
    cfg = RunConfig.from_flat(json.loads((args.run_dir / "config.json").read_text())).replace(
        **parse_overrides(args.run_config))
    model, tokenizer = load_exported_adapter(cfg.model, args.run_dir / "adapter")
    scores = run_benchmarks(model.eval(), tokenizer, cfg.eval, base_context=model.disable_adapter)
    (args.run_dir / "benchmarks.json").write_text(json.dumps(scores, indent=2))
    print(json.dumps(scores, indent=2))


if __name__ == "__main__":
    main()
