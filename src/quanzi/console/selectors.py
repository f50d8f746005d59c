"""Reads for the operator console. Read-only: every write goes through a service.

The overview aggregates the activity log per request. That is fine for a hub with thousands of
rows a day; once analytics keeps pre-aggregated daily tables, these functions read those instead
and the views do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from quanzi.core import clock, scheduling
from quanzi.core.models import Activity, ActivityKind, ApiToken, JobRun
from quanzi.core.money import Money, MoneyError
from quanzi.outbox.models import OutboxMessage, OutboxStatus

ACTIVITY_PAGE_SIZE = 50
# The overview is the pulse of the circle: what members did. Operators' own actions (a token
# created, an operator added) stay in the activity log but would only be noise there.
OVERVIEW_EXCLUDED_KINDS = (ActivityKind.OPERATOR,)


# --- Overview ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One KPI with the same figure for the period before, to show the trend."""

    value: int
    previous: int

    @property
    def change_percent(self) -> int | None:
        """Whole-percent change against the period before; None when there is nothing to compare."""
        if self.previous == 0:
            return None
        return round((self.value - self.previous) * 100 / self.previous)


@dataclass(frozen=True, slots=True)
class OverviewKpis:
    days: int
    joins: Figure
    payments: Figure
    paid: Money
    paid_previous: Money
    messages: Figure
    active_members: Figure
    total_activities: int

    @property
    def paid_change_percent(self) -> int | None:
        return Figure(self.paid.minor, self.paid_previous.minor).change_percent


def _period_figures(start: datetime, end: datetime, currency: str) -> dict[str, int]:
    rows = (
        Activity.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .exclude(kind__in=OVERVIEW_EXCLUDED_KINDS)
        .aggregate(
            joins=Count("id", filter=Q(kind=ActivityKind.JOIN)),
            payments=Count("id", filter=Q(kind=ActivityKind.PAY)),
            paid=Sum("amount_minor", filter=Q(kind=ActivityKind.PAY, currency=currency)),
            messages=Count("id", filter=Q(kind=ActivityKind.MESSAGE)),
            active=Count("member_id", distinct=True),
            total=Count("id"),
        )
    )
    return {key: int(value or 0) for key, value in rows.items()}


def overview_kpis(*, days: int = 30, now: datetime | None = None) -> OverviewKpis:
    """Joins, payments, paid amount, messages and active members over the last ``days``."""
    end = now or clock.now()
    start = end - timedelta(days=days)
    currency = settings.QUANZI_CURRENCY
    current = _period_figures(start, end, currency)
    before = _period_figures(start - timedelta(days=days), start, currency)
    return OverviewKpis(
        days=days,
        joins=Figure(current["joins"], before["joins"]),
        payments=Figure(current["payments"], before["payments"]),
        paid=Money(current["paid"], currency),
        paid_previous=Money(before["paid"], currency),
        messages=Figure(current["messages"], before["messages"]),
        active_members=Figure(current["active"], before["active"]),
        total_activities=current["total"],
    )


@dataclass(frozen=True, slots=True)
class DailySeries:
    kind: str
    label: str
    counts: list[int]


@dataclass(frozen=True, slots=True)
class DailyActivity:
    days: list[date]
    series: list[DailySeries]

    @property
    def empty(self) -> bool:
        return not self.series


def daily_activity(*, days: int = 30, now: datetime | None = None) -> DailyActivity:
    """Activities per local day and kind for the last ``days`` days, today included.

    Every day is present (zero when quiet) so the chart has no gaps; kinds with no activity in
    the window are left out, the busiest kind first.
    """
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now or clock.now(), tz).date()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    rows = (
        Activity.objects.filter(occurred_at__gte=start)
        .exclude(kind__in=OVERVIEW_EXCLUDED_KINDS)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    calendar = [first + timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(calendar)}
    per_kind: dict[str, list[int]] = {}
    for row in rows:
        position = index.get(row["day"])
        if position is None:
            continue
        per_kind.setdefault(row["kind"], [0] * days)[position] += row["n"]
    labels = dict(ActivityKind.choices)
    series = [
        DailySeries(kind, str(labels.get(kind, kind)), counts)
        for kind, counts in sorted(per_kind.items(), key=lambda item: (-sum(item[1]), item[0]))
    ]
    return DailyActivity(calendar, series)


# --- Activity log ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    kind: str = ""
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    exclude_kinds: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.kind or self.channel or self.date_from or self.date_to)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    activity: Activity
    amount: str

    @property
    def cursor(self) -> str:
        return f"{self.activity.occurred_at.isoformat()}|{self.activity.pk}"


