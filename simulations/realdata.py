"""Real benchmark data as simulated hospitals: PubMedQA (outside its test split) and ChatDoctor, non-IID.

    python -m simulations.realdata --run-config "data.root='.medfed/realdata' eval.pubmedqa-path=... \
        eval.pubmedqa-test-ids=... eval.chatdoctor-path=..."

Each hospital gets an ``instructions.jsonl`` (Alpaca: instruction/input/output) that the data pipeline
reads like any hospital export, and a ``notes.jsonl`` holding the full context of each of its PubMedQA items
as one note (what a continued-pretraining stage trains on; the instruction-tuning stages never read it). The split is non-IID the usual way (label/topic skew): for every PubMedQA
answer and every ChatDoctor topic, the share each hospital receives is drawn from Dirichlet(alpha).
PubMedQA items are asked exactly as evaluation asks them (``common.evaluation.question_message``) and
answered with the label, so training teaches what the benchmark measures; test ids are never written.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.config import RunConfig
from common.evaluation import load_open_qa, load_pubmedqa, load_pubmedqa_ids, question_message, truncate_words
from common.logs import get_logger

log = get_logger("realdata")

# Coarse ChatDoctor topics by keywords in the patient's question: what makes hospitals' case mixes differ.
TOPICS: dict[str, tuple[str, ...]] = {
    "cardio-respiratory": ("heart", "chest", "breath", "cough", "lung", "blood pressure", "palpitation"),
    "digestive": ("stomach", "abdominal", "abdomen", "vomit", "diarrh", "bowel", "liver", "nausea"),
    "neuro-psych": ("head", "dizz", "anxiety", "depress", "sleep", "migraine", "numb", "seizure"),
    "skin": ("skin", "rash", "itch", "acne", "lump", "mole"),
    "musculoskeletal": ("back", "knee", "joint", "neck", "shoulder", "pain in my leg", "muscle"),
}


def topic_of(text: str) -> str:
    lowered = text.lower()
    return next((topic for topic, words in TOPICS.items() if any(w in lowered for w in words)), "general")


def dirichlet_split(groups: dict[str, list[Any]], hospitals: int, alpha: float, seed: int) -> list[list[Any]]:
    """Share every group's records among hospitals in Dirichlet(alpha) proportions (deterministic by seed)."""
    rng = np.random.default_rng(seed)
    shares: list[list[Any]] = [[] for _ in range(hospitals)]
    for key in sorted(groups):
        records = groups[key]
        proportions = rng.dirichlet([alpha] * hospitals)
        cuts = (np.cumsum(proportions)[:-1] * len(records)).round().astype(int)
        for hospital, part in enumerate(np.split(np.arange(len(records)), cuts)):
            shares[hospital].extend(records[i] for i in part)
    return shares


@dataclass(frozen=True)
class RealDataPlan:
    """What to take and how to cut it; capped for a CPU budget."""

    hospitals: int
    alpha: float
    seed: int
    context_words: int = 0  # words of each PubMedQA context kept (0: all)
    max_pubmedqa: int = 0  # PubMedQA training items over all hospitals (0: every non-test item)
    max_chatdoctor: int = 0  # ChatDoctor pairs over all hospitals (0: none)
    answer_words: int = 0  # words kept of each ChatDoctor question and answer (0: all)


def pubmedqa_records(path: Path, test_ids_path: Path, plan: RealDataPlan) -> dict[str, list[dict]]:
    """Non-test PubMedQA items as Alpaca records, grouped by answer."""
    items = load_pubmedqa(path, exclude=load_pubmedqa_ids(test_ids_path))
    random.Random(plan.seed).shuffle(items)
    if plan.max_pubmedqa:
        items = items[:plan.max_pubmedqa]
    groups: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        groups[item.answer].append({"instruction": question_message(item, plan.context_words), "input": "",
                                    "output": item.answer, "id": f"pubmedqa-{item.item_id}",
                                    "context": item.context})
    return groups


def chatdoctor_records(path: Path, plan: RealDataPlan) -> dict[str, list[dict]]:
    """ChatDoctor pairs as Alpaca records, grouped by topic."""
    items = load_open_qa(path)
    random.Random(plan.seed + 1).shuffle(items)
    groups: dict[str, list[dict]] = defaultdict(list)
    for item in items[:plan.max_chatdoctor]:
        groups[topic_of(item.prompt)].append({"instruction": truncate_words(item.prompt, plan.answer_words), "input": "",
                                              "output": truncate_words(item.reference, plan.answer_words),
                                              "id": f"chatdoctor-{item.item_id}"})
    return groups


def write_hospitals(root: Path, plan: RealDataPlan, *, pubmedqa: Path, test_ids: Path,
                    chatdoctor: Path | None = None) -> dict[str, Any]:
    """Write ``<root>/hospital-<i>/instructions.jsonl`` and ``notes.jsonl``; returns the split's counts (no text).

    A note is one training item's context, its own patient (``note_id`` and ``patient_id`` are the item's
    PMID), so the pipeline's held-out split never cuts a context in two."""
    shares = dirichlet_split(pubmedqa_records(pubmedqa, test_ids, plan), plan.hospitals, plan.alpha, plan.seed)
    if chatdoctor is not None and plan.max_chatdoctor:
        chats = dirichlet_split(chatdoctor_records(chatdoctor, plan), plan.hospitals, plan.alpha, plan.seed + 1)
        shares = [a + b for a, b in zip(shares, chats)]
    counts = {}
    for i, records in enumerate(shares):
        folder = root / f"hospital-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        random.Random(f"{plan.seed}-{i}").shuffle(records)
        with open(folder / "instructions.jsonl", "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps({k: record[k] for k in ("instruction", "input", "output")}) + "\n")
        with open(folder / "notes.jsonl", "w", encoding="utf-8") as f:
            for record in records:
                if record.get("context"):  # PubMedQA items only; the notes schema needs a non-blank date
                    f.write(json.dumps({"note_id": record["id"], "patient_id": record["id"], "date": "undated",
                                        "text": record["context"]}) + "\n")
        counts[folder.name] = dict(Counter(r["output"] if r["id"].startswith("pubmedqa") else "chatdoctor"
                                           for r in records))
    (root / "realdata.json").write_text(json.dumps({"plan": plan.__dict__, "counts": counts}, indent=2))
    log.info("wrote %d hospitals under %s: %s", plan.hospitals, root, counts)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    from simulations.run import parse_overrides

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-config", default="", help="space-separated key=value overrides (TOML values)")
    parser.add_argument("--context-words", type=int, default=0)
    parser.add_argument("--max-pubmedqa", type=int, default=0)
    parser.add_argument("--max-chatdoctor", type=int, default=0)
    parser.add_argument("--answer-words", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = RunConfig.from_flat(parse_overrides(args.run_config))
    if not cfg.eval.pubmedqa_path or not cfg.eval.pubmedqa_test_ids:
        raise SystemExit("set eval.pubmedqa-path and eval.pubmedqa-test-ids")
    plan = RealDataPlan(cfg.simulation.num_hospitals, cfg.eval.split_alpha, cfg.run.seed, args.context_words,
                        args.max_pubmedqa, args.max_chatdoctor, args.answer_words)
    write_hospitals(Path(cfg.data.root).expanduser(), plan, pubmedqa=Path(cfg.eval.pubmedqa_path),
                    test_ids=Path(cfg.eval.pubmedqa_test_ids),
                    chatdoctor=Path(cfg.eval.chatdoctor_path) if cfg.eval.chatdoctor_path else None)


if __name__ == "__main__":
    main()
