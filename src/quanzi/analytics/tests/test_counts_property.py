"""The fast counts and the day-by-day count agree: for random streams of joins, leaves,
messages, replies, likes and payments, folded in two runs, the members, payers, repeat payers
and strangers of every period reaching today, read from each member's last times, and of every
period that ended within reach of the members' day bits, read from those bits, equal those
counted from the paid orders and member-days of the period. The upgrade migrations fill those
last times and bits from the rollups exactly as the fold keeps them."""

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

from quanzi.analytics import daybits
from quanzi.analytics.models import MemberFact
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.metrics import (
    Period,
    Scope,
    _members_at_end,
    member_counts,
    member_counts_by_day,
    member_counts_in_reach,
    member_counts_to_today,
)
from quanzi.analytics.tests.test_rollups_property import START, apply, events
from quanzi.communities.models import Community, Group
from quanzi.communities.tests.factories import community, group
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 30)
upgrade = importlib.import_module("quanzi.analytics.migrations.0005_pending_last_times")
bits_upgrade = importlib.import_module("quanzi.analytics.migrations.0006_day_bits")
LAST_EVENT = START + timedelta(days=60)  # the streams' last day
counter = itertools.count()


def fold_in_two_runs(stream: Any, cut: int) -> tuple[Community, list[Group]]:
    """A community with two groups and six people, the stream folded in two runs."""
    n = next(counter) + 10**5  # order references stay apart from the other property test's
    place = community()
    chats = [group(place), group(place)]
    people = [member() for _ in range(6)]
    apply(stream[:cut], people, chats, n)
    rollup_refresh()
    apply(stream[cut:], people, chats, n, offset=cut)
    rollup_refresh()
    return place, chats


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
    place, chats = fold_in_two_runs(stream, cut)

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


def day_bits(community_id: int) -> set[tuple[Any, ...]]:
    names = [f"{kind}_bits_{k}" for kind in ("interaction", "paid", "repaid") for k in range(6)]
    return set(
        MemberFact.objects.filter(community_id=community_id).values_list(
            "community_id", "group_id", "member_id", "last_paid_day", *names
        )
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Bits to a column: 63 as kept, and 2 or 5 (a reach of 12 or 30 days) so that the streams'
# two months push days out of reach and wrap the positions around.
@given(stream=events, cut=st.integers(0, 40), column_bits=st.sampled_from([2, 5, 63]))
# Two orders on one day, and one more later: in a period holding that day only, a repeat payer.
@example(
    stream=[
        ("join", 1, 0, 0, 0, 0),
        ("pay", 1, 0, 0, 3, 0),
        ("pay", 1, 0, 0, 3, 1),
        ("pay", 1, 0, 0, 9, 2),
    ],
    cut=2,
    column_bits=2,
)
# Replies in both runs: the second run's days join the first's instead of replacing them.
@example(
    stream=[("reply", 1, 2, 0, 3, 0), ("reply", 1, 2, 0, 9, 0), ("join", 1, 0, 0, 0, 0)],
    cut=1,
    column_bits=5,
)
def test_counts_in_reach_equal_counts_by_day(
    frozen_clock: Any, stream: Any, cut: int, column_bits: int
) -> None:
    frozen_clock.set(timezone.make_aware(datetime(2026, 4, 30, 12)))
    kept = daybits.COLUMN_BITS
    daybits.COLUMN_BITS = column_bits
    try:
        place, chats = fold_in_two_runs(stream, cut)

        # Every period that ended by the streams' last day and began within reach of every
        # member's last day (as ``member_counts`` sees to from today): a grid of them.
        window = timedelta(days=daybits.window())
        facts = MemberFact.objects.filter(community_id=place.pk)
        lasts = facts.values_list("last_interaction_day", "last_paid_day")
        latest = max((d for pair in lasts for d in pair if d is not None), default=START)
        periods = [
            Period(START + timedelta(days=first), START + timedelta(days=first + length))
            for first in range(0, 61, 3)
            for length in (1, 3, 8, 20, 45)
            if first + length <= 61
            and length <= window.days
            and START + timedelta(days=first) > latest - window
        ]
        for scope in [Scope(place.pk), *(Scope(place.pk, chat.pk) for chat in chats)]:
            for period in periods:
                assert member_counts_in_reach(scope, period) == member_counts_by_day(
                    scope, period
                ), (scope, period, window)

        # Examples share the database: earlier ones' facts were folded with other bits.
        folded = day_bits(place.pk)
        MemberFact.objects.filter(community_id=place.pk).update(
            last_paid_day=None,
            **{
                f"{kind}_bits_{k}": 0
                for kind in ("interaction", "paid", "repaid")
                for k in range(6)
            },
        )
        with connection.cursor() as cursor:
            cursor.execute(bits_upgrade.interaction_bits_sql(connection.vendor, column_bits))
            cursor.execute(bits_upgrade.paid_bits_sql(connection.vendor, column_bits))
        backfilled = day_bits(place.pk)
        assert backfilled == folded, repr(
            (sorted(backfilled - folded), sorted(folded - backfilled))
        )
    finally:
        daybits.COLUMN_BITS = kept
