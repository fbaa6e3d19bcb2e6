"""De-identify a file or folder inside the hospital.

    python -m privacy.deid INPUT OUTPUT [--method surrogate --secret-env MEDFED_DEID_SECRET]
                                        [--date-mode shift] [--scope safe-harbor] [--field text]
                                        [--review review.html]

INPUT is a .txt, .jsonl or i2b2-format .xml file or a folder of them; OUTPUT mirrors it. In .jsonl files the
string field ``--field`` of every line is de-identified and the other fields are kept; in .xml files the
<TEXT> element is de-identified and the <TAGS> element (which quotes the PHI) is dropped. The terminal shows counts by
entity type and the residual rate only; ``--review`` writes a side-by-side view (original next to
de-identified) to a local file readable by its owner only, for the privacy officer. Exit status 3 means the
residual rate is above the bound and the output must not be used for training.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

from common.config import DEID_SCOPES, DeidSection
from common.jsonfiles import RecordFileError, field, json_records
from privacy.deid.engine import Deidentifier, DeidResult, residual_rate
from privacy.deid.evaluation import I2b2FormatError, load_i2b2

SUFFIXES = (".txt", ".jsonl", ".xml")


def _inputs(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise SystemExit(f"error: {root} is neither a file nor a folder")
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def _read_texts(path: Path, field_name: str) -> tuple[list[str], list[dict] | None]:
    if path.suffix == ".xml":
        try:
            return [load_i2b2(path)[0].text], None
        except I2b2FormatError as exc:
            raise SystemExit(f"error: {exc}") from None
    if path.suffix != ".jsonl":
        return [path.read_text(encoding="utf-8")], None
    texts, rows = [], []
    try:
        for where, row in json_records(path):
            texts.append(field(row, field_name, where))
            rows.append(row)
    except RecordFileError as exc:
        raise SystemExit(f"error: {exc}") from None
    return texts, rows


def _write(path: Path, results: list[DeidResult], rows: list[dict] | None, field_name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows is None and path.suffix == ".xml":
        root = ET.Element("deIdi2b2")
        ET.SubElement(root, "TEXT").text = results[0].text
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
        return
    if rows is None:
        path.write_text(results[0].text, encoding="utf-8")
        return
    with path.open("w", encoding="utf-8") as f:
        for row, result in zip(rows, results):
            f.write(json.dumps({**row, field_name: result.text}, ensure_ascii=False) + "\n")


def _write_review(path: Path, pairs: list[tuple[str, str, str]]) -> None:
    """Side-by-side HTML; it holds PHI, so it is created readable by its owner only."""
    cells = "".join(f"<tr><td colspan=2><b>{html.escape(name)}</b></td></tr><tr><td><pre>{html.escape(original)}"
                    f"</pre></td><td><pre>{html.escape(deid)}</pre></td></tr>" for name, original, deid in pairs)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("<!doctype html><meta charset=utf-8><title>De-identification review (contains PHI)</title>"
                "<style>td{vertical-align:top;width:50%}pre{white-space:pre-wrap}</style>"
                f"<table border=1><tr><th>original</th><th>de-identified</th></tr>{cells}</table>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy.deid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--method", choices=("mask", "surrogate"), default="mask")
    parser.add_argument("--date-mode", choices=("year", "shift", "mask"), default="year")
    parser.add_argument("--scope", choices=DEID_SCOPES, default=DeidSection().scope,
                        help="all-phi (default): every i2b2 PHI category, also ages, professions, states, countries, "
                             "rooms, departments; safe-harbor: the HIPAA Safe Harbor identifiers only")
    parser.add_argument("--secret-env", default="MEDFED_DEID_SECRET",
                        help="environment variable holding the hospital secret (surrogates, date shift)")
    parser.add_argument("--field", default="text", help="string field to de-identify in .jsonl lines")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-residual-rate", type=float, default=DeidSection().max_residual_rate)
    parser.add_argument("--review", type=Path, help="write a side-by-side HTML view to this local file")
    args = parser.parse_args(argv)

    secret = os.environ.get(args.secret_env, "").encode() or None
    cfg = replace(DeidSection(), method=args.method, date_mode=args.date_mode, scope=args.scope, num_workers=args.workers,
                  max_residual_rate=args.max_residual_rate)
    files = _inputs(args.input)
    counts: Counter[str] = Counter()
    all_results: list[DeidResult] = []
    review: list[tuple[str, str, str]] = []
    with Deidentifier.from_config(cfg, secret) as deid:
        for path in files:
            texts, rows = _read_texts(path, args.field)
            results = deid.deidentify_batch(texts)
            relative = path.relative_to(args.input) if args.input.is_dir() else Path(path.name)
            out = args.output / relative if args.input.is_dir() else args.output
            _write(out, results, rows, args.field)
            for r in results:
                counts.update(r.counts)
            all_results += results
            if args.review:
                review += [(f"{relative}#{i + 1}", t, r.text) for i, (t, r) in enumerate(zip(texts, results))]
            print(f"{relative}: {len(results)} texts, {sum(sum(r.counts.values()) for r in results)} replacements")
    if args.review:
        _write_review(args.review, review)
        print(f"review written to {args.review} (contains PHI: keep it inside the hospital)")
    rate = residual_rate(all_results)
    print("replacements by type: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"residual rate: {rate:.2%} of {len(all_results)} texts (bound {cfg.max_residual_rate:.2%})")
    if rate > cfg.max_residual_rate:
        print("error: residual rate above the bound; do not train on this output", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
