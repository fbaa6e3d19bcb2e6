"""Does federation pay? Same hospitals, same split, same compute: five ways to get a model, on one task.

    OMP_NUM_THREADS=1 python -m simulations.benchmarks.federation_pays --task chatdoctor-knowledge \
        --data-dir /work/shared/data --run-config "model.quantization='none'" --seeds 0,1
    ... --task chatdoctor-answers        # held-out perplexity (and ROUGE-L) of ChatDoctor's doctor answers
    ... --task pubmedqa --run-config "eval.pubmedqa-path=... eval.pubmedqa-test-ids=... eval.context-words=40"

(a) the base model untouched; (b) each hospital alone; (c) the federation, FedAvg of the LoRA factors and
(c') the exact LoRA aggregation (mean of the products, re-factorised); only with ``--arms``, (c'')
``federation-fedavgm``, FedAvgM's server step from the mean (``strategy.server-learning-rate``,
``strategy.server-momentum``); (d) every hospital's data pooled;
(e) ``cp-ift``, where the hospitals have notes: the federation (FedAvg) first runs the continued-pretraining
stage on its notes (PubMedQA: each training item's context), then the federation's IFT rounds from that
adapter. ``--arms`` picks arms (default: all but ``federation-fedavgm``, ``cp-ift`` only when some hospital has notes).

Tasks. ``chatdoctor-knowledge``: the ChatDoctor disease table split by disease across hospitals
(``simulations.chatdoctor``), trained as fact pairs and scored on closed questions of other templates about
every disease (option texts by likelihood). ``chatdoctor-answers``: ChatDoctor's pairs split by the disease
they name, scored by the held-out perplexity of the doctor's answers and ROUGE-L of generated ones.
``pubmedqa``: PubMedQA outside its test split (plus ChatDoctor when ``eval.chatdoctor-path`` is set) split
non-IID (``simulations.realdata``), scored on the official test ids; without those files the synthetic
hospitals are used and only held-out loss is compared.

Budget: every arm runs ``train.rounds`` rounds built like the federation's. A hospital alone takes the
``train.local-steps`` per round it would take inside the federation; the pooled model takes as many steps
per round as all hospitals together; so the federation and the pooled model spend the same compute, and the
lone hospitals split it. The CP rounds of ``cp-ift`` are extra compute on top of that same IFT budget
(the JSON's facts record both); they take the ``cp`` stage of the ``cp-ift`` paradigm, so ``stage.cp.*``
keys of the run config set them (``stage.cp.rounds=2 stage.cp.local-steps=8``), falling back to ``train.*``.
Rounds run in-process with the hospitals' own training loop
(``client.train.train_round``), Flower's FedAvg arithmetic (``aggregate_arrayrecords``) and the exact
aggregation's (``common.lowrank``), without the transport: the wire and the strategies are measured
elsewhere, and Ray would only add minutes here. ``--seeds`` repeats everything (split, adapter
initialisation, batch order) per seed; intervals are paired bootstraps over (seed, item).
Writes ``<run.output-dir>/benchmarks/federation_pays[_<task>].json`` and ``.md`` (numbers only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from flwr.app import MetricRecord, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords

from client.data import prepare_hospital_data
from client.stages import objective_for
from client.train import evaluate, train_round
from common import lowrank
from common.config import RunConfig
from common.evaluation import (
    MultipleChoiceItem,
    OpenItem,
    PromptBuilder,
    load_pubmedqa,
    load_pubmedqa_ids,
    score_by_generation,
    score_by_likelihood,
    score_open_qa,
    truncate_words,
)
from common.evaluation.scoring import score_option_texts
from common.exchange import from_arrayrecord, to_arrayrecord
from common.logs import get_logger
from common.model import LoadedModel, build_adapter_model
from common.records import Conversation
from common.stages import Stage, build_schedule
from common.tokens import IGNORE
from simulations.chatdoctor import (
    knowledge_pairs,
    knowledge_questions,
    load_diseases,
    pick_diseases,
    split_answers,
    split_by_disease,
)
from simulations.realdata import RealDataPlan, write_hospitals
from simulations.run import ensure_synthetic_hospitals, parse_overrides

log = get_logger("federation-pays")

State = dict[str, torch.Tensor]


@dataclasses.dataclass
class Hospital:
    name: str
    train: list
    heldout: list
    notes: list = dataclasses.field(default_factory=list)  # CP examples of its training notes
    note_texts: tuple[str, ...] = ()  # every note it holds, training and held-out (for the leak check)


@dataclasses.dataclass
class Task:
    """What the arms are trained on and how they are scored.

    ``score(model, arm)`` returns the arm's metrics and, per test item, the value the paired bootstrap
    resamples (right or wrong for closed questions, the item's loss for answers).
    """

    name: str
    hospitals: list[Hospital]
    score: Callable[[torch.nn.Module, str], tuple[dict[str, float], list[float]]]
    metric: str  # the headline metric
    higher_is_better: bool = True
    facts: dict = dataclasses.field(default_factory=dict)  # counts and checks written to the JSON (no text)


def read_hospitals(folders: Sequence[Path], cfg: RunConfig, objective, notes_objective=None) -> list[Hospital]:
    """Each hospital's IFT examples and, with ``notes_objective`` (CP), the CP examples of its notes."""
    hospitals = []
    for folder in folders:
        prepared = prepare_hospital_data(folder, cfg)
        notes = notes_objective.examples(prepared.train) if notes_objective else []
        hospitals.append(Hospital(folder.name, objective.examples(prepared.train), objective.examples(prepared.heldout),
                                  notes, tuple(n.text for n in prepared.train.notes + prepared.heldout.notes)))
    return hospitals


def stages_of(cfg: RunConfig) -> tuple[Stage, Stage]:
    """The CP and IFT stages of the ``cp-ift`` paradigm: IFT is every arm's, CP the extra one of ``cp-ift``."""
    cp, ift = build_schedule(cfg.replace(**{"schedule.paradigm": "cp-ift", "schedule.stages": ""})).stages
    return cp, ift


def budget(stage: Stage, examples_per_hospital: Sequence[int]) -> dict:
    """What a stage spends per hospital (optimizer steps, rows of ``max_seq_len`` tokens at most)."""
    return {"rounds": stage.rounds, "local-steps": stage.local_steps, "batch-size": stage.batch_size,
            "max-seq-len": stage.max_seq_len, "learning-rate": stage.learning_rate,
            "steps-per-hospital": stage.rounds * stage.local_steps,
            "rows-per-hospital": stage.rounds * stage.local_steps * stage.batch_size,
            "examples-per-hospital": list(examples_per_hospital)}


def write_pairs(folder: Path, pairs: Sequence[tuple[str, str]]) -> Path:
    """A hospital's instruction export (Alpaca jsonl), as the data pipeline reads it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "instructions.jsonl", "w", encoding="utf-8") as f:
        for instruction, output in pairs:
            f.write(json.dumps({"instruction": instruction, "input": "", "output": output}) + "\n")
    return folder


ARMS = ("base", "alone", "federation", "federation-exact", "federation-fedavgm", "pooled", "cp-ift")
# Run only when asked for (--arms): FedAvgM's server step is a setting to try (strategy.server-learning-rate,
# strategy.server-momentum), not one of the arms the targets compare.
OPT_IN_ARMS = ("federation-fedavgm",)


class Experiment:
    """Every arm on one task, from one seeded initial adapter: base, alone, FedAvg, exact LoRA, pooled, CP-IFT.

    Args:
        cfg: the run's configuration (the arms' stages come from ``stages_of``).
        loaded: the model with its seeded initial adapter.
        objective: the IFT objective every arm trains with.
        task: the hospitals and the scorer.
        notes_objective: the CP objective of the ``cp-ift`` arm (None: the arm cannot run).
    """

    def __init__(self, cfg: RunConfig, loaded: LoadedModel, objective, task: Task, notes_objective=None) -> None:
        self.cfg, self.loaded, self.objective, self.task = cfg, loaded, objective, task
        self.notes_objective = notes_objective
        self.cp_stage, self.stage = stages_of(cfg)
        self.initial = loaded.adapter_state()
        self.hospitals = task.hospitals
        self.per_item: dict[str, list[float]] = {}
        self.first_rounds: dict[str, State] = {}
        self.facts: dict = {}  # what an arm measured about itself (cp-ift: budgets, adapter change)

    def _local(self, state: State, examples: list, stage: Stage, round_in_stage: int, seed: str,
               objective=None) -> State:
        self.loaded.load_adapter_state(state)
        train_round(self.loaded.model, objective or self.objective, examples, stage, round_in_stage=round_in_stage,
                    rng=random.Random(f"{self.cfg.run.seed}-{seed}"), weight_decay=self.cfg.train.weight_decay,
                    max_grad_norm=self.cfg.train.max_grad_norm)
        return self.loaded.adapter_state()

    def _first_round(self, hospital: Hospital) -> State:
        """A hospital's round 1 from the initial adapter: the same computation (same state, examples and
        batch order) whether it then trains alone or in either federation, so it runs once, for all three."""
        if hospital.name not in self.first_rounds:
            self.first_rounds[hospital.name] = self._local(self.initial, hospital.train, self.stage, 1,
                                                           f"{hospital.name}-1")
        return self.first_rounds[hospital.name]

    def alone(self, hospital: Hospital) -> State:
        state = self._first_round(hospital)
        for r in range(2, self.stage.rounds + 1):
            state = self._local(state, hospital.train, self.stage, r, f"{hospital.name}-{r}")
        return state

    def federation(self, exact: bool = False, start: State | None = None, server_step: bool = False) -> State:
        """FedAvg of the factors (Flower's arithmetic), or with ``exact`` the mean of the products B·A
        re-factorised to the global rank (``server.aggregation.exact``'s arithmetic), or with ``server_step``
        FedAvgM's step from that mean (``strategy.server-learning-rate``, ``strategy.server-momentum``); IFT
        rounds from ``start`` (default: the initial adapter, whose first rounds the lone hospitals share)."""
        state = self.initial if start is None else start
        weights = [len(h.train) for h in self.hospitals]
        velocity = None
        for r in range(1, self.stage.rounds + 1):
            states = [self._first_round(h) if r == 1 and start is None
                      else self._local(state, h.train, self.stage, r, f"{h.name}-{r}") for h in self.hospitals]
            if exact:
                state = exact_mean(states, weights, self.cfg.adapter.rank, self.cfg.adapter.alpha)
            elif server_step:
                state, velocity = fedavgm(state, fedavg(states, weights), velocity,
                                          self.cfg.strategy.server_learning_rate, self.cfg.strategy.server_momentum)
            else:
                state = fedavg(states, weights)
        return state

    def cp_ift(self) -> State:
        """FedAvg rounds of the CP stage on the hospitals' notes, then the federation's IFT rounds (the same
        rounds, steps and batch order as the ``federation`` arm) from the adapter CP left."""
        members = [h for h in self.hospitals if h.notes]
        if self.notes_objective is None or not members:
            raise ValueError("arm 'cp-ift' needs hospitals with notes (none of this task's hospitals has any)")
        state = self.initial
        for r in range(1, self.cp_stage.rounds + 1):
            states = [self._local(state, h.notes, self.cp_stage, r, f"{h.name}-cp-{r}", self.notes_objective)
                      for h in members]
            state = fedavg(states, [len(h.notes) for h in members])
        self.facts["cp-ift"] = {
            # The CP rounds are extra compute: the IFT budget is the federation arm's, unchanged.
            "budget-cp": budget(self.cp_stage, [len(h.notes) for h in self.hospitals]),
            "budget-ift": budget(self.stage, [len(h.train) for h in self.hospitals]),
            # Did CP train at all: the L2 norm of (adapter after CP - initial adapter), over every tensor.
            "adapter-change-after-cp": float(torch.sqrt(sum(((state[k].float() - v.float()) ** 2).sum()
                                                            for k, v in self.initial.items()))),
        }
        return self.federation(start=state)

    def pooled(self) -> State:
        stage = dataclasses.replace(self.stage, local_steps=self.stage.local_steps * len(self.hospitals))
        examples = [e for h in self.hospitals for e in h.train]
        state = self.initial
        for r in range(1, stage.rounds + 1):
            state = self._local(state, examples, stage, r, f"pooled-{r}")
        return state

    def score(self, arm: str, state: State) -> dict[str, float]:
        self.loaded.load_adapter_state(state)
        model = self.loaded.model
        losses = [evaluate(model, self.objective, h.heldout, self.stage.batch_size, self.cfg.train.eval_batches)
                  for h in self.hospitals if h.heldout]
        # No held-out records (data.eval-fraction 0: the knowledge task trains on every fact it asks about).
        scores = ({"heldout-loss": sum(loss * n for loss, n in losses) / max(1, sum(n for _, n in losses))}
                  if losses else {})
        metrics, per_item = self.task.score(model, arm)
        self.per_item[arm] = per_item
        return {**scores, **metrics}

    def run(self, chosen: Sequence[str]) -> dict:
        """Train and score the ``chosen`` arms (names of ``ARMS``; ``alone`` is one arm per hospital)."""
        results: dict[str, dict] = {}
        builders = {"base": [("base", lambda: self.initial)],
                    "alone": [(f"alone:{h.name}", lambda h=h: self.alone(h)) for h in self.hospitals],
                    "federation": [("federation", self.federation)],
                    "federation-exact": [("federation-exact", lambda: self.federation(exact=True))],
                    "federation-fedavgm": [("federation-fedavgm", lambda: self.federation(server_step=True))],
                    "pooled": [("pooled", self.pooled)], "cp-ift": [("cp-ift", self.cp_ift)]}
        arms = [arm for name in ARMS if name in chosen for arm in builders[name]]
        for name, train in arms:
            started = time.perf_counter()
            state = train()
            trained = time.perf_counter() - started
            results[name] = {**self.score(name, state), "train-seconds": trained,
                             "eval-seconds": time.perf_counter() - started - trained}
            log.info("%s %s: %s", self.task.name, name, {k: round(v, 4) for k, v in results[name].items()})
        return results


def fedavg(states: Sequence[State], weights: Sequence[float]) -> State:
    """Flower's FedAvg arithmetic on the adapter states, weighted by ``weights`` (the examples)."""
    replies = [RecordDict({"arrays": to_arrayrecord(s), "metrics": MetricRecord({"num-examples": w})})
               for s, w in zip(states, weights)]
    return from_arrayrecord(aggregate_arrayrecords(replies, "num-examples"))


def fedavgm(state: State, mean: State, velocity: State | None, lr: float, momentum: float) -> tuple[State, State]:
    """FedAvgM's server step (Flower's FedAvgM): the pseudo-gradient ``state - mean`` into the momentum
    ``velocity``, then ``state - lr * velocity``. With lr 1 and momentum 0 it is FedAvg; with lr K (the
    hospitals) and momentum 0 it applies the sum of their updates instead of the mean."""
    pseudo = {k: state[k] - mean[k] for k in mean}
    velocity = pseudo if velocity is None else {k: momentum * velocity[k] + pseudo[k] for k in pseudo}
    return {k: state[k] - lr * velocity[k] for k in velocity}, velocity


def exact_mean(states: Sequence[State], weights: Sequence[float], rank: int, alpha: float) -> State:
    """Weighted mean of the hospitals' LoRA products, re-factorised to ``rank`` by truncated SVD (kept factored)."""
    total = float(sum(weights))
    mean = lowrank.weighted_sum([lowrank.factored_products(s, alpha) for s in states], [w / total for w in weights])
    return lowrank.factorise(mean, lowrank.lora_pairs(states[0]), rank, alpha).state


# -- tasks ------------------------------------------------------------------------------------------


def closed_scorer(items: list[MultipleChoiceItem], builder: PromptBuilder, prefix: str, method: str,
                  predicted: dict[str, dict[str, float]]):
    """Score ``items`` as closed questions; the predicted-answer mix of each arm is kept in ``predicted``."""

    def score(model: torch.nn.Module, arm: str) -> tuple[dict[str, float], list[float]]:
        if method == "option-text":
            results = list(score_option_texts(model, builder, items))
            names = ["", "-per-token"]
        else:
            results = []
            if method in ("loglik", "both"):
                results.append(score_by_likelihood(model, builder, items))
            if method in ("generate", "both"):
                results.append(score_by_generation(model, builder, items))
            names = [f"-{r.method}" for r in results]
        metrics: dict[str, float] = {}
        for name, result in zip(names, results):
            metrics.update(result.metrics(f"{prefix}{name}"))
        headline = results[0]
        if method != "option-text":
            predicted[arm] = {label: n / headline.n for label, n in Counter(headline.predictions).items()}
        kinds = Counter(i.item_id.split(":")[0] for i in items if ":" in i.item_id)
        if len(kinds) > 1:  # accuracy per question template too (ids "<template>:<subject>")
            for kind in kinds:
                picked = [p == a for p, a, i in zip(headline.predictions, headline.answers, items)
                          if i.item_id.startswith(kind + ":")]
                metrics[f"{prefix}-{kind}-accuracy"] = sum(picked) / len(picked)
        return metrics, [float(p == a) for p, a in zip(headline.predictions, headline.answers)]

    return score


def leaked_contexts(hospitals: Sequence[Hospital], test_items: Sequence[MultipleChoiceItem]) -> int:
    """How many test items' contexts are (whitespace aside) one of the hospitals' notes: must be 0."""
    notes = {" ".join(t.split()) for h in hospitals for t in h.note_texts}
    return sum(" ".join(i.context.split()) in notes for i in test_items)


def pubmedqa_task(cfg: RunConfig, tokenizer, objective, args, notes_objective=None) -> Task:
    real = bool(cfg.eval.pubmedqa_path and cfg.eval.pubmedqa_test_ids
                and Path(cfg.eval.pubmedqa_path).is_file() and Path(cfg.eval.pubmedqa_test_ids).is_file())
    root = Path(cfg.data.root).expanduser()
    if not real:
        hospitals = read_hospitals(ensure_synthetic_hospitals(cfg), cfg, objective, notes_objective)
        return Task("synthetic", hospitals, lambda model, arm: ({}, []), "heldout-loss", higher_is_better=False)
    plan = RealDataPlan(cfg.simulation.num_hospitals, cfg.eval.split_alpha, cfg.run.seed, cfg.eval.context_words,
                        args.max_pubmedqa, args.max_chatdoctor, args.answer_words)
    write_hospitals(root, plan, pubmedqa=Path(cfg.eval.pubmedqa_path), test_ids=Path(cfg.eval.pubmedqa_test_ids),
                    chatdoctor=Path(cfg.eval.chatdoctor_path) if cfg.eval.chatdoctor_path else None)
    hospitals = read_hospitals([root / f"hospital-{i}" for i in range(plan.hospitals)], cfg, objective,
                               notes_objective)
    items = load_pubmedqa(Path(cfg.eval.pubmedqa_path), include=load_pubmedqa_ids(Path(cfg.eval.pubmedqa_test_ids)))
    leaked = leaked_contexts(hospitals, items)  # every test item, not only the scored ones
    if leaked:
        raise RuntimeError(f"{leaked} PubMedQA test contexts are among the hospitals' notes under {root}")
    items = items[:cfg.eval.max_items] if cfg.eval.max_items else items
    builder = PromptBuilder(tokenizer, cfg.eval.context_words)
    predicted: dict[str, dict[str, float]] = {}
    metric = "pubmedqa-generate-accuracy" if cfg.eval.method == "generate" else "pubmedqa-loglik-accuracy"
    facts = {"plan": dataclasses.asdict(plan), "test-items": len(items),
             "notes-per-hospital": [len(h.note_texts) for h in hospitals], "test-contexts-in-notes": leaked,
             # The share of each answer among the scored items: "always yes" scores the yes share.
             "test-answer-shares": {a: n / max(1, len(items)) for a, n in Counter(i.answer for i in items).items()},
             "predicted-answer-shares": predicted}
    return Task("pubmedqa", hospitals, closed_scorer(items, builder, "pubmedqa", cfg.eval.method, predicted),
                metric, facts=facts)


def knowledge_task(cfg: RunConfig, tokenizer, objective, args, notes_objective=None) -> Task:
    """Facts of the ChatDoctor disease table, split by disease; closed questions on every disease."""
    diseases = pick_diseases(load_diseases(Path(args.data_dir) / "chatdoctor" / "disease_database_mini.csv"),
                             args.diseases, cfg.run.seed)
    split = split_by_disease([d.name for d in diseases], cfg.simulation.num_hospitals, cfg.run.seed)
    by_name = {d.name: d for d in diseases}
    root = Path(cfg.data.root).expanduser()
    folders = [write_pairs(root / f"hospital-{h}", [p for name in names for p in knowledge_pairs(by_name[name],
                                                                                                  cfg.run.seed)])
               for h, names in enumerate(split)]
    hospitals = read_hospitals(folders, cfg, objective, notes_objective)
    items = knowledge_questions(diseases, cfg.run.seed)
    items = items[:cfg.eval.max_items] if cfg.eval.max_items else items
    builder = PromptBuilder(tokenizer)
    facts = {"diseases-per-hospital": [len(names) for names in split], "questions": len(items),
             "question-kinds": dict(Counter(i.item_id.split(":")[0] for i in items)), "options": 4}
    return Task("chatdoctor-knowledge", hospitals, closed_scorer(items, builder, "knowledge", "option-text", {}),
                "knowledge-accuracy", facts=facts)


def answers_task(cfg: RunConfig, tokenizer, objective, args, notes_objective=None) -> Task:
    """ChatDoctor's doctor answers, split by the disease they name; shared held-out answers."""
    diseases = load_diseases(Path(args.data_dir) / "chatdoctor" / "disease_database_mini.csv")
    split = split_by_disease([d.name for d in diseases], cfg.simulation.num_hospitals, cfg.run.seed)
    shares, test = split_answers(Path(args.data_dir) / "chatdoctor" / "chatdoctor5k.json", split, cfg.run.seed,
                                 args.heldout_answers)
    cut = (lambda text: truncate_words(text, args.answer_words))
    root = Path(cfg.data.root).expanduser()
    limit = args.max_chatdoctor // len(shares) if args.max_chatdoctor else None
    folders = [write_pairs(root / f"hospital-{h}", [(cut(i.prompt), cut(i.reference)) for i in share[:limit]])
               for h, share in enumerate(shares)]
    hospitals = read_hospitals(folders, cfg, objective, notes_objective)
    test = [OpenItem(i.item_id, cut(i.prompt), cut(i.reference)) for i in test]
    examples = [objective.encode(Conversation.from_pair(i.prompt, i.reference)) for i in test]

    def score(model: torch.nn.Module, arm: str) -> tuple[dict[str, float], list[float]]:
        nll, tokens = answer_nll(model, objective, examples, cfg.train.batch_size)
        metrics = {"answers-perplexity": math.exp(sum(nll) / sum(tokens)), "answers-tokens": sum(tokens)}
        if args.rouge_items:
            open_scores, _ = score_open_qa(model, tokenizer, test[:args.rouge_items], max_new_tokens=args.rouge_tokens)
            metrics.update({"answers-rouge-l": open_scores["rouge-l"], "answers-rouge-n": open_scores["n"]})
        return metrics, [n / t for n, t in zip(nll, tokens)]

    facts = {"diseases-per-hospital": [len(names) for names in split], "pairs-per-hospital": [len(s) for s in shares],
             "heldout-answers": len(test), "rouge-items": min(args.rouge_items, len(test))}
    return Task("chatdoctor-answers", hospitals, score, "answers-perplexity", higher_is_better=False, facts=facts)


@torch.no_grad()
def answer_nll(model: torch.nn.Module, objective, examples: list, batch_size: int) -> tuple[list[float], list[int]]:
    """Each example's summed negative log-likelihood of its answer tokens, and their count."""
    model.eval()
    nll, tokens = [], []
    for start in range(0, len(examples), batch_size):
        batch = objective.collate(examples[start:start + batch_size])
        losses, _ = objective.per_sample_loss(model, batch)
        counts = (batch["labels"][:, 1:] != IGNORE).sum(1)
        nll += [float(loss) * int(n) for loss, n in zip(losses, counts)]
        tokens += counts.tolist()
    return nll, tokens


TASKS = {"pubmedqa": pubmedqa_task, "chatdoctor-knowledge": knowledge_task, "chatdoctor-answers": answers_task}


def paired_interval(a: Sequence[float], b: Sequence[float], *, scale: float = 100.0, draws: int = 2000,
                    seed: int = 0) -> tuple[float, float]:
    """95% paired-bootstrap interval of mean(a) - mean(b), items resampled together, times ``scale``
    (100: accuracy points from right/wrong per item).

    Written out because it is six lines; a statistics dependency for it would be the larger cost.
    """
    rng = np.random.default_rng(seed)
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    means = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)
    low, high = np.percentile(scale * means, [2.5, 97.5])
    return float(low), float(high)


def mean_over_seeds(per_seed: list[dict[str, dict]]) -> dict[str, dict]:
    arms = per_seed[0]
    return {arm: {k: float(np.mean([r[arm][k] for r in per_seed])) for k in arms[arm]} for arm in arms}


def headline(task: str, results: dict[str, dict], metric: str, per_item: dict[str, list[float]],
             higher_is_better: bool) -> dict:
    """The targets of the task, each comparison with its paired-bootstrap 95% interval over (seed, item).

    Closed questions (points): the federation beats the base and the best lone hospital (by 10 points on
    the knowledge questions, by 3 on PubMedQA) and lands within 2 points of pooled. Answers (perplexity):
    the federation's is below every lone hospital's. Intervals of answers are of the mean per-token loss.
    ``cp-ift`` is judged like the federation, and also against it (``interval-cp-ift-minus-federation``).
    Comparisons with an arm that did not run (``--arms``) are left out.
    """
    sign = 1 if higher_is_better else -1
    alone = {k: v[metric] for k, v in results.items() if k.startswith("alone:")}
    best_arm = max(alone, key=lambda k: sign * alone[k]) if alone else None
    out = {"metric": metric, "best-alone-arm": best_arm, "best-alone": alone[best_arm] if alone else None,
           **{arm: results[arm][metric] for arm in ("base", "federation", "federation-exact", "federation-fedavgm",
                                                    "pooled", "cp-ift")
              if arm in results}}
    scale = 100.0 if higher_is_better else 1.0
    feds = [arm for arm in ("federation", "federation-exact", "federation-fedavgm", "cp-ift") if arm in results]
    for fed in feds:
        others = [a for a in ("base", best_arm, "pooled", "federation" if fed == "cp-ift" else None) if a in results]
        for other in others if per_item.get(fed) else []:
            name = "best-alone" if other == best_arm else other
            out[f"interval-{fed}-minus-{name}"] = paired_interval(per_item[fed], per_item[other], scale=scale)
    margin = 10 if task == "chatdoctor-knowledge" else 3
    for fed in feds:
        value = results[fed][metric]
        if higher_is_better:
            if "base" in results:
                out[f"{fed}-beats-base"] = value > results["base"][metric]
            if alone:
                out[f"{fed}-beats-best-alone-by-{margin}"] = 100 * (value - alone[best_arm]) >= margin
            if "pooled" in results:
                out[f"{fed}-within-2-of-pooled"] = abs(100 * (value - results["pooled"][metric])) <= 2
        else:
            if alone:
                out[f"{fed}-below-every-alone"] = all(value < v for v in alone.values())
            if "base" in results:
                out[f"{fed}-below-base"] = value < results["base"][metric]
    if higher_is_better and "base" in results:
        out["every-trained-arm-beats-base"] = all(results[a][metric] > results["base"][metric]
                                                  for a in results if a != "base")
    return out


# Settings that differ between runs of one experiment split by seed: the seed and where each run wrote.
_PER_RUN_KEYS = ("run.seed", "data.root", "run.output-dir")


def combine_reports(paths: Sequence[Path]) -> dict:
    """One report from runs of the same experiment on disjoint seeds (run one after another, or at once on
    several machines): per-seed results and per-item values concatenated in seed order, means, targets and
    paired-bootstrap intervals recomputed over every (seed, item). Refuses runs whose task, arms, command
    arguments or settings differ (naming the file and the field), and repeated seeds."""
    reports = [(Path(p), json.loads(Path(p).read_text())) for p in paths]
    first_path, first = reports[0]

    def setting(report: dict) -> dict:
        config = {k: v for k, v in report["config"].items() if k not in _PER_RUN_KEYS}
        arguments = {k: v for k, v in report["arguments"].items() if k not in ("seeds", "run_config", "combine", "out")}
        return {"task": report["task"], "data": report["data"], "arms": sorted(report["per-item"]),
                "config": config, "arguments": arguments}

    expected = setting(first)
    seen: dict[int, Path] = {}
    for path, report in reports:
        for key, value in setting(report).items():
            if value != expected[key]:
                raise ValueError(f"{path}: field '{key}' differs from {first_path}; only seeds may differ")
        for seed in report["seeds"]:
            if seed in seen:
                raise ValueError(f"{path}: seed {seed} is also in {seen[seed]}")
            seen[seed] = path
    per_seed = [r for _, report in reports for r in report["results-per-seed"]]
    per_item = {arm: [v for _, report in reports for v in report["per-item"][arm]] for arm in first["per-item"]}
    results = mean_over_seeds(per_seed)
    higher_is_better = first.get("higher-is-better", first["targets"]["metric"] != "answers-perplexity")
    return {**first, "seeds": [s for _, report in reports for s in report["seeds"]],
            "hospitals": [h for _, report in reports for h in report["hospitals"]],
            "facts": [f for _, report in reports for f in report["facts"]],
            "results": results, "results-per-seed": per_seed, "per-item": per_item,
            "targets": headline(first["task"], results, first["targets"]["metric"], per_item, higher_is_better),
            "seconds": sum(report["seconds"] for _, report in reports),
            "combined-from": [str(path) for path, _ in reports]}


def markdown_table(results: dict[str, dict]) -> str:
    columns = sorted({k for r in results.values() for k in r})
    lines = ["| arm | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for arm, row in results.items():
        lines.append(f"| {arm} | " + " | ".join(f"{row.get(c, float('nan')):.4g}" for c in columns) + " |")
    return "\n".join(lines)


# Budgets the tasks run with unless --run-config sets them: the smallest that show the effect on 2 CPU cores.
# Knowledge: facts are memorised, so a higher learning rate and LoRA on every linear layer (MLP too), no
# dropout, and nothing held out (every fact is asked about); few local steps per round, as FedAvg of
# hospitals that know disjoint facts dilutes each hospital's update by the number of hospitals per round.
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
TASK_DEFAULTS = {
    "chatdoctor-knowledge": {"train.rounds": 3, "train.local-steps": 2, "train.batch-size": 8,
                             "train.learning-rate": 5e-3, "adapter.rank": 16, "adapter.alpha": 32.0,
                             "adapter.dropout": 0.0, "adapter.target-modules": ALL_LINEAR,
                             "data.eval-fraction": 0.0},
    "chatdoctor-answers": {"train.rounds": 2, "train.local-steps": 3, "train.batch-size": 4,
                           "train.learning-rate": 1e-3, "data.eval-fraction": 0.05, "train.eval-batches": 1},
    "pubmedqa": {},
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="pubmedqa")
    parser.add_argument("--run-config", default="", help="space-separated key=value overrides (TOML values)")
    parser.add_argument("--seeds", default="", help="comma-separated run seeds (default: run.seed)")
    parser.add_argument("--data-dir", default="../shared/data", help="folder holding chatdoctor/ (ChatDoctor tasks)")
    parser.add_argument("--max-pubmedqa", type=int, default=0, help="PubMedQA training items over all hospitals")
    parser.add_argument("--max-chatdoctor", type=int, default=0, help="ChatDoctor pairs over all hospitals (0: all)")
    parser.add_argument("--diseases", type=int, default=18,
                        help="chatdoctor-knowledge: diseases of the table trained and asked about (0: all 100)")
    parser.add_argument("--answer-words", type=int, default=60, help="words kept of each ChatDoctor question and answer")
    parser.add_argument("--heldout-answers", type=int, default=100, help="chatdoctor-answers: shared held-out pairs")
    parser.add_argument("--rouge-items", type=int, default=16, help="chatdoctor-answers: held-out answers generated")
    parser.add_argument("--rouge-tokens", type=int, default=48, help="chatdoctor-answers: tokens generated per answer")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--arms", default="", help=f"comma-separated arms of {', '.join(ARMS)} (default: all; "
                        "cp-ift only when the hospitals have notes; the CP budget is stage.cp.* of --run-config)")
    parser.add_argument("--combine", nargs="+", type=Path, metavar="REPORT",
                        help="instead of running: one report from these runs' JSON reports (disjoint seeds)")
    parser.add_argument("--out", type=Path, help="--combine: where to write the combined report")
    args = parser.parse_args(argv)
    if args.combine:
        if not args.out:
            parser.error("--combine needs --out")
        report = combine_reports(args.combine)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
        print(markdown_table(report["results"]))
        print(json.dumps(report["targets"], indent=2))
        return
    chosen = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = sorted(set(chosen) - set(ARMS))
    if unknown:
        parser.error(f"--arms: unknown {', '.join(unknown)}; arms are {', '.join(ARMS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    base_cfg = RunConfig.from_flat({"deid.enabled": False, **TASK_DEFAULTS[args.task],
                                    **parse_overrides(args.run_config)})
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()] or [base_cfg.run.seed]
    started = time.perf_counter()
    per_seed, per_item, facts, hospitals = [], {}, [], []
    task = None
    for seed in seeds:
        cfg = base_cfg.replace(**{"run.seed": seed})
        loaded = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
        cp_stage, stage = stages_of(cfg)
        objective = objective_for("ift", loaded.tokenizer, stage.max_seq_len)
        notes_objective = objective_for("cp", loaded.tokenizer, cp_stage.max_seq_len)
        task = TASKS[args.task](cfg, loaded.tokenizer, objective, args, notes_objective)
        has_notes = any(h.notes for h in task.hospitals)
        experiment = Experiment(cfg, loaded, objective, task, notes_objective)
        per_seed.append(experiment.run(chosen or [a for a in ARMS if a not in OPT_IN_ARMS and (a != "cp-ift" or has_notes)]))
        for arm, values in experiment.per_item.items():
            per_item.setdefault(arm, []).extend(values)
        facts.append({**task.facts, **experiment.facts})
        hospitals.append({h.name: {"train": len(h.train), "heldout": len(h.heldout)} for h in task.hospitals})
    results = mean_over_seeds(per_seed)
    report = {
        "task": args.task, "data": task.name, "seeds": seeds, "hospitals": hospitals, "facts": facts,
        "stage": dataclasses.asdict(experiment.stage), "stage-cp": dataclasses.asdict(experiment.cp_stage),
        "results": results, "results-per-seed": per_seed, "higher-is-better": task.higher_is_better,
        # What the paired bootstraps resample, per arm, in (seed, item) order: any two arms can be compared later.
        "per-item": per_item,
        "targets": headline(args.task, results, task.metric, per_item, task.higher_is_better)
        if task.name != "synthetic" else None,
        "seconds": time.perf_counter() - started, "threads": torch.get_num_threads(),
        "config": base_cfg.to_flat(), "arguments": vars(args),
    }
    out = Path(base_cfg.run.output_dir).expanduser() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    stem = "federation_pays" if args.task == "pubmedqa" else f"federation_pays_{args.task}"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (out / f"{stem}.md").write_text(markdown_table(results) + "\n")
    print(markdown_table(results))
    if report["targets"]:
        print(json.dumps(report["targets"], indent=2))


if __name__ == "__main__":
    main()
