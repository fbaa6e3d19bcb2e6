"""Clinical de-identification built on Presidio: offline, Safe Harbor coverage, consistent surrogates.

    deid = Deidentifier.from_config(cfg.deid, secret)          # builds the analyzer once (offline)
    results = deid.deidentify_batch(texts, patients)            # list[DeidResult]
    check_residual_rate(results, cfg.deid.max_residual_rate)    # raises ResidualRateExceeded
"""

from privacy.deid.engine import (
    Deidentifier,
    DeidResult,
    PatientContext,
    ResidualRateExceeded,
    check_residual_rate,
    residual_rate,
)

__all__ = ["Deidentifier", "DeidResult", "PatientContext", "ResidualRateExceeded", "check_residual_rate",
           "residual_rate"]
