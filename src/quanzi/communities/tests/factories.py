"""Test data for the communities domain, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    Membership,
    MembershipPlan,
    MembershipTerm,
    OwedGoods,
    PlanKind,
)
from quanzi.communities.services.joining import group_join
from quanzi.communities.services.memberships import membership_pay, membership_start
from quanzi.communities.services.setup import community_create, group_create, plan_create
from quanzi.core.models import Activity
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.outbox.models import OutboxMessage

__all__ = ["community", "group", "member", "paid", "plan", "seated", "state"]

_seq = itertools.count(1)

PRICES = {
    PlanKind.ANNUAL: 36_500,
    PlanKind.LIFETIME: 99_900,
    PlanKind.FREE: 0,
    PlanKind.PRODUCT_GRANT: 0,
    PlanKind.FEE_GOODS: 29_900,
}


def community(slug: str | None = None, **kwargs: Any) -> Community:
    n = next(_seq)
    kwargs.setdefault("name", f"Circle {n}")
    kwargs.setdefault("kind", "resource")
    return community_create(slug=slug or f"circle-{n}", **kwargs)


def group(in_community: Community | None = None, **kwargs: Any) -> Group:
    kwargs.setdefault("name", f"Group {next(_seq)}")
    return group_create(community=in_community or community(), **kwargs)


def plan(
    in_community: Community | None = None, kind: str = PlanKind.ANNUAL, **kwargs: Any
) -> MembershipPlan:
    """A valid plan of ``kind`` with its usual price (and product, goods) unless given."""
    kwargs.setdefault("name", f"{kind} plan {next(_seq)}")
    kwargs.setdefault("price_minor", PRICES[kind])
    if kind == PlanKind.PRODUCT_GRANT:
        kwargs.setdefault("product_id", 501)
    if kind == PlanKind.FEE_GOODS:
        kwargs.setdefault("goods_description", "2 boxes of slimming tea")
    return plan_create(community=in_community or community(), kind=kind, **kwargs)


def paid(
    who: Member, of_plan: MembershipPlan, *, at: datetime, ref: str | None = None
) -> Membership:
    """A membership of ``of_plan`` started and paid in full at ``at``."""
    membership = membership_start(member=who, plan=of_plan, now=at)
    membership_pay(
        membership=membership,
        amount_minor=of_plan.price_minor,
        payment_ref=ref or f"pay-{next(_seq)}",
        paid_at=at,
    )
    membership.refresh_from_db()
    return membership


def seated(in_group: Group, count: int, **kwargs: Any) -> list[Member]:
    """``count`` new members, each seated (or waiting) in ``in_group``."""
    people = [member() for _ in range(count)]
    for person in people:
        group_join(group=in_group, member=person, **kwargs)
    return people


@dataclass(frozen=True)
class CommunitiesState:
    memberships: list[tuple[Any, ...]]
    terms: list[tuple[Any, ...]]
    seats: list[tuple[Any, ...]]
    goods: int
    invitations: list[tuple[Any, ...]]
    activities: int
    outbox: int


def state() -> CommunitiesState:
    """Everything a communities service could change, to show a refused call changed nothing."""
    return CommunitiesState(
        memberships=list(
            Membership.objects.order_by("pk").values_list(
                "pk", "member_id", "status", "starts_at", "ends_at"
            )
        ),
        terms=list(MembershipTerm.objects.order_by("pk").values_list("pk", "ends_at")),
        seats=list(GroupMembership.objects.order_by("pk").values_list("pk", "member_id", "status")),
        goods=OwedGoods.objects.count(),
        invitations=list(Invitation.objects.order_by("pk").values_list("pk", "uses")),
        activities=Activity.objects.count(),
        outbox=OutboxMessage.objects.count(),
    )
