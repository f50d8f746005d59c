"""The community-wide figures that need a pass over every member, kept ready for the periods the
console offers.

Payment, repurchase and strangeness rates over a period, the RFM segments and the lifecycle
distribution each count distinct members, which no sum of daily rows gives. At a million members
a live count takes a pass over them; so each time the rollup job recomputes a community (at
least once a day, when "the last 30 days" move), it works them out once for the last 7, 30 and
90 days ending today and for today, with the same functions a live read calls, and stores
them. ``selectors.metrics`` reads a stored row when asked exactly that question and works
anything else out live.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from quanzi.analytics.calendar import local_day
from quanzi.analytics.models import COMMUNITY_SCOPE, ScopeDay, Snapshot, SnapshotKind
from quanzi.analytics.selectors import metrics
from quanzi.communities.models import Community
from quanzi.core import clock

WINDOWS = (7, 30, 90)  # the console's period choices, in days ending today


def snapshots_missing() -> set[int]:
    """Every community with rollups but no snapshots for today: a new day, or a first run after
    an upgrade."""
    tomorrow = local_day(clock.now()) + timedelta(days=1)
    current = Snapshot.objects.filter(community_id=OuterRef("pk"), end=tomorrow)
    rolled = ScopeDay.objects.filter(community_id=OuterRef("pk"), group_id=COMMUNITY_SCOPE)
    return set(
        Community.objects.filter(Exists(rolled), ~Exists(current)).values_list("pk", flat=True)
    )


def snapshot_store(community_id: int) -> None:
    """Work out one community's snapshots and replace the stored ones."""
    now = clock.now()
    today = local_day(now)
    tomorrow = today + timedelta(days=1)
    scope = metrics.Scope(community_id)
    rows: list[tuple[str, date, Any]] = []
    for days in WINDOWS:
        period = metrics.Period(today - timedelta(days=days - 1), tomorrow)
        counted = metrics.member_counts(scope, period)
        rows.append((SnapshotKind.KPIS, period.start, asdict(counted)))
    segments = metrics.rfm_now(scope, today)
    rows.append((SnapshotKind.RFM, today, [[s.code, s.members, s.revenue_minor] for s in segments]))
    stages = metrics.lifecycle_now(scope, today)
    rows.append((SnapshotKind.LIFECYCLE, today, {s.stage: s.members for s in stages}))
    with transaction.atomic():
        Snapshot.objects.filter(community_id=community_id).delete()
        Snapshot.objects.bulk_create(
            Snapshot(
                community_id=community_id,
                kind=kind,
                start=start,
                end=tomorrow,
                data=data,
                computed_at=now,
            )
            for kind, start, data in rows
        )
