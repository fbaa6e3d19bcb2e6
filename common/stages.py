"""Training stages and the schedule the coordinator drives them in.

A stage is one block of federated rounds with one objective, its kind (``common.stage_kinds``):
continued pretraining (``cp``) on de-identified notes, instruction fine-tuning (``ift``) on
conversations, or human alignment (``ha``) on preference pairs. A paradigm is an ordered list of stages; the server walks it round by round and
tells every hospital which stage (and its hyperparameters) the round belongs to.

A schedule is ``schedule.stages`` (e.g. ``"cp,ift,ift-curated,ha"``; a kind may repeat under a label)
or, when that is empty, the ``schedule.paradigm`` preset. Each stage reads ``stage.<name>.<key>`` and
falls back to ``[train]``, ``[strategy]`` and (for its kind's options) ``[train]`` or ``[align]``;
``schedule.recipe`` names a preset of all of it.

Hand-off between stages (``schedule.handoff`` or ``stage.<name>.handoff``):

- ``continue`` (default): the same adapter trains on. The export is one adapter holding every stage's
  update; the merged model is base + that adapter. Later stages can overwrite what earlier ones learnt.
- ``stack``: the stage starts a fresh adapter (LoRA only) on top of the earlier ones, which stay applied
  and frozen. The export is a PEFT directory with the first adapter at its root and one sub-adapter per
  stacked stage (``stack-1/``, ...): load them all and activate them together to get the trained model,
  or leave the later ones out to get the model as it was before them (e.g. without alignment). The merged
  model (full-precision base only) folds all of them in. Every adapter travels every round, so the
  bytes on the wire grow with each stacked stage.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from common.config import PARADIGMS, STAGE_NAME, ConfigError, RunConfig, ScheduleSection
from common.stage_kinds import KINDS, kind_of


@dataclass(frozen=True)
class Stage:
    """One stage of the schedule, with everything a hospital needs to train it."""

    name: str
    kind: str  # a registered stage kind (common.stage_kinds)
    rounds: int
    local_steps: int
    batch_size: int
    learning_rate: float
    lr_schedule: str
    warmup_steps: int
    max_seq_len: int
    local_epochs: float = 0.0  # > 0: local steps follow from each hospital's own data size
    strategy: str = "fedavg"
    handoff: str = "continue"  # into this stage: keep training the adapter, or stack a fresh one on it
    options: Any = None  # the kind's options dataclass (common.stage_kinds); None: its defaults

    def __post_init__(self) -> None:
        if self.options is None:
            object.__setattr__(self, "options", kind_of(self.kind).options())

    def to_config(self) -> dict[str, Any]:
        """Flat ``stage.*`` entries for the ConfigRecord of a round's messages (the kind's options among them)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "options"}
        return {f"stage.{k.replace('_', '-')}": v for k, v in (values | dataclasses.asdict(self.options)).items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Stage:
        def read(name: str) -> Any:
            key = f"stage.{name.replace('_', '-')}"
            if key not in config:
                raise ConfigError(f"round message lacks '{key}'")
            return config[key]

        values = {f.name: read(f.name) for f in dataclasses.fields(cls) if f.name != "options"}
        options = kind_of(values["kind"]).options
        return cls(**values, options=options(**{f.name: read(f.name) for f in dataclasses.fields(options)}))

    def for_examples(self, count: int) -> Stage:
        """This stage with ``local_steps`` fixed for a hospital holding ``count`` examples (local epochs)."""
        if self.local_epochs <= 0:
            return self
        return dataclasses.replace(self, local_steps=max(1, math.ceil(self.local_epochs * count / self.batch_size)))


@dataclass(frozen=True)
class Schedule:
    """The ordered stages of a run; rounds are numbered 1..total_rounds across all stages."""

    stages: tuple[Stage, ...]

    @property
    def total_rounds(self) -> int:
        return sum(s.rounds for s in self.stages)

    @property
    def adapter_count(self) -> int:
        """Adapters the run trains: one, plus one per 'stack' hand-off."""
        return 1 + sum(s.handoff == "stack" for s in self.stages)

    def segment(self, stage_index: int) -> int:
        """Which adapter stage ``stage_index`` trains (0: the first; k: the one stacked at the k-th 'stack')."""
        return sum(s.handoff == "stack" for s in self.stages[:stage_index + 1])

    def locate(self, server_round: int) -> tuple[int, Stage, int]:
        """(stage index, stage, round within the stage starting at 1) for a global round number."""
        if not 1 <= server_round <= self.total_rounds:
            raise ValueError(f"round {server_round} is outside 1..{self.total_rounds}")
        first = 1
        for index, stage in enumerate(self.stages):
            if server_round < first + stage.rounds:
                return index, stage, server_round - first + 1
            first += stage.rounds
        raise AssertionError("unreachable")


def stage_names(schedule: ScheduleSection) -> tuple[str, ...]:
    """The stage names in order: ``schedule.stages`` when set, else the paradigm's kinds."""
    if not schedule.stages.strip():
        return PARADIGMS[schedule.paradigm]
    names = tuple(n.strip() for n in schedule.stages.split(","))
    for name in names:
        if not STAGE_NAME.fullmatch(name):
            raise ConfigError(f"config key 'schedule.stages' holds {name!r}; a stage name is lower-case letters, "
                              "digits, '-' and '_'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"config key 'schedule.stages' repeats {', '.join(repeated)}; give a repeated kind a "
                          "label, e.g. 'ift,ift-curated'")
    return names


def build_schedule(cfg: RunConfig) -> Schedule:
    """The run's stages: names from ``schedule.stages`` (or the paradigm), settings from ``stage.<name>.*``
    falling back to ``[train]``, ``[strategy]``, ``[align]`` and ``schedule.handoff``."""
    names = stage_names(cfg.schedule)
    for name in sorted({name for name, _ in cfg.stage.by_name} | {name for name, _ in cfg.stage.options}):
        if name not in names:
            raise ConfigError(f"config keys 'stage.{name}.*' name a stage that is not in the schedule "
                              f"({', '.join(names)})")
    stages = tuple(_stage(cfg, name, first=i == 0) for i, name in enumerate(names))
    if cfg.adapter.method != "lora" and any(s.handoff == "stack" for s in stages):
        raise ConfigError("hand-off 'stack' (schedule.handoff or stage.<name>.handoff) needs adapter.method=lora: "
                          "PEFT cannot stack soft prompts")
    return Schedule(stages)


def _stage(cfg: RunConfig, name: str, *, first: bool) -> Stage:
    o, t = cfg.stage.get(name), cfg.train

    def pick(value, fallback):
        return fallback if value is None else value

    kind = pick(o.kind, name.split("-")[0])
    if kind not in KINDS:
        raise ConfigError(f"stage '{name}' has no kind: name it <kind>-<label> with kind one of "
                          f"{', '.join(KINDS)}, or set 'stage.{name}.kind'")
    return Stage(
        name=name, kind=kind, rounds=pick(o.rounds, t.rounds), local_steps=pick(o.local_steps, t.local_steps),
        local_epochs=pick(o.local_epochs, t.local_epochs), batch_size=pick(o.batch_size, t.batch_size),
        learning_rate=pick(o.learning_rate, t.learning_rate), lr_schedule=pick(o.lr_schedule, t.lr_schedule),
        warmup_steps=pick(o.warmup_steps, t.warmup_steps), max_seq_len=pick(o.max_seq_len, t.max_seq_len),
        strategy=pick(o.strategy, cfg.strategy.name),
        # The first stage starts the first adapter: there is nothing beneath it to stack on.
        handoff="continue" if first else pick(o.handoff, cfg.schedule.handoff),
        options=KINDS[kind].resolve(name, cfg.stage.options_of(name), cfg),
    )


def stage_metrics(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per stage, from the coordinator's round records (``metrics.jsonl`` rows): its rounds, the aggregated
    evaluation after its first and last evaluated rounds, and each hospital's last evaluation."""
    stages: dict[str, dict[str, Any]] = {}
    for row in history:
        entry = stages.setdefault(row["stage"], {"rounds": [], "first": {}, "last": {}, "hospitals": {}})
        entry["rounds"].append(row["server_round"])
        if row["evaluate"]:
            entry["first"] = entry["first"] or dict(row["evaluate"])
            entry["last"] = dict(row["evaluate"])
        for hospital, metrics in row["hospitals"].items():
            evaluated = {k.removeprefix("evaluate."): v for k, v in metrics.items() if k.startswith("evaluate.")}
            if evaluated:
                entry["hospitals"][hospital] = evaluated
    return stages
