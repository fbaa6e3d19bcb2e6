"""Client-level DP: Flower's own strategy wrappers protect each hospital's whole update.

Sample-level DP (``privacy.dp.engine``) protects one record inside a hospital. Client-level DP protects
a hospital's participation as a whole: every update is clipped to a norm C and the aggregate gets
Gaussian noise of std σ·C / n. Flower implements both placements of the clipping:

- ``server-*``: the coordinator clips each decoded update before aggregating (it sees each update, so
  this does not combine with SecAgg+);
- ``client-*``: the hospital clips its own update with Flower's clipping helper before it leaves
  (the wrappers send the norm in the round's config), which is what SecAgg+ needs.

Every hospital weighs the same in a client-level DP aggregate (``UNIFORM_WEIGHT``): the noise σ·C / n
bounds one hospital's influence only when each update enters the mean with weight 1/n; weighting by
examples would let a large hospital move the mean by more than the noise covers.

ε comes from Flower's own accountant (``flwr.serverapp.RdpAccountant``, on Google's ``dp-accounting``).
Flower's wrappers accept it only for fixed clipping over plain FedAvg with exactly the sampled number of
replies; medfed composes the same accountant itself, one release per aggregated round, so adaptive
clipping, exact LoRA aggregation and the server optimisers are accounted alike. Under adaptive clipping
Flower splits σ between the update and the clipped-count query (Andrew et al. 2021), so σ is the
effective noise of the round's whole release.

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
from flwr.app import ConfigRecord, MetricRecord, RecordDict
from flwr.serverapp import GaussianPrivacyEvent, NeighboringRelation, PrivacyConfig, RdpAccountant, SamplingMethod
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideAdaptiveClipping,
    DifferentialPrivacyClientSideFixedClipping,
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    Strategy,
)
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM, KEY_NORM_BIT, compute_adaptive_clip_model_update

from common.config import ConfigError, RunConfig
from privacy.dp.report import privacy_summary

# The weight metric when hospitals are not weighed by their examples: 1 under client-level DP and
# strategy.weighting=uniform; the coordinator sets it on every reply it accepts (server/inbox.py).
UNIFORM_WEIGHT = "client-level-weight"


def aggregation_weight_key(cfg: RunConfig) -> str:
    """The train metric the strategy weighs hospitals by: examples, or a weight the coordinator sets itself
    (the same for all under client-level DP and strategy.weighting=uniform, capped examples under 'capped')."""
    return "num-examples" if cfg.dp.client_level == "none" and cfg.strategy.weighting == "examples" else UNIFORM_WEIGHT


def client_weight_metric(cfg: RunConfig) -> dict[str, int]:
    """What a hospital adds to its train and evaluate metrics so ``aggregation_weight_key`` finds its weight
    (Flower checks every reply for the strategy's weight key, in evaluation too; SecAgg+ weighs by it)."""
    return {} if aggregation_weight_key(cfg) == "num-examples" else {UNIFORM_WEIGHT: 1}


def held_out_metrics_by_examples(records: list[RecordDict], weight_key: str) -> MetricRecord:
    """Evaluation's aggregate, weighted by the examples each hospital scored whatever ``weight_key`` trains by.

    Held-out scores are not the noised release, so client-level DP does not ask them to weigh hospitals
    alike, and a federation's loss is a mean over its examples. Fits Flower's ``evaluate_metrics_aggr_fn``
    (with the default weight key it is exactly Flower's own aggregation).
    """
    metrics = aggregate_metricrecords(records, "num-examples")
    metrics.pop(weight_key, None)
    return metrics


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
    # Flower's default noise on the clipped-count query, sampled/20 (Andrew et al.), is for hundreds of
    # clients: with a handful it cannot leave any noise for the update (Flower refuses). σ_b = σ leaves the
    # update 1/sqrt(1 - 1/4) ≈ 1.15x the noise and the clipped fraction a noisy but unbiased estimate.
    count_stddev = max(sampled / 20, dp.client_noise_multiplier)
    return adaptive(strategy, dp.client_noise_multiplier, sampled, initial_clipping_norm=dp.client_clipping_norm,
                    clipped_count_stddev=count_stddev)


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


def client_population(cfg: RunConfig) -> int:
    """Hospitals in the federation as the accountant records them (``dp.client-population``)."""
    return cfg.dp.client_population or cfg.simulation.num_hospitals


def client_level_accountant(cfg: RunConfig) -> RdpAccountant | None:
    """Flower's RDP accountant for client-level DP; None when off or σ=0 (no guarantee to account)."""
    if cfg.dp.client_level == "none" or cfg.dp.client_noise_multiplier == 0:
        return None
    return RdpAccountant(PrivacyConfig(target_delta=cfg.dp.delta, population_size=client_population(cfg),
                                       neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
                                       sampling_method=SamplingMethod.NO_AMPLIFICATION))


def compose_release(accountant: RdpAccountant, cfg: RunConfig, hospitals: int) -> None:
    """Charge one noisy aggregate of ``hospitals`` updates to the accountant."""
    population = accountant.config.population_size
    if hospitals > population:
        raise ConfigError(f"{hospitals} hospitals were aggregated but dp.client-population is {population}; "
                          f"set it to the federation's size")
    accountant.compose(GaussianPrivacyEvent(cfg.dp.client_noise_multiplier, hospitals, population))


class CoordinatorPrivacy:
    """The coordinator's side of client-level DP, in one object: what the round loop asks of privacy.

    ``wrap`` puts Flower's DP wrapper around a stage's strategy (the outermost layer, see
    ``server.strategies.build_stack``); ``charge`` composes one noisy release of a round's aggregate into
    Flower's accountant; ``state_dict``/``load_state_dict`` carry the accountant through a checkpoint;
    ``summary`` is the run's privacy report (the hospitals' own ε as they reported it, and client-level ε).
    With ``dp.client-level=none`` it wraps nothing and charges nothing.

    Args:
        cfg: the run configuration (``[dp]`` and ``strategy.min-nodes``, ``simulation.num-hospitals`` for the
            population the accountant records).
    """

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.accountant = client_level_accountant(cfg)  # None when off or σ=0 (no guarantee to account)
        self.weight_key = aggregation_weight_key(cfg)  # the metric the strategies weigh hospitals by

    def wrap(self, strategy: Strategy) -> Strategy:
        return with_client_level_dp(strategy, self.cfg)

    def charge(self, hospitals: int) -> None:
        """One aggregated round of ``hospitals`` updates was released."""
        if self.accountant is not None:
            compose_release(self.accountant, self.cfg, hospitals)

    def state_dict(self) -> dict | None:
        return self.accountant.state_dict() if self.accountant is not None else None

    def load_state_dict(self, state: dict | None) -> None:
        if self.accountant is not None:
            self.accountant.load_state_dict(state)

    def summary(self, history: list) -> dict:
        """The privacy section of a checkpoint and of ``summary.json`` (``privacy.dp.report``)."""
        return privacy_summary(self.cfg, history, self.accountant)
