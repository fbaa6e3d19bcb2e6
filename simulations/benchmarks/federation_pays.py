"""Does federation pay? Same hospitals, same split, same compute: four ways to get a model.

    nice -n 10 python -m simulations.benchmarks.federation_pays --run-config "eval.pubmedqa-path=... \
        eval.pubmedqa-test-ids=... eval.chatdoctor-path=... eval.max-items=100 eval.context-words=40 ..."

(a) the base model untouched; (b) each hospital alone; (c) the federation (FedAvg); (d) every hospital's
data pooled centrally. With real data configured (``eval.pubmedqa-*``), hospitals are PubMedQA-outside-test
plus ChatDoctor split non-IID (``simulations.realdata``) and models are scored on the official PubMedQA test
ids; otherwise the synthetic hospitals are used and only held-out loss is compared.

Budget: every arm runs ``train.rounds`` rounds built like the federation's. A hospital alone takes the
``train.local-steps`` per round it would take inside the federation; the pooled model takes as many steps
per round as all hospitals together; so the federation and the pooled model spend the same compute, and the
lone hospitals split it. Rounds run in-process with the hospitals' own training loop
(``client.train.train_round``) and Flower's FedAvg arithmetic (``aggregate_arrayrecords``), without the
transport: the wire and the strategies are measured elsewhere, and Ray would only add minutes here.
Writes ``<run.output-dir>/benchmarks/federation_pays.json`` and ``.md`` (numbers only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from flwr.app import MetricRecord, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords

from client.data import prepare_hospital_data
from client.stages import objective_for
from client.train import evaluate, train_round
from common.config import RunConfig
from common.evaluation import PromptBuilder, load_pubmedqa, load_pubmedqa_ids, score_by_generation, score_by_likelihood
from common.logs import get_logger
from common.model import LoadedModel, build_adapter_model
from common.stages import Stage, build_schedule
from server.federation import from_arrayrecord, to_arrayrecord
from simulations.realdata import RealDataPlan, write_hospitals
from simulations.run import ensure_synthetic_hospitals, parse_overrides

log = get_logger("federation-pays")

State = dict[str, torch.Tensor]


@dataclasses.dataclass
class Hospital:
    name: str
    train: list
    heldout: list


class Experiment:
    def __init__(self, cfg: RunConfig, plan: RealDataPlan | None) -> None:
        self.cfg = cfg
        self.plan = plan
        self.stage: Stage = build_schedule(cfg.replace(**{"schedule.paradigm": "ift"})).stages[0]
        self.loaded: LoadedModel = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
        self.initial = self.loaded.adapter_state()
        self.objective = objective_for("ift", self.loaded.tokenizer, self.stage.max_seq_len)
        self.hospitals = self._hospitals()
        self.test_items = self._test_items()
        self.correct: dict[str, list[bool]] = {}  # arm -> per test item, right or not (the headline metric)
        self.predicted: dict[str, dict[str, float]] = {}  # arm -> share of each answer it gave

    # -- data ---------------------------------------------------------------------------------------

    def _hospitals(self) -> list[Hospital]:
        root = Path(self.cfg.data.root).expanduser()
        if self.plan is not None:
            write_hospitals(root, self.plan, pubmedqa=Path(self.cfg.eval.pubmedqa_path),
                            test_ids=Path(self.cfg.eval.pubmedqa_test_ids),
                            chatdoctor=Path(self.cfg.eval.chatdoctor_path) if self.cfg.eval.chatdoctor_path else None)
            folders = [root / f"hospital-{i}" for i in range(self.plan.hospitals)]
        else:
            folders = ensure_synthetic_hospitals(self.cfg)
        hospitals = []
        for folder in folders:
            prepared = prepare_hospital_data(folder, self.cfg)
            hospitals.append(Hospital(folder.name, self.objective.examples(prepared.train),
                                      self.objective.examples(prepared.heldout)))
        return hospitals

    def _test_items(self) -> list:
        if self.plan is None:
            return []
        items = load_pubmedqa(Path(self.cfg.eval.pubmedqa_path),
                              include=load_pubmedqa_ids(Path(self.cfg.eval.pubmedqa_test_ids)))
        return items[:self.cfg.eval.max_items] if self.cfg.eval.max_items else items

    # -- training -----------------------------------------------------------------------------------

    def _local(self, state: State, examples: list, stage: Stage, round_in_stage: int, seed: str) -> State:
        self.loaded.load_adapter_state(state)
        train_round(self.loaded.model, self.objective, examples, stage, round_in_stage=round_in_stage,
                    rng=random.Random(seed), weight_decay=self.cfg.train.weight_decay,
                    max_grad_norm=self.cfg.train.max_grad_norm)
        return self.loaded.adapter_state()

    def alone(self, hospital: Hospital) -> State:
        state = self.initial
        for r in range(1, self.stage.rounds + 1):
            state = self._local(state, hospital.train, self.stage, r, f"{hospital.name}-{r}")
        return state

    def federation(self) -> State:
        state = self.initial
        for r in range(1, self.stage.rounds + 1):
            replies = [RecordDict({"arrays": to_arrayrecord(self._local(state, h.train, self.stage, r, f"{h.name}-{r}")),
                                   "metrics": MetricRecord({"num-examples": len(h.train)})}) for h in self.hospitals]
            state = from_arrayrecord(aggregate_arrayrecords(replies, "num-examples"))
        return state

    def pooled(self) -> State:
        stage = dataclasses.replace(self.stage, local_steps=self.stage.local_steps * len(self.hospitals))
        examples = [e for h in self.hospitals for e in h.train]
        state = self.initial
        for r in range(1, stage.rounds + 1):
            state = self._local(state, examples, stage, r, f"pooled-{r}")
        return state

    # -- evaluation ---------------------------------------------------------------------------------

    def score(self, arm: str, state: State) -> dict[str, float]:
        self.loaded.load_adapter_state(state)
        model = self.loaded.model
        scores: dict[str, float] = {}
        losses = [evaluate(model, self.objective, h.heldout, self.stage.batch_size, self.cfg.train.eval_batches)
                  for h in self.hospitals if h.heldout]
        scores["heldout-loss"] = sum(loss * n for loss, n in losses) / max(1, sum(n for _, n in losses))
        if self.test_items:
            builder = PromptBuilder(self.loaded.tokenizer, self.cfg.eval.context_words)
            results = []
            if self.cfg.eval.method in ("loglik", "both"):
                results.append(score_by_likelihood(model, builder, self.test_items))
                scores.update(results[-1].metrics("pubmedqa-loglik"))
            if self.cfg.eval.method in ("generate", "both"):
                results.append(score_by_generation(model, builder, self.test_items))
                scores.update(results[-1].metrics("pubmedqa-generate"))
            headline = results[0]  # the metric the targets are read on (likelihood when it is scored)
            self.correct[arm] = [p == a for p, a in zip(headline.predictions, headline.answers)]
            self.predicted[arm] = {label: n / headline.n for label, n in Counter(headline.predictions).items()}
        return scores

    def run(self) -> dict:
        results: dict[str, dict] = {}
        arms = [("base", lambda: self.initial)]
        arms += [(f"alone:{h.name}", lambda h=h: self.alone(h)) for h in self.hospitals]
        arms += [("federation", self.federation), ("pooled", self.pooled)]
        for name, train in arms:
            started = time.perf_counter()
            state = train()
            trained = time.perf_counter() - started
            results[name] = {**self.score(name, state), "train-seconds": trained,
                             "eval-seconds": time.perf_counter() - started - trained}
            log.info("%s: %s", name, {k: round(v, 4) for k, v in results[name].items()})
        return results


def paired_interval(a: list[bool], b: list[bool], *, draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% paired-bootstrap interval of accuracy(a) - accuracy(b) in points, items resampled together.

    Written out because it is six lines; a statistics dependency for it would be the larger cost.
    """
    rng = np.random.default_rng(seed)
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    means = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)
    low, high = np.percentile(100 * means, [2.5, 97.5])
    return float(low), float(high)


