"""Joining and invitations under real concurrency (PostgreSQL only, real threads)."""

from __future__ import annotations

import pytest

from quanzi.communities.models import GroupMembership, Invitation, SeatStatus
from quanzi.communities.services.errors import InvitationUnusable
from quanzi.communities.services.joining import (
    JoinResult,
    group_join,
    invitation_consume,
    invitation_create,
)
from quanzi.communities.tests.factories import community, group, member
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.tests.factories import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_members_joining_five_seats_at_once() -> None:
    # Given
    small = group(capacity=5)
    people = [member() for _ in range(20)]

    # When
    results = in_threads(20, lambda i: group_join(group=small, member=people[i]))

    # Then: five seated, fifteen waiting at distinct places 1..15 in the order they arrived
    assert [r for r in results if not isinstance(r, JoinResult)] == []
    seated = [r for r in results if r.waiting_position is None]
    waiting = [r for r in results if r.waiting_position is not None]
    assert (len(seated), len(waiting)) == (5, 15)
    assert sorted(r.waiting_position for r in waiting) == list(range(1, 16))
    statuses = list(GroupMembership.objects.filter(group=small).values_list("status", flat=True))
    assert sorted(statuses) == ["active"] * 5 + ["waiting"] * 15
    queue = list(
        GroupMembership.objects.filter(group=small, status=SeatStatus.WAITING)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    told = [r.seat.pk for r in sorted(waiting, key=lambda r: r.waiting_position)]
    assert told == queue
    assert Activity.objects.filter(kind=ActivityKind.JOIN, group_id=small.pk).count() == 5
    assert Activity.objects.filter(kind=ActivityKind.WAITLIST, group_id=small.pk).count() == 15


def test_an_invitation_for_three_used_by_ten_at_once_is_used_three_times() -> None:
    # Given
    home = community()
    invitation = invitation_create(community=home, group=group(home), channel="douyin", max_uses=3)

    # When
    results = in_threads(10, lambda i: invitation_consume(invitation))

    # Then
    taken = [r for r in results if r is None]
    refused = [r for r in results if isinstance(r, InvitationUnusable)]
    assert (len(taken), len(refused)) == (3, 7), results
    assert {r.message for r in refused} == {"This invitation has been used up."}
    assert Invitation.objects.get(pk=invitation.pk).uses == 3