@dataclass(frozen=True, slots=True)
class ActivityPage:
    rows: list[ActivityRow]
    next_cursor: str | None


def _amount_text(activity: Activity) -> str:
    if activity.amount_minor is None:
        return ""
    try:
        return Money(activity.amount_minor, activity.currency or settings.QUANZI_CURRENCY).format()
    except MoneyError:
        # A currency we do not know still shows its figure rather than breaking the page.
        return f"{activity.amount_minor} {activity.currency}".strip()


def parse_cursor(raw: str) -> tuple[datetime, int] | None:
    """The position after which the next page starts, or None for a cursor we did not write."""
    moment, _, pk = raw.partition("|")
    try:
        parsed = datetime.fromisoformat(moment)
        number = int(pk)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        return None
    return parsed, number


def _filtered(filters: ActivityFilters) -> QuerySet[Activity]:
    tz = timezone.get_current_timezone()
    queryset = Activity.objects.all()
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.exclude_kinds:
        queryset = queryset.exclude(kind__in=filters.exclude_kinds)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.date_from:
        start = timezone.make_aware(datetime.combine(filters.date_from, time.min), tz)
        queryset = queryset.filter(occurred_at__gte=start)
    if filters.date_to:
        end = timezone.make_aware(
            datetime.combine(filters.date_to + timedelta(days=1), time.min), tz
        )
        queryset = queryset.filter(occurred_at__lt=end)
    return queryset


def activity_page(
    *, filters: ActivityFilters, cursor: str = "", limit: int = ACTIVITY_PAGE_SIZE
) -> ActivityPage:
    """Newest first. Keyset pages: rows recorded while someone reads never shift the next page."""
    queryset = _filtered(filters).order_by("-occurred_at", "-id")
    position = parse_cursor(cursor) if cursor else None
    if position is not None:
        moment, pk = position
        queryset = queryset.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=pk))
    batch = list(queryset[: limit + 1])
    rows = [ActivityRow(a, _amount_text(a)) for a in batch[:limit]]
    next_cursor = rows[-1].cursor if len(batch) > limit else None
    return ActivityPage(rows, next_cursor)


def recent_activities(*, limit: int = 8) -> list[ActivityRow]:
    """The latest member activity for the overview."""
    filters = ActivityFilters(exclude_kinds=OVERVIEW_EXCLUDED_KINDS)
    return activity_page(filters=filters, limit=limit).rows


def activity_channels() -> list[str]:
    """Every channel the log has seen, for the filter."""
    return list(
        Activity.objects.exclude(channel="")
        .order_by("channel")
        .values_list("channel", flat=True)
        .distinct()
    )


# --- Jobs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobOverview:
    name: str
    description: str
    every: timedelta
    last_run: JobRun | None
    runs_total: int

    @property
    def every_seconds(self) -> int:
        return int(self.every.total_seconds())


def jobs_overview() -> list[JobOverview]:
    """Every registered job with its latest run."""
    jobs = scheduling.registered()
    totals = dict(
        JobRun.objects.filter(job__in=[j.name for j in jobs])
        .values("job")
        .annotate(n=Count("id"))
        .values_list("job", "n")
    )
    overview = []
    for job in jobs:
        last = JobRun.objects.filter(job=job.name).order_by("-started_at", "-id").first()
        overview.append(
            JobOverview(job.name, job.description, job.every, last, int(totals.get(job.name, 0)))
        )
    return overview


def job_exists(name: str) -> bool:
    return any(job.name == name for job in scheduling.registered())


# --- API tokens --------------------------------------------------------------------------------


def api_tokens_of(*, user_id: Any) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user_id=user_id).order_by("-created_at", "-id"))


def activity_of_members(*, member_ids: list[int], limit: int = 12) -> list[ActivityRow]:
    """A member's latest facts (their merged records' too), newest first."""
    rows = Activity.objects.filter(member_id__in=member_ids).order_by("-occurred_at", "-id")
    return [ActivityRow(a, _amount_text(a)) for a in rows[:limit]]


# --- Outbox ------------------------------------------------------------------------------------

OUTBOX_PAGE_SIZE = 50


def outbox_counts() -> dict[str, int]:
    """Messages per status, for the tabs."""
    return dict(
        OutboxMessage.objects.values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )


def outbox_messages(*, status: str) -> QuerySet[OutboxMessage]:
    """Queued messages in the order they may go out; the others newest first."""
    queryset = OutboxMessage.objects.filter(status=status).select_related("member")
    if status == OutboxStatus.QUEUED:
        return queryset.order_by("not_before", "id")
    return queryset.order_by("-created_at", "-id")


def outbox_message(pk: int) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(pk=pk).first()
