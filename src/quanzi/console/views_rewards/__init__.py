"""Console pages for a community's crystals (水晶): the overview with its leaderboard, the
terms and earn rules, the rewards catalogue, redemptions to hand over, growth levels, and what
an operator gives a contributor (crystals, a cash reward, a perk).

Reads come from the rewards selectors and models; every write goes through the rewards
services, whose refusals are shown next to the field they name.
"""

from quanzi.console.views_rewards.catalogue import (
    crystal_redemptions,
    crystal_reward_edit,
    crystal_rewards,
    redemption_cancel_view,
    redemption_fulfil_view,
)
from quanzi.console.views_rewards.overview import (
    crystal_rule_save,
    crystals_home,
    crystals_overview,
    crystals_rules,
)
from quanzi.console.views_rewards.people import (
    crystal_award,
    crystal_cash_reward,
    crystal_contributors,
    crystal_levels,
    crystal_perk,
)

__all__ = [
    "crystal_award",
    "crystal_cash_reward",
    "crystal_contributors",
    "crystal_levels",
    "crystal_perk",
    "crystal_redemptions",
    "crystal_reward_edit",
    "crystal_rewards",
    "crystal_rule_save",
    "crystals_home",
    "crystals_overview",
    "crystals_rules",
    "redemption_cancel_view",
    "redemption_fulfil_view",
]
