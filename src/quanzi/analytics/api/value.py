"""API v1: member value — fit BG/NBD and Gamma-Gamma on the community's orders, read each
member's P(alive), expected purchases and CLV, and the valuable members slipping away."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from quanzi.analytics.models import MemberValue, ValueFit
from quanzi.analytics.selectors.value import latest_fit, slipping_members
from quanzi.analytics.services.value import value_fit
from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.communities.selectors import community_by_slug
from quanzi.core.errors import NotFound
from quanzi.distribution.api._common import In, path_text

router = Router(tags=["member value"])


class FitIn(In):
    until: date | None = Field(None, description="End of calibration (default: today).")
    unit: str = Field("day", description="day or week")
    horizon_days: int = Field(90, ge=1, le=3650)


class FitOut(Schema):
    id: int
    fitted_at: datetime
    until: date
    unit: str
    members: int
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    gg_p: float | None
    gg_q: float | None
    gg_v: float | None
    gg_members: int
    horizon_days: int


class MemberValueOut(Schema):
    member_id: int
    frequency: int = Field(description="Repeat purchase days after the first.")
    recency: float
    age: float = Field(description="T: first purchase to the end of calibration, in units.")
    monetary_minor: int
    p_alive: float
    p_alive_before: float | None
    expected_purchases: float
    clv_minor: int


class MemberValuePage(Schema):
    items: list[MemberValueOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class SlippingOut(Schema):
    member_id: int
    name: str
    clv_minor: int
    p_alive: float
    p_alive_before: float | None
    expected_purchases: float
    last_purchase: date
    at_risk_minor: int


def _fit_out(fit: ValueFit) -> dict[str, Any]:
    return {name: getattr(fit, name) for name in FitOut.model_fields if name != "id"} | {
        "id": fit.pk
    }


def _latest(slug: str) -> tuple[Any, ValueFit]:
    community = community_by_slug(path_text(slug, 50))
    fit = latest_fit(community)
    if fit is None:
        raise NotFound(
            _("No member-value fit yet: POST .../analytics/value/fit first."), field="fit"
        )
    return community, fit


@router.post("/communities/{slug}/analytics/value/fit", response={201: FitOut, **ERRORS})
def value_fit_create(request: HttpRequest, slug: str, payload: FitIn) -> Status[dict[str, Any]]:
    """Fit both models on the community's paid orders up to ``until``. Too few buyers: 422
    ``not_enough_buyers``."""
    community = community_by_slug(path_text(slug, 50))
    fit = value_fit(
        community=community,
        until=payload.until,
        unit=payload.unit,
        horizon_days=payload.horizon_days,
    )
    return Status(201, _fit_out(fit))


@router.get("/communities/{slug}/analytics/value", response={200: FitOut, **ERRORS})
def value_latest(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The latest fit's parameters."""
    _community, fit = _latest(slug)
    return _fit_out(fit)


@router.get(
    "/communities/{slug}/analytics/value/members", response={200: MemberValuePage, **ERRORS}
)
def value_members(request: HttpRequest, slug: str, page: Query[Page.Input]) -> dict[str, Any]:
    """Members of the latest fit, highest CLV first."""
    _community, fit = _latest(slug)
    qs = MemberValue.objects.filter(fit=fit).order_by("-clv_minor", "member_id")
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [
        {name: getattr(v, name) for name in MemberValueOut.model_fields} for v in paged["items"]
    ]
    return paged


@router.get(
    "/communities/{slug}/analytics/value/slipping", response={200: list[SlippingOut], **ERRORS}
)
def value_slipping(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """Valuable but slipping: top-fifth CLV members whose P(alive) fell since the last fit (or is
    under one half on a first fit), most value at risk first — the ones to recall."""
    community, _fit = _latest(slug)
    return [asdict(s) for s in slipping_members(community)]
