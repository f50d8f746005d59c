"""API v1: community health metrics, with DESIGN.md's definitions (the same selectors the
console reads). A period is local days [start, end); by default the 30 days up to today.
``group_id`` narrows any metric to one group of the community."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from quanzi.analytics.calendar import local_day
from quanzi.analytics.selectors import metrics
from quanzi.api.schemas import ERRORS
from quanzi.communities.models import Community, Group
from quanzi.communities.selectors import community_by_slug
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.distribution.api._common import BIGINT, In, path_text

router = Router(tags=["analytics"])

MAX_SPAN_DAYS = 3 * 366
DEFAULT_DAYS = 30


class PeriodIn(In):
    group_id: int | None = Field(None, ge=1, le=BIGINT, description="One group of the community.")
    start: date | None = Field(None, description="First day (default: 30 days before end).")
    end: date | None = Field(None, description="Day after the last (default: tomorrow).")


class AtIn(In):
    group_id: int | None = Field(None, ge=1, le=BIGINT)
    at: date | None = Field(None, description="The day (default: today).")


class OverlapIn(In):
    group_ids: str = Field(
        "", max_length=2000, description="Comma-separated group ids; empty: every group."
    )
    at: date | None = Field(None, description="The day (default: today).")


class KpisOut(Schema):
    start: date
    end: date
    group_id: int | None
    members: int = Field(description="Members with a seat at the end of the period.")
    joins: int
    leaves: int
    messages: int
    ad_messages: int
    kol_messages: int
    engaged_7d: int = Field(
        description="Members with a message, post, vote or check-in in the last 7 days."
    )
    activity_rate: float | None
    payers: int
    repeat_payers: int
    payment_rate: float | None = Field(description="付费率: members with ≥1 paid order / members.")
    repurchase_rate: float | None = Field(description="复购率: ≥2 paid orders / ≥1.")
    renewals_due: int
    renewed: int
    renewal_rate: float | None
    strangers: int
    strangeness_rate: float | None = Field(description="陌生率: members with no interaction.")
    ad_ratio: float | None
    kol_share: float | None
    orders: int
    revenue_minor: int


class FunnelStepOut(Schema):
    key: str = Field(description="visit, join, first_payment, repurchase or referral")
    members: int
    conversion: float | None


class DayOut(Schema):
    day: date
    members: int
    joins: int
    leaves: int
    messages: int
    ad_messages: int
    engaged_7d: int
    activity_rate: float | None
    payers: int
    revenue_minor: int


class CohortOut(Schema):
    week: date
    size: int
    retention: list[float | None] = Field(description="Index 0 = the join week.")


class OverlapGroupOut(Schema):
    id: int
    name: str
    members: int


class OverlapOut(Schema):
    rate: float | None = Field(description="重复率: members in ≥2 of the groups / distinct.")
    members_in_two_or_more: int
    distinct_members: int
    groups: list[OverlapGroupOut]
    jaccard: list[list[float | None]] = Field(description="Pairwise, in the order of groups.")


class StageOut(Schema):
    stage: str = Field(description="'' (prospect), customer, user, fan, iron_fan")
    members: int


class RfmOut(Schema):
    code: str
    members: int
    revenue_minor: int


def _scope(slug: str, group_id: int | None) -> tuple[Community, metrics.Scope]:
    community = community_by_slug(path_text(slug, 50))
    if group_id is None:
        return community, metrics.Scope(community.pk)
    if not Group.objects.filter(pk=group_id, community=community).exists():
        raise NotFound(
            _("No group #%(pk)s in this community.") % {"pk": group_id}, field="group_id"
        )
    return community, metrics.Scope(community.pk, group_id)


def period_of(start: date | None, end: date | None) -> metrics.Period:
    """A checked period: start before end, not past tomorrow, at most three years."""
    tomorrow = local_day(clock.now()) + timedelta(days=1)
    end = end or tomorrow
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if end > tomorrow:
        raise ApplicationError(_("The period cannot end in the future."), field="end")
    if start >= end:
        raise ApplicationError(_("The start must be before the end."), field="start")
    if (end - start).days > MAX_SPAN_DAYS:
        raise ApplicationError(_("A period is at most three years."), field="start")
    return metrics.Period(start, end)


def _day(at: date | None) -> date:
    today = local_day(clock.now())
    if at is not None and at > today:
        raise ApplicationError(_("The day cannot be in the future."), field="at")
    return at or today


@router.get("/communities/{slug}/analytics/kpis", response={200: KpisOut, **ERRORS})
def analytics_kpis(request: HttpRequest, slug: str, q: Query[PeriodIn]) -> dict[str, Any]:
    """The health tiles: members, activity, payment, repurchase, renewal, strangeness, ad ratio,
    KOL share and revenue over the period."""
    _community, scope = _scope(slug, q.group_id)
    period = period_of(q.start, q.end)
    return {
        "start": period.start,
        "end": period.end,
        "group_id": q.group_id,
        **asdict(metrics.kpis(scope, period)),
    }


@router.get("/communities/{slug}/analytics/funnel", response={200: list[FunnelStepOut], **ERRORS})
def analytics_funnel(request: HttpRequest, slug: str, q: Query[PeriodIn]) -> list[Any]:
    """visit → join → first payment → repurchase → referral, nested within the period."""
    _community, scope = _scope(slug, q.group_id)
    return [asdict(s) for s in metrics.funnel(scope, period_of(q.start, q.end))]


@router.get("/communities/{slug}/analytics/daily", response={200: list[DayOut], **ERRORS})
def analytics_daily(request: HttpRequest, slug: str, q: Query[PeriodIn]) -> list[Any]:
    """One point per day: members, joins, leaves, messages, ads, 7-day engagement, payers,
    revenue."""
    _community, scope = _scope(slug, q.group_id)
    return [asdict(p) for p in metrics.daily(scope, period_of(q.start, q.end))]


@router.get("/communities/{slug}/analytics/cohorts", response={200: list[CohortOut], **ERRORS})
def analytics_cohorts(request: HttpRequest, slug: str, q: Query[PeriodIn]) -> list[Any]:
    """Weekly join cohorts of the period with their retention in the weeks after (active = any
    activity in the scope)."""
    _community, scope = _scope(slug, q.group_id)
    return [asdict(c) for c in metrics.cohorts(scope, period_of(q.start, q.end))]


@router.get("/communities/{slug}/analytics/overlap", response={200: OverlapOut, **ERRORS})
def analytics_overlap(request: HttpRequest, slug: str, q: Query[OverlapIn]) -> dict[str, Any]:
    """The overlap rate of the groups and their pairwise Jaccard map (the largest 20 when no
    groups are named)."""
    community = community_by_slug(path_text(slug, 50))
    ids: list[int] | None = None
    if q.group_ids.strip():
        try:
            ids = [int(part) for part in q.group_ids.split(",") if part.strip()]
        except ValueError:
            raise ApplicationError(
                _("Group ids are numbers separated by commas."), field="group_ids"
            ) from None
        found = set(
            Group.objects.filter(community=community, pk__in=ids).values_list("pk", flat=True)
        )
        if missing := [i for i in ids if i not in found]:
            raise NotFound(
                _("No group #%(pk)s in this community.") % {"pk": missing[0]}, field="group_ids"
            )
        if len(ids) < 2:
            raise ApplicationError(_("Name at least two groups."), field="group_ids")
    result = metrics.overlap(community.pk, ids, _day(q.at))
    return {
        **asdict(result),
        "groups": [{"id": g, "name": n, "members": m} for g, n, m in result.groups],
    }


@router.get("/communities/{slug}/analytics/lifecycle", response={200: list[StageOut], **ERRORS})
def analytics_lifecycle(request: HttpRequest, slug: str, q: Query[AtIn]) -> list[Any]:
    """Members by lifecycle stage: customer → user → fan → iron fan."""
    _community, scope = _scope(slug, q.group_id)
    return [asdict(s) for s in metrics.lifecycle(scope, _day(q.at))]


@router.get("/communities/{slug}/analytics/rfm", response={200: list[RfmOut], **ERRORS})
def analytics_rfm(request: HttpRequest, slug: str, q: Query[AtIn]) -> list[Any]:
    """Buyers in the eight RFM segments (recency, frequency, money each high or low against
    the buyers' mean)."""
    _community, scope = _scope(slug, q.group_id)
    return [asdict(s) for s in metrics.rfm(scope, _day(q.at))]
