"""Sanity experiment for closed-question scoring: can training move the scored answer at all?

    OMP_NUM_THREADS=1 python -m simulations.benchmarks.scoring_sanity --run-config "model.quantization='none' \
        eval.pubmedqa-path=... eval.pubmedqa-test-ids=..." --train-items 64 --heldout-items 40 --steps 30

PubMedQA-shaped items (outside the official test ids) go through a hospital's own data pipeline and IFT
objective with every answer set to "yes", then (from a fresh adapter) to "no"; the one-pass scorer must
then prefer that answer on held-out items, and an independent scorer (``common.evaluation.option_loglik``:
full log-likelihood of each option, one forward pass per option) must agree with it item by item, on the
base and on each trained adapter. Beside the verdict the JSON holds what makes it interpretable:

- ``alignment``: the tokens training labels (answer and end of turn), that the answer token is the one the
  scorer reads, that the prompt before it is token for token the scoring prompt, each option's token count,
  and that the training loss at the answer token equals the scorer's log-probability (no off-by-one);
- ``adapter``: the trained tensors are non-zero and loaded, scoring runs in eval mode (dropout off:
  two scorings agree), and switching the adapter off gives the base scores back;
- the learning rate, schedule and steps actually taken.

``--drift-rounds`` then trains on the true labels round by round and records, after each round, the
answers predicted on held-out items beside the answer mix of that round's batches (what the drift of the
federation_pays PubMedQA arms towards one answer is measured against).
Writes ``<run.output-dir>/benchmarks/scoring_sanity.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from client.data import prepare_hospital_data
from client.stages import objective_for
from client.train import batches, train_round
from common.config import RunConfig
from common.evaluation import MultipleChoiceItem, PromptBuilder, load_pubmedqa, load_pubmedqa_ids, question_message
from common.evaluation.option_loglik import predict_all
from common.evaluation.scoring import answer_token_ids, next_token_logprobs, score_prompts
from common.logs import get_logger
from common.model import LoadedModel, build_adapter_model
from common.stages import Stage, build_schedule
from common.tokens import IGNORE

log = get_logger("scoring-sanity")

State = dict[str, torch.Tensor]


def with_answer(items: Sequence[MultipleChoiceItem], answer: str | None) -> list[MultipleChoiceItem]:
    """The items with every answer replaced by ``answer`` (None: as they are)."""
    return [dataclasses.replace(item, answer=answer) if answer else item for item in items]


def training_examples(cfg: RunConfig, objective, items: Sequence[MultipleChoiceItem], folder: Path) -> list:
    """``items`` written as a hospital's instruction export and read back through its data pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "instructions.jsonl", "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps({"instruction": question_message(item, cfg.eval.context_words), "input": "",
                                "output": item.answer}) + "\n")
    prepared = prepare_hospital_data(folder, cfg.replace(**{"data.eval-fraction": 0.0, "data.cache": False}))
    return objective.examples(prepared.train)


def alignment(tokenizer, builder: PromptBuilder, objective, examples: list, items: Sequence[MultipleChoiceItem],
              model: torch.nn.Module) -> dict:
    """Do training labels sit exactly on the token the scorer reads, after exactly the scoring prompt?"""
    prompts = {tuple(tokenizer(builder.render(item), add_special_tokens=False)["input_ids"]): item for item in items}
    labels = items[0].labels
    label_token = dict(zip(labels, answer_token_ids(tokenizer, builder.render(items[0]), labels)))
    labelled, prefix_matches, answer_token_matches = Counter(), 0, 0
    for example in examples:
        first = next(i for i, t in enumerate(example.labels) if t != IGNORE)
        labelled[tuple(tokenizer.decode([t]) for t in example.labels if t != IGNORE)] += 1
        item = prompts.get(tuple(example.input_ids[:first]))
        prefix_matches += item is not None
        answer_token_matches += item is not None and example.input_ids[first] == label_token[item.answer]
    # The training loss at the answer token and the scorer's log-probability of it must be the same number.
    probe = [e for e in examples[:4]]
    batch = objective.collate(probe)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    # The training loss's view: position t predicts label t+1 (the shift every causal-LM loss makes).
    targets = batch["labels"][:, 1:]
    mask = targets != IGNORE
    picked = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1))[..., 0]
    first_positions = mask.float().argmax(dim=1)
    train_side = [float(picked[row, pos]) for row, pos in enumerate(first_positions.tolist())]
    score_side = []
    for example in probe:
        first = next(i for i, t in enumerate(example.labels) if t != IGNORE)
        row = next_token_logprobs(model, tokenizer, [tokenizer.decode(example.input_ids[:first])])[0]
        score_side.append(float(row[example.input_ids[first]]))
    prompt = builder.render(items[0])
    prompt_len = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    return {
        "examples": len(examples),
        "labelled-tokens": {" + ".join(map(repr, k)): n for k, n in labelled.items()},
        "prompt-identical-to-scoring-prompt": prefix_matches,
        "first-labelled-token-is-scored-answer-token": answer_token_matches,
        "option-token-counts": {label: len(tokenizer(prompt + label, add_special_tokens=False)["input_ids"]) - prompt_len
                                for label in labels},
        "scored-token-ids": label_token,
        "max-gap-train-logprob-vs-scorer-logprob": max(abs(a - b) for a, b in zip(train_side, score_side)),
    }


