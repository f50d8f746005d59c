"""API v1: Membership plans and their renewal rate."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime
from quanzi.communities import selectors
from quanzi.communities.api._common import BIGINT, INT, _one_of, _plan
from quanzi.communities.models import (
    MembershipPlan,
    PlanKind,
)
from quanzi.communities.services import setup
from quanzi.communities.services.errors import CommunityError
from quanzi.core import clock

router = Router()


# Plans


class PlanOut(Schema):
    id: int
    community_id: int
    name: str
    kind: str
    price_minor: int
    currency: str
    duration_days: int | None = Field(description="Term length; null for life.")
    grace_days: int
    reminder_days: int
    group_ids: list[int]
    discount_percent: int
    member_only_content: bool
    product_id: int | None
    goods_description: str
    goods_value_minor: int
    active: bool
    created_at: datetime

    @staticmethod
    def resolve_group_ids(obj: MembershipPlan) -> list[int]:
        return [g.pk for g in obj.groups.all()]


class PlanCreateIn(Schema):
    name: str = Field(max_length=200)
    kind: str = Field(description=_one_of(PlanKind.values))
    price_minor: int = Field(0, le=BIGINT, description="Price in minor units (fen).")
    currency: str | None = Field(
        None, description="The community's currency; another one is refused."
    )
    duration_days: int | None = Field(
        None, le=INT, description="Term in days (annual: 365 by default; lifetime/free: none)."
    )
    grace_days: int = Field(0, le=INT)
    reminder_days: int = Field(7, le=INT)
    group_ids: list[int] = Field(default_factory=list, description="Groups the plan grants.")
    discount_percent: int = Field(0, le=INT)
    member_only_content: bool = False
    product_id: int | None = Field(
        None, ge=1, le=BIGINT, description="product_grant: the product that grants it."
    )
    goods_description: str = Field("", max_length=1000, description="fee_goods: the goods.")
    goods_value_minor: int | None = Field(
        None, le=BIGINT, description="fee_goods: their value, at least the fee."
    )


class RenewalFilters(Schema):
    since: AwareDatetime | None = Field(None, description="Terms ending at or after; a year ago.")
    until: AwareDatetime | None = Field(None, description="Terms ending before; now.")


class RenewalRateOut(Schema):
    plan_id: int
    since: datetime
    until: datetime
    ended: int = Field(description="Terms that ended (and could no longer be renewed in time).")
    renewed: int = Field(description="Of those, renewed within 30 days after their end.")
    rate: float | None = Field(description="renewed / ended; null when none ended.")


@router.get("/communities/{slug}/plans", response=list[PlanOut], tags=["plans"])
@paginate(Page)
def plan_list(request: HttpRequest, slug: str) -> Any:
    """The community's membership plans."""
    return selectors.plan_list(community=selectors.community_by_slug(slug))


@router.post("/communities/{slug}/plans", response={201: PlanOut, **ERRORS}, tags=["plans"])
def plan_create(request: HttpRequest, slug: str, payload: PlanCreateIn) -> Status[MembershipPlan]:
    """Create a plan of any kind: annual, lifetime, free, product_grant (buy the product,
    membership included), fee_goods (the fee comes back as goods). Each kind's rules are
    checked; a broken one is a 422 naming the field."""
    community = selectors.community_by_slug(slug)
    if payload.currency is not None and payload.currency != community.currency:
        raise CommunityError(
            _("%(community)s prices in %(currency)s.")
            % {"community": community.name, "currency": community.currency},
            field="currency",
        )
    groups = list(selectors.group_list(community=community).filter(pk__in=payload.group_ids))
    missing = sorted(set(payload.group_ids) - {g.pk for g in groups})
    if missing:
        raise CommunityError(
            _("%(community)s has no open group %(groups)s.")
            % {"community": community.name, "groups": ", ".join(f"#{pk}" for pk in missing)},
            field="group_ids",
        )
    plan = setup.plan_create(
        community=community,
        groups=groups,
        actor_id=request.user.pk,
        **payload.model_dump(exclude={"currency", "group_ids"}),
    )
    return Status(201, _plan(community, plan.pk))


@router.get(
    "/communities/{slug}/plans/{plan_id}/renewal-rate",
    response={200: RenewalRateOut, **ERRORS},
    tags=["plans"],
)
def plan_renewal_rate(
    request: HttpRequest, slug: str, plan_id: int, filters: Query[RenewalFilters]
) -> dict[str, Any]:
    """Memberships renewed within 30 days after their term ended / terms that ended, for
    terms ending in [since, until)."""
    plan = _plan(selectors.community_by_slug(slug), plan_id)
    until = filters.until or clock.now()
    since = filters.since or until - timedelta(days=365)
    if since >= until:
        raise CommunityError(_("since comes before until."), field="since")
    result = selectors.renewal_rate(plan=plan, since=since, until=until)
    return {
        "plan_id": plan.pk,
        "since": since,
        "until": until,
        "ended": result.ended,
        "renewed": result.renewed,
        "rate": result.rate,
    }
