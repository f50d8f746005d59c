"""Scheduled distribution work; idempotent, safe to run twice or after a crash."""

from __future__ import annotations

from datetime import timedelta

from quanzi.core.scheduling import job
from quanzi.distribution.services.commissions import commissions_mature_due


@job("distribution.mature_commissions", every=timedelta(minutes=15))
def mature_commissions() -> str:
    """Move commission whose return window has closed from pending to payable."""
    return f"{commissions_mature_due()} commission(s) matured"