@dataclasses.dataclass
class Scored:
    one_pass: list[str]
    independent: list[str]
    probabilities: list[list[float]]  # one-pass: each option's probability among the options
    logliks: list[tuple[float, ...]]  # independent: each option's summed log-likelihood

    def agreement(self) -> float:
        return sum(a == b for a, b in zip(self.one_pass, self.independent)) / len(self.one_pass)

    def shares(self) -> dict[str, float]:
        return {label: n / len(self.one_pass) for label, n in sorted(Counter(self.one_pass).items())}

    def summary(self, labels: Sequence[str]) -> dict:
        return {"predicted-shares": self.shares(), "agreement-one-pass-vs-independent": self.agreement(),
                "mean-option-probability": {label: sum(p[k] for p in self.probabilities) / len(self.probabilities)
                                            for k, label in enumerate(labels)}}


def score_both(model: torch.nn.Module, tokenizer, prompts: list[str], items: Sequence[MultipleChoiceItem]) -> Scored:
    one_pass = score_prompts(model, tokenizer, prompts, [i.labels for i in items], [i.answer for i in items])
    independent = predict_all(model, tokenizer, prompts, [i.labels for i in items])
    logprobs = next_token_logprobs(model, tokenizer, prompts)
    probabilities = []
    for row, item, prompt in zip(logprobs, items, prompts):
        ids = answer_token_ids(tokenizer, prompt, item.labels)
        probabilities.append(torch.softmax(row[ids], dim=-1).tolist())
    return Scored(one_pass.predictions, [s.best(i.labels) for s, i in zip(independent, items)], probabilities,
                  [s.logliks for s in independent])


def adapter_checks(loaded: LoadedModel, trained: State, initial: State, prompts: list[str],
                   items: Sequence[MultipleChoiceItem], after_training: Scored, base: Scored) -> dict:
    """The adapter scored is the one trained, applied, in eval mode; without it the base comes back."""
    b_norm = sum(float(v.norm()) for k, v in trained.items() if "lora_B" in k)
    loaded.load_adapter_state(initial)
    loaded.load_adapter_state(trained)
    again = score_both(loaded.model, loaded.tokenizer, prompts, items)
    with loaded.model.disable_adapter():
        off = score_both(loaded.model, loaded.tokenizer, prompts, items)
    gap = max(abs(a - b) for p, q in zip(again.probabilities, after_training.probabilities) for a, b in zip(p, q))
    base_gap = max(abs(a - b) for p, q in zip(off.probabilities, base.probabilities) for a, b in zip(p, q))
    return {"lora-B-norm-trained": b_norm,
            "lora-B-norm-initial": sum(float(v.norm()) for k, v in initial.items() if "lora_B" in k),
            "eval-mode-while-scoring": not loaded.model.training,
            "reloaded-adapter-max-probability-gap": gap,
            "adapter-off-vs-base-max-probability-gap": base_gap}


def train_steps(loaded: LoadedModel, objective, examples: list, stage: Stage, cfg: RunConfig, seed: str,
                after_round=None) -> dict:
    """``stage.rounds`` rounds of the hospitals' own training loop; returns what was actually done."""
    steps, losses = 0, []
    for r in range(1, stage.rounds + 1):
        rng = random.Random(f"{seed}-{r}")
        order = random.Random(f"{seed}-{r}")  # the same draws as train_round's: the batches it will take
        report = train_round(loaded.model, objective, examples, stage, round_in_stage=r, rng=rng,
                             weight_decay=cfg.train.weight_decay, max_grad_norm=cfg.train.max_grad_norm)
        steps += report.steps
        losses.append((report.first_loss, report.last_loss))
        if after_round is not None:
            taken = [b for _, b in zip(range(report.steps), batches(examples, stage.batch_size, order))]
            after_round(r, taken)
    return {"steps": steps, "rounds": stage.rounds, "learning-rate": stage.learning_rate,
            "lr-schedule": stage.lr_schedule, "batch-size": stage.batch_size,
            "first-loss": losses[0][0], "last-loss": losses[-1][1]}


