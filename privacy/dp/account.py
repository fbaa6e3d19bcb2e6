"""A hospital's side of DP: its ledger, the noise it trains with, and its refusal once the budget is spent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.config import ConfigError, DPSection
from common.logs import get_logger
from privacy.dp.calibrate import noise_for_budget
from privacy.dp.ledger import LedgerEntry, PrivacyBudgetExhausted, PrivacyLedger

log = get_logger("dp")

STATE_KEY = "dp-ledger"  # the ConfigRecord in the ClientApp's context.state that holds the ledger

# Slack on the budget check: calibration stops within this of the target, float noise does the rest.
EPSILON_SLACK = 1e-3


@dataclass
class PrivacyAccount:
    """One hospital's privacy budget in one run: where its ledger lives and how it is spent."""

    cfg: DPSection
    ledger: PrivacyLedger
    path: Path  # the hospital's own copy of the ledger: survives restarts of every process

    @classmethod
    def for_hospital(cls, cfg: DPSection, run_name: str, data_dir: Path, state_record=None) -> PrivacyAccount:
        """The account of the hospital whose data is in ``data_dir``: its ledger lives beside its data."""
        folder = Path(cfg.ledger_dir).expanduser() if cfg.ledger_dir else data_dir / ".medfed-privacy"
        return cls.open(cfg, folder / f"{run_name}.json", state_record)

    @classmethod
    def open(cls, cfg: DPSection, path: Path, state_record=None) -> PrivacyAccount:
        """The ledger from ``context.state`` when this process has one, else from ``path``, else a new one.

        Nothing the coordinator sends resets it (run.resume=false included): spent ε stays spent.
        """
        if cfg.target_epsilon == 0 and cfg.noise_multiplier == 0:
            raise ConfigError("dp.target-epsilon=0 (no budget) needs a fixed dp.noise-multiplier > 0")
        if state_record is not None:
            ledger = PrivacyLedger.from_record(state_record)
        elif path.exists():
            ledger = PrivacyLedger.load(path)
            log.info("privacy ledger restored from %s: %d steps, ε=%.3f", path, ledger.steps, ledger.epsilon())
        else:
            ledger = PrivacyLedger(cfg.delta, cfg.accountant)
        if (ledger.delta, ledger.accountant) != (cfg.delta, cfg.accountant):
            raise ConfigError(f"privacy ledger {path} was kept at δ={ledger.delta:g} with the {ledger.accountant} "
                              f"accountant; this run asks δ={cfg.delta:g}, {cfg.accountant}")
        return cls(cfg, ledger, path)

    def noise_multiplier(self, plan: list[tuple[float, int]]) -> float:
        """σ for every step of the run: the fixed one, or the one the whole ``plan`` of (rate, steps) affords."""
        if self.cfg.noise_multiplier > 0:
            return self.cfg.noise_multiplier
        return noise_for_budget(plan, self.cfg.target_epsilon, self.cfg.delta, accountant=self.cfg.accountant)

    def admit(self, entry: LedgerEntry) -> None:
        """Raise ``PrivacyBudgetExhausted`` when ``entry``'s steps would take ε past the budget."""
        if self.cfg.target_epsilon == 0:
            return
        after = self.ledger.epsilon([entry])
        if after > self.cfg.target_epsilon + EPSILON_SLACK:
            raise PrivacyBudgetExhausted(
                f"privacy budget spent: ε={self.ledger.epsilon():.3f} of {self.cfg.target_epsilon:g} (δ={self.cfg.delta:g}) "
                f"after {self.ledger.steps} DP steps; {entry.steps} more steps would reach ε={after:.3f}. "
                f"This hospital does not train any more in this run.")

    def metrics(self) -> dict[str, float | int]:
        """What the hospital reports every round: ε spent so far for the whole run, and how."""
        last = self.ledger.entries[-1].noise_multiplier if self.ledger.entries else 0.0
        return {"dp-epsilon": self.ledger.epsilon(), "dp-delta": self.cfg.delta, "dp-steps": self.ledger.steps,
                "dp-noise-multiplier": last, "dp-target-epsilon": self.cfg.target_epsilon}

    def record(self, entry: LedgerEntry) -> float:
        """Add ``entry``, save the ledger, return ε spent so far."""
        self.ledger.record(entry)
        self.ledger.save(self.path)
        return self.ledger.epsilon()
