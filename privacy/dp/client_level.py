"""Client-level DP: Flower's own strategy wrappers protect each hospital's whole update.

Sample-level DP (``privacy.dp.engine``) protects one record inside a hospital. Client-level DP protects
a hospital's participation as a whole: every update is clipped to a norm C and the aggregate gets
Gaussian noise of std σ·C / n. Flower implements both placements of the clipping:

- ``server-*``: the coordinator clips each decoded update before aggregating (it sees each update, so
  this does not combine with SecAgg+);
- ``client-*``: the hospital clips its own update with Flower's clipping helper before it leaves
  (the wrappers send the norm in the round's config), which is what SecAgg+ needs.

What ε means here, honestly: the unit is one hospital and the accountant composes one Gaussian
release per round without sampling amplification (every hospital trains every round). With a handful
of hospitals the noise needed for a small ε (σ≈1 per round, std σ·C/n on the mean) is of the order of
the update itself; a meaningful client-level ε needs many participants. With 3 hospitals treat it as
a bound on what the coordinator's aggregate reveals about one hospital, not as a usable guarantee
at small ε.
"""

from __future__ import annotations

import numpy as np
import torch
from flwr.app import ConfigRecord
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideAdaptiveClipping,
    DifferentialPrivacyClientSideFixedClipping,
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    Strategy,
)
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM, KEY_NORM_BIT, compute_adaptive_clip_model_update

from common.config import RunConfig
from privacy.dp.ledger import LedgerEntry, epsilon_of


def with_client_level_dp(strategy: Strategy, cfg: RunConfig) -> Strategy:
    """``strategy`` wrapped as ``dp.client-level`` asks (unchanged for 'none').

    The noise is scaled for ``strategy.min-nodes`` sampled hospitals: when more reply, the mean's
    sensitivity is smaller than the noise assumes, so the guarantee holds (conservatively).
    """
    mode, dp = cfg.dp.client_level, cfg.dp
    sampled = cfg.strategy.min_nodes
    if mode == "none":
        return strategy
    if mode == "server-fixed":
        return DifferentialPrivacyServerSideFixedClipping(strategy, dp.client_noise_multiplier,
                                                          dp.client_clipping_norm, sampled)
    if mode == "client-fixed":
        return DifferentialPrivacyClientSideFixedClipping(strategy, dp.client_noise_multiplier,
                                                          dp.client_clipping_norm, sampled)
    adaptive = {"server-adaptive": DifferentialPrivacyServerSideAdaptiveClipping,
                "client-adaptive": DifferentialPrivacyClientSideAdaptiveClipping}[mode]
    return adaptive(strategy, dp.client_noise_multiplier, sampled, initial_clipping_norm=dp.client_clipping_norm)


def clip_update(outgoing: dict[str, torch.Tensor], incoming: dict[str, torch.Tensor],
                config: ConfigRecord) -> dict[str, int]:
    """Client side of ``client-*`` modes: clip ``outgoing - incoming`` in place to the norm the round asks.

    Returns the metric Flower's adaptive wrapper needs (whether the update was clipped); nothing when
    the round asks no clipping. Flower's ``fixedclipping_mod`` does the same on a message with exactly
    one array and one config record; medfed's messages carry more (run config, stage), hence this call
    into Flower's helper instead of the mod.
    """
    if KEY_CLIPPING_NORM not in config:
        return {}
    names = list(outgoing)
    new = [outgoing[k].float().numpy() for k in names]
    old = [incoming[k].float().numpy() for k in names]
    clipped = compute_adaptive_clip_model_update(new, old, float(config[KEY_CLIPPING_NORM]))
    for name, array in zip(names, new):
        outgoing[name] = torch.from_numpy(np.asarray(array, dtype=np.float32))
    return {KEY_NORM_BIT: int(clipped)}


def client_level_epsilon(cfg: RunConfig, releases: int) -> float:
    """ε (at ``dp.delta``) of ``releases`` noisy aggregates with one hospital as the unit, no amplification."""
    if cfg.dp.client_level == "none" or releases == 0:
        return 0.0
    return epsilon_of([LedgerEntry(0, "client-level", cfg.dp.client_noise_multiplier, 1.0, releases)],
                      cfg.dp.delta, cfg.dp.accountant)
