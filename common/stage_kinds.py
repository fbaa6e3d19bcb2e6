"""The stage kinds: each kind's name, the records it trains on and its own options, in one registry.

A stage kind is an objective (continued pretraining, instruction tuning, alignment). What the coordinator
and the configuration need to know of it is declared here; how a hospital trains it is one module in
``client/stages`` (registered there with ``@objective(name)``). Adding a kind touches two files: its
``StageKind`` below, with an options dataclass, and its client module.

A kind's options are its settings beyond the shared ones of ``common.stages.Stage``, configured as a
frozen dataclass in the way PEFT configures each adapter method. Each field is a per-stage key
(``stage.<name>.<field>``, documented and bounded like every config field); its ``fallback`` names the
run-config key it takes when the stage does not set it (otherwise the field's default applies).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from common.config import PREFERENCE_LOSSES, ConfigError, RunConfig, StageSection, option


@dataclass(frozen=True)
class StageKind:
    """One kind of stage, as the configuration and the coordinator see it."""

    name: str  # the schedule's word for it, and the prefix of its stage names ('ift-curated')
    records: str  # the ``common.records.StageData`` list it trains on
    options: type  # frozen dataclass of its per-stage options (fields made with ``common.config.option``)
    card_count: str  # the data-card metric that bounds its examples in a split ('{split}': train or heldout)
    title: str = ""  # what the run report calls it ('instruction tuning'); empty: its name

    def resolve(self, stage_name: str, given: dict[str, Any], cfg: RunConfig) -> Any:
        """The options of stage ``stage_name`` of this kind: those ``given`` (``stage.<name>.<key>``), else
        each field's fallback key of ``cfg``, else its default."""
        declared = {f.name: f for f in dataclasses.fields(self.options)}
        for key in given:
            if key not in declared:
                owners = " and ".join(k.name for k in KINDS.values() if key in option_fields(k))
                raise ConfigError(f"config key 'stage.{stage_name}.{key.replace('_', '-')}' applies to {owners} "
                                  f"stages; '{stage_name}' is a {self.name} stage")
        return self.options(**{name: given[name] if name in given else _fallback(f, cfg)
                               for name, f in declared.items()})


def option_fields(kind: StageKind) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(kind.options)}


def _fallback(f: dataclasses.Field, cfg: RunConfig) -> Any:
    key = f.metadata.get("fallback")
    if key is None:
        return f.default
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name.replace("-", "_"))


@dataclass(frozen=True)
class PackingOptions:
    pack: bool = option(True, "CP and IFT: pack several records per row (see train.pack).", fallback="train.pack")


@dataclass(frozen=True)
class ContinuedPretrainingOptions(PackingOptions):
    pass


@dataclass(frozen=True)
class InstructionTuningOptions(PackingOptions):
    data: str = option("*", "IFT only: comma-separated file-name patterns (fnmatch) of the instruction sources this "
                       "stage trains on, e.g. 'dialogues*'; '*' is all.")


@dataclass(frozen=True)
class AlignmentOptions:
    loss: str = option("dpo", "HA only: preference loss (see align.loss).", choices=PREFERENCE_LOSSES,
                       fallback="align.loss")
    beta: float = option(0.1, "HA only: see align.beta.", min=0.0, fallback="align.beta")


KINDS: dict[str, StageKind] = {}


def register_kind(kind: StageKind) -> StageKind:
    """Add ``kind`` to the registry (a name is registered once).

    Its options become ``stage.<name>.<key>`` keys beside the shared ones, so an option may not take a shared
    setting's name, and one that another kind declares too must be the same field (``PackingOptions``).
    """
    if kind.name in KINDS:
        raise ValueError(f"stage kind {kind.name!r} is already registered")
    shared = {f.name for f in dataclasses.fields(StageSection)}
    for name, f in option_fields(kind).items():
        if name in shared:
            raise ValueError(f"stage kind {kind.name!r}: option {name!r} is a setting every stage has")
        for other in KINDS.values():
            same = option_fields(other).get(name)
            if same is not None and (same.type, same.default, dict(same.metadata)) != (f.type, f.default,
                                                                                       dict(f.metadata)):
                raise ValueError(f"stage kind {kind.name!r}: option {name!r} differs from kind {other.name!r}'s")
    KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> StageKind:
    if name not in KINDS:
        raise ConfigError(f"stage kind {name!r}; allowed: {', '.join(KINDS)}")
    return KINDS[name]


def record_kinds() -> dict[str, str]:
    """Each record list and the first kind that trains on it: the name its data-card token counts go under."""
    owners: dict[str, str] = {}
    for kind in KINDS.values():
        owners.setdefault(kind.records, kind.name)
    return owners


# A CP example is a packed window of at least one token, so the split's tokens bound the windows.
register_kind(StageKind("cp", "notes", ContinuedPretrainingOptions, "data.tokens.cp.{split}", "continued pretraining"))
register_kind(StageKind("ift", "conversations", InstructionTuningOptions, "data.split.conversations.{split}",
                        "instruction tuning"))
register_kind(StageKind("ha", "preferences", AlignmentOptions, "data.split.preferences.{split}", "alignment"))
