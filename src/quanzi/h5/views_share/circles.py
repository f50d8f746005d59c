"""The Crystals tab: every circle the member belongs to, with their crystals, level and
commission at a glance, and the way to each circle's crystals, links and earnings."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from quanzi.communities.models import Community
from quanzi.core.money import Money
from quanzi.distribution.models import Distributor, DistributorStatus
from quanzi.distribution.selectors import commission_totals
from quanzi.h5.views import signed_in_member
from quanzi.members import selectors as members
from quanzi.members.models import Level, Member
from quanzi.rewards import selectors as rewards


@dataclass(frozen=True)
class Circle:
    community: Community
    crystals: int
    level: str
    distributor: bool
    pending: Money
    payable: Money


def _circles(member: Member) -> list[Circle]:
    ids = members.member_ids_for(member)
    found = (
        Community.objects.filter(archived_at__isnull=True)
        .filter(
            Q(groups__seats__member_id__in=ids)
            | Q(plans__memberships__member_id__in=ids)
            | Q(orders__member_id__in=ids)
        )
        .distinct()
        .order_by("name")
    )
    approved = set(
        Distributor.objects.filter(
            member_id__in=ids, status=DistributorStatus.APPROVED
        ).values_list("community_id", flat=True)
    )
    circles = []
    for community in found:
        totals = commission_totals(community.pk, ids)
        level = rewards.member_level(community, member).level
        circles.append(
            Circle(
                community=community,
                crystals=rewards.crystal_balance(community, member),
                level=str(Level(level).label),
                distributor=community.pk in approved,
                pending=Money(totals.pending, community.currency),
                payable=Money(totals.payable, community.currency),
            )
        )
    return circles


@require_GET
def circles(request: HttpRequest) -> HttpResponse:
    member = signed_in_member(request)
    if member is None:
        return render(request, "h5/shop/sign_in.html", {"tab": "crystals"}, status=403)
    return render(
        request,
        "h5/crystals/circles.html",
        {"tab": "crystals", "member": member, "circles": _circles(member)},
    )
