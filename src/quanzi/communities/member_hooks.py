"""What the communities domain tells the members domain: merges, exports, lifecycle facts."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from quanzi.communities.models import (
    GroupMembership,
    KolSeat,
    Membership,
    MembershipStatus,
    OwedGoods,
    SeatStatus,
    Tier,
)
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members import hooks
from quanzi.members.models import Member

LIVE_MEMBERSHIP = [MembershipStatus.PENDING, MembershipStatus.ACTIVE, MembershipStatus.EXPIRING]
LIVE_SEAT = [SeatStatus.ACTIVE, SeatStatus.WAITING]


def on_merge(source: Member, target: Member) -> None:
    """Re-point memberships, seats and KOL seats; where both hold the same, keep the stronger."""
    for membership in Membership.objects.filter(member=source).select_related("plan"):
        clash = Membership.objects.filter(
            member=target, plan_id=membership.plan_id, status__in=LIVE_MEMBERSHIP
        ).first()
        if membership.status in LIVE_MEMBERSHIP and clash is not None:
            # Two live memberships of one plan: the one that ends later stays live, the other
            # is closed; both keep their terms (the money records) under the target.
            close = clash if _ends_later(membership, clash) else membership
            # Outside the transition table on purpose: a merge is not a member's choice. The
            # activity says why the membership closed, and its terms stay as they were.
            Membership.objects.filter(pk=close.pk).update(status=MembershipStatus.CANCELLED)
            activity_record(
                kind=ActivityKind.MEMBERSHIP,
                member_id=target.pk,
                community_id=close.plan.community_id,
                object_type="membership",
                object_id=close.pk,
                data={
                    "action": "closed_by_merge",
                    "from": close.status,
                    "to": MembershipStatus.CANCELLED,
                    "plan": close.plan_id,
                    "kept": (membership if close is clash else clash).pk,
                },
            )
        Membership.objects.filter(pk=membership.pk).update(member=target)
    for seat in GroupMembership.objects.filter(member=source):
        seat_clash = GroupMembership.objects.filter(
            member=target, group_id=seat.group_id, status__in=LIVE_SEAT
        ).exists()
        if seat.status in LIVE_SEAT and seat_clash:
            GroupMembership.objects.filter(pk=seat.pk).update(
                status=SeatStatus.LEFT, end_reason="merged"
            )
        GroupMembership.objects.filter(pk=seat.pk).update(member=target)
    for kol in KolSeat.objects.filter(member=source):
        if KolSeat.objects.filter(member=target, group_id=kol.group_id).exists():
            kol.delete()
        else:
            KolSeat.objects.filter(pk=kol.pk).update(member=target)
    OwedGoods.objects.filter(member=source).update(member=target)


def _ends_later(a: Membership, b: Membership) -> bool:
    if a.ends_at is None:
        return True
    return b.ends_at is not None and a.ends_at > b.ends_at


def export_section(member: Member) -> dict[str, Any]:
    return {
        "memberships": [
            {
                "community": m.plan.community.name,
                "plan": m.plan.name,
                "status": m.status,
                "starts_at": m.starts_at.isoformat() if m.starts_at else None,
                "ends_at": m.ends_at.isoformat() if m.ends_at else None,
                "terms": [
                    {
                        "paid_at": t.paid_at.isoformat(),
                        "amount_minor": t.amount_minor,
                        "currency": t.currency,
                    }
                    for t in m.terms.all()
                ],
            }
            for m in Membership.objects.filter(member=member).select_related(
                "plan", "plan__community"
            )
        ],
        "groups": [
            {
                "group": s.group.name,
                "status": s.status,
                "joined_at": s.joined_at.isoformat() if s.joined_at else None,
                "channel": s.channel,
            }
            for s in GroupMembership.objects.filter(member=member).select_related("group")
        ],
    }


def in_core_groups(member_ids: list[int]) -> set[int]:
    return set(
        GroupMembership.objects.filter(
            member_id__in=member_ids, status=SeatStatus.ACTIVE, group__tier=Tier.CORE
        ).values_list("member_id", flat=True)
    )


def kol_holders(member_ids: list[int]) -> set[int]:
    return set(
        KolSeat.objects.filter(member_id__in=member_ids)
        .filter(Q(group__archived_at__isnull=True))
        .values_list("member_id", flat=True)
    )


hooks.merge_handlers.append(on_merge)
hooks.export_sections["communities"] = export_section
hooks.core_group_members.append(in_core_groups)
hooks.kol_seat_holders.append(kol_holders)
