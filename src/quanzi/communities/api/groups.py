"""API v1: Groups, seats (and the waiting list), KOL seats."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, PatchIn
from quanzi.communities import selectors
from quanzi.communities.api._common import BIGINT, INT, _group, _one_of, _plan
from quanzi.communities.models import (
    Group,
    GroupMembership,
    Tier,
)
from quanzi.communities.services import joining, setup
from quanzi.core.errors import Conflict, NotFound
from quanzi.members.selectors import member_get

router = Router()


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
