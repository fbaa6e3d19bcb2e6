"""Build the de-identifier's trained NER: a small spaCy entity recognizer learnt from synthetic notes.

    python -m simulations.deid_ner OUT_DIR [--notes 600 --generators 1,2 --epochs 8 --seed 0]

Training notes come from the project's synthetic generators (1: ``notes.py``, 2: ``notes_b.py``,
3: ``notes_c.py``, 4: ``notes_d.py``, 5: ``notes_e.py``; never the sixth, the held-out corpus), with
their gold spans, from seeds no benchmark uses. The name words of a share of the gold names are swapped
for US Census names written in the case of the word they replace, so the model learns names from context
and shape rather than the generators' short name lists. Labels are
the entity types the de-identifier emits (PERSON, DATE, LOCATION, ORGANIZATION, ID...); ``privacy.deid.ner``
loads the folder (``deid.ner-model``). Same command, same model: seeds are fixed and training runs on
the CPU in one thread (set ``OMP_NUM_THREADS=1`` when numpy's BLAS would use more).

``--pubmedqa FILE --pubmedqa-test-ids FILE`` adds PubMedQA contexts (never a test item) as text without
PHI: medical prose far more varied than the generators', so drugs, findings and lab values are not names.

The default leaves generators 3 to 6 out, so that each can measure the model on notes it never saw. The
model medfed ships (``privacy/deid/ner_model``, ``deid.ner-model = "bundled"``) was built with
``--generators 1,2,3,4,5 --notes 360 --epochs 8 --pubmedqa .../ori_pqal.json --pubmedqa-test-ids
.../test_ground_truth.json`` (the files of ``../shared/data/pubmedqa``), at one thread, in 916 s (seeded and
single-threaded: a small build is checked byte for byte by the tests; this one was not rebuilt).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import regex
import spacy
from spacy.language import Language
from spacy.training import Example
from spacy.util import filter_spans, fix_random_seed, minibatch

from common.evaluation.loaders import load_pubmedqa, load_pubmedqa_ids
from privacy.deid.evaluation import GoldNote, GoldSpan
from privacy.deid.ner import ENTITY_OF_CATEGORY, MODEL_NAME
from privacy.deid.safelist import census_names
from simulations.benchmarks import deid as deid_benchmark

# The benchmark's first five corpora by number; the sixth (notes_f) is never a training source: it is held out.
GENERATORS = {str(i): deid_benchmark.GENERATORS[name]
              for i, name in enumerate(deid_benchmark.SYNTHETIC_CORPORA[:5], start=1)}
# Far from the benchmark's seeds (0, 1, ...): no training note is a benchmark note.
TRAINING_SEED_OFFSET = 1_000_003
# A small CNN over hashed word features (no vectors): a few MB, trains on two cores in minutes.
TOK2VEC = {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 96, "depth": 4,
           "embed_size": 2000, "window_size": 1, "maxout_pieces": 3, "subword_features": True}
NER_MODEL = {"@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
             "hidden_width": 64, "maxout_pieces": 2, "use_upper": True, "nO": None, "tok2vec": TOK2VEC}
_NAME_WORD = regex.compile(r"[A-Za-z][A-Za-z'-]+")


def training_notes(generators: str, notes_per_generator: int, seed: int) -> list[GoldNote]:
    return [note for g in generators.split(",")
            for note in GENERATORS[g.strip()](notes_per_generator, TRAINING_SEED_OFFSET + seed)]


def pubmedqa_negatives(path: Path, test_ids: Path, count: int, seed: int) -> list[GoldNote]:
    """``count`` PubMedQA contexts (never a test item) as notes without PHI: varied medical prose, so the model
    learns that drugs, findings, lab values and headings are not names."""
    items = load_pubmedqa(path, exclude=load_pubmedqa_ids(test_ids))
    random.Random(f"deid-ner-negatives-{seed}").shuffle(items)
    return [GoldNote(f"pubmedqa-{item.item_id}", item.context) for item in items[:count]]


def vary_names(note: GoldNote, rng: random.Random, names: list[str], share: float) -> GoldNote:
    """``note`` with the words of about ``share`` of its gold names (not staff codes) replaced by census names (each word in the
    case of the one it replaces, the same replacement for the same word throughout the note)."""
    replacement: dict[str, str] = {}
    pieces, spans, at = [], [], 0
    for span in sorted(note.spans, key=lambda s: s.start):
        if span.start < at:  # overlapping gold spans are kept as written
            continue
        value = note.text[span.start:span.end]
        if span.category == "NAME" and span.kind != "USERNAME" and rng.random() < share:  # codes keep their shape
            value = _NAME_WORD.sub(lambda m: _in_case_of(m.group(), replacement.setdefault(
                m.group().lower(), rng.choice(names))), value)
        pieces.append(note.text[at:span.start])
        start = sum(map(len, pieces))
        pieces.append(value)
        spans.append(GoldSpan(start, start + len(value), span.category, span.hipaa, span.kind))
        at = span.end
    pieces.append(note.text[at:])
    return GoldNote(note.note_id, "".join(pieces), spans)


def _in_case_of(original: str, name: str) -> str:
    if original.isupper():
        return name.upper()
    if original.islower():
        return name.lower()
    return name.capitalize()


def to_example(nlp: Language, note: GoldNote) -> Example:
    """A training example: the note's gold spans as entities, widened to whole tokens, overlaps resolved."""
    doc = nlp.make_doc(note.text)
    spans = [doc.char_span(s.start, s.end, label=ENTITY_OF_CATEGORY[s.category], alignment_mode="expand")
             for s in note.spans if s.category in ENTITY_OF_CATEGORY]
    entities = [(e.start_char, e.end_char, e.label_) for e in filter_spans([s for s in spans if s is not None])]
    return Example.from_dict(doc, {"entities": entities})


