"""Scheduled membership work; each job is idempotent and safe to run twice or after a crash."""

from __future__ import annotations

from datetime import timedelta

from quanzi.communities.services import memberships
from quanzi.core.scheduling import job


@job("communities.memberships_remind", every=timedelta(hours=1))
def remind() -> str:
    """Mark memberships ending soon as expiring and queue one renewal reminder each."""
    return f"{memberships.memberships_remind()} reminder(s) queued"


@job("communities.memberships_expire", every=timedelta(minutes=5))
def expire() -> str:
    """Expire memberships whose end has come."""
    return f"{memberships.memberships_expire()} membership(s) expired"


@job("communities.groups_cleanup", every=timedelta(hours=1))
def cleanup() -> str:
    """Remove expired members from paid groups after the grace period; archive ended groups."""
    removed = memberships.memberships_cleanup()
    archived = memberships.groups_archive_ended()
    return f"{removed} seat(s) ended, {archived} group(s) archived"
