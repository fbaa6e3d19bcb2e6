"""What the coordinator reports about privacy: ε per hospital (as each hospital last reported it)."""

from __future__ import annotations

from common.config import RunConfig
from privacy.dp.client_level import client_level_epsilon


def privacy_summary(cfg: RunConfig, history: list) -> dict:
    """Per hospital: ε spent, δ and DP steps from its latest train metrics; client-level ε if enabled.

    ``history`` holds the coordinator's round records (each with ``hospitals``: id -> metrics).
    The numbers are the hospitals' own accounts; a hospital that refused to train keeps its last ε.
    """
    hospitals: dict[str, dict] = {}
    for record in history:
        for hospital, metrics in record.hospitals.items():
            if "train.dp-epsilon" in metrics:
                hospitals[hospital] = {"epsilon": metrics["train.dp-epsilon"], "delta": metrics["train.dp-delta"],
                                       "steps": int(metrics["train.dp-steps"]), "round": record.server_round,
                                       "noise_multiplier": metrics["train.dp-noise-multiplier"]}
    summary: dict = {"sample_level": cfg.dp.enabled, "target_epsilon": cfg.dp.target_epsilon if cfg.dp.enabled else None,
                     "hospitals": hospitals, "secure_aggregation": cfg.secagg.enabled}
    if cfg.dp.client_level != "none":
        releases = sum(1 for r in history if r.train)
        summary["client_level"] = {"mode": cfg.dp.client_level, "epsilon": client_level_epsilon(cfg, releases),
                                   "delta": cfg.dp.delta, "releases": releases}
    return summary
