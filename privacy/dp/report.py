"""What the coordinator reports about privacy: ε per hospital (as each hospital last reported it)."""

from __future__ import annotations

from flwr.serverapp import RdpAccountant

from common.config import RunConfig


def privacy_summary(cfg: RunConfig, history: list, client_accountant: RdpAccountant | None = None) -> dict:
    """Per hospital: ε spent, δ and DP steps from its latest train metrics; client-level ε if enabled.

    ``history`` holds the coordinator's round records (each with ``hospitals``: id -> metrics).
    The numbers are the hospitals' own accounts; a hospital that refused to train keeps its last ε.
    Client-level ε is the coordinator's (Flower's accountant); infinite when its noise is 0.
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
        releases = client_accountant.num_releases if client_accountant else sum(1 for r in history if r.train)
        if not releases:
            epsilon = 0.0
        elif client_accountant:
            epsilon = client_accountant.get_epsilon(cfg.dp.delta)
        else:  # σ = 0: noiseless releases have no finite ε
            epsilon = float("inf")
        summary["client_level"] = {"mode": cfg.dp.client_level, "epsilon": epsilon, "delta": cfg.dp.delta,
                                   "noise_multiplier": cfg.dp.client_noise_multiplier, "releases": releases}
    return summary
