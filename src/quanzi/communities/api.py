"""API v1 routes of the communities domain: communities, groups and seats, KOL seats, plans,
memberships and invitations."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime, PatchIn
from quanzi.communities import selectors
from quanzi.communities.models import (
    Community,
    CommunityKind,
    Group,
    GroupMembership,
    Invitation,
    Membership,
    MembershipPlan,
    MembershipStatus,
    PlanKind,
    Tier,
    Vertical,
)
from quanzi.communities.services import invitations, joining, memberships, setup
from quanzi.communities.services.errors import CommunityError
from quanzi.core import clock
from quanzi.core.errors import Conflict, NotFound
from quanzi.core.money import CURRENCIES
from quanzi.members.selectors import member_get

router = Router()

# Bounds that keep a number inside a database column, so an absurd value is a 422, not a 500.
BIGINT = 2**63 - 1
INT = 2**31 - 1


def _one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


# Communities


class CommunityOut(Schema):
    id: int
    slug: str
    name: str
    kind: str
    vertical: str
    description: str
    currency: str
    created_at: datetime
    archived_at: datetime | None


class CommunitySummaryOut(CommunityOut):
    group_count: int
    plan_count: int


class CommunityFilters(Schema):
    include_archived: bool = False


class CommunityCreateIn(Schema):
    slug: str = Field(max_length=50, description="Lowercase letters, digits and dashes.")
    name: str = Field(max_length=200)
    kind: str = Field(description=_one_of(CommunityKind.values))
    vertical: str = Field(Vertical.OTHER.value, description=_one_of(Vertical.values))
    description: str = Field("", max_length=10_000)
    currency: str = Field("CNY", description=_one_of(list(CURRENCIES)))


class CommunityUpdateIn(PatchIn):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    vertical: str | None = Field(None, description=_one_of(Vertical.values))


@router.get("/communities", response=list[CommunitySummaryOut], tags=["communities"])
@paginate(Page)
def community_list(request: HttpRequest, filters: Query[CommunityFilters]) -> Any:
    """Communities by name, with their open groups and active plans counted."""
    return selectors.community_list(include_archived=filters.include_archived)


@router.post("/communities", response={201: CommunityOut, **ERRORS}, tags=["communities"])
def community_create(request: HttpRequest, payload: CommunityCreateIn) -> Status[Community]:
    """Create a community. A slug in use: 409."""
    community = setup.community_create(**payload.model_dump(), actor_id=request.user.pk)
    return Status(201, community)


@router.get("/communities/{slug}", response={200: CommunityOut, **ERRORS}, tags=["communities"])
def community_get(request: HttpRequest, slug: str) -> Community:
    return selectors.community_by_slug(slug)


@router.patch("/communities/{slug}", response={200: CommunityOut, **ERRORS}, tags=["communities"])
def community_update(request: HttpRequest, slug: str, payload: CommunityUpdateIn) -> Community:
    """Change the fields sent; the others stay."""
    return setup.community_update(
        community=selectors.community_by_slug(slug),
        actor_id=request.user.pk,
        **payload.model_dump(exclude_unset=True),
    )


# Groups, seats and KOL seats


class GroupOut(Schema):
    id: int
    community_id: int
    name: str
    tier: str
    capacity: int
    rules: str
    welcome_template: str
    intro_prompt: str
    required_plan_id: int | None
    required_product_id: int | None
    ends_on: date | None
    archived_at: datetime | None
    created_at: datetime
    seated: int = Field(description="Members in the group.")
    waiting: int = Field(description="Members on the waiting list.")


class GroupCreateIn(Schema):
    name: str = Field(max_length=200)
    tier: str = Field(Tier.OPEN.value, description=_one_of(Tier.values))
    capacity: int = Field(500, le=INT, description="Seats; 500 as a WeChat group.")
    rules: str = Field("", max_length=10_000)
    welcome_template: str = Field(
        "", max_length=10_000, description="Sent on joining; {name}, {group}, {community}."
    )
    intro_prompt: str = Field("", max_length=10_000)
    required_plan_id: int | None = Field(None, description="Entry needs a live membership.")
    required_product_id: int | None = Field(
        None, ge=1, le=BIGINT, description="Entry needs a paid purchase of this product."
    )
    ends_on: date | None = Field(None, description="After this day the group is archived.")


class GroupUpdateIn(PatchIn):
    name: str | None = Field(None, max_length=200)
    capacity: int | None = Field(None, le=INT)
    rules: str | None = Field(None, max_length=10_000)
    welcome_template: str | None = Field(None, max_length=10_000)
    intro_prompt: str | None = Field(None, max_length=10_000)
    ends_on: date | None = None


class SeatOut(Schema):
    id: int
    group_id: int
    member_id: int
    member_display_name: str
    status: str
    channel: str
    invitation_id: int | None
    created_at: datetime
    joined_at: datetime | None
    ended_at: datetime | None
    end_reason: str

    @staticmethod
    def resolve_member_display_name(obj: GroupMembership) -> str:
        return obj.member.display_name


class SeatFilters(Schema):
    status: Literal["active", "waiting"] = Field(
        "active", description="In the group, or on the waiting list (in queue order)."
    )


class JoinIn(Schema):
    member_id: int
    channel: str = Field("", max_length=64, description="Where the member came from.")
    wait_if_full: bool = Field(True, description="A full group: wait in line, or refuse (409).")


class JoinOut(Schema):
    seat: SeatOut
    waiting_position: int | None = Field(description="1 = next in line; null when seated.")


class LeaveIn(Schema):
    member_id: int


class KolSeatIn(Schema):
    member_id: int
    title: str = Field("", max_length=50)


class KolSeatOut(Schema):
    id: int
    group_id: int
    member_id: int
    member_display_name: str
    title: str
    since: datetime

    @staticmethod
    def resolve_member_display_name(obj: Any) -> str:
        return str(obj.member.display_name)


def _group(community: Community, group_id: int) -> Group:
    group = (
        selectors.group_list(community=community, include_archived=True).filter(pk=group_id).first()
    )
    if group is None:
        raise NotFound(
            _("%(community)s has no group #%(pk)s.")
            % {"community": community.name, "pk": group_id},
            field="group",
        )
    return group


def _plan(community: Community, plan_id: int, field: str = "plan") -> MembershipPlan:
    plan = selectors.plan_list(community=community).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(
            _("%(community)s has no plan #%(pk)s.") % {"community": community.name, "pk": plan_id},
            field=field,
        )
    return plan


@router.get("/communities/{slug}/groups", response=list[GroupOut], tags=["groups"])
@paginate(Page)
def group_list(request: HttpRequest, slug: str) -> Any:
    """The community's open groups, by tier and name, with seats and waiting list counted."""
    return selectors.group_list(community=selectors.community_by_slug(slug))


