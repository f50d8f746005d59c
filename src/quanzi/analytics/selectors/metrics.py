"""The health metrics of DESIGN.md, per community or group, over any period.

Every figure is read from the rollups (``quanzi.analytics.rollups``), never by scanning the
activity log; the API, the console, the warnings and the benchmark all call these functions, so
a figure means the same everywhere. Rates are fractions in [0, 1], or ``None`` when there is
nobody to divide by. A period is local days ``[start, end)``; "at the end" means the end of the
day before ``end``.

Where DESIGN.md leaves a choice open, these are the choices:

- The population of payment and repurchase rate is the scope's members at the period's end;
  their paid orders in the period count, whichever group they were in when they paid.
- The funnel is nested: from "join" on, a step counts the members who reached it within the
  period among those who reached every step before it within the period (join → first payment
  → second payment → referral made). "Visit" counts tracked-link visitors in the period, and its
  conversion is the share of them who joined in the period; members who joined without a
  tracked visit enter at "join".
- Strangeness counts the scope's members at the end who neither gave nor received a reply,
  mention or like in the scope during the period.
- Renewal: membership terms that ended in the period, renewed when the same membership has a
  next term paid within 30 days after the end (community scope; a group shows its community's).
- RFM uses the eight classic segments: recency, frequency and money each "high" when at least
  as good as the population's mean (recency: as recent or more recent).
- The lifecycle distribution is the members' current stage (the lifecycle job keeps it).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import Exact, GreaterThan

from quanzi.analytics import daybits
from quanzi.analytics.calendar import day_start, local_day
from quanzi.analytics.models import (
    COMMUNITY_SCOPE,
    CohortCell,
    GroupPair,
    MemberDay,
    MemberFact,
    Purchase,
    ScopeDay,
    SeatCount,
    Snapshot,
    SnapshotKind,
)
from quanzi.communities.models import Group, GroupMembership, MembershipTerm, SeatStatus
from quanzi.core import clock
from quanzi.members.models import Member, Stage

RENEWAL_DAYS = 30
ACTIVITY_DAYS = 7


@dataclass(frozen=True, slots=True)
class Scope:
    community_id: int
    group_id: int = COMMUNITY_SCOPE

    @property
    def is_group(self) -> bool:
        return self.group_id != COMMUNITY_SCOPE


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Kpis:
    members: int
    joins: int
    leaves: int
    messages: int
    ad_messages: int
    kol_messages: int
    engaged_7d: int
    activity_rate: float | None
    payers: int
    repeat_payers: int
    payment_rate: float | None
    repurchase_rate: float | None
    renewals_due: int
    renewed: int
    renewal_rate: float | None
    strangers: int
    strangeness_rate: float | None
    ad_ratio: float | None
    kol_share: float | None
    orders: int
    revenue_minor: int


def _members_at_end(scope: Scope, period: Period) -> Q:
    """Members with a seat in the scope at the end of the period, as a filter on MemberFact."""
    end = day_start(period.end)
    return Q(joined_at__lt=end) & (Q(left_at__isnull=True) | Q(left_at__gte=end))


@dataclass(frozen=True, slots=True)
class MemberCounts:
    """The tiles' figures that need a pass over the scope's members."""

    members: int
    payers: int
    repeat_payers: int
    strangers: int


def member_counts(scope: Scope, period: Period) -> MemberCounts:
    """Worked out from the rollups now, for any period (the rollup job keeps the community's
    standard periods ready: ``kpis`` reads those). One pass over the members for a period that
    reaches today or began within the members' day bits' reach (about a year); the paid orders
    and member-days of the period for one that began earlier."""
    today = local_day(clock.now())
    if period.end > today:
        return member_counts_to_today(scope, period)
    if period.start > today - timedelta(days=daybits.window()):
        return member_counts_in_reach(scope, period)
    return member_counts_by_day(scope, period)


def _population(scope: Scope, period: Period) -> QuerySet[MemberFact]:
    return MemberFact.objects.filter(
        community_id=scope.community_id, group_id=scope.group_id
    ).filter(_members_at_end(scope, period))


def member_counts_to_today(scope: Scope, period: Period) -> MemberCounts:
    """For a period that reaches today, no day of the members' pasts is needed: who paid, paid
    twice or interacted since ``start`` is a comparison with each member's last paid order, the
    one before it and last interaction. All four figures are one pass over the members."""
    quiet = Q(last_interaction_day__isnull=True) | Q(last_interaction_day__lt=period.start)
    counts = _population(scope, period).aggregate(
        members=Count("id"),
        payers=Count("id", filter=Q(last_paid_at__gte=day_start(period.start))),
        repeat_payers=Count("id", filter=Q(previous_paid_day__gte=period.start)),
        strangers=Count("id", filter=quiet),
    )
    return MemberCounts(**counts)


def member_counts_in_reach(scope: Scope, period: Period) -> MemberCounts:
    """For a period that ended, from the members' day bits (``quanzi.analytics.daybits``): a
    member whose last interaction (or paid order) fell inside the period interacted (paid)
    in it, one whose last fell before it did not, and for one whose last came after it the
    bits of the period's days tell. All four figures are again one pass over the members.

    The bits reach a year back from each member's last day, so this needs every such day to
    be no later than today and the period to begin less than ``daybits.window()`` days ago
    (``member_counts`` sees to the second; days in the future are refused where data comes in:
    the ingestion API, the imports, the clock of the hub's own activity)."""
    start, end = period.start, period.end
    masks = daybits.masks(start, end)

    def days(prefix: str) -> list[Any]:
        """The member's bits of the period's days, a term per column the period touches."""
        return [F(f"{prefix}_{k}").bitand(mask) for k, mask in enumerate(masks) if mask]

    def inside(name: str) -> Q:
        return Q(**{f"{name}__gte": start, f"{name}__lt": end})

    def later(name: str) -> Q:
        return Q(**{f"{name}__gte": end})

    quiet = Q(last_interaction_day__isnull=True) | Q(last_interaction_day__lt=start)
    quiet |= later("last_interaction_day") & _every(Exact(t, 0) for t in days("interaction_bits"))
    paid = days("paid_bits")
    payers = inside("last_paid_day") | (later("last_paid_day") & _some(_set(t) for t in paid))
    # Two orders in the period: a day of it with two orders, or two of its days paid (two bits
    # in one column, or bits in two columns).
    twice = [_set(t) for t in days("repaid_bits")] + [_set(t.bitand(t - 1)) for t in paid]
    twice += [_set(a) & _set(b) for a, b in itertools.combinations(paid, 2)]
    repeat = (inside("last_paid_day") & Q(previous_paid_day__gte=start)) | (
        later("last_paid_day") & _some(twice)
    )
    counts = _population(scope, period).aggregate(
        members=Count("id"),
        payers=Count("id", filter=payers),
        repeat_payers=Count("id", filter=repeat),
        strangers=Count("id", filter=quiet),
    )
    return MemberCounts(**counts)


def _set(term: Any) -> Q:
    """Some bit of ``term`` is set (the columns hold no sign bit)."""
    return Q(GreaterThan(term, 0))


def _every(conditions: Iterable[Any]) -> Q:
    return functools.reduce(operator.and_, (Q(c) for c in conditions))


def _some(conditions: Iterable[Any]) -> Q:
    return functools.reduce(operator.or_, (Q(c) for c in conditions))


def member_counts_by_day(scope: Scope, period: Period) -> MemberCounts:
    """For any period: from the paid orders and the interacting member-days in it. The members
    at the end are the scope's daily row of the last day, which the rollup job carries on to
    today for every scope; counted from the facts where there is no such row."""
    population = _population(scope, period)
    payers, repeat = _payers(scope, period)
    members = (
        ScopeDay.objects.filter(
            community_id=scope.community_id, group_id=scope.group_id, day=period.last_day
        )
        .values_list("members", flat=True)
        .first()
    )
    return MemberCounts(
        members=population.count() if members is None else members,
        payers=payers,
        repeat_payers=repeat,
        strangers=_strangers(scope, period, population),
    )


def _snapshot(scope: Scope, kind: str, start: date, end: date) -> Any:
    """The rollup job's row for exactly this community-wide question, or None."""
    if scope.is_group:
        return None
    return (
        Snapshot.objects.filter(community_id=scope.community_id, kind=kind, start=start, end=end)
        .values_list("data", flat=True)
        .first()
    )


def group_members_at_end(
    community_id: int, group_ids: Sequence[int], period: Period
) -> dict[int, int]:
    """``members_at_end`` of many groups in one query."""
    counts = dict(
        MemberFact.objects.filter(community_id=community_id, group_id__in=list(group_ids))
        .filter(_members_at_end(Scope(community_id), period))
        .values("group_id")
        .annotate(n=Count("id"))
        .values_list("group_id", "n")
    )
    return {g: counts.get(g, 0) for g in group_ids}


def kpis(scope: Scope, period: Period) -> Kpis:
    stored = _snapshot(scope, SnapshotKind.KPIS, period.start, period.end)
    counted = MemberCounts(**stored) if stored is not None else member_counts(scope, period)
    members = counted.members
    days = ScopeDay.objects.filter(
        community_id=scope.community_id,
        group_id=scope.group_id,
        day__gte=period.start,
        day__lt=period.end,
    ).aggregate(
        joins=Coalesce(Sum("joins"), 0),
        leaves=Coalesce(Sum("leaves"), 0),
        orders=Coalesce(Sum("orders"), 0),
        revenue=Coalesce(Sum("revenue_minor"), 0),
        messages=Coalesce(Sum("messages"), 0),
        ads=Coalesce(Sum("ad_messages"), 0),
        kol=Coalesce(Sum("kol_messages"), 0),
    )
    last = ScopeDay.objects.filter(
        community_id=scope.community_id, group_id=scope.group_id, day=period.last_day
    ).first()
    engaged_7d = last.engaged_7d if last else 0
    messages, ads, kol = days["messages"], days["ads"], days["kol"]
    payers, repeat = counted.payers, counted.repeat_payers
    due, renewed = _renewals(scope, period)
    strangers = counted.strangers
    return Kpis(
        members=members,
        joins=days["joins"],
        leaves=days["leaves"],
        messages=messages,
        ad_messages=ads,
        kol_messages=kol,
        engaged_7d=engaged_7d,
        activity_rate=ratio(min(engaged_7d, members), members),
        payers=payers,
        repeat_payers=repeat,
        payment_rate=ratio(payers, members),
        repurchase_rate=ratio(repeat, payers),
        renewals_due=due,
        renewed=renewed,
        renewal_rate=ratio(renewed, due),
        strangers=strangers,
        strangeness_rate=ratio(strangers, members),
        ad_ratio=ratio(ads, messages),
        kol_share=ratio(kol, messages),
        orders=days["orders"],
        revenue_minor=days["revenue"],
    )


def _payers(scope: Scope, period: Period) -> tuple[int, int]:
    """Members at the end with at least one, and at least two, paid orders in the period."""
    member_at_end = MemberFact.objects.filter(
        community_id=scope.community_id, group_id=scope.group_id, member_id=OuterRef("member_id")
    ).filter(_members_at_end(scope, period))
    per_member = (
        Purchase.objects.filter(
            community_id=scope.community_id, day__gte=period.start, day__lt=period.end
        )
        .filter(Exists(member_at_end))
        .values("member_id")
        .annotate(n=Count("id"))
    )
    counts = per_member.aggregate(
        payers=Count("member_id"), repeat=Count("member_id", filter=Q(n__gte=2))
    )
    return counts["payers"], counts["repeat"]


def _renewals(scope: Scope, period: Period) -> tuple[int, int]:
    """Terms that ended in the period, and those whose membership has a next term paid within
    the renewal window: one query, the next term found by a correlated EXISTS."""
    next_term = MembershipTerm.objects.filter(
        membership_id=OuterRef("membership_id"),
        paid_at__gte=OuterRef("ends_at") - timedelta(days=RENEWAL_DAYS),
        starts_at__gte=OuterRef("ends_at") - timedelta(seconds=1),
        starts_at__lte=OuterRef("ends_at") + timedelta(days=RENEWAL_DAYS),
    )
    counts = MembershipTerm.objects.filter(
        membership__plan__community_id=scope.community_id,
        ends_at__gte=day_start(period.start),
        ends_at__lt=day_start(period.end),
    ).aggregate(due=Count("id"), renewed=Count("id", filter=Q(Exists(next_term))))
    return counts["due"], counts["renewed"]


def _strangers(scope: Scope, period: Period, population: QuerySet[MemberFact]) -> int:
    """Members of the population with no interacting day in the period. NOT EXISTS, not NOT IN:
    PostgreSQL turns the first into an anti-join, but runs the second row by row against the
    whole subquery once it outgrows work_mem (minutes at a million members)."""
    interacted = MemberDay.objects.filter(
        community_id=scope.community_id,
        group_id=scope.group_id,
        member_id=OuterRef("member_id"),
        day__gte=period.start,
        day__lt=period.end,
        interactions__gt=0,
    )
    return population.filter(~Exists(interacted)).count()


@dataclass(frozen=True, slots=True)
class FunnelStep:
    key: str
    members: int
    conversion: float | None  # from the previous step; None for the first


FUNNEL = ("visit", "join", "first_payment", "repurchase", "referral")
_FUNNEL_FIELDS = {
    "visit": "first_visit_at",
    "join": "joined_at",
    "first_payment": "first_paid_at",
    "repurchase": "second_paid_at",
    "referral": "first_referral_at",
}


def funnel(scope: Scope, period: Period) -> list[FunnelStep]:
    start, end = day_start(period.start), day_start(period.end)
    facts = MemberFact.objects.filter(community_id=scope.community_id, group_id=scope.group_id)
    inside = {
        key: Q(**{f"{name}__gte": start, f"{name}__lt": end})
        for key, name in _FUNNEL_FIELDS.items()
    }
    aggregates: dict[str, Any] = {
        "visit": Count("id", filter=inside["visit"]),
        "visit_join": Count("id", filter=inside["visit"] & inside["join"]),
    }
    # From "join" on, nested: each step among those who reached every step before it.
    condition = Q()
    for key in FUNNEL[1:]:
        condition &= inside[key]
        aggregates[key] = Count("id", filter=condition)
    counts = facts.aggregate(**aggregates)
    steps = [FunnelStep("visit", counts["visit"], None)]
    steps.append(FunnelStep("join", counts["join"], ratio(counts["visit_join"], counts["visit"])))
    for previous, key in itertools.pairwise(FUNNEL[1:]):
        steps.append(FunnelStep(key, counts[key], ratio(counts[key], counts[previous])))
    return steps


@dataclass(frozen=True, slots=True)
class DayPoint:
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


def daily(scope: Scope, period: Period) -> list[DayPoint]:
    rows = {
        row.day: row
        for row in ScopeDay.objects.filter(
            community_id=scope.community_id,
            group_id=scope.group_id,
            day__gte=period.start,
            day__lt=period.end,
        )
    }
    before = (
        ScopeDay.objects.filter(
            community_id=scope.community_id, group_id=scope.group_id, day__lt=period.start
        )
        .order_by("-day")
        .values_list("members", flat=True)
        .first()
    )
    members = before or 0
    points = []
    day = period.start
    while day < period.end:
        row = rows.get(day)
        if row is not None:
            members = row.members
        points.append(
            DayPoint(
                day=day,
                members=members,
                joins=row.joins if row else 0,
                leaves=row.leaves if row else 0,
                messages=row.messages if row else 0,
                ad_messages=row.ad_messages if row else 0,
                engaged_7d=row.engaged_7d if row else 0,
                activity_rate=ratio(min(row.engaged_7d, members), members) if row else None,
                payers=row.payers if row else 0,
                revenue_minor=row.revenue_minor if row else 0,
            )
        )
        day += timedelta(days=1)
    return points


@dataclass(frozen=True, slots=True)
class CohortRow:
    week: date
    size: int
    retention: list[float | None] = field(default_factory=list)


def cohorts(scope: Scope, period: Period, weeks: int = 8) -> list[CohortRow]:
    """Members who joined in each week of the period, and the share of them active in the
    scope in each following week (index 0 = the join week). A week not over yet is None."""
    cells = CohortCell.objects.filter(
        community_id=scope.community_id,
        group_id=scope.group_id,
        cohort_week__gte=period.start - timedelta(days=period.start.weekday()),
        cohort_week__lt=period.end,
        week_index__lte=weeks,
    ).order_by("cohort_week", "week_index")
    rows: dict[date, CohortRow] = {}
    for cell in cells:
        row = rows.setdefault(
            cell.cohort_week, CohortRow(week=cell.cohort_week, size=cell.size, retention=[])
        )
        row.retention.append(ratio(cell.retained, cell.size))
    for row in rows.values():
        row.retention.extend([None] * (weeks + 1 - len(row.retention)))
    return list(rows.values())


@dataclass(frozen=True, slots=True)
class Overlap:
    rate: float | None
    members_in_two_or_more: int
    distinct_members: int
    groups: list[tuple[int, str, int]]  # (id, name, members)
    jaccard: list[list[float | None]]


def overlap(community_id: int, group_ids: Sequence[int] | None, at: date, top: int = 20) -> Overlap:
    """Members in two or more of the groups / distinct members in them, and pairwise Jaccard.

    Without ``group_ids``: the rate over every group of the community and the map over its
    ``top`` largest groups, from the seat counts and pairs the rollup job keeps (seats now).
    With them: both over exactly those groups, from their seats at the end of ``at``."""
    end = day_start(at + timedelta(days=1))
    if group_ids is None:
        counts = SeatCount.objects.filter(community_id=community_id)
        whole = counts.filter(group_id=COMMUNITY_SCOPE).first()
        totals = {"distinct": whole.members if whole else 0, "multi": whole.multi if whole else 0}
        sizes = (
            counts.exclude(group_id=COMMUNITY_SCOPE)
            .filter(members__gte=1)
            .order_by("-members", "group_id")
            .values_list("group_id", "members")[:top]
        )
        chosen = list(sizes)
        names = dict(Group.objects.filter(pk__in=[g for g, _ in chosen]).values_list("pk", "name"))
        pairs = {
            (p.group_a_id, p.group_b_id): p.shared
            for p in GroupPair.objects.filter(
                community_id=community_id,
                group_a_id__in=[g for g, _ in chosen],
                group_b_id__in=[g for g, _ in chosen],
            )
        }
        groups = [(g, names.get(g, str(g)), n) for g, n in chosen]
        return Overlap(
            rate=ratio(totals["multi"], totals["distinct"]),
            members_in_two_or_more=totals["multi"],
            distinct_members=totals["distinct"],
            groups=groups,
            jaccard=_jaccard(groups, pairs),
        )
    seats = GroupMembership.objects.filter(
        group__community_id=community_id,
        group_id__in=list(group_ids),
        status__in=[SeatStatus.ACTIVE, SeatStatus.LEFT, SeatStatus.REMOVED],
        joined_at__lt=end,
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end))
    members_of: dict[int, set[int]] = {g: set() for g in group_ids}
    for group_id, member_id in seats.values_list("group_id", "member_id"):
        members_of[group_id].add(member_id)
    names = dict(Group.objects.filter(pk__in=list(group_ids)).values_list("pk", "name"))
    everyone: dict[int, int] = {}
    for people in members_of.values():
        for person in people:
            everyone[person] = everyone.get(person, 0) + 1
    multi = sum(1 for n in everyone.values() if n >= 2)
    groups = [(g, names.get(g, str(g)), len(members_of[g])) for g in group_ids]
    pairs = {}
    for i, a in enumerate(group_ids):
        for b in group_ids[i + 1 :]:
            pairs[(min(a, b), max(a, b))] = len(members_of[a] & members_of[b])
    return Overlap(
        rate=ratio(multi, len(everyone)),
        members_in_two_or_more=multi,
        distinct_members=len(everyone),
        groups=groups,
        jaccard=_jaccard(groups, pairs),
    )


