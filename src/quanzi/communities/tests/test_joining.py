"""Joining groups: capacity and the waiting list, gating, the entry ritual, invitations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from quanzi.communities.models import GroupMembership, PlanKind, SeatStatus, Tier
from quanzi.communities.services.errors import (
    CommunityError,
    EntryRefused,
    GroupFull,
    InvitationUnusable,
)
from quanzi.communities.services.joining import (
    group_join,
    group_leave,
    invitation_check,
    invitation_consume,
    invitation_create,
    invitation_get,
    invitation_revoke,
)
from quanzi.communities.services.memberships import membership_start
from quanzi.communities.tests.conftest import SHANGHAI
from quanzi.communities.tests.factories import community, group, member, paid, plan, state
from quanzi.core.errors import Conflict, NotFound
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.services import member_anonymise, member_merge, member_set_marketing
from quanzi.outbox.models import OutboxMessage, OutboxStatus, Purpose

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def _seats(group_id: int, status: str) -> list[int]:
    return list(
        GroupMembership.objects.filter(group_id=group_id, status=status)
        .order_by("created_at", "pk")
        .values_list("member_id", flat=True)
    )


def test_a_full_group_puts_newcomers_on_a_numbered_waiting_list(clock_at: Any) -> None:
    # Given
    small = group(capacity=2)
    people = [member() for _ in range(4)]

    # When
    results = [
        group_join(group=small, member=p, now=clock_at.advance(MINUTE), channel="douyin")
        for p in people
    ]

    # Then
    assert [r.waiting_position for r in results] == [None, None, 1, 2]
    assert [r.seat.status for r in results] == ["active", "active", "waiting", "waiting"]
    assert _seats(small.pk, SeatStatus.ACTIVE) == [people[0].pk, people[1].pk]
    waiting = Activity.objects.filter(kind=ActivityKind.WAITLIST).order_by("pk")
    assert [(a.member_id, a.channel) for a in waiting] == [
        (people[2].pk, "douyin"),
        (people[3].pk, "douyin"),
    ]
    assert Activity.objects.filter(kind=ActivityKind.JOIN).count() == 2


def test_joining_again_returns_the_seat_or_the_place_held(clock_at: Any) -> None:
    # Given
    small = group(capacity=1)
    seated, waiting = member(), member()
    first = group_join(group=small, member=seated, now=clock_at())
    queued = group_join(group=small, member=waiting, now=clock_at.advance(MINUTE))
    before = state()

    # When
    again_seated = group_join(group=small, member=seated, now=clock_at.advance(MINUTE))
    again_waiting = group_join(group=small, member=waiting, now=clock_at())

    # Then
    assert (again_seated.seat.pk, again_seated.waiting_position) == (first.seat.pk, None)
    assert (again_waiting.seat.pk, again_waiting.waiting_position) == (queued.seat.pk, 1)
    assert state() == before


def test_a_full_group_refuses_when_told_not_to_queue(clock_at: Any) -> None:
    # Given
    small = group(name="Tiny", capacity=1)
    group_join(group=small, member=member(), now=clock_at())
    newcomer = member()
    before = state()

    # When
    with pytest.raises(GroupFull) as refused:
        group_join(group=small, member=newcomer, wait_if_full=False, now=clock_at())

    # Then
    assert (refused.value.code, refused.value.status) == ("group_full", 409)
    assert refused.value.fields == {"group": ["Tiny is full (1 members)."]}
    assert state() == before


def test_a_freed_seat_promotes_the_waiting_list_in_order(clock_at: Any) -> None:
    # Given: two seats, three waiting
    small = group(capacity=2)
    people = [member() for _ in range(5)]
    for person in people:
        group_join(group=small, member=person, now=clock_at.advance(MINUTE))

    # When: a seated member leaves
    left_at = clock_at.advance(MINUTE)
    group_leave(group=small, member=people[0], now=left_at)

    # Then: the first in the queue moves up and the rest move forward
    assert _seats(small.pk, SeatStatus.ACTIVE) == [people[1].pk, people[2].pk]
    assert _seats(small.pk, SeatStatus.WAITING) == [people[3].pk, people[4].pk]
    promoted = GroupMembership.objects.get(group=small, member=people[2])
    assert promoted.joined_at == left_at
    assert group_join(group=small, member=people[4], now=clock_at()).waiting_position == 2
    join = Activity.objects.filter(kind=ActivityKind.JOIN, member_id=people[2].pk).get()
    assert join.occurred_at == left_at

    # When: two more leave
    group_leave(group=small, member=people[1], now=clock_at.advance(MINUTE))
    group_leave(group=small, member=people[2], reason="removed by operator", now=clock_at())

    # Then
    assert _seats(small.pk, SeatStatus.ACTIVE) == [people[3].pk, people[4].pk]
    assert _seats(small.pk, SeatStatus.WAITING) == []
    assert GroupMembership.objects.get(
        group=small, member=people[2], status="removed"
    ).end_reason == ("removed by operator")


def test_leaving_the_waiting_list_promotes_no_one(clock_at: Any) -> None:
    # Given
    small = group(capacity=1)
    seated, first, second = member(), member(), member()
    for person in (seated, first, second):
        group_join(group=small, member=person, now=clock_at.advance(MINUTE))

    # When
    group_leave(group=small, member=first, now=clock_at.advance(MINUTE))

    # Then
    assert _seats(small.pk, SeatStatus.ACTIVE) == [seated.pk]
    assert _seats(small.pk, SeatStatus.WAITING) == [second.pk]
    assert group_join(group=small, member=second, now=clock_at()).waiting_position == 1
    assert not Activity.objects.filter(kind=ActivityKind.LEAVE).exists()


def test_leaving_a_group_one_is_not_in_changes_nothing(clock_at: Any) -> None:
    small, stranger = group(), member()
    before = state()
    assert group_leave(group=small, member=stranger, now=clock_at()) is None
    assert state() == before


# Gating


def test_a_group_gated_by_a_plan_admits_only_live_members_of_it(clock_at: Any) -> None:
    # Given
    home = community()
    annual = plan(home)
    junior = group(home, name="Junior", tier=Tier.JUNIOR, required_plan=annual)
    person = member()
    membership_start(member=person, plan=annual, now=clock_at())  # pending: not paid yet
    before = state()

    # When
    with pytest.raises(EntryRefused) as refused:
        group_join(group=junior, member=person, now=clock_at())

    # Then
    assert (refused.value.code, refused.value.status) == ("entry_refused", 409)
    assert refused.value.message == f"Junior is for members of “{annual.name}”."
    assert state() == before

    # When: paid
    paid(person, annual, at=clock_at.advance(MINUTE))
    joined = group_join(group=junior, member=person, now=clock_at())

    # Then
    assert joined.seat.status == SeatStatus.ACTIVE


def test_a_group_gated_by_a_product_opens_after_buying_it(clock_at: Any) -> None:
    # Given: the junior group opens for buyers of the paid collection, product 501
    home = community()
    junior = group(home, name="Junior", tier=Tier.JUNIOR, required_product_id=501)
    person = member()

    def bought(product: int, who: int) -> None:
        activity_record(
            kind=ActivityKind.PAY,
            occurred_at=clock_at(),
            member_id=who,
            amount=Money(990, "CNY"),
            object_type="product",
            object_id=str(product),
        )

    bought(502, person.pk)  # another product
    activity_record(  # an order placed, not paid
        kind=ActivityKind.ORDER,
        occurred_at=clock_at(),
        member_id=person.pk,
        object_type="product",
        object_id="501",
    )
    before = state()

    # When
    with pytest.raises(EntryRefused) as refused:
        group_join(group=junior, member=person, now=clock_at())

    # Then
    assert refused.value.message == "Junior opens after buying its entry product."
    assert state() == before

    # When: paid for the right product
    bought(501, person.pk)

    # Then
    assert group_join(group=junior, member=person, now=clock_at()).seat.status == "active"


def test_a_purchase_under_a_merged_record_opens_the_gate(clock_at: Any) -> None:
    # Given: the purchase was made under a record later merged into this one
    junior = group(required_product_id=501)
    old, person = member(), member()
    activity_record(
        kind=ActivityKind.PAY,
        occurred_at=clock_at(),
        member_id=old.pk,
        amount=Money(990, "CNY"),
        object_type="product",
        object_id="501",
    )
    member_merge(source=old, target=person)

    # When / Then
    assert group_join(group=junior, member=person, now=clock_at()).seat.status == "active"


def test_a_plan_seats_its_member_past_the_gate_it_sets(clock_at: Any) -> None:
    # Given: the plan grants the group that requires it
    home = community()
    annual = plan(home)
    junior = group(home, tier=Tier.JUNIOR, required_plan=annual)
    annual.groups.add(junior)

    # When
    membership = paid(member(), annual, at=clock_at())

    # Then
    assert GroupMembership.objects.get(member=membership.member).group_id == junior.pk


def test_a_closed_member_cannot_join(clock_at: Any) -> None:
    open_group = group()
    gone = member()
    member_anonymise(member=gone)
    gone.refresh_from_db()
    before = state()
    with pytest.raises(Conflict):
        group_join(group=open_group, member=gone, now=clock_at())
    assert state() == before


# The entry ritual


def test_joining_queues_the_welcome_and_the_intro_prompt_once(clock_at: Any) -> None:
    # Given
    home = community(name="Seafood circle")
    fresh = group(
        home,
        name="Fresh catch",
        welcome_template="欢迎 {name} 加入 {group}（{community}）！",
        intro_prompt="请用一句话介绍你自己。",
    )
    person = member("Ah Hai")

    # When
    first = group_join(group=fresh, member=person, now=clock_at())
    group_join(group=fresh, member=person, now=clock_at())

    # Then
    message = OutboxMessage.objects.get()
    assert (
        message.body == "欢迎 Ah Hai 加入 Fresh catch（Seafood circle）！\n\n请用一句话介绍你自己。"
    )
    assert (message.purpose, message.template, message.dedupe_key) == (
        Purpose.SERVICE,
        "group_welcome",
        f"welcome:{first.seat.pk}",
    )
    assert (message.member_id, message.community_id, message.group_id, message.status) == (
        person.pk,
        home.pk,
        fresh.pk,
        OutboxStatus.QUEUED,
    )
    assert message.not_before == clock_at()


def test_the_welcome_waits_for_a_seat_and_respects_quiet_hours(clock_at: Any) -> None:
    # Given: a full group with a welcome ritual; a member waits
    full = group(capacity=1, welcome_template="Welcome {name}")
    seated, waiting = member(), member()
    group_join(group=full, member=seated, now=clock_at())
    group_join(group=full, member=waiting, now=clock_at())
    assert OutboxMessage.objects.filter(member=waiting).count() == 0

    # When: a seat frees at 23:00 Shanghai time
    late = datetime(2025, 3, 1, 23, 0, tzinfo=SHANGHAI)
    clock_at.set(late)
    group_leave(group=full, member=seated, now=late)

    # Then: welcomed, but not before 08:00 the next morning
    message = OutboxMessage.objects.get(member=waiting)
    assert message.body == f"Welcome {waiting.display_name}"
    assert message.not_before == datetime(2025, 3, 2, 8, 0, tzinfo=SHANGHAI)


def test_a_member_who_opted_out_of_marketing_is_still_welcomed(clock_at: Any) -> None:
    welcoming = group(welcome_template="Welcome")
    person = member_set_marketing(member=member(), opted_out=True)
    group_join(group=welcoming, member=person, now=clock_at())
    assert OutboxMessage.objects.get().status == OutboxStatus.QUEUED


def test_a_group_without_a_ritual_queues_nothing(clock_at: Any) -> None:
    group_join(group=group(), member=member(), now=clock_at())
    assert OutboxMessage.objects.count() == 0


# Invitations


def test_joining_from_an_invitation_records_its_channel_and_content(clock_at: Any) -> None:
    # Given
    home = community()
    open_group = group(home)
    invitation = invitation_create(
        community=home,
        group=open_group,
        channel="xiaohongshu",
        content="note-2024-spring",
        max_uses=10,
    )
    person = member()

    # When
    invitation_consume(invitation, now=clock_at())
    joined = group_join(
        group=open_group,
        member=person,
        channel=invitation.channel,
        invitation=invitation,
        now=clock_at(),
    )

    # Then
    assert (joined.seat.channel, joined.seat.invitation_id) == ("xiaohongshu", invitation.pk)
    join = Activity.objects.get(kind=ActivityKind.JOIN)
    assert (join.member_id, join.group_id, join.community_id, join.channel, join.content) == (
        person.pk,
        open_group.pk,
        home.pk,
        "xiaohongshu",
        "note-2024-spring",
    )
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_a_plan_invitation_carries_its_channel_into_the_membership(clock_at: Any) -> None:
    # Given
    home = community()
    junior = group(home, tier=Tier.JUNIOR)
    free = plan(home, PlanKind.FREE, groups=[junior])
    invitation = invitation_create(community=home, plan=free, channel="douyin", content="live-3")

    # When
    membership = membership_start(
        member=member(), plan=free, channel="douyin", invitation=invitation, now=clock_at()
    )

    # Then
    started = Activity.objects.get(kind=ActivityKind.MEMBERSHIP, data__action="started")
    assert (started.channel, started.content) == ("douyin", "live-3")
    join = Activity.objects.get(kind=ActivityKind.JOIN, member_id=membership.member_id)
    assert (join.channel, join.content) == ("douyin", "live-3")


def test_an_invitation_is_used_up_at_its_limit(clock_at: Any) -> None:
    # Given
    home = community()
    invitation = invitation_create(community=home, group=group(home), channel="wechat", max_uses=2)

    # When
    invitation_consume(invitation, now=clock_at())
    invitation_consume(invitation, now=clock_at())
    with pytest.raises(InvitationUnusable) as refused:
        invitation_consume(invitation, now=clock_at())

    # Then
    assert (refused.value.code, refused.value.status) == ("invitation_unusable", 409)
    assert refused.value.fields == {"code": ["This invitation has been used up."]}
    invitation.refresh_from_db()
    assert invitation.uses == 2


def test_an_invitation_expires_at_its_expiry(clock_at: Any) -> None:
    # Given
    home = community()
    expires = clock_at() + timedelta(days=7)
    invitation = invitation_create(
        community=home, group=group(home), channel="weibo", expires_at=expires
    )

    # When / Then: usable to the last microsecond, not at the expiry itself
    invitation_consume(invitation, now=expires - timedelta(microseconds=1))
    with pytest.raises(InvitationUnusable) as refused:
        invitation_consume(invitation, now=expires)
    assert refused.value.message == "This invitation has expired."
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_a_revoked_invitation_cannot_be_used(clock_at: Any) -> None:
    # Given
    home = community()
    invitation = invitation_create(community=home, group=group(home), channel="weibo")
    invitation_revoke(invitation=invitation, actor_id=1)
    invitation_revoke(invitation=invitation, actor_id=1)

    # When
    with pytest.raises(InvitationUnusable) as refused:
        invitation_consume(invitation, now=clock_at())

    # Then
    assert refused.value.message == "This invitation was withdrawn."
    invitation.refresh_from_db()
    assert invitation.uses == 0
    assert Activity.objects.filter(data__action="invitation_revoked").count() == 1
    with pytest.raises(InvitationUnusable):
        invitation_check(invitation)


def test_an_invitation_is_found_by_its_code_however_typed(clock_at: Any) -> None:
    home = community()
    invitation = invitation_create(community=home, group=group(home), channel="offline")
    assert set(invitation.code) <= set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    assert len(invitation.code) == 8
    assert invitation_get(f"  {invitation.code.lower()} ").pk == invitation.pk
    with pytest.raises(NotFound):
        invitation_get("NOPE2345")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": ""}, "channel"),
        ({"channel": "x" * 65}, "channel"),
        ({"group": None}, "group"),
        ({"group": "elsewhere"}, "group"),
        ({"plan": "elsewhere"}, "plan"),
        ({"expires_at": "past"}, "expires_at"),
        ({"max_uses": 0}, "max_uses"),
    ],
)
def test_bad_invitations_are_refused(clock_at: Any, kwargs: dict[str, Any], field: str) -> None:
    # Given
    home, elsewhere = community(), community()
    values: dict[str, Any] = {"channel": "douyin", "group": group(home)}
    for key, value in kwargs.items():
        if value == "elsewhere":
            value = group(elsewhere) if key == "group" else plan(elsewhere)
        elif value == "past":
            value = clock_at()
        values[key] = value
    before = state()

    # When
    with pytest.raises(CommunityError) as refused:
        invitation_create(community=home, **values)

    # Then
    assert list(refused.value.fields) == [field]
    assert state() == before


def test_a_waiting_member_whose_membership_lapsed_is_not_promoted_into_a_gated_group(
    clock_at: Any,
) -> None:
    # Given: a one-seat group for annual members; A sits in it, B waits, then B's plan lapses
    home = community()
    annual = plan(home)
    junior = group(home, name="Junior", tier=Tier.JUNIOR, required_plan=annual, capacity=1)
    a, b = member(), member()
    paid(a, annual, at=clock_at())
    paid(b, annual, at=clock_at())
    group_join(group=junior, member=a, now=clock_at())
    assert group_join(group=junior, member=b, now=clock_at()).waiting_position == 1
    b_membership = b.memberships.get()
    b_membership.status = "expired"  # as the expiry job leaves it
    b_membership.save(update_fields=["status"])

    # When: A leaves and frees the seat
    group_leave(group=junior, member=a, now=clock_at.advance(MINUTE))

    # Then: B is not seated (no JOIN, no welcome); B's place on the list ends
    seat = GroupMembership.objects.get(group=junior, member=b)
    assert (seat.status, seat.end_reason) == (SeatStatus.REMOVED, "not_eligible")
    assert not Activity.objects.filter(kind=ActivityKind.JOIN, member_id=b.pk).exists()
