"""A community's distribution at a glance: key figures, commission accrued per week, and the
leading distributors by attributed sales and by commission over 7, 30 or 90 days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from quanzi.communities.models import Community
from quanzi.console.charts import FONT
from quanzi.console.commerce import choose_community, community_or_404
from quanzi.console.leaderboard import PERIODS, period_days, ranked
from quanzi.console.views import operator_required
from quanzi.console.views_distribution._common import URL_NAME, money, names, page, respond, totals
from quanzi.core import clock
from quanzi.core.money import CURRENCIES, currency_exponent
from quanzi.distribution.models import (
    Commission,
    CommissionLevel,
    Distributor,
    DistributorStatus,
    OrderAttribution,
)

WEEKS = 12
LEADERS = 10
LEVEL_COLOURS: dict[int, str] = {1: "#0e7c66", 2: "#f59f00"}


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _attributed(community: Community, since: datetime) -> QuerySet[OrderAttribution]:
    return OrderAttribution.objects.filter(community=community, at__gte=since)


# What the buyers paid for the goods, net of refunds: shipping is not a sale (nor earns).
SALES = Sum(F("order__lines__total_minor") - F("order__lines__refunded_minor"))


def _net_sales(rows: QuerySet[OrderAttribution]) -> int:
    return int(rows.aggregate(s=SALES)["s"] or 0)


def _kpis(community: Community) -> dict[str, Any]:
    today = timezone.localtime(clock.now()).date()
    month_start = _local_start(today.replace(day=1))
    books = totals(community)
    return {
        "approved": Distributor.objects.filter(
            community=community, status=DistributorStatus.APPROVED
        )
        .values("member_id")
        .distinct()
        .count(),
        "sales_month": money(_net_sales(_attributed(community, month_start)), community),
        "pending": money(books["pending"], community),
        "payable": money(books["payable"], community),
        "paid": money(books["paid"], community),
        "owed_back": books["owed_back"],
        "owed_back_text": money(books["owed_back"], community),
        "in_batches": money(books["payout"], community),
    }


def _weeks(community: Community) -> tuple[list[date], dict[int, list[int]]]:
    """The last 12 weeks (Monday first) and commission accrued in each, per level, in fen."""
    today = timezone.localtime(clock.now()).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    index = {monday: i for i, monday in enumerate(mondays)}
    series = {level: [0] * WEEKS for level in CommissionLevel.values}
    rows = (
        Commission.objects.filter(community=community, accrued_at__gte=_local_start(mondays[0]))
        .annotate(week=TruncWeek("accrued_at", tzinfo=timezone.get_current_timezone()))
        .values("week", "level")
        .annotate(total=Sum("amount_minor"))
    )
    for row in rows:
        week = row["week"]
        day = timezone.localtime(week).date() if isinstance(week, datetime) else week
        if day in index and row["level"] in series:
            series[row["level"]][index[day]] += int(row["total"] or 0)
    return mondays, series


def _figure(community: Community) -> dict[str, Any] | None:
    mondays, series = _weeks(community)
    if not any(any(values) for values in series.values()):
        return None
    scale = 10 ** currency_exponent(community.currency)
    symbol = CURRENCIES[community.currency][1]
    x = [monday.isoformat() for monday in mondays]
    traces = []
    for level, values in series.items():
        if level == CommissionLevel.SECOND and not any(values):
            continue
        label = str(CommissionLevel(level).label)
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": x,
                "y": [value / scale for value in values],
                "marker": {"color": LEVEL_COLOURS.get(level, "#748ffc")},
                "hovertemplate": symbol + "%{y:,.2f}<extra>" + label + "</extra>",
            }
        )
    layout = {
        "barmode": "stack",
        "bargap": 0.35,
        "margin": {"l": 48, "r": 8, "t": 28, "b": 8},
        "height": 300,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": "#475569"},
        "xaxis": {
            "type": "date",
            "tickformat": "%m/%d",
            "tick0": x[0],
            "dtick": 2 * 7 * 24 * 3600 * 1000,
            "showgrid": False,
            "fixedrange": True,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "#e9eef0",
            "rangemode": "tozero",
            "fixedrange": True,
            "tickprefix": symbol,
            "tickformat": ",.0f",
            "automargin": True,
        },
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        "hoverlabel": {"font": {"family": FONT}},
        "hovermode": "x unified",
        "showlegend": len(traces) > 1,
    }
    return {"data": traces, "layout": layout}


def _roles(community: Community, member_ids: list[int]) -> dict[int, list[Distributor]]:
    out: dict[int, list[Distributor]] = {}
    for distributor in Distributor.objects.filter(
        community=community, member_id__in=member_ids
    ).order_by("pk"):
        out.setdefault(distributor.member_id, []).append(distributor)
    return out


def _leaders(community: Community, days: int) -> dict[str, list[dict[str, Any]]]:
    since = clock.now() - timedelta(days=days)
    by_sales = list(
        _attributed(community, since)
        .values("sharer_id")
        .annotate(value=SALES, count=Count("order_id", distinct=True))
        .filter(value__gt=0)
        .order_by("-value", "sharer_id")[:LEADERS]
    )
    by_commission = list(
        Commission.objects.filter(community=community, accrued_at__gte=since)
        .values("beneficiary_id")
        .annotate(
            value=Sum(F("amount_minor") - F("reversed_minor") - F("clawed_minor")),
            count=Count("order_id", distinct=True),
        )
        .filter(value__gt=0)
        .order_by("-value", "beneficiary_id")[:LEADERS]
    )
    ids = [r["sharer_id"] for r in by_sales] + [r["beneficiary_id"] for r in by_commission]
    people = names(ids)
    roles = _roles(community, ids)

    def rows(found: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [
            {
                "rank": i,
                "member_id": r[key],
                "member": people.get(r[key]),
                "roles": roles.get(r[key], []),
                "value": money(int(r["value"]), community),
                "count": r["count"],
                "share": share,
            }
            for i, r, share in ranked(found, lambda r: int(r["value"]))
        ]

    return {
        "sales": rows(by_sales, "sharer_id"),
        "commission": rows(by_commission, "beneficiary_id"),
    }


@require_GET
@operator_required
def distribution_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="distribution", url_name=URL_NAME)


@require_GET
@operator_required
def distribution_overview(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    days = period_days(request)
    figure = _figure(community)
    context = {
        **page(community, "overview"),
        "kpis": _kpis(community),
        "figure": figure,
        "days": days,
        "periods": PERIODS,
        "leaders": _leaders(community, days),
        "waiting": Distributor.objects.filter(
            community=community, status=DistributorStatus.APPLIED
        ).count(),
        "chart_label": _("Commission accrued per week, last 12 weeks"),
    }
    return respond(request, "console/distribution/overview.html", context)
