"""Loss-threshold membership inference, calibrated against the base model.

The attacker scores a record by how much training lowered its loss: base-model loss minus trained-model
loss (calibrating by the base model removes "this text is easy anyway"). The AUC of that score between
training records (members) and held-out records of the same hospital (non-members) is 0.5 when the
adapter reveals nothing about membership.
"""

from __future__ import annotations


def auc(members: list[float], non_members: list[float]) -> float:
    """Area under the ROC curve of scores (higher: more likely a member), as the Mann-Whitney statistic.

    Written out because it is three lines and the project has no scikit-learn.
    """
    if not members or not non_members:
        return float("nan")
    wins = sum((m > n) + 0.5 * (m == n) for m in members for n in non_members)
    return wins / (len(members) * len(non_members))


def calibrated_scores(base_losses: list[float], trained_losses: list[float]) -> list[float]:
    return [b - t for b, t in zip(base_losses, trained_losses, strict=True)]
