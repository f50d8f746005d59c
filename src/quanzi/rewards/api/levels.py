"""API v1: Growth levels (novice → seed → core → KOL), what each takes and brings, and a
member's level. Levels follow crystals earned over time; spending never lowers one."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id
from quanzi.communities.models import Group
from quanzi.communities.selectors import community_by_slug
from quanzi.core.errors import NotFound
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    fields_as_sent,
    member_by_id,
    one_of,
    path_text,
)
from quanzi.members.models import Level
from quanzi.rewards import selectors
from quanzi.rewards.models import GrowthLevel
from quanzi.rewards.services import levels

router = Router(tags=["levels"])


class GrowthLevelOut(Schema):
    level: str = Field(description=one_of(Level.values))
    min_earned: int = Field(description="Crystals earned over time to reach it.")
    discount_percent: int = Field(description="Off at checkout, 0-50.")
    group_id: int | None = Field(description="A seat in this group on reaching it.")
    badge: str


class GrowthLevelIn(In):
    min_earned: int = Field(description="More than the levels below, fewer than those above.")
    discount_percent: int = Field(0, description="0-50.")
    group_id: int | None = Field(None, ge=1, le=BIGINT, description="A group of the community.")
    badge: str = Field("", description="Up to 30 characters.")


class MemberLevelFilters(In):
    community_id: int = Field(ge=1, le=BIGINT)


class MemberLevelOut(Schema):
    community_id: int
    member_id: int
    level: str = Field(description=one_of(Level.values))
    earned_total: int
    discount_percent: int
    badge: str
    next_level: str | None = Field(description="null: the top level, or none above is set.")
    next_needs: int | None = Field(description="Crystals still to earn for the next level.")


def _level_out(growth: GrowthLevel) -> dict[str, Any]:
    return {
        "level": growth.level,
        "min_earned": growth.min_earned,
        "discount_percent": growth.discount_percent,
        "group_id": growth.group_id,
        "badge": growth.badge,
    }


@router.get("/communities/{slug}/growth-levels", response={200: list[GrowthLevelOut], **ERRORS})
def growth_level_list(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The community's levels, lowest first."""
    community = community_by_slug(path_text(slug, 50))
    return [
        _level_out(g)
        for g in GrowthLevel.objects.filter(community=community).order_by("min_earned", "pk")
    ]


@router.put("/communities/{slug}/growth-levels/{level}", response={200: GrowthLevelOut, **ERRORS})
def growth_level_set(
    request: HttpRequest, slug: str, level: str, payload: GrowthLevelIn
) -> dict[str, Any]:
    """Create or replace what reaching a level takes and brings; members' levels are
    recomputed. Out of order with the other levels: 422 naming min_earned."""
    community = community_by_slug(path_text(slug, 50))
    group = None
    if payload.group_id is not None:
        group = Group.objects.filter(pk=payload.group_id).first()
        if group is None:
            raise NotFound(_("No group #%(pk)s.") % {"pk": payload.group_id}, field="group_id")
    with fields_as_sent(group="group_id"):
        growth = levels.growth_level_set(
            community=community,
            level=path_text(level, 16),
            min_earned=payload.min_earned,
            discount_percent=payload.discount_percent,
            group=group,
            badge=payload.badge,
            actor_id=request.user.pk,
        )
    return _level_out(growth)


@router.get("/members/{member_id}/level", response={200: MemberLevelOut, **ERRORS})
def member_level(
    request: HttpRequest, member_id: int, filters: Query[MemberLevelFilters]
) -> dict[str, Any]:
    """The member's level in the community and how far the next one is."""
    community = community_by_id(filters.community_id)
    member = member_by_id(member_id)
    view = selectors.member_level(community, member)
    return {
        "community_id": community.pk,
        "member_id": member.pk,
        "level": view.level,
        "earned_total": view.earned_total,
        "discount_percent": view.discount_percent,
        "badge": view.badge,
        "next_level": view.next_level,
        "next_needs": view.next_needs,
    }
