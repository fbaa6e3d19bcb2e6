"""Noise calibration: the smallest noise multiplier whose whole planned run stays within a target ε."""

from __future__ import annotations

from privacy.dp.ledger import LedgerEntry, epsilon_of

MAX_NOISE = 1e4


def noise_for_budget(plan: list[tuple[float, int]], target_epsilon: float, delta: float, *,
                     accountant: str = "rdp", tolerance: float = 0.01) -> float:
    """Noise multiplier σ such that every phase of ``plan`` run at σ costs at most ``target_epsilon``.

    ``plan`` lists (sample rate, steps) per phase: one per stage, because CP notes, IFT conversations and
    HA pairs are different datasets with their own sample rates. Opacus' ``get_noise_multiplier``
    calibrates one (sample rate, steps) pair only; this is the same bisection over the composition of
    several, so one σ covers the entire run across stages.
    """
    if target_epsilon <= 0:
        raise ValueError("target ε must be positive")
    phases = [LedgerEntry(0, "plan", 0.0, rate, steps) for rate, steps in plan if steps > 0]
    if not phases:
        return 0.0

    def eps(sigma: float) -> float:
        return epsilon_of([LedgerEntry(0, "plan", sigma, p.sample_rate, p.steps) for p in phases], delta, accountant)

    low, high = 0.0, 1.0
    while eps(high) > target_epsilon:
        low, high = high, 2 * high
        if high > MAX_NOISE:
            raise ValueError(f"no noise multiplier up to {MAX_NOISE:g} reaches ε={target_epsilon:g} at δ={delta:g} "
                             f"for {sum(p.steps for p in phases)} steps; plan fewer steps or a larger ε")
    while eps(high) < target_epsilon - tolerance and high - low > 1e-4:
        mid = (low + high) / 2
        if eps(mid) > target_epsilon:
            low = mid
        else:
            high = mid
    return high
