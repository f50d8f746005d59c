"""Scheduled distribution work; idempotent, safe to run twice or after a crash."""

from __future__ import annotations

from datetime import timedelta

from quanzi.core.scheduling import job
from quanzi.distribution.services.commissions import commissions_mature_due


@job("distribution.mature_commissions", every=timedelta(minutes=15))
def mature_commissions() -> str:
    """Move commission whose return window has closed from pending to payable."""
    total = 0
    while True:
        done = commissions_mature_due(limit=500)
        total += done
        if done < 500:
            return f"{total} commission(s) matured"