def _jaccard(
    groups: list[tuple[int, str, int]], pairs: dict[tuple[int, int], int]
) -> list[list[float | None]]:
    matrix: list[list[float | None]] = []
    for a, _, size_a in groups:
        row: list[float | None] = []
        for b, _, size_b in groups:
            if a == b:
                row.append(1.0 if size_a else None)
                continue
            shared = pairs.get((min(a, b), max(a, b)), 0)
            row.append(ratio(shared, size_a + size_b - shared))
        matrix.append(row)
    return matrix


@dataclass(frozen=True, slots=True)
class StageCount:
    stage: str
    members: int


def lifecycle(scope: Scope, at: date) -> list[StageCount]:
    """The scope's members at the end of ``at`` by their current lifecycle stage."""
    stored = _snapshot(scope, SnapshotKind.LIFECYCLE, at, at + timedelta(days=1))
    if stored is not None:
        return [StageCount(stage=s, members=stored.get(s, 0)) for s in Stage.values]
    return lifecycle_now(scope, at)


def lifecycle_now(scope: Scope, at: date) -> list[StageCount]:
    period = Period(at, at + timedelta(days=1))
    population = MemberFact.objects.filter(
        community_id=scope.community_id, group_id=scope.group_id
    ).filter(_members_at_end(scope, period))
    counts = dict(
        Member.objects.filter(pk__in=population.values("member_id"))
        .values("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    return [StageCount(stage=s, members=counts.get(s, 0)) for s in Stage.values]


@dataclass(frozen=True, slots=True)
class RfmSegment:
    code: str
    members: int
    revenue_minor: int


RFM_SEGMENTS = (
    # (code, recent, frequent, big spender)
    ("important_value", True, True, True),  # 重要价值客户
    ("important_develop", True, False, True),  # 重要发展客户
    ("important_keep", False, True, True),  # 重要保持客户
    ("important_recall", False, False, True),  # 重要挽留客户
    ("general_value", True, True, False),  # 一般价值客户
    ("general_develop", True, False, False),  # 一般发展客户
    ("general_keep", False, True, False),  # 一般保持客户
    ("general_recall", False, False, False),  # 一般挽留客户
)


def rfm(scope: Scope, at: date) -> list[RfmSegment]:
    """The scope's buyers (members with a paid order by the end of ``at``) in eight segments."""
    stored = _snapshot(scope, SnapshotKind.RFM, at, at + timedelta(days=1))
    if stored is not None:
        return [RfmSegment(code, members, revenue) for code, members, revenue in stored]
    return rfm_now(scope, at)


def rfm_now(scope: Scope, at: date) -> list[RfmSegment]:
    """``rfm`` worked out from the rollups now."""
    end = day_start(at + timedelta(days=1))
    buyers = MemberFact.objects.filter(
        community_id=scope.community_id,
        group_id=scope.group_id,
        first_paid_at__isnull=False,
        last_paid_at__lt=end,
    )
    means = buyers.aggregate(orders=Avg("paid_orders"), revenue=Avg("revenue_minor"))
    total = buyers.count()
    if not total:
        return [RfmSegment(code, 0, 0) for code, *_ in RFM_SEGMENTS]
    mean_last = _mean_last_paid(buyers)
    recent = Q(last_paid_at__gte=mean_last)
    frequent = Q(paid_orders__gte=means["orders"])
    spender = Q(revenue_minor__gte=means["revenue"])
    aggregates: dict[str, Any] = {}
    for code, r, f, m in RFM_SEGMENTS:
        condition = (recent if r else ~recent) & (frequent if f else ~frequent)
        condition &= spender if m else ~spender
        aggregates[code] = Count("id", filter=condition)
        aggregates[f"{code}__revenue"] = Coalesce(Sum("revenue_minor", filter=condition), 0)
    counts = buyers.aggregate(**aggregates)
    return [RfmSegment(code, counts[code], counts[f"{code}__revenue"]) for code, *_ in RFM_SEGMENTS]


def _mean_last_paid(buyers: QuerySet[MemberFact]) -> datetime:
    """The mean of the last purchase times, by local day (a mean of timestamps is not portable
    SQL): one row per distinct day, not one per buyer."""
    epoch = date(2000, 1, 1)
    total = count = 0.0
    for day, n in (
        buyers.annotate(d=TruncDate("last_paid_at")).values("d").annotate(n=Count("id"))
    ).values_list("d", "n"):
        total += (day - epoch).days * n
        count += n
    return day_start(epoch + timedelta(days=round(total / count)))
