"""Sample-level differential privacy for local training: Opacus DP-SGD, a ledger per hospital, calibration.

A hospital reaches all of it through ``HospitalPrivacy`` (``privacy.dp.hospital``).
"""

from privacy.dp.account import STATE_KEY, PrivacyAccount
from privacy.dp.calibrate import noise_for_budget
from privacy.dp.engine import DPStep, PrivateTraining, count_units, make_private, sample_rate
from privacy.dp.hospital import HospitalPrivacy, PlanPhase
from privacy.dp.ledger import LedgerEntry, PrivacyBudgetExhausted, PrivacyLedger, epsilon_of

__all__ = ["STATE_KEY", "DPStep", "HospitalPrivacy", "LedgerEntry", "PlanPhase", "PrivacyAccount",
           "PrivacyBudgetExhausted", "PrivacyLedger", "PrivateTraining", "count_units", "epsilon_of", "make_private",
           "noise_for_budget", "sample_rate"]
