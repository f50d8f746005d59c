"""Sharing and rewards (H5): a sharer's link and the page a friend lands on, posters, "my
links" with applying to be a distributor, my earnings, and crystals.

Anyone may open a link or a poster; the rest needs a signed-in member (see ``views``).
"""

from quanzi.h5.views_share.circles import circles
from quanzi.h5.views_share.crystals import crystals, crystals_redeem
from quanzi.h5.views_share.earnings import earnings
from quanzi.h5.views_share.referral import login, referral, referral_poster
from quanzi.h5.views_share.share import share

__all__ = [
    "circles",
    "crystals",
    "crystals_redeem",
    "earnings",
    "login",
    "referral",
    "referral_poster",
    "share",
]
