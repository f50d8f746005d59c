"""The fast count and the day-by-day count agree: for random streams of joins, leaves, messages,
replies, likes and payments, folded in two runs, the members, payers, repeat payers and
strangers of every period reaching today, read from each member's last times, equal those
counted from the paid orders and member-days of the period. The upgrade migration fills those
last times from the rollups exactly as the fold keeps them."""

from __future__ import annotations

import importlib
import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from quanzi.analytics.models import MemberFact
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.metrics import (
    Period,
    Scope,
    _members_at_end,
    member_counts,
    member_counts_by_day,
    member_counts_to_today,
)
from quanzi.analytics.tests.test_rollups_property import START, apply, events
from quanzi.communities.tests.factories import community, group
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 30)
upgrade = importlib.import_module("quanzi.analytics.migrations.0005_pending_last_times")
counter = itertools.count()


def last_times() -> set[tuple[Any, ...]]:
    return set(
        MemberFact.objects.values_list(
            "community_id", "group_id", "member_id", "last_interaction_day", "previous_paid_day"
        )
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stream=events, cut=st.integers(0, 40))
# A member replied to before they held a seat or did anything in the group, who joins later:
# they interacted, so they are no stranger.
@example(stream=[("reply", 0, 1, 0, 5, 0), ("join", 1, 0, 0, 10, 0)], cut=1)
# Two orders, the second in a later run: a repeat payer from the first order's day on.
@example(stream=[("join", 2, 0, 1, 0, 0), ("pay", 2, 0, 0, 12, 0), ("pay", 2, 0, 0, 30, 1)], cut=2)
# A seat that ended before it began (a leave recorded at an earlier time than the join).
@example(
    stream=[("join", 0, 0, 0, 0, 0), ("join", 1, 0, 1, 52, 0), ("leave", 1, 0, 1, 0, 0)], cut=0
)
def test_counts_to_today_equal_counts_by_day(frozen_clock: Any, stream: Any, cut: int) -> None:
    frozen_clock.set(timezone.make_aware(datetime(2026, 4, 30, 12)))
    n = next(counter) + 10**5  # order references stay apart from the other property test's
    place = community()
    chats = [group(place), group(place)]
    people = [member() for _ in range(6)]
    apply(stream[:cut], people, chats, n)
    rollup_refresh()
    apply(stream[cut:], people, chats, n, offset=cut)
    rollup_refresh()

    end = TODAY + timedelta(days=1)
    scopes = [Scope(place.pk), *(Scope(place.pk, chat.pk) for chat in chats)]
    for scope in scopes:
        for offset in range(0, 61, 6):
            period = Period(START + timedelta(days=offset), end)
            fast = member_counts_to_today(scope, period)
            assert fast == member_counts_by_day(scope, period), (scope, period)
            assert member_counts(scope, period) == fast
            # A period that ended earlier: its members are the daily row of its last day,
            # the same count as the facts give.
            past = Period(period.start, period.start + timedelta(days=9))
            counted = MemberFact.objects.filter(
                community_id=scope.community_id, group_id=scope.group_id
            ).filter(_members_at_end(scope, past))
            assert member_counts_by_day(scope, past).members == counted.count(), (scope, past)

    folded = last_times()
    MemberFact.objects.update(last_interaction_day=None, previous_paid_day=None)
    with connection.cursor() as cursor:
        cursor.execute(upgrade.LAST_INTERACTION)
        cursor.execute(upgrade.PREVIOUS_PAID)
    assert last_times() == folded
