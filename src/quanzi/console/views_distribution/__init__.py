"""Console pages for a community's distribution (分销): the overview with its key figures,
weekly commission and leaderboards; the distributors' applications; commission rules and the
distribution terms; commissions; payable balances and payout batches.

Reads come from the distribution models and the core ledger's balances; every write goes
through the distribution services, whose refusals are shown next to the field they name.
"""

from quanzi.console.views_distribution.applications import (
    distribution_applications,
    distributor_decide,
)
from quanzi.console.views_distribution.overview import distribution_home, distribution_overview
from quanzi.console.views_distribution.rules import (
    commission_rule_deactivate_view,
    distribution_rules,
    distribution_settings_view,
)
from quanzi.console.views_distribution.settlement import (
    distribution_commissions,
    distribution_payouts,
    payout_cancel,
    payout_detail,
    payout_export,
    payout_new,
    payout_paid,
)

__all__ = [
    "commission_rule_deactivate_view",
    "distribution_applications",
    "distribution_commissions",
    "distribution_home",
    "distribution_overview",
    "distribution_payouts",
    "distribution_rules",
    "distribution_settings_view",
    "distributor_decide",
    "payout_cancel",
    "payout_detail",
    "payout_export",
    "payout_new",
    "payout_paid",
]
