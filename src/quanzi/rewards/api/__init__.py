"""API v1 routes of the rewards domain: crystals, what they buy, growth levels, and what
contributors are given."""

from ninja import Router

from quanzi.rewards.api import crystals, levels, redemptions

router = Router()
for part in (crystals, redemptions, levels):
    router.add_router("", part.router)
