from __future__ import annotations

from quanzi.core.errors import ApplicationError, Conflict


class RewardsError(ApplicationError):
    code = "rewards_invalid"


class NotEnoughCrystals(Conflict):
    code = "not_enough_crystals"


class RewardUnavailable(Conflict):
    code = "reward_unavailable"
