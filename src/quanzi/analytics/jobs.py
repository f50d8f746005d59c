"""Scheduled analytics work: rollups, health warnings, member value."""

from __future__ import annotations

from datetime import timedelta

from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.services.health import health_evaluate
from quanzi.analytics.services.value import NotEnoughBuyers, value_fit
from quanzi.analytics.webhooks import webhooks_deliver
from quanzi.communities.models import Community
from quanzi.core.scheduling import job


@job("analytics.rollup", every=timedelta(minutes=5))
def rollup() -> None:
    """Fold new activity and chat into the health rollups the dashboards read."""
    rollup_refresh()


@job("analytics.health", every=timedelta(hours=6))
def health() -> None:
    """Score every group's health; open, update or resolve dead-group warnings."""
    rollup_refresh()
    for community in Community.objects.filter(archived_at__isnull=True):
        health_evaluate(community=community)
    webhooks_deliver()


@job("analytics.webhooks", every=timedelta(minutes=1))
def webhooks() -> None:
    """Post health warnings to the operators' webhooks; retry the failed ones."""
    webhooks_deliver()


@job("analytics.member_value", every=timedelta(days=7))
def member_value() -> None:
    """Refit BG/NBD and Gamma-Gamma for every community with enough buyers."""
    for community in Community.objects.filter(archived_at__isnull=True):
        try:
            value_fit(community=community, unit="week")
        except NotEnoughBuyers:
            continue
