"""De-identification benchmark: PHI token recall/precision/F2 and throughput, ours against Presidio's default.

    python -m simulations.benchmarks.deid --notes 300 --out runs/benchmarks/deid.json [--i2b2-dir DIR]

Corpora: notes of the first synthetic generator (``simulations.synthetic.notes``, the one the rules were
tuned on), of the second (``simulations.synthetic.notes_b``, written apart, since tuned on too), of the
third (``simulations.synthetic.notes_c``, written apart from both generators and from the recognizers:
once held out, now tuned on too), of the fourth (``simulations.synthetic.notes_d``, written apart from all
three and from the recognizers, in the style of i2b2-2014 records: once held out, now tuned on), of the
fifth (``simulations.synthetic.notes_e``, written apart from all four and from the recognizers: long
hospital records, discharge summaries, operative, imaging, nursing and medication-reconciliation notes:
once held out, now tuned on), of the sixth (``simulations.synthetic.notes_f``, written apart from all five
and from the recognizers: short notes of eleven kinds, the held-out corpus, never tuned on; its gap to the
fifth measures over-fitting) and, when given, a
folder of i2b2-2014 XML notes (for instance the five public notes philter-lite ships; read from the path
given, never copied). Both systems run offline on the same spaCy package and the same notes; no patient
deny list is given to ours, so the comparison is detection from text alone. Per corpus: token recall over
Safe Harbor identifiers (``overall``) and over all annotated PHI (``all_phi``), precision, F2, recall per
category and per type, tokens caught and wrongly removed per recognizer, notes/s and the residual-gate rate.
``--scope`` picks ``deid.scope``, ``--ner-model`` the trained NER (``deid.ner-model``: the bundled one by default, '' for none);
under all-phi, what only the all-PHI recognizers remove from the first two generators' notes (which do not
annotate those types) is counted apart as ``unannotated_tokens``, not as a false positive. The third, fourth and
fifth generators and the i2b2 notes annotate every i2b2 type and are scored on everything. ``--corpora`` restricts
the run to some corpora (``i2b2`` needs ``--i2b2-dir``).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

from common.config import DEID_SCOPES, DeidSection
from privacy.deid import Deidentifier
from privacy.deid.all_phi import all_phi_recognizers
from privacy.deid.evaluation import (
    PRESIDIO_DEFAULT_CATEGORIES,
    GoldNote,
    GoldSpan,
    PredictedSpan,
    gold_span,
    load_i2b2,
    presidio_default_analyzer,
    token_metrics,
)
from privacy.deid.nlp import LANGUAGE
from privacy.deid.recognizers import CATEGORIES as OUR_CATEGORIES
from simulations.synthetic.hospital import FACILITIES
from simulations.synthetic.notes import generate_note, make_patient
from simulations.synthetic.notes_b import generate_note_b
from simulations.synthetic.notes_c import generate_notes_c
from simulations.synthetic.notes_d import generate_notes_d
from simulations.synthetic.notes_e import generate_notes_e
from simulations.synthetic.notes_f import generate_notes_f
from simulations.synthetic.vocab import CONDITIONS


def synthetic_corpus(n: int, seed: int) -> list[GoldNote]:
    rng = random.Random(f"{seed}-deid-benchmark")
    notes = []
    for i in range(n):
        patient = make_patient(rng, f"bench-p{i}")
        visit = f"{rng.randrange(2012, 2024)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        note = generate_note(rng, patient, rng.choice(CONDITIONS), rng.choice(FACILITIES), visit)
        notes.append(GoldNote(f"synthetic-{i}", note.text, [GoldSpan(s.start, s.end, s.category) for s in note.spans]))
    return notes


def synthetic_corpus_b(n: int, seed: int) -> list[GoldNote]:
    rng = random.Random(f"{seed}-deid-benchmark-b")
    notes = []
    for i in range(n):
        note = generate_note_b(rng)
        notes.append(GoldNote(f"synthetic-b-{i}", note.text, [gold_span(note.text, s.start, s.end, s.kind)
                                                               for s in note.spans]))
    return notes


# Every synthetic corpus and the generator that writes it, in the order they were written.
GENERATORS = {"synthetic": synthetic_corpus, "synthetic_b": synthetic_corpus_b, "synthetic_c": generate_notes_c,
              "synthetic_d": generate_notes_d, "synthetic_e": generate_notes_e, "synthetic_f": generate_notes_f}
SYNTHETIC_CORPORA = tuple(GENERATORS)


def evaluate_ours(deid: Deidentifier, notes: list[GoldNote], unannotated_sources: frozenset[str] = frozenset()) -> dict:
    texts = [n.text for n in notes]
    deid.deidentify_batch(texts[:4])  # warm-up outside the timing
    start = time.perf_counter()
    results = deid.deidentify_batch(texts)
    seconds = time.perf_counter() - start
    spans = deid.detections_batch(texts)  # overlapping, so every recognizer gets its own tokens
    predictions = [[PredictedSpan(s.start, s.end, OUR_CATEGORIES.get(s.entity_type, "ID"),
                                  (s.recognition_metadata or {}).get("recognizer_name", "")) for s in doc] for doc in spans]
    report = token_metrics(notes, predictions, unannotated_sources)
    report["notes_per_second"] = round(len(notes) / seconds, 2)
    report["residual_rate"] = round(sum(r.residual > 0 for r in results) / len(results), 4)
    return report


def evaluate_presidio_default(notes: list[GoldNote], model: str) -> dict:
    analyzer = presidio_default_analyzer(model)
    texts = [n.text for n in notes]

    def run(batch: list[str]) -> list:
        return [analyzer.analyze(text, LANGUAGE, nlp_artifacts=artifacts)
                for text, artifacts in analyzer.nlp_engine.process_batch(batch, LANGUAGE, batch_size=64)]

    run(texts[:4])
    start = time.perf_counter()
    found = run(texts)
    seconds = time.perf_counter() - start
    predictions = [[PredictedSpan(r.start, r.end, PRESIDIO_DEFAULT_CATEGORIES.get(r.entity_type, "ID"),
                                  (r.recognition_metadata or {}).get("recognizer_name", "")) for r in doc]
                   for doc in found]
    report = token_metrics(notes, predictions)
    report["notes_per_second"] = round(len(notes) / seconds, 2)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=300, help="synthetic notes to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--i2b2-dir", "--i2b2", dest="i2b2", type=Path,
                        help="folder (or file) of i2b2-2014 XML notes to evaluate too")
    parser.add_argument("--scope", choices=DEID_SCOPES, default=DeidSection().scope,
                        help="deid.scope of the de-identifier measured")
    parser.add_argument("--date-mode", choices=("year", "shift", "mask"), default=DeidSection().date_mode,
                        help="deid.date-mode (mask: also years written alone are removed under all-phi)")
    parser.add_argument("--ner-model", default=DeidSection().ner_model,
                        help="deid.ner-model: 'bundled' (the default), a folder built by python -m simulations.deid_ner DIR, "
                             "or '' to leave it out")
    parser.add_argument("--corpora", nargs="+", choices=SYNTHETIC_CORPORA + ("i2b2",),
                        help="corpora to score (default: every synthetic one, and i2b2 when --i2b2-dir is given)")
    parser.add_argument("--no-presidio", action="store_true", help="skip the Presidio default baseline")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/deid.json"))
    args = parser.parse_args(argv)
    chosen = args.corpora or SYNTHETIC_CORPORA + (("i2b2",) if args.i2b2 else ())
    if "i2b2" in chosen and not args.i2b2:
        parser.error("--corpora i2b2 needs --i2b2-dir")

    cfg = DeidSection(scope=args.scope, date_mode=args.date_mode, ner_model=args.ner_model)
    deid = Deidentifier.from_config(cfg)
    # The first two generators annotate no age under 90, profession, state, country, room or department: what
    # only the all-PHI recognizers remove there is not scored. The third to sixth and the i2b2 notes annotate all.
    not_annotated_by_generators = frozenset(r.name for r in all_phi_recognizers(keep_years=True))
    corpora = {name: load_i2b2(args.i2b2) if name == "i2b2" else GENERATORS[name](args.notes, args.seed)
               for name in chosen}
    report = {"machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
              "config": {k: v for k, v in cfg.__dict__.items()}, "corpora": {}}
    for name, notes in corpora.items():
        unannotated = not_annotated_by_generators if name in ("synthetic", "synthetic_b") else frozenset()
        report["corpora"][name] = {"notes": len(notes), "ours": evaluate_ours(deid, notes, unannotated)}
        if not args.no_presidio:
            report["corpora"][name]["presidio_default"] = evaluate_presidio_default(notes, cfg.spacy_model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
