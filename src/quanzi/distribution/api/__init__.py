"""API v1 routes of the distribution domain: distributors, links and attribution, commission
rules, commissions and earnings, payouts, and the community's terms."""

from ninja import Router

from quanzi.distribution.api import commissions, distributors, links, payouts, rules, settings

router = Router()
for part in (distributors, settings, links, rules, commissions, payouts):
    router.add_router("", part.router)