def headline(results: dict[str, dict], metric: str, correct: dict[str, list[bool]]) -> dict:
    """The targets: federation beats base, beats the best lone hospital by 3 points, within 1 of pooled.

    Each comparison comes with its paired-bootstrap 95% interval: on a few hundred items a few points
    are within the noise, and the verdict should say so.
    """
    alone = {k: v[metric] for k, v in results.items() if k.startswith("alone:")}
    best_arm = max(alone, key=alone.get)
    fed, base, pooled, best = results["federation"][metric], results["base"][metric], results["pooled"][metric], \
        alone[best_arm]
    return {"metric": metric, "federation": fed, "base": base, "best-alone": best, "best-alone-arm": best_arm,
            "pooled": pooled,
            "beats-base": fed > base, "beats-best-alone-by-3": 100 * (fed - best) >= 3,
            "within-1-of-pooled": abs(100 * (fed - pooled)) <= 1,
            "interval-federation-minus-base": paired_interval(correct["federation"], correct["base"]),
            "interval-federation-minus-best-alone": paired_interval(correct["federation"], correct[best_arm]),
            "interval-federation-minus-pooled": paired_interval(correct["federation"], correct["pooled"])}


def markdown_table(results: dict[str, dict]) -> str:
    columns = sorted({k for r in results.values() for k in r})
    lines = ["| arm | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for arm, row in results.items():
        lines.append(f"| {arm} | " + " | ".join(f"{row.get(c, float('nan')):.4g}" for c in columns) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-config", default="", help="space-separated key=value overrides (TOML values)")
    parser.add_argument("--max-pubmedqa", type=int, default=0, help="PubMedQA training items over all hospitals")
    parser.add_argument("--max-chatdoctor", type=int, default=0, help="ChatDoctor pairs over all hospitals")
    parser.add_argument("--answer-words", type=int, default=60, help="words kept of each ChatDoctor question and answer")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = RunConfig.from_flat({"deid.enabled": False, **parse_overrides(args.run_config)})
    real = bool(cfg.eval.pubmedqa_path and cfg.eval.pubmedqa_test_ids
                and Path(cfg.eval.pubmedqa_path).is_file() and Path(cfg.eval.pubmedqa_test_ids).is_file())
    plan = RealDataPlan(cfg.simulation.num_hospitals, cfg.eval.split_alpha, cfg.run.seed, cfg.eval.context_words,
                        args.max_pubmedqa, args.max_chatdoctor, args.answer_words) if real else None
    started = time.perf_counter()
    experiment = Experiment(cfg, plan)
    results = experiment.run()
    metric = "pubmedqa-loglik-accuracy" if real and cfg.eval.method != "generate" else \
        "pubmedqa-generate-accuracy" if real else None
    report = {
        "data": "pubmedqa+chatdoctor" if real else "synthetic",
        "hospitals": {h.name: {"train": len(h.train), "heldout": len(h.heldout)} for h in experiment.hospitals},
        "test-items": len(experiment.test_items),
        # The share of each answer among the scored items: "always yes" scores the yes share.
        "test-answer-shares": {a: n / max(1, len(experiment.test_items))
                               for a, n in Counter(i.answer for i in experiment.test_items).items()},
        "stage": dataclasses.asdict(experiment.stage),
        "plan": dataclasses.asdict(plan) if plan else None,
        "results": results,
        "predicted-answer-shares": experiment.predicted,
        "targets": headline(results, metric, experiment.correct) if metric else None,
        "seconds": time.perf_counter() - started,
        "config": cfg.to_flat(),
    }
    out = Path(cfg.run.output_dir).expanduser() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "federation_pays.json").write_text(json.dumps(report, indent=2))
    (out / "federation_pays.md").write_text(markdown_table(results) + "\n")
    print(markdown_table(results))
    if report["targets"]:
        print(json.dumps(report["targets"], indent=2))


if __name__ == "__main__":
    main()
