"""API v1: Referral links and codes, the visits made through them, and orders' attribution.

Every member has links (distributor or not): to the community, to each product, one per label
an influencer makes for a piece of content. A bot or mini-program reports a visit by a known
member; the order that member pays within the attribution window goes to the sharer.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id, product_by_id
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    fields_as_sent,
    member_by_id,
    one_of,
    path_text,
)
from quanzi.distribution.models import AttributionVia, OrderAttribution, ReferralLink
from quanzi.distribution.services import links as service
from quanzi.orders.api._common import order_by_number

router = Router(tags=["referral links"])

AS_SENT = {"community": "community_id", "sharer": "sharer_id", "product": "product_id"}


def link_url(code: str) -> str:
    """Where the link lands: the member page that records the visit and goes on."""
    return reverse("h5:referral", args=[code])


def poster_url(code: str) -> str:
    """The QR poster (PNG) the member pages draw for the link."""
    return reverse("h5:referral_poster", args=[code])


class LinkOut(Schema):
    code: str = Field(description="8 characters, no 0/O/1/I/L: read aloud, typed from posters.")
    url: str = Field(description="The link, relative to the hub's address.")
    poster_url: str = Field(description="The QR poster (PNG), relative to the hub's address.")
    community_id: int
    sharer_id: int
    product_id: int | None = Field(description="null: the link to the community.")
    label: str = Field(description="The content piece or campaign it was made for.")
    visits: int
    created_at: datetime


class LinkPage(Schema):
    items: list[LinkOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class LinkIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    sharer_id: int = Field(ge=1, le=BIGINT, description="The member who shares it.")
    product_id: int | None = Field(None, ge=1, le=BIGINT, description="null: the community.")
    label: str = Field("", description="A content piece or campaign, up to 100 characters.")


class LinkFilters(In):
    sharer_id: int = Field(ge=1, le=BIGINT)
    community_id: int | None = Field(None, ge=1, le=BIGINT)


class VisitIn(In):
    member_id: int | None = Field(
        None, ge=1, le=BIGINT, description="The member who opened it; null: someone unknown."
    )


class VisitOut(Schema):
    code: str
    visits: int = Field(description="Visits through the link so far, this one included.")
    touched: bool = Field(
        description="The visit counts for attribution: a known member other than the sharer "
        "(or anyone merged into the same person)."
    )
    at: datetime | None = Field(description="When the touch was recorded.")


class AttributionOut(Schema):
    order_number: str
    attributed: bool = Field(description="false: nobody brought this order.")
    sharer_id: int | None
    link_code: str | None = Field(description="The link opened; null under a binding without one.")
    via: str | None = Field(description=one_of(AttributionVia.values))
    touched_at: datetime | None = Field(description="When the buyer opened the link.")
    at: datetime | None = Field(description="When it was decided (at payment).")


def link_out(link: ReferralLink) -> dict[str, Any]:
    return {
        "code": link.code,
        "url": link_url(link.code),
        "poster_url": poster_url(link.code),
        "community_id": link.community_id,
        "sharer_id": link.sharer_id,
        "product_id": link.product_id,
        "label": link.label,
        "visits": link.visits,
        "created_at": link.created_at,
    }


@router.post("/referral-links", response={201: LinkOut, 200: LinkOut, **ERRORS})
def referral_link_create(request: HttpRequest, payload: LinkIn) -> Status[dict[str, Any]]:
    """The member's link to the community, or to a product, made on first use: 201 with a
    new one, 200 with the one they have. A product of another community: 422 naming
    product_id."""
    community = community_by_id(payload.community_id)
    sharer = member_by_id(payload.sharer_id, field="sharer_id")
    product = product_by_id(payload.product_id) if payload.product_id is not None else None
    before = ReferralLink.objects.filter(
        community=community, sharer=sharer, product=product, label=payload.label.strip()
    ).exists()
    with fields_as_sent(**AS_SENT):
        link = service.referral_link_get_or_create(
            community=community, sharer=sharer, product=product, label=payload.label
        )
    return Status(200 if before else 201, link_out(link))


@router.get("/referral-links", response={200: LinkPage, **ERRORS})
def referral_link_list(
    request: HttpRequest, filters: Query[LinkFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """A sharer's links: the community's first, then by product and label."""
    qs = ReferralLink.objects.filter(sharer_id=filters.sharer_id).order_by(
        "community_id", F("product_id").asc(nulls_first=True), "label", "pk"
    )
    if filters.community_id is not None:
        qs = qs.filter(community_id=filters.community_id)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [link_out(link) for link in paged["items"]]
    return paged


@router.get("/referral-links/{code}", response={200: LinkOut, **ERRORS})
def referral_link_get(request: HttpRequest, code: str) -> dict[str, Any]:
    """One link by its code (case does not matter)."""
    return link_out(service.referral_link_by_code(path_text(code, 16)))


@router.post("/referral-links/{code}/visits", response={201: VisitOut, **ERRORS})
def referral_link_visit(
    request: HttpRequest, code: str, payload: VisitIn
) -> Status[dict[str, Any]]:
    """Report a visit through a link (a bot or the mini-program saw a member open it). Every
    visit counts; one by a known member other than the sharer is remembered for attribution
    and may make the sharer the one who referred them. Send an ``Idempotency-Key`` so a retry
    counts once."""
    link = service.referral_link_by_code(path_text(code, 16))
    member = member_by_id(payload.member_id) if payload.member_id is not None else None
    touch = service.referral_visit(link=link, member=member)
    link.refresh_from_db(fields=["visits"])
    return Status(
        201,
        {
            "code": link.code,
            "visits": link.visits,
            "touched": touch is not None,
            "at": touch.at if touch is not None else None,
        },
    )


@router.get("/orders/{number}/attribution", response={200: AttributionOut, **ERRORS})
def order_attribution_get(request: HttpRequest, number: str) -> dict[str, Any]:
    """Which sharer the order was attributed to when it was paid, and how (the last link
    opened within the window, or a customer binding)."""
    order = order_by_number(path_text(number, 40))
    found = OrderAttribution.objects.select_related("link").filter(order_id=order.pk).first()
    if found is None:
        return {
            "order_number": order.number,
            "attributed": False,
            "sharer_id": None,
            "link_code": None,
            "via": None,
            "touched_at": None,
            "at": None,
        }
    return {
        "order_number": order.number,
        "attributed": True,
        "sharer_id": found.sharer_id,
        "link_code": found.link.code if found.link else None,
        "via": found.via,
        "touched_at": found.touched_at,
        "at": found.at,
    }