def run(cfg: RunConfig, train_items: list[MultipleChoiceItem], heldout: list[MultipleChoiceItem], *,
        steps: int, workdir: Path, answers: Sequence[str] = ("yes", "no"), drift_rounds: int = 0) -> dict:
    started = time.perf_counter()
    stage = build_schedule(cfg.replace(**{"schedule.paradigm": "ift"})).stages[0]
    stage = dataclasses.replace(stage, rounds=1, local_steps=steps)
    loaded = build_adapter_model(cfg.model, cfg.adapter, cfg.run.seed)
    tokenizer, model = loaded.tokenizer, loaded.model
    objective = objective_for("ift", tokenizer, stage.max_seq_len)
    builder = PromptBuilder(tokenizer, cfg.eval.context_words)
    prompts = [builder.render(item) for item in heldout]
    labels = heldout[0].labels
    initial = loaded.adapter_state()
    base = score_both(model, tokenizer, prompts, heldout)
    report: dict = {"train-items": len(train_items), "heldout-items": len(heldout),
                    "heldout-answer-shares": dict(Counter(i.answer for i in heldout)),
                    "base": base.summary(labels), "trained": {}}
    for answer in answers:
        forced = with_answer(train_items, answer)
        examples = training_examples(cfg, objective, forced, workdir / f"forced-{answer}")
        loaded.load_adapter_state(initial)
        checks = alignment(tokenizer, builder, objective, examples, forced, model)
        done = train_steps(loaded, objective, examples, stage, cfg, f"forced-{answer}")
        state = loaded.adapter_state()
        scored = score_both(model, tokenizer, prompts, heldout)
        report["trained"][answer] = {
            **scored.summary(labels), "training": done, "alignment": checks,
            "adapter": adapter_checks(loaded, state, initial, prompts, heldout, scored, base),
            "passes": scored.shares().get(answer, 0.0) >= 0.9 and scored.agreement() == 1.0}
    report["base-agreement-passes"] = base.agreement() == 1.0
    report["passes"] = report["base-agreement-passes"] and all(r["passes"] for r in report["trained"].values())
    if drift_rounds:
        report["drift"] = drift(cfg, loaded, objective, initial, train_items, heldout, prompts, stage, drift_rounds,
                                workdir)
    report["seconds"] = time.perf_counter() - started
    return report


def drift(cfg: RunConfig, loaded: LoadedModel, objective, initial: State, train_items, heldout, prompts, stage,
          rounds: int, workdir: Path) -> list[dict]:
    """True labels, round by round: the predicted answer mix after each round beside that round's batches'."""
    examples = training_examples(cfg, objective, train_items, workdir / "true-labels")
    labels = heldout[0].labels
    by_token = dict(zip(answer_token_ids(loaded.tokenizer, prompts[0], labels), labels))  # answer token -> answer
    loaded.load_adapter_state(initial)
    timeline = []

    def after_round(r: int, taken: list) -> None:
        seen = Counter(by_token[next(t for t in e.labels if t != IGNORE)] for b in taken for e in b)
        last = Counter(by_token[next(t for t in e.labels if t != IGNORE)] for e in taken[-1])
        scored = score_both(loaded.model, loaded.tokenizer, prompts, heldout)
        timeline.append({"round": r, "steps-so-far": r * stage.local_steps,
                         "round-batch-answer-shares": {a: n / sum(seen.values()) for a, n in sorted(seen.items())},
                         "last-batch-answers": dict(sorted(last.items())),
                         **scored.summary(heldout[0].labels),
                         "accuracy": sum(p == i.answer for p, i in zip(scored.one_pass, heldout)) / len(heldout)})
        log.info("drift round %d: %s", r, timeline[-1])

    train_steps(loaded, objective, examples, dataclasses.replace(stage, rounds=rounds, local_steps=cfg.train.local_steps),
                cfg, "true-labels", after_round)
    return timeline


def main(argv: Sequence[str] | None = None) -> None:
    from simulations.run import parse_overrides

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-config", default="", help="space-separated key=value overrides (TOML values)")
    parser.add_argument("--train-items", type=int, default=64)
    parser.add_argument("--heldout-items", type=int, default=40)
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps of each forced-answer adapter")
    parser.add_argument("--drift-rounds", type=int, default=0, help="rounds of train.local-steps on the true labels")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = RunConfig.from_flat({"deid.enabled": False, **parse_overrides(args.run_config)})
    if not cfg.eval.pubmedqa_path or not cfg.eval.pubmedqa_test_ids:
        raise SystemExit("set eval.pubmedqa-path and eval.pubmedqa-test-ids (the test ids are kept out of it all)")
    items = load_pubmedqa(Path(cfg.eval.pubmedqa_path), exclude=load_pubmedqa_ids(Path(cfg.eval.pubmedqa_test_ids)))
    random.Random(cfg.run.seed).shuffle(items)
    heldout, train_items = items[:args.heldout_items], items[args.heldout_items:args.heldout_items + args.train_items]
    with tempfile.TemporaryDirectory() as tmp:
        report = run(cfg, train_items, heldout, steps=args.steps, workdir=Path(tmp), drift_rounds=args.drift_rounds)
    report["config"] = cfg.to_flat()
    out = Path(cfg.run.output_dir).expanduser() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scoring_sanity.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "config"}, indent=2))


if __name__ == "__main__":
    main()