@router.post("/communities/{slug}/groups", response={201: GroupOut, **ERRORS}, tags=["groups"])
def group_create(request: HttpRequest, slug: str, payload: GroupCreateIn) -> Status[Group]:
    """Create a group; a name in use in the community: 409."""
    community = selectors.community_by_slug(slug)
    required_plan = (
        _plan(community, payload.required_plan_id, "required_plan_id")
        if payload.required_plan_id is not None
        else None
    )
    group = setup.group_create(
        community=community,
        name=payload.name,
        tier=payload.tier,
        capacity=payload.capacity,
        rules=payload.rules,
        welcome_template=payload.welcome_template,
        intro_prompt=payload.intro_prompt,
        required_plan=required_plan,
        required_product_id=payload.required_product_id,
        ends_on=payload.ends_on,
        actor_id=request.user.pk,
    )
    return Status(201, _group(community, group.pk))


@router.get(
    "/communities/{slug}/groups/{group_id}", response={200: GroupOut, **ERRORS}, tags=["groups"]
)
def group_get(request: HttpRequest, slug: str, group_id: int) -> Group:
    return _group(selectors.community_by_slug(slug), group_id)


@router.patch(
    "/communities/{slug}/groups/{group_id}", response={200: GroupOut, **ERRORS}, tags=["groups"]
)
def group_update(request: HttpRequest, slug: str, group_id: int, payload: GroupUpdateIn) -> Group:
    """Change the fields sent; the others stay."""
    community = selectors.community_by_slug(slug)
    setup.group_update(
        group=_group(community, group_id),
        actor_id=request.user.pk,
        **payload.model_dump(exclude_unset=True),
    )
    return _group(community, group_id)


