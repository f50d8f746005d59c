"""Console health pages (社群健康): one per community and one per group.

KPI tiles, the conversion funnel, growth and activity lines, weekly join cohorts, the group
overlap map, lifecycle and RFM breakdowns, each group's health score, open warnings with their
reasons and actions, and the valuable members slipping away. Every figure comes from the
analytics selectors (the API reads the same ones); every table downloads as Excel with
``?export=<table>``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from quanzi.analytics.calendar import local_day
from quanzi.analytics.selectors import metrics
from quanzi.analytics.selectors.health import (
    WarningView,
    group_health,
    group_health_stored,
    open_warnings,
)
from quanzi.analytics.selectors.value import latest_fit, slipping_members
from quanzi.analytics.snapshots import WINDOWS
from quanzi.communities.models import Community, Group
from quanzi.console.charts import (
    AMBERS,
    BLUE,
    GREY,
    ORANGE,
    RED,
    TEAL,
    bars_figure,
    funnel_figure,
    heatmap_figure,
    lines_figure,
)
from quanzi.console.commerce import choose_community, commerce_context, community_or_404
from quanzi.console.views import operator_required
from quanzi.core import clock
from quanzi.core.money import Money
from quanzi.members.models import Stage

URL_NAME = "console:analytics"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIODS = WINDOWS  # 7, 30, 90 days: the periods the rollup job keeps ready
MAX_GROUPS = 60

FUNNEL_LABELS = {
    "visit": gettext_lazy("Visited a link"),
    "join": gettext_lazy("Joined a group"),
    "first_payment": gettext_lazy("First payment"),
    "repurchase": gettext_lazy("Bought again"),
    "referral": gettext_lazy("Referred a friend"),
}
RFM_LABELS = {
    "important_value": gettext_lazy("Important value"),
    "important_develop": gettext_lazy("Important to develop"),
    "important_keep": gettext_lazy("Important to keep"),
    "important_recall": gettext_lazy("Important to win back"),
    "general_value": gettext_lazy("General value"),
    "general_develop": gettext_lazy("General to develop"),
    "general_keep": gettext_lazy("General to keep"),
    "general_recall": gettext_lazy("General to win back"),
}


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(n, n) for n in PERIODS], coerce=int, required=False, empty_value=None
    )
    start = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        required=False,
        label=gettext_lazy("To (inclusive)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = local_day(clock.now())
        start, end = data.get("start"), data.get("end")
        if start or end:
            if not (start and end):
                raise forms.ValidationError(_("Give both the first and the last day."))
            if end > today:
                self.add_error("end", _("The last day cannot be in the future."))
            elif start > end:
                self.add_error("start", _("The first day must be before the last."))
            elif (end - start).days > 3 * 366:
                self.add_error("start", _("A period is at most three years."))
        return data

    def period(self) -> metrics.Period:
        today = local_day(clock.now())
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("start") and data.get("end"):
            return metrics.Period(data["start"], data["end"] + timedelta(days=1))
        days = data.get("days") or 30
        return metrics.Period(today - timedelta(days=days - 1), today + timedelta(days=1))


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _tiles(k: metrics.Kpis, community: Community) -> list[dict[str, Any]]:
    return [
        {
            "label": _("Members"),
            "value": f"{k.members:,}",
            "hint": _("with a seat at the end"),
            "icon": "members",
            "tone": "jade",
            "term": "",
        },
        {
            "label": _("Activity rate"),
            "value": _rate(k.activity_rate),
            "icon": "chat",
            "tone": "blue",
            "hint": _("spoke, posted, voted or checked in in the last 7 days"),
            "term": "活跃率",
        },
        {
            "label": _("Payment rate"),
            "value": _rate(k.payment_rate),
            "icon": "orders",
            "tone": "orange",
            "hint": _("members with a paid order in the period"),
            "term": "付费率",
        },
        {
            "label": _("Repurchase rate"),
            "value": _rate(k.repurchase_rate),
            "icon": "gift",
            "tone": "amber",
            "hint": _("payers with two or more orders"),
            "term": "复购率",
        },
        {
            "label": _("Renewal rate"),
            "value": _rate(k.renewal_rate),
            "icon": "plus",
            "tone": "violet",
            "hint": _("memberships renewed within 30 days of expiry"),
            "term": "续费率",
        },
        {
            "label": _("Strangeness"),
            "value": _rate(k.strangeness_rate),
            "icon": "alert",
            "tone": "amber",
            "hint": _("members who interacted with no one"),
            "term": "陌生率",
        },
        {
            "label": _("Ad ratio"),
            "value": _rate(k.ad_ratio),
            "icon": "alert",
            "tone": "orange",
            "hint": _("promotion not by operators, of all messages"),
            "term": "广告占比",
        },
        {
            "label": _("KOL share"),
            "value": _rate(k.kol_share),
            "icon": "crystals",
            "tone": "violet",
            "hint": _("messages by KOL seats"),
            "term": "KOL",
        },
        {
            "label": _("Revenue"),
            "value": str(Money(k.revenue_minor, community.currency)),
            "icon": "orders",
            "tone": "jade",
            "hint": _("%(orders)s paid orders") % {"orders": f"{k.orders:,}"},
            "term": "",
        },
    ]


def _funnel(steps: list[metrics.FunnelStep]) -> dict[str, Any]:
    return funnel_figure(
        [str(FUNNEL_LABELS[s.key]) for s in steps],
        [s.members for s in steps],
        ["" if s.conversion is None else f"{s.conversion:.0%}" for s in steps],
    )


def _lines(points: list[metrics.DayPoint]) -> dict[str, Any]:
    days = [p.day.isoformat() for p in points]
    return lines_figure(
        days,
        [
            (_("Members"), [p.members for p in points], TEAL, False),
            (_("Messages"), [p.messages for p in points], BLUE, False),
            (_("Ads"), [p.ad_messages for p in points], RED, False),
            (_("Joins"), [p.joins for p in points], ORANGE, False),
            (_("Activity rate"), [p.activity_rate for p in points], GREY, True),
        ],
    )


def _cohorts(rows: list[metrics.CohortRow]) -> dict[str, Any]:
    # Weeks after the period's end have no figure for any cohort yet: leave those columns out.
    weeks = max(
        (i + 1 for r in rows for i, v in enumerate(r.retention) if v is not None), default=1
    )
    return heatmap_figure(
        [_("Week %(n)s") % {"n": i} for i in range(weeks)],
        [f"{r.week:%m/%d} ({r.size})" for r in rows],
        [r.retention[:weeks] for r in rows],
    )


def _overlap(result: metrics.Overlap) -> dict[str, Any]:
    names = [name for _id, name, _n in result.groups]
    # The diagonal (a group with itself) is left blank so the shared cells stand out.
    cells = [
        [None if i == j else v for j, v in enumerate(row)] for i, row in enumerate(result.jaccard)
    ]
    top = max((v for row in cells for v in row if v is not None), default=0.0)
    return heatmap_figure(names, names, cells, percent=False, colours=AMBERS, zmax=max(top, 0.05))


def _export(
    name: str, header: list[str], rows: list[list[Any]], community: Community
) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = name[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    stamp = f"{local_day(clock.now()):%Y%m%d}"
    response["Content-Disposition"] = f'attachment; filename="{community.slug}-{name}-{stamp}.xlsx"'
    return response


def _tables(
    community: Community, scope: metrics.Scope, period: metrics.Period, context: dict[str, Any]
) -> dict[str, Callable[[], tuple[list[str], list[list[Any]]]]]:
    """Each table of the page as (header, rows), for its Excel download."""
    k: metrics.Kpis = context["kpis"]
    tables: dict[str, Callable[[], tuple[list[str], list[list[Any]]]]] = {
        "kpis": lambda: (
            [_("Metric"), _("Value")],
            [[t["label"], t["value"]] for t in _tiles(k, community)],
        ),
        "funnel": lambda: (
            [_("Step"), _("Members"), _("Conversion")],
            [[str(FUNNEL_LABELS[s.key]), s.members, s.conversion] for s in context["funnel"]],
        ),
        "daily": lambda: (
            [
                _("Day"),
                _("Members"),
                _("Joins"),
                _("Leaves"),
                _("Messages"),
                _("Ads"),
                _("Engaged in 7 days"),
                _("Activity rate"),
                _("Payers"),
                _("Revenue (fen)"),
            ],
            [
                [
                    p.day,
                    p.members,
                    p.joins,
                    p.leaves,
                    p.messages,
                    p.ad_messages,
                    p.engaged_7d,
                    p.activity_rate,
                    p.payers,
                    p.revenue_minor,
                ]
                for p in context["daily"]
            ],
        ),
        "cohorts": lambda: (
            [_("Join week"), _("Members")] + [_("Week %(n)s") % {"n": i} for i in range(9)],
            [[r.week, r.size, *r.retention] for r in context["cohorts"]],
        ),
        "lifecycle": lambda: (
            [_("Stage"), _("Members")],
            [[str(Stage(s.stage).label), s.members] for s in context["lifecycle"]],
        ),
        "rfm": lambda: (
            [_("Segment"), _("Members"), _("Revenue (fen)")],
            [[str(RFM_LABELS[s.code]), s.members, s.revenue_minor] for s in context["rfm"]],
        ),
        "warnings": lambda: (
            [_("Group"), _("Score"), _("Since"), _("Reason"), _("Suggested action")],
            [
                [w.group_name, w.score, w.day, s.label, s.action]
                for w in context["warnings"]
                for s in w.signals
            ],
        ),
        "slipping": lambda: (
            [_("Member"), _("CLV (fen)"), _("P(alive)"), _("P(alive) before"), _("Last purchase")],
            [
                [
                    m.name,
                    m.clv_minor,
                    round(m.p_alive, 4),
                    None if m.p_alive_before is None else round(m.p_alive_before, 4),
                    m.last_purchase,
                ]
                for m in context["slipping"]
            ],
        ),
    }
    if "overlap" in context:
        o: metrics.Overlap = context["overlap"]
        tables["overlap"] = lambda: (
            [_("Group"), _("Members")] + [name for _g, name, _n in o.groups],
            [[name, n, *o.jaccard[i]] for i, (_g, name, n) in enumerate(o.groups)],
        )
    if "groups" in context:
        tables["groups"] = lambda: (
            [_("Group"), _("Members"), _("Health score"), _("Warning")],
            [
                [g["group"].name, g["members"], g["health"].score, g["health"].warns]
                for g in context["groups"]
            ],
        )
    return tables


def _listed_groups(
    live: QuerySet[Group], warnings: list[WarningView], overlap: metrics.Overlap
) -> list[Group]:
    """At most MAX_GROUPS groups for the table: every warned group, then the largest (the
    overlap map's), then the rest by name — so a big community's dying groups are never cut."""
    wanted = [w.group_id for w in warnings] + [gid for gid, _name, _n in overlap.groups]
    chosen = {g.pk: g for g in live.filter(pk__in=wanted[:MAX_GROUPS])}
    ordered = list(dict.fromkeys(gid for gid in wanted if gid in chosen))
    rest = live.exclude(pk__in=ordered).order_by("name")[: max(MAX_GROUPS - len(ordered), 0)]
    return [chosen[gid] for gid in ordered] + list(rest)


def _page(request: HttpRequest, community: Community, group: Group | None) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = form.period()
    scope = metrics.Scope(community.pk, group.pk if group else 0)
    at = period.last_day
    kpis = metrics.kpis(scope, period)
    context: dict[str, Any] = {
        **commerce_context(community, section="analytics", url_name=URL_NAME),
        "group": group,
        "form": form,
        "periods": PERIODS,
        "period": period,
        "days": (form.cleaned_data.get("days") if form.is_valid() else None) or 30,
        "custom": bool(form.is_valid() and form.cleaned_data.get("start")),
        "kpis": kpis,
        "tiles": _tiles(kpis, community),
        "funnel": metrics.funnel(scope, period),
        "daily": metrics.daily(scope, period),
        "cohorts": metrics.cohorts(scope, period),
        "lifecycle": metrics.lifecycle(scope, at),
        "rfm": metrics.rfm(scope, at),
        "warnings": [
            w for w in open_warnings(community) if group is None or w.group_id == group.pk
        ],
        "slipping": slipping_members(community, limit=20),
        "fit": latest_fit(community),
    }
    if group is None:
        context["overlap"] = metrics.overlap(community.pk, None, at)
        live = Group.objects.filter(community=community, archived_at__isnull=True)
        groups = _listed_groups(live, context["warnings"], context["overlap"])
        members = metrics.group_members_at_end(community.pk, [g.pk for g in groups], period)
        health = group_health_stored(community, groups)
        group_rows: list[dict[str, Any]] = [
            {"group": g, "members": members[g.pk], "health": health[g.pk]} for g in groups
        ]
        # Worst first: a group with a score above one without (too small, no history yet).
        group_rows.sort(key=lambda r: -(r["health"].score if r["health"].score is not None else -1))
        context["groups"] = group_rows
        context["groups_total"] = live.count()
    else:
        context["health"] = group_health(group)
    export = request.GET.get("export", "")
    if export:
        tables = _tables(community, scope, period, context)
        if export not in tables:
            raise Http404(_("No table %(name)r on this page.") % {"name": export})
        header, rows = tables[export]()
        return _export(export, header, rows, community)
    context["figures"] = {
        "funnel": _funnel(context["funnel"]),
        "lines": _lines(context["daily"]),
        "cohorts": _cohorts(context["cohorts"]) if context["cohorts"] else None,
        "overlap": _overlap(context["overlap"])
        if group is None and len(context["overlap"].groups) > 1
        else None,
        "lifecycle": bars_figure(
            [str(Stage(s.stage).label) for s in context["lifecycle"]],
            [s.members for s in context["lifecycle"]],
        ),
        "rfm": bars_figure(
            [str(RFM_LABELS[s.code]) for s in context["rfm"]],
            [s.members for s in context["rfm"]],
            ORANGE,
        ),
    }
    context["has_data"] = bool(kpis.members or kpis.messages or kpis.orders)
    context["funnel_empty"] = not any(s.members for s in context["funnel"])
    context["rfm_empty"] = not any(s.members for s in context["rfm"])
    context["query"] = request.GET.urlencode()
    status = 422 if form.is_bound and not form.is_valid() else 200
    return render(request, "console/analytics/health.html", context, status=status)


@require_GET
@operator_required
def analytics_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="analytics", url_name=URL_NAME)


@require_GET
@operator_required
def analytics_community(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, community_or_404(request, slug), None)


@require_GET
@operator_required
def analytics_group(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    community = community_or_404(request, slug)
    group = Group.objects.filter(pk=group_id, community=community).first()
    if group is None:
        raise Http404(_("No such group in this community."))
    return _page(request, community, group)


__all__ = ["analytics_community", "analytics_group", "analytics_home"]