def build(out_dir: Path, generators: str = "1,2", notes_per_generator: int = 600, epochs: int = 8, seed: int = 0,
          name_share: float = 0.5, batch_size: int = 16, negatives: list[GoldNote] = ()) -> dict:
    """Train the NER and write it to ``out_dir``; returns what was trained on and how long it took."""
    started = time.perf_counter()
    fix_random_seed(seed)
    rng = random.Random(f"deid-ner-{seed}")
    names = sorted(n for n in census_names() if n.isalpha() and len(n) > 1)
    notes = [vary_names(note, rng, names, name_share)
             for note in training_notes(generators, notes_per_generator, seed)] + list(negatives)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config={"model": NER_MODEL})
    examples = [to_example(nlp, note) for note in notes]
    optimizer = nlp.initialize(lambda: examples)
    losses: list[float] = []
    for _ in range(epochs):
        rng.shuffle(examples)
        epoch_losses: dict[str, float] = {}
        for batch in minibatch(examples, size=batch_size):
            nlp.update(batch, drop=0.2, sgd=optimizer, losses=epoch_losses)
        losses.append(round(float(epoch_losses["ner"]), 2))
    settings = {"generators": generators, "notes_per_generator": notes_per_generator, "epochs": epochs,
                "seed": seed, "name_share": name_share, "batch_size": batch_size, "negatives": len(negatives),
                "notes": len(notes),
                "losses": losses}
    nlp.meta.update({"name": MODEL_NAME, "version": "1.0.0", "description": "medfed de-identification NER "
                     "trained on synthetic notes (python -m simulations.deid_ner)", "medfed_training": settings})
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)  # no wall time in the folder: the same command writes the same files
    return {**settings, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="model folder to write (deid.ner-model)")
    parser.add_argument("--generators", default="1,2", help="comma-separated synthetic generators: 1 to 5")
    parser.add_argument("--notes", type=int, default=600, help="training notes per generator")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name-share", type=float, default=0.5,
                        help="share of gold names whose words are swapped for census names")
    parser.add_argument("--batch-size", type=int, default=16, help="notes per update")
    parser.add_argument("--pubmedqa", type=Path, help="PubMedQA ori_pqal.json: contexts added as text without PHI")
    parser.add_argument("--pubmedqa-test-ids", type=Path, help="test_ground_truth.json: ids never trained on")
    parser.add_argument("--negatives", type=int, default=600, help="PubMedQA contexts added (with --pubmedqa)")
    args = parser.parse_args(argv)
    if not set(args.generators.replace(" ", "").split(",")) <= set(GENERATORS):
        parser.error(f"--generators takes a comma-separated subset of {', '.join(GENERATORS)}")
    if args.pubmedqa and not args.pubmedqa_test_ids:
        parser.error("--pubmedqa needs --pubmedqa-test-ids: no PubMedQA test item may be trained on")
    negatives = pubmedqa_negatives(args.pubmedqa, args.pubmedqa_test_ids, args.negatives, args.seed) if args.pubmedqa else []
    settings = build(args.out_dir, args.generators, args.notes, args.epochs, args.seed, args.name_share,
                     args.batch_size, negatives)
    print(json.dumps(settings))
    return settings


if __name__ == "__main__":
    main()
