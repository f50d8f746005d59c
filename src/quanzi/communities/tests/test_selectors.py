"""Reads: the renewal rate worked by hand, and the group listing's counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.models import PlanKind
from quanzi.communities.selectors import group_list, member_memberships, renewal_rate
from quanzi.communities.services.memberships import (
    membership_cancel,
    membership_pay,
    membership_start,
)
from quanzi.communities.tests.conftest import START
from quanzi.communities.tests.factories import community, group, member, paid, plan

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
YEAR = timedelta(days=365)


def test_renewal_rate_by_hand(clock_at: Any) -> None:
    """DESIGN.md: memberships renewed within 30 days after expiry / memberships that expired.

    Seven members of one annual plan; E is the end of a year bought at START. We look at terms
    ending in [E - 1 day, E + 100 days) on E + 90 days:

    | member | first term ends | renewal paid | counts as          |
    | ------ | --------------- | ------------ | ------------------ |
    | a      | E               | E - 10 days  | renewed (early)    |
    | b      | E               | E + 20 days  | renewed (late)     |
    | c      | E               | E + 40 days  | expired only       |
    | d      | E               | never        | expired only       |
    | f      | E + 70 days     | E + 75 days  | renewed            |
    | g      | E + 5 days      | E + 35 days  | renewed (day 30)   |
    | h      | E + 80 days     | not yet      | not counted: ended 10 days ago, may still renew |

    Renewed 4 (a, b, f, g) of 6 that expired (a, b, c, d, f, g): 4/6.
    """
    # Given: the clock at E + 90 days; every payment is in its past
    end = START + YEAR
    now = end + 90 * DAY
    clock_at.set(now)
    home = community()
    annual = plan(home)
    other_plan = plan(home)

    def bought(first_paid: Any, renewed_at: Any = None) -> None:
        membership = paid(member(), annual, at=first_paid)
        if renewed_at is not None:
            membership_pay(
                membership=membership,
                amount_minor=annual.price_minor,
                payment_ref=f"renew-{membership.pk}",
                paid_at=renewed_at,
            )

    bought(START, end - 10 * DAY)  # a
    bought(START, end + 20 * DAY)  # b
    bought(START, end + 40 * DAY)  # c
    bought(START)  # d
    bought(START + 70 * DAY, end + 75 * DAY)  # f
    bought(START + 5 * DAY, end + 35 * DAY)  # g
    bought(START + 80 * DAY)  # h
    paid(member(), other_plan, at=START)  # another plan's terms do not count

    # When
    result = renewal_rate(plan=annual, since=end - DAY, until=end + 100 * DAY, now=now)

    # Then
    assert (result.ended, result.renewed) == (6, 4)
    assert result.rate == pytest.approx(4 / 6)


def test_renewal_rate_is_none_when_nothing_expired(clock_at: Any) -> None:
    # Given: a lifetime plan has no ends; an annual plan's year is not over
    lifetime = plan(kind=PlanKind.LIFETIME)
    annual = plan()
    paid(member(), lifetime, at=clock_at())
    paid(member(), annual, at=clock_at())

    # When
    results = [
        renewal_rate(plan=p, since=START - YEAR, until=START + 2 * YEAR, now=clock_at())
        for p in (lifetime, annual)
    ]

    # Then
    assert [(r.ended, r.renewed, r.rate) for r in results] == [(0, 0, None), (0, 0, None)]


def test_the_group_list_counts_seated_and_waiting(clock_at: Any) -> None:
    # Given
    from quanzi.communities.services.joining import group_join

    home = community()
    small = group(home, capacity=2)
    for _ in range(3):
        group_join(group=small, member=member(), now=clock_at())

    # When
    (row,) = group_list(community=home)

    # Then
    assert (row.pk, row.seated, row.waiting) == (small.pk, 2, 1)


def test_my_memberships_leave_out_cancelled_ones(clock_at: Any) -> None:
    # Given
    person = member()
    kept = paid(person, plan(), at=clock_at())
    withdrawn = membership_start(member=person, plan=plan(), now=clock_at())
    membership_cancel(membership=withdrawn)

    # When / Then
    assert [m.pk for m in member_memberships(person)] == [kept.pk]
