"""Scheduled work of the rewards app."""

from __future__ import annotations

from datetime import timedelta

from quanzi.core.scheduling import job
from quanzi.rewards.services.expiry import crystals_expire


@job("rewards.expire_crystals", every=timedelta(hours=1))
def expire_crystals() -> str:
    """Take expired crystals out of members' wallets."""
    return f"{crystals_expire()} grants expired"