@router.get("/communities/{slug}/groups/{group_id}/seats", response=list[SeatOut], tags=["groups"])
@paginate(Page)
def seat_list(request: HttpRequest, slug: str, group_id: int, filters: Query[SeatFilters]) -> Any:
    """Who sits in the group, or who waits for a seat, first come first."""
    group = _group(selectors.community_by_slug(slug), group_id)
    return selectors.group_seats(group, status=filters.status)


@router.post(
    "/communities/{slug}/groups/{group_id}/actions/join",
    response={200: JoinOut, **ERRORS},
    tags=["groups"],
)
def group_join(request: HttpRequest, slug: str, group_id: int, payload: JoinIn) -> dict[str, Any]:
    """Seat a member, or put them on the waiting list when the group is full. A gated group
    the member may not enter: 409 entry_refused. Joining twice answers the seat they have."""
    group = _group(selectors.community_by_slug(slug), group_id)
    result = joining.group_join(
        group=group,
        member=member_get(payload.member_id),
        channel=payload.channel,
        wait_if_full=payload.wait_if_full,
        actor_id=request.user.pk,
    )
    return {"seat": result.seat, "waiting_position": result.waiting_position}


@router.post(
    "/communities/{slug}/groups/{group_id}/actions/leave",
    response={200: SeatOut, **ERRORS},
    tags=["groups"],
)
def group_leave(
    request: HttpRequest, slug: str, group_id: int, payload: LeaveIn
) -> GroupMembership:
    """End the member's seat or waiting place; the first in line moves up. Not in the group
    nor waiting: 409 not_in_group."""
    group = _group(selectors.community_by_slug(slug), group_id)
    member = member_get(payload.member_id)
    seat = joining.group_leave(group=group, member=member, actor_id=request.user.pk)
    if seat is None:
        raise Conflict(
            _("Member #%(member)s is neither in %(group)s nor waiting for it.")
            % {"member": member.pk, "group": group.name},
            field="member_id",
            code="not_in_group",
        )
    return seat


@router.get(
    "/communities/{slug}/groups/{group_id}/kol-seats",
    response={200: list[KolSeatOut], **ERRORS},
    tags=["groups"],
)
def kol_seat_list(request: HttpRequest, slug: str, group_id: int) -> Any:
    """The group's KOL seats and who holds them."""
    group = _group(selectors.community_by_slug(slug), group_id)
    return group.kol_seats.select_related("member").order_by("since", "pk")


@router.post(
    "/communities/{slug}/groups/{group_id}/kol-seats",
    response={201: KolSeatOut, **ERRORS},
    tags=["groups"],
)
def kol_seat_add(request: HttpRequest, slug: str, group_id: int, payload: KolSeatIn) -> Status[Any]:
    """Give a member a KOL seat in the group (a seat held already is answered as it is)."""
    group = _group(selectors.community_by_slug(slug), group_id)
    seat = setup.kol_seat_assign(
        group=group,
        member=member_get(payload.member_id),
        title=payload.title,
        actor_id=request.user.pk,
    )
    return Status(201, seat)


@router.delete(
    "/communities/{slug}/groups/{group_id}/kol-seats/{member_id}",
    response={204: None, **ERRORS},
    tags=["groups"],
)
def kol_seat_remove(request: HttpRequest, slug: str, group_id: int, member_id: int) -> Status[None]:
    """Release the member's KOL seat in the group."""
    group = _group(selectors.community_by_slug(slug), group_id)
    seat = group.kol_seats.select_related("group").filter(member_id=member_id).first()
    if seat is None:
        raise NotFound(
            _("Member #%(member)s holds no KOL seat in %(group)s.")
            % {"member": member_id, "group": group.name},
            field="member",
        )
    setup.kol_seat_release(seat=seat, actor_id=request.user.pk)
    return Status(204, None)


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


def _membership(membership_id: int) -> Membership:
    found = selectors.membership_list().filter(pk=membership_id).first()
    if found is None:
        raise NotFound(_("No membership #%(pk)s.") % {"pk": membership_id}, field="membership")
    return found


