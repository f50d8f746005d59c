"""What the communities domain does for the members domain: merges keep everything, exports
include memberships, deletion keeps the money records, and seats feed the lifecycle rules."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from quanzi.communities.models import (
    GroupMembership,
    KolSeat,
    Membership,
    MembershipStatus,
    MembershipTerm,
    OwedGoods,
    PlanKind,
    SeatStatus,
    Tier,
)
from quanzi.communities.services.joining import group_join
from quanzi.communities.services.memberships import membership_start
from quanzi.communities.services.setup import kol_seat_assign
from quanzi.communities.tests.factories import community, group, member, paid, plan
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.lifecycle import facts_for, lifecycle_recompute
from quanzi.members.models import Level, Member, Stage
from quanzi.members.selectors import member_data_export
from quanzi.members.services import member_anonymise, member_merge
from quanzi.members.tests.factories import record

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
YEAR = timedelta(days=365)


def test_a_merge_keeps_every_membership_seat_term_and_owed_goods(clock_at: Any) -> None:
    # Given: the source pays a fee-goods plan and sits in two groups; the target has a free plan
    home = community()
    junior, core = group(home, tier=Tier.JUNIOR), group(home, tier=Tier.CORE)
    slimming = plan(home, PlanKind.FEE_GOODS, groups=[junior])
    free = plan(home, PlanKind.FREE)
    source, target = member("source"), member("target")
    paid(source, slimming, at=clock_at())
    group_join(group=core, member=source, now=clock_at())
    membership_start(member=target, plan=free, now=clock_at())
    kol_seat_assign(group=core, member=source, title="coach")
    counts = (
        Membership.objects.count(),
        MembershipTerm.objects.count(),
        GroupMembership.objects.count(),
        OwedGoods.objects.count(),
        Activity.objects.filter(kind=ActivityKind.PAY).count(),
    )

    # When
    member_merge(source=source, target=target)

    # Then: nothing was lost and everything now belongs to the target
    assert (
        Membership.objects.count(),
        MembershipTerm.objects.count(),
        GroupMembership.objects.count(),
        OwedGoods.objects.count(),
        Activity.objects.filter(kind=ActivityKind.PAY).count(),
    ) == counts
    assert set(Membership.objects.values_list("member_id", "plan_id", "status")) == {
        (target.pk, slimming.pk, "active"),
        (target.pk, free.pk, "active"),
    }
    assert set(GroupMembership.objects.values_list("member_id", "group_id", "status")) == {
        (target.pk, junior.pk, "active"),
        (target.pk, core.pk, "active"),
    }
    assert set(OwedGoods.objects.values_list("member_id", flat=True)) == {target.pk}
    assert list(KolSeat.objects.values_list("member_id", "title")) == [(target.pk, "coach")]
    assert not Membership.objects.filter(member=source).exists()


def test_two_live_memberships_of_one_plan_keep_the_later_end_and_both_terms(
    clock_at: Any,
) -> None:
    # Given: both records paid the annual plan, the source three months later
    home = community()
    junior = group(home, tier=Tier.JUNIOR)
    annual = plan(home, groups=[junior])
    source, target = member(), member()
    earlier = paid(target, annual, at=clock_at())
    later = paid(source, annual, at=clock_at.advance(90 * DAY))

    # When
    member_merge(source=source, target=target)

    # Then: one live membership (the later end), the other closed; both terms kept
    statuses = dict(Membership.objects.values_list("pk", "status"))
    assert statuses == {later.pk: MembershipStatus.ACTIVE, earlier.pk: MembershipStatus.CANCELLED}
    assert set(Membership.objects.values_list("member_id", flat=True)) == {target.pk}
    assert MembershipTerm.objects.filter(membership__member=target).count() == 2
    # And one seat in the group: the source's duplicate seat was closed, not deleted.
    assert sorted(
        GroupMembership.objects.filter(member=target).values_list("status", "end_reason")
    ) == [(SeatStatus.ACTIVE, ""), (SeatStatus.LEFT, "merged")]
    # And the closing is on the record, naming the membership that stayed.
    closed = Activity.objects.get(data__action="closed_by_merge")
    assert (closed.member_id, closed.object_id, closed.data["kept"]) == (
        target.pk,
        str(earlier.pk),
        later.pk,
    )


def test_the_survivor_counts_the_merged_records_payments_and_activity(clock_at: Any) -> None:
    # Given: one payment under each record, and activity in two weeks
    moment = clock_at()
    source, target = member(), member()
    paid(source, plan(), at=moment - 20 * DAY)
    paid(target, plan(), at=moment - 10 * DAY)
    record(source, ActivityKind.POST, moment - 15 * DAY)
    record(target, ActivityKind.MESSAGE, moment - DAY)

    # When
    member_merge(source=source, target=target)
    lifecycle_recompute([target.pk], now=moment)

    # Then: two paid orders and a contribution make a fan
    facts = facts_for([target.pk], now=moment)[target.pk]
    assert (facts.paid_orders, facts.contributions, facts.active_weeks) == (2, 1, 2)
    assert Member.objects.get(pk=target.pk).stage == Stage.FAN


def test_the_data_export_lists_memberships_terms_and_groups(clock_at: Any) -> None:
    # Given
    home = community(name="English circle")
    junior = group(home, name="Junior", tier=Tier.JUNIOR)
    annual = plan(home, name="Annual", groups=[junior])
    person = member()
    paid(person, annual, at=clock_at())

    # When
    section = member_data_export(person)["communities"]

    # Then: times as stored, in UTC
    at = clock_at().astimezone(UTC).isoformat()
    assert section["memberships"] == [
        {
            "community": "English circle",
            "plan": "Annual",
            "status": "active",
            "starts_at": at,
            "ends_at": (clock_at() + YEAR).astimezone(UTC).isoformat(),
            "terms": [{"paid_at": at, "amount_minor": 36_500, "currency": "CNY"}],
        }
    ]
    assert section["groups"] == [
        {"group": "Junior", "status": "active", "joined_at": at, "channel": ""}
    ]


def test_deletion_keeps_memberships_terms_and_the_payment_log(clock_at: Any) -> None:
    # Given
    person = member()
    membership = paid(person, plan(kind=PlanKind.FEE_GOODS), at=clock_at())

    # When
    member_anonymise(member=person)

    # Then: the money records stay, under an id that no longer leads to a person
    membership.refresh_from_db()
    assert (membership.member_id, membership.status) == (person.pk, "active")
    assert membership.terms.count() == 1
    assert OwedGoods.objects.filter(member=person).count() == 1
    assert Activity.objects.filter(kind=ActivityKind.PAY, member_id=person.pk).count() == 1
    assert Member.objects.get(pk=person.pk).display_name == f"#{person.pk}"


def test_a_core_group_seat_makes_an_active_repeat_buyer_fan_an_iron_fan(clock_at: Any) -> None:
    # Given: two paid orders, a referral, activity this week
    moment = clock_at()
    person = member()
    for days in (40, 20):
        record(person, ActivityKind.PAY, moment - days * DAY)
    record(person, ActivityKind.REFERRAL, moment - 5 * DAY)
    record(person, ActivityKind.MESSAGE, moment - DAY)
    lifecycle_recompute([person.pk], now=moment)
    assert Member.objects.get(pk=person.pk).stage == Stage.FAN

    # When: seated in the core fans group
    core = group(tier=Tier.CORE)
    group_join(group=core, member=person, now=moment)
    lifecycle_recompute([person.pk], now=moment)

    # Then
    person.refresh_from_db()
    assert (person.stage, person.level) == (Stage.IRON_FAN, Level.CORE)
    assert [
        (a.data["from"], a.data["to"])
        for a in Activity.objects.filter(kind=ActivityKind.STAGE, member_id=person.pk).order_by(
            "pk"
        )
    ] == [("", "fan"), ("fan", "iron_fan")]


def test_a_seat_in_a_lower_tier_is_not_a_core_group(clock_at: Any) -> None:
    person = member()
    group_join(group=group(tier=Tier.JUNIOR), member=person, now=clock_at())
    assert facts_for([person.pk], now=clock_at())[person.pk].in_core_group is False


def test_a_kol_seat_makes_a_kol_until_its_group_is_archived(clock_at: Any) -> None:
    # Given
    teacher = member()
    core = group(tier=Tier.CORE, ends_on=clock_at().date() + 2 * DAY)
    kol_seat_assign(group=core, member=teacher)

    # When
    lifecycle_recompute([teacher.pk], now=clock_at())

    # Then
    assert Member.objects.get(pk=teacher.pk).level == Level.KOL
    level = Activity.objects.get(kind=ActivityKind.LEVEL, member_id=teacher.pk)
    assert level.data == {"from": "novice", "to": "kol"}

    # When: the group ends
    from quanzi.communities.services.memberships import groups_archive_ended

    clock_at.advance(4 * DAY)
    groups_archive_ended(now=clock_at())
    lifecycle_recompute([teacher.pk], now=clock_at())

    # Then
    assert Member.objects.get(pk=teacher.pk).level == Level.NOVICE
