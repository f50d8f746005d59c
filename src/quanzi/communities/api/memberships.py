"""API v1: Memberships: start, pay, cancel."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime
from quanzi.communities import selectors
from quanzi.communities.api._common import BIGINT, _membership, _one_of, _plan_by_id
from quanzi.communities.models import (
    Membership,
    MembershipStatus,
)
from quanzi.communities.services import memberships
from quanzi.communities.services.errors import CommunityError
from quanzi.members.selectors import member_get

router = Router()


# Memberships


class MembershipOut(Schema):
    id: int
    member_id: int
    plan_id: int
    community_id: int
    status: str
    channel: str
    invitation_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None = Field(description="Exclusive; null for life.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_community_id(obj: Membership) -> int:
        return obj.plan.community_id


class MembershipFilters(Schema):
    member_id: int | None = None
    plan_id: int | None = None
    community: str | None = Field(None, description="A community's slug.")
    status: str | None = Field(None, description=_one_of(MembershipStatus.values))

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in MembershipStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(MembershipStatus.values)}")
        return value


class MembershipCreateIn(Schema):
    member_id: int
    plan_id: int
    channel: str = Field("", max_length=64)


class PayIn(Schema):
    amount_minor: int = Field(le=BIGINT, description="The plan's price, in minor units.")
    currency: str | None = Field(None, description="The plan's currency; another is refused.")
    payment_ref: str = Field(
        max_length=200, description="The order or transfer; applied twice, it grants once."
    )
    paid_at: AwareDatetime | None = Field(None, description="Defaults to now.")


class TermOut(Schema):
    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    paid_at: datetime
    amount_minor: int
    currency: str
    payment_ref: str | None


class PaymentOut(Schema):
    membership: MembershipOut
    term: TermOut


@router.get("/memberships", response=list[MembershipOut], tags=["memberships"])
@paginate(Page)
def membership_list(request: HttpRequest, filters: Query[MembershipFilters]) -> Any:
    """Memberships newest first."""
    community = selectors.community_by_slug(filters.community) if filters.community else None
    qs = selectors.membership_list(community=community, status=filters.status or "")
    if filters.member_id is not None:
        qs = qs.filter(member_id=filters.member_id)
    if filters.plan_id is not None:
        qs = qs.filter(plan_id=filters.plan_id)
    return qs


@router.post(
    "/memberships",
    response={201: MembershipOut, 200: MembershipOut, **ERRORS},
    tags=["memberships"],
)
def membership_create(request: HttpRequest, payload: MembershipCreateIn) -> Status[Membership]:
    """Start a membership: a free plan is active at once, a paid one awaits its payment (201).
    A member who holds the plan already gets that membership back (200)."""
    member = member_get(payload.member_id)
    plan = _plan_by_id(payload.plan_id)
    held = (
        selectors.membership_list(member=member, plan=plan)
        .exclude(status=MembershipStatus.CANCELLED)
        .values_list("pk", flat=True)
    )
    before = set(held)
    membership = memberships.membership_start(
        member=member, plan=plan, channel=payload.channel, actor_id=request.user.pk
    )
    return Status(200 if membership.pk in before else 201, _membership(membership.pk))


@router.get(
    "/memberships/{membership_id}", response={200: MembershipOut, **ERRORS}, tags=["memberships"]
)
def membership_get(request: HttpRequest, membership_id: int) -> Membership:
    return _membership(membership_id)


@router.post(
    "/memberships/{membership_id}/actions/pay",
    response={200: PaymentOut, **ERRORS},
    tags=["memberships"],
)
def membership_pay(request: HttpRequest, membership_id: int, payload: PayIn) -> dict[str, Any]:
    """Apply a payment of the plan's price: activates, renews early (from the old end) or late
    (from the payment). The same payment_ref again answers the term it granted."""
    membership = _membership(membership_id)
    if payload.currency is not None and payload.currency != membership.plan.currency:
        raise CommunityError(
            _("“%(plan)s” is paid in %(currency)s.")
            % {"plan": membership.plan.name, "currency": membership.plan.currency},
            field="currency",
        )
    term = memberships.membership_pay(
        membership=membership,
        amount_minor=payload.amount_minor,
        payment_ref=payload.payment_ref,
        paid_at=payload.paid_at,
        actor_id=request.user.pk,
    )
    term.refresh_from_db()  # its times as stored (UTC), like the membership's
    return {"membership": _membership(membership_id), "term": term}


@router.post(
    "/memberships/{membership_id}/actions/cancel",
    response={200: MembershipOut, **ERRORS},
    tags=["memberships"],
)
def membership_cancel(request: HttpRequest, membership_id: int) -> Membership:
    """Withdraw a membership still awaiting payment; any other: 409 transition_refused."""
    memberships.membership_cancel(membership=_membership(membership_id), actor_id=request.user.pk)
    return _membership(membership_id)