def _plan_by_id(plan_id: int) -> MembershipPlan:
    plan = selectors.plan_list().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("No plan #%(pk)s.") % {"pk": plan_id}, field="plan_id")
    return plan


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


# Invitations


class InvitationOut(Schema):
    id: int
    code: str
    community_id: int
    group_id: int | None
    plan_id: int | None
    channel: str
    content: str
    note: str
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    created_at: datetime
    state: str = Field(description="usable, revoked, expired or used_up.")

    @staticmethod
    def resolve_state(obj: Invitation) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= clock.now():
            return "expired"
        if obj.max_uses is not None and obj.uses >= obj.max_uses:
            return "used_up"
        return "usable"


class InvitationCreateIn(Schema):
    channel: str = Field(max_length=200, description="Where it is shared: douyin, wechat, ...")
    group_id: int | None = Field(None, description="The group it leads to; or give plan_id.")
    plan_id: int | None = Field(None, description="The plan it leads to; or give group_id.")
    content: str = Field("", max_length=1000, description="The content piece it is shared in.")
    note: str = Field("", max_length=1000)
    expires_at: AwareDatetime | None = None
    max_uses: int | None = Field(None, le=INT)


class RedeemIn(Schema):
    code: str = Field(max_length=64)
    member_id: int


class RedeemOut(Schema):
    invitation: InvitationOut
    seat: SeatOut | None = Field(description="The group seat, for an invitation to a group.")
    waiting_position: int | None
    membership: MembershipOut | None = Field(description="For an invitation to a plan.")


@router.get("/communities/{slug}/invitations", response=list[InvitationOut], tags=["invitations"])
@paginate(Page)
def invitation_list(request: HttpRequest, slug: str) -> Any:
    """The community's invitations, newest first."""
    return selectors.invitation_list(community=selectors.community_by_slug(slug))


@router.post(
    "/communities/{slug}/invitations",
    response={201: InvitationOut, **ERRORS},
    tags=["invitations"],
)
def invitation_create(
    request: HttpRequest, slug: str, payload: InvitationCreateIn
) -> Status[Invitation]:
    """A code for one channel (and content piece), leading to a group or a plan, optionally
    with an expiry and a use limit."""
    community = selectors.community_by_slug(slug)
    group = _group(community, payload.group_id) if payload.group_id is not None else None
    plan = _plan(community, payload.plan_id, "plan_id") if payload.plan_id is not None else None
    invitation = joining.invitation_create(
        community=community,
        channel=payload.channel,
        group=group,
        plan=plan,
        content=payload.content,
        note=payload.note,
        expires_at=payload.expires_at,
        max_uses=payload.max_uses,
        actor_id=request.user.pk,
    )
    return Status(201, invitation)


@router.post(
    "/communities/{slug}/invitations/{invitation_id}/actions/revoke",
    response={200: InvitationOut, **ERRORS},
    tags=["invitations"],
)
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> Invitation:
    """Withdraw an invitation; it can no longer be redeemed."""
    community = selectors.community_by_slug(slug)
    invitation = selectors.invitation_list(community=community).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(
            _("%(community)s has no invitation #%(pk)s.")
            % {"community": community.name, "pk": invitation_id},
            field="invitation",
        )
    return joining.invitation_revoke(invitation=invitation, actor_id=request.user.pk)


@router.post(
    "/invitations/actions/redeem", response={200: RedeemOut, **ERRORS}, tags=["invitations"]
)
def invitation_redeem(request: HttpRequest, payload: RedeemIn) -> dict[str, Any]:
    """Use an invitation for a member: joins its group (or the waiting list), or starts a
    membership of its plan, attributed to the invitation's channel. One use is taken
    atomically with it; expired, used up or revoked: 409 invitation_unusable."""
    invitation = joining.invitation_get(payload.code)
    member = member_get(payload.member_id)
    redeemed = invitations.invitation_redeem(
        invitation=invitation, member=member, actor_id=request.user.pk
    )
    invitation.refresh_from_db()
    return {
        "invitation": invitation,
        "seat": redeemed.seat,
        "waiting_position": redeemed.waiting_position,
        "membership": _membership(redeemed.membership.pk) if redeemed.membership else None,
    }
