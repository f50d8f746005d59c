"""Scheduled analytics work: rollups, health warnings, member value."""

from __future__ import annotations

from datetime import timedelta

from quanzi.analytics.rollups import rollup_refresh
from quanzi.core.scheduling import job


@job("analytics.rollup", every=timedelta(minutes=5))
def rollup() -> None:
    """Fold new activity and chat into the health rollups the dashboards read."""
    rollup_refresh()
