"""Rollup runs side by side on PostgreSQL: three runs at once, in chunks of a few rows so their
folds and recomputes interleave, leave the same tables as one run alone, and nothing pending."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from quanzi.analytics import rollups
from quanzi.analytics.models import (
    ChatMessage,
    CohortCell,
    GroupPair,
    MemberDay,
    MemberFact,
    Purchase,
    RollupPending,
    RollupState,
    ScopeDay,
    SeatCount,
    Snapshot,
)
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.tests.test_rollups_property import apply, snapshot
from quanzi.communities.tests.factories import community, group
from quanzi.core.models import Activity
from quanzi.members.tests.factories import in_threads, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STREAM = [
    ("join", 0, 0, 0, 0, 0),
    ("join", 1, 0, 0, 1, 0),
    ("join", 2, 0, 1, 2, 0),
    ("join", 1, 0, 1, 3, 0),
    ("message", 0, 0, 0, 4, 0),
    ("reply", 1, 0, 0, 5, 0),
    ("like", 2, 1, 1, 9, 0),
    ("pay", 0, 0, 0, 10, 1),
    ("pay", 0, 0, 0, 17, 2),
    ("pay", 2, 0, 1, 20, 1),
    ("chat", 3, 0, 0, 21, 0),
    ("ad", 4, 0, 1, 22, 0),
    ("join", 3, 0, 0, 30, 0),
    ("leave", 1, 0, 0, 31, 0),
    ("post", 3, 0, 0, 40, 0),
    ("like", 3, 0, 0, 41, 0),
    ("pay", 3, 0, 0, 50, 1),
    ("join", 4, 0, 1, 55, 0),
]


def stored_snapshots() -> set[tuple[Any, ...]]:
    return {
        (c, kind, start, json.dumps(data, sort_keys=True))
        for c, kind, start, data in Snapshot.objects.values_list(
            "community_id", "kind", "start", "data"
        )
    }


def test_runs_side_by_side_equal_one_run_alone(
    frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock.set(timezone.make_aware(datetime(2026, 4, 30, 12)))
    monkeypatch.setattr(rollups, "CHUNK", 3)
    place = community()
    chats = [group(place), group(place)]
    people = [member() for _ in range(5)]
    apply(STREAM, people, chats, 0)

    outcomes = in_threads(3, lambda _: rollup_refresh(settle=timedelta(0)))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    # Each row is folded by exactly one of them.
    assert sum(o.activities for o in outcomes) == Activity.objects.count()
    assert sum(o.messages for o in outcomes) == ChatMessage.objects.count() == 2
    assert not RollupPending.objects.exists()
    together = snapshot()
    snapshots = stored_snapshots()

    tables = (MemberDay, ScopeDay, MemberFact, Purchase, CohortCell, GroupPair, SeatCount)
    for model in (*tables, RollupState, Snapshot):
        model.objects.all().delete()
    rollup_refresh(settle=timedelta(0))

    alone = snapshot()
    for name in alone:
        assert alone[name] == together[name], name
    assert stored_snapshots() == snapshots
