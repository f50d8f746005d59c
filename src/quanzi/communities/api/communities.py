"""API v1: Communities."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, PatchIn
from quanzi.communities import selectors
from quanzi.communities.api._common import _one_of
from quanzi.communities.models import (
    Community,
    CommunityKind,
    Vertical,
)
from quanzi.communities.services import setup
from quanzi.core.money import CURRENCIES

router = Router()


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
