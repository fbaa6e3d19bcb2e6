"""Throughput of the hospital data pipeline: records/s on synthetic notes, de-identification timed apart.

    python -m simulations.benchmarks.pipeline --notes 10000 --out pipeline.json

Uses ``privacy.deid`` when it is importable (``--deid presidio``); ``--deid regex`` times a stand-in
that only masks digit runs, to measure the rest of the pipeline without Presidio.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from client.data import prepare_hospital_data
from common.config import RunConfig
from simulations.synthetic.notes import generate_note, make_patient
from simulations.synthetic.vocab import CONDITIONS


@dataclass
class _Result:
    text: str
    counts: dict[str, int] = field(default_factory=dict)
    residual: int = 0


class RegexDeidentifier:
    """Stand-in de-identifier: masks digit runs. Only for timing the pipeline around de-identification."""

    def deidentify_batch(self, texts, patients=None):
        return [_Result(re.sub(r"\d{3,}", "[ID]", t)) for t in texts]


class TimedDeidentifier:
    def __init__(self, inner) -> None:
        self.inner, self.seconds = inner, 0.0
        self.fingerprint = f"timed-{time.time_ns()}"  # never reuse a cache entry across benchmark runs

    def deidentify_batch(self, texts, patients=None):
        start = time.perf_counter()
        out = self.inner.deidentify_batch(texts, patients)
        self.seconds += time.perf_counter() - start
        return out


def write_notes(folder: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(folder / "notes.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            patient = make_patient(rng, f"p{i:06d}")
            note = generate_note(rng, patient, rng.choice(CONDITIONS), "Lakeside General Hospital",
                                 f"20{rng.randrange(10, 24)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}")
            f.write(json.dumps({"note_id": f"n{i}", "patient_id": patient.patient_id, "date": "2020-01-01",
                                "text": note.text}) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--deid", choices=("presidio", "regex"), default="presidio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    cfg = RunConfig().replace(**{"data.cache": False})
    if args.deid == "presidio":
        from privacy.deid import Deidentifier

        inner = Deidentifier.from_config(cfg.deid, b"benchmark-secret")
    else:
        inner = RegexDeidentifier()
    deid = TimedDeidentifier(inner)
    with tempfile.TemporaryDirectory() as tmp:
        write_notes(Path(tmp), args.notes, args.seed)
        start = time.perf_counter()
        prepared = prepare_hospital_data(Path(tmp), cfg, deid)
        total = time.perf_counter() - start
    rest = total - deid.seconds
    report = {"notes": args.notes, "deidentifier": args.deid, "total_s": round(total, 3),
              "deid_s": round(deid.seconds, 3), "other_steps_s": round(rest, 3),
              "deid_share": round(deid.seconds / total, 4), "records_per_s": round(args.notes / total, 1),
              "records_per_s_without_deid": round(args.notes / rest, 1),
              "notes_out": sum(prepared.card.split["notes"].values())}
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
