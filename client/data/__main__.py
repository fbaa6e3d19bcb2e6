"""Command line for hospital IT: check a data folder, or prepare and cache its datasets.

    python -m client.data check   DATA_DIR [--strict] [--no-deid] [--set data.min-chars=40 ...]
    python -m client.data prepare DATA_DIR [--strict] [--deid-secret-file FILE] [--eval-set PATH ...]

Both print the data card (aggregate counts only) and write it as ``data-card.json`` and
``data-card.txt`` in the cache folder (default ``DATA_DIR/.medfed-cache``); ``check`` caches no data. Exit status 2 on bad input in
strict mode, with a message naming file, line and field.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from client.data.cache import cache_folder
from client.data.errors import DataError
from client.data.pipeline import prepare_hospital_data
from common.config import ConfigError, DeidSection, RunConfig


def _override(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare string such as strict


def _deidentifier(deid: DeidSection, secret_file: str | None):
    if not deid.enabled:
        return None
    try:
        from privacy.deid import Deidentifier  # the Presidio pipeline; loaded only when needed
    except ImportError:
        raise SystemExit("de-identification is on but privacy.deid is not installed; pass --no-deid "
                         "only if the data is already de-identified") from None

    secret = Path(secret_file).read_bytes().strip() if secret_file else os.environb.get(b"MEDFED_DEID_SECRET")
    if not secret:
        raise SystemExit("de-identification needs a secret: --deid-secret-file or MEDFED_DEID_SECRET (or --no-deid)")
    return Deidentifier.from_config(deid, secret)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m client.data", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("check", "prepare"))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--strict", action="store_true", help="stop at the first bad record (data.bad-records=strict)")
    parser.add_argument("--no-deid", action="store_true", help="skip de-identification (data already de-identified)")
    parser.add_argument("--deid-secret-file", help="file holding the hospital's pseudonymisation secret")
    parser.add_argument("--eval-set", action="append", type=Path, default=[], help="evaluation file to check against")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="run-config override")
    args = parser.parse_args(argv)
    overrides = dict(map(_override, args.set))
    if args.strict:
        overrides["data.bad-records"] = "strict"
    if args.no_deid:
        overrides["deid.enabled"] = False
    if args.command == "check":
        overrides["data.cache"] = False
    try:
        cfg = RunConfig().replace(**overrides)
        prepared = prepare_hospital_data(args.data_dir, cfg, _deidentifier(cfg.deid, args.deid_secret_file),
                                         args.eval_set or None)
    except (DataError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    prepared.card.write(cache_folder(args.data_dir, cfg.data))
    print(prepared.card.to_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
