"""The scheduled membership work at its boundaries: reminders, expiry, grace, ended groups.

Each job is run twice to show a second run changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from quanzi.communities import jobs
from quanzi.communities.models import (
    Group,
    GroupMembership,
    Membership,
    MembershipStatus,
    PlanKind,
    SeatStatus,
    Tier,
)
from quanzi.communities.services.joining import group_join, group_leave
from quanzi.communities.services.memberships import (
    membership_pay,
    memberships_cleanup,
    memberships_expire,
    memberships_remind,
)
from quanzi.communities.tests.conftest import SHANGHAI
from quanzi.communities.tests.factories import community, group, member, paid, plan, state
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.services import member_set_marketing
from quanzi.outbox.models import OutboxMessage, OutboxStatus, Purpose

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
YEAR = timedelta(days=365)
TICK = timedelta(microseconds=1)


def _status(membership: Membership) -> str:
    membership.refresh_from_db()
    return membership.status


def test_a_reminder_is_due_reminder_days_before_the_end_and_queued_once(clock_at: Any) -> None:
    # Given: a year from now, reminded 7 days before its end
    membership = paid(
        member("Li Lei"), plan(community(name="English circle"), name="Annual"), at=clock_at()
    )
    end = membership.ends_at
    assert end is not None

    # When / Then: a moment too early, nothing
    assert memberships_remind(now=end - 7 * DAY - TICK) == 0
    assert _status(membership) == MembershipStatus.ACTIVE

    # When: on time, then once more
    clock_at.set(end - 7 * DAY)
    first = memberships_remind(now=clock_at())
    second = memberships_remind(now=clock_at() + timedelta(hours=1))

    # Then
    assert (first, second) == (1, 0)
    assert _status(membership) == MembershipStatus.EXPIRING
    message = OutboxMessage.objects.get()
    assert (message.member_id, message.purpose, message.template, message.status) == (
        membership.member_id,
        Purpose.SERVICE,
        "membership_reminder",
        OutboxStatus.QUEUED,
    )
    assert message.dedupe_key == f"reminder:{membership.pk}:{end:%Y%m%d}"
    assert message.body == (
        f"Li Lei，你在「English circle」的“Annual”将于 {end:%Y-%m-%d} 到期，续费后权益不中断。"
    )
    reminded = Activity.objects.get(kind=ActivityKind.MEMBERSHIP, data__action="reminded")
    assert (reminded.data["from"], reminded.data["to"]) == ("active", "expiring")


def test_the_reminder_job_run_twice_queues_one_message(clock_at: Any) -> None:
    # Given
    membership = paid(member(), plan(), at=clock_at())
    assert membership.ends_at is not None
    clock_at.set(membership.ends_at - 3 * DAY)

    # When
    results = [jobs.remind(), jobs.remind()]

    # Then
    assert results == ["1 reminder(s) queued", "0 reminder(s) queued"]
    assert OutboxMessage.objects.count() == 1


def test_a_member_who_opted_out_of_marketing_is_still_reminded(clock_at: Any) -> None:
    # Given
    person = member_set_marketing(member=member(), opted_out=True)
    membership = paid(person, plan(), at=clock_at())
    assert membership.ends_at is not None

    # When
    clock_at.set(membership.ends_at - DAY)
    memberships_remind(now=clock_at())

    # Then
    assert OutboxMessage.objects.get().status == OutboxStatus.QUEUED


def test_a_renewed_membership_is_reminded_again_before_its_new_end(clock_at: Any) -> None:
    # Given: reminded, then renewed early
    membership = paid(member(), plan(), at=clock_at())
    old_end = membership.ends_at
    assert old_end is not None
    clock_at.set(old_end - 5 * DAY)
    memberships_remind(now=clock_at())
    membership_pay(membership=membership, amount_minor=36_500, payment_ref="wx-renew")
    assert _status(membership) == MembershipStatus.ACTIVE

    # When: the next year's reminder time comes
    assert memberships_remind(now=clock_at()) == 0
    clock_at.set(old_end + YEAR - 7 * DAY)
    assert memberships_remind(now=clock_at()) == 1

    # Then
    keys = sorted(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert keys == sorted(
        [
            f"reminder:{membership.pk}:{old_end:%Y%m%d}",
            f"reminder:{membership.pk}:{old_end + YEAR:%Y%m%d}",
        ]
    )


def test_expiry_happens_at_the_boundary_second(clock_at: Any) -> None:
    # Given
    membership = paid(member(), plan(), at=clock_at())
    end = membership.ends_at
    assert end is not None

    # When / Then: one microsecond before the end it is still active
    clock_at.set(end - TICK)
    assert memberships_expire(now=clock_at()) == 0
    assert _status(membership) == MembershipStatus.ACTIVE

    # When / Then: at the end it has ended; a second run finds nothing
    clock_at.set(end)
    assert memberships_expire(now=clock_at()) == 1
    assert memberships_expire(now=clock_at()) == 0
    assert _status(membership) == MembershipStatus.EXPIRED
    expired = Activity.objects.get(kind=ActivityKind.MEMBERSHIP, data__action="expired")
    assert (expired.occurred_at, expired.data["from"], expired.data["to"]) == (
        end,
        "active",
        "expired",
    )


def test_an_expiring_membership_expires_too_and_lifetime_never_does(clock_at: Any) -> None:
    # Given
    yearly = paid(member(), plan(), at=clock_at())
    forever = paid(member(), plan(kind=PlanKind.LIFETIME), at=clock_at())
    assert yearly.ends_at is not None
    clock_at.set(yearly.ends_at - DAY)
    memberships_remind(now=clock_at())
    assert _status(yearly) == MembershipStatus.EXPIRING

    # When
    clock_at.set(yearly.ends_at + 10 * YEAR)
    result = jobs.expire()

    # Then
    assert result == "1 membership(s) expired"
    assert (_status(yearly), _status(forever)) == ("expired", "active")


def _annual_with_group(grace_days: int = 3, capacity: int = 500) -> tuple[Any, Group]:
    home = community()
    junior = group(home, tier=Tier.JUNIOR, capacity=capacity)
    return plan(home, grace_days=grace_days, groups=[junior]), junior


def test_seats_end_only_after_the_grace_period(clock_at: Any) -> None:
    # Given: a membership with a 3-day grace period that has expired
    annual, junior = _annual_with_group(grace_days=3)
    membership = paid(member(), annual, at=clock_at())
    end = membership.ends_at
    assert end is not None
    clock_at.set(end)
    memberships_expire(now=clock_at())

    # When / Then: during the grace period the seat stays
    clock_at.set(end + 3 * DAY - TICK)
    assert memberships_cleanup(now=clock_at()) == 0
    seat = GroupMembership.objects.get(group=junior)
    assert seat.status == SeatStatus.ACTIVE

    # When / Then: when it is over the seat ends; a second run ends nothing more
    clock_at.set(end + 3 * DAY)
    assert memberships_cleanup(now=clock_at()) == 1
    assert memberships_cleanup(now=clock_at()) == 0
    seat.refresh_from_db()
    assert (seat.status, seat.end_reason, seat.ended_at) == (
        SeatStatus.REMOVED,
        "membership_expired",
        end + 3 * DAY,
    )
    leave = Activity.objects.get(kind=ActivityKind.LEAVE)
    assert (leave.member_id, leave.group_id, leave.data) == (
        membership.member_id,
        junior.pk,
        {"reason": "membership_expired"},
    )
    membership.refresh_from_db()
    assert membership.groups_released_at == end + 3 * DAY  # later runs skip it


def test_a_late_renewal_after_release_seats_the_member_and_is_released_again(
    clock_at: Any,
) -> None:
    # Given: an expired membership whose seat the clean-up already ended
    annual, junior = _annual_with_group(grace_days=0)
    membership = paid(member(), annual, at=clock_at())
    end = membership.ends_at
    assert end is not None
    clock_at.set(end)
    memberships_expire(now=clock_at())
    assert memberships_cleanup(now=clock_at()) == 1

    # When: they renew ten days late
    clock_at.set(end + 10 * DAY)
    membership_pay(
        membership=membership,
        amount_minor=annual.price_minor,
        payment_ref="late-renewal",
        paid_at=clock_at(),
    )

    # Then: seated again, release mark cleared; and when this term lapses, released again
    membership.refresh_from_db()
    assert membership.groups_released_at is None
    assert GroupMembership.objects.filter(group=junior, status=SeatStatus.ACTIVE).count() == 1
    assert membership.ends_at is not None
    clock_at.set(membership.ends_at)
    memberships_expire(now=clock_at())
    assert memberships_cleanup(now=clock_at()) == 1
    assert GroupMembership.objects.filter(group=junior, status=SeatStatus.ACTIVE).count() == 0


def test_a_live_membership_may_not_lose_its_seat_before_expiry(clock_at: Any) -> None:
    # Given: the end has passed but the expiry job has not run
    annual, junior = _annual_with_group(grace_days=0)
    membership = paid(member(), annual, at=clock_at())
    assert membership.ends_at is not None

    # When
    removed = memberships_cleanup(now=membership.ends_at + DAY)

    # Then: clean-up acts on expired memberships only
    assert removed == 0
    assert GroupMembership.objects.get(group=junior).status == SeatStatus.ACTIVE


def test_a_seat_stays_when_another_live_membership_grants_the_group(clock_at: Any) -> None:
    # Given: an annual and a lifetime plan both grant the junior group; the annual one expires
    annual, junior = _annual_with_group(grace_days=0)
    lifetime = plan(annual.community, PlanKind.LIFETIME, groups=[junior])
    person = member()
    yearly = paid(person, annual, at=clock_at())
    paid(person, lifetime, at=clock_at())
    assert yearly.ends_at is not None
    clock_at.set(yearly.ends_at + DAY)
    memberships_expire(now=clock_at())

    # When
    removed = memberships_cleanup(now=clock_at())

    # Then
    assert removed == 0
    assert GroupMembership.objects.get(group=junior, member=person).status == SeatStatus.ACTIVE


def test_a_freed_seat_goes_to_the_first_on_the_waiting_list(clock_at: Any) -> None:
    # Given: a one-seat group; the second payer waits
    annual, junior = _annual_with_group(grace_days=0, capacity=1)
    first = paid(member(), annual, at=clock_at())
    clock_at.advance(30 * DAY)
    second = paid(member(), annual, at=clock_at())
    assert GroupMembership.objects.get(member=second.member).status == SeatStatus.WAITING
    assert first.ends_at is not None
    clock_at.set(first.ends_at)
    memberships_expire(now=clock_at())

    # When
    result = jobs.cleanup()

    # Then
    assert result == "1 seat(s) ended, 0 group(s) archived"
    seats = dict(GroupMembership.objects.values_list("member_id", "status"))
    assert seats == {first.member_id: SeatStatus.REMOVED, second.member_id: SeatStatus.ACTIVE}
    promoted = GroupMembership.objects.get(member=second.member)
    assert promoted.joined_at == first.ends_at
    assert Activity.objects.filter(
        kind=ActivityKind.JOIN, member_id=second.member_id, group_id=junior.pk
    ).exists()


def test_an_expired_member_waiting_for_a_seat_leaves_the_queue(clock_at: Any) -> None:
    # Given: a one-seat paid group held by a lifetime member; an annual member waits for it
    annual, junior = _annual_with_group(grace_days=0, capacity=1)
    lifetime = plan(annual.community, PlanKind.LIFETIME, groups=[junior])
    holder = member()
    paid(holder, lifetime, at=clock_at())
    waiting = paid(member(), annual, at=clock_at())
    assert GroupMembership.objects.get(member=waiting.member).status == SeatStatus.WAITING
    assert waiting.ends_at is not None
    clock_at.set(waiting.ends_at)
    memberships_expire(now=clock_at())

    # When
    ended = memberships_cleanup(now=clock_at())

    # Then: the expired member's place in the queue ends too, so no later free seat goes to them
    assert ended == 1
    place = GroupMembership.objects.get(member=waiting.member)
    assert (place.status, place.end_reason) == (SeatStatus.REMOVED, "membership_expired")
    group_leave(group=junior, member=holder, now=clock_at())
    assert not GroupMembership.objects.filter(group=junior, status=SeatStatus.ACTIVE).exists()


def test_a_group_is_archived_from_the_day_after_its_end_date(clock_at: Any) -> None:
    # Given: a 10-day trip group ending on 10 March, one member in it and one waiting
    trip = group(community(), name="Spring trip", capacity=1, ends_on=date(2025, 3, 10))
    seated, waiting = member(), member()
    group_join(group=trip, member=seated, now=clock_at())
    group_join(group=trip, member=waiting, now=clock_at())
    other = group(community())

    # When / Then: still on the last day, Shanghai time
    last_minute = datetime(2025, 3, 10, 23, 59, tzinfo=SHANGHAI).astimezone(UTC)
    clock_at.set(last_minute)
    assert jobs.cleanup() == "0 seat(s) ended, 0 group(s) archived"

    # When / Then: half past midnight in Shanghai (still 10 March in UTC), it has ended
    after_midnight = datetime(2025, 3, 11, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)
    clock_at.set(after_midnight)
    assert jobs.cleanup() == "0 seat(s) ended, 1 group(s) archived"
    assert jobs.cleanup() == "0 seat(s) ended, 0 group(s) archived"

    trip.refresh_from_db()
    assert trip.archived_at == after_midnight
    other.refresh_from_db()
    assert other.archived_at is None
    seats = dict(GroupMembership.objects.values_list("member_id", "status"))
    # No one was promoted into a group that ended.
    assert seats == {seated.pk: SeatStatus.REMOVED, waiting.pk: SeatStatus.REMOVED}
    assert set(GroupMembership.objects.values_list("end_reason", flat=True)) == {"group_ended"}
    latecomer = member()
    before = state()
    with pytest.raises(Conflict):
        group_join(group=trip, member=latecomer, now=clock_at())
    assert state() == before
