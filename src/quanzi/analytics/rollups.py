"""The rollup job: folds new activity and chat into the tables dashboards read.

Each run reads the activity log and the chat messages past their watermarks in chunks. A chunk
is folded into ``MemberDay``, ``Purchase`` and ``MemberFact`` (additive: counters grow, first
times only move earlier, last times only later) and its watermark advances in the same
transaction, so a run killed half-way never counts a row twice and the next run picks up where
it stopped. The scopes and days a chunk touched are then recomputed from those tables:
``ScopeDay`` (the daily lines), ``CohortCell`` (weekly join cohorts) and ``GroupPair`` (shared
members). Two runs at once take turns on the state row's lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from quanzi.analytics import daybits
from quanzi.analytics.calendar import day_start, local_day, week_of
from quanzi.analytics.models import (
    COMMUNITY_SCOPE,
    ChatMessage,
    CohortCell,
    GroupPair,
    MemberDay,
    MemberFact,
    PendingKind,
    Purchase,
    RollupPending,
    RollupState,
    ScopeDay,
    SeatCount,
)
from quanzi.analytics.snapshots import snapshot_store, snapshots_missing
from quanzi.communities.models import Group, GroupMembership, SeatStatus
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind

STATE = "analytics"
CHUNK = 10_000
ANALYZE_FROM = 50_000  # rows folded in one run after which PostgreSQL's statistics are renewed
COHORT_WEEKS = 12  # retention is kept for this many weeks after the join week
ENGAGED = {ActivityKind.MESSAGE, ActivityKind.POST, ActivityKind.VOTE, ActivityKind.CHECK_IN}
INTERACTIONS = {ActivityKind.REPLY, ActivityKind.MENTION, ActivityKind.LIKE}
REFERRALS_MADE = {"referred", "attributed"}
# Seats that were (or are) a real place in the group; a waiting-list place is not membership.
_SEATED = [SeatStatus.ACTIVE, SeatStatus.LEFT, SeatStatus.REMOVED]

Track = Callable[[int], None]


@dataclass
class RollupReport:
    activities: int = 0
    messages: int = 0
    scope_days: int = 0
    scopes: int = 0
    snapshots: int = 0  # communities whose snapshots were worked out again

    def __str__(self) -> str:
        return (
            f"{self.activities} activities and {self.messages} messages folded in; "
            f"{self.scope_days} days of {self.scopes} scopes recomputed; "
            f"snapshots of {self.snapshots} communities worked out"
        )


@dataclass
class _Dirty:
    """What one step touched: (community, group) → the first day to redo, the (community,
    member) pairs whose seats moved, the communities whose pairs are due, and the members whose
    lifecycle stage changed (their communities' snapshots are due)."""

    days: dict[tuple[int, int], date] = field(default_factory=dict)
    seats: set[tuple[int, int]] = field(default_factory=set)
    pairs: set[int] = field(default_factory=set)
    staged: set[int] = field(default_factory=set)

    def touch(self, community_id: int, group_id: int, day: date) -> None:
        self._since((community_id, COMMUNITY_SCOPE), day)
        if group_id:
            self._since((community_id, group_id), day)

    def _since(self, key: tuple[int, int], day: date) -> None:
        if key not in self.days or day < self.days[key]:
            self.days[key] = day


class Fact(NamedTuple):
    """The columns of an activity the rollups read (a model instance costs ten times more)."""

    pk: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    member_id: int | None
    target_member_id: int | None
    community_id: int | None
    group_id: int | None
    channel: str
    amount_minor: int | None
    currency: str
    object_type: str
    object_id: str
    data: dict[str, Any]


_FACT_FIELDS = Fact._fields


def order_key(row: Activity | Fact) -> str:
    """One paid order per shop order number, membership term or imported order; a payment
    that names no order is an order of its own."""
    number = (row.data or {}).get("order")
    if row.object_type == "product" and number:
        return f"order:{number}"
    if row.object_type == "membership_term":
        return f"term:{row.object_id}"
    if row.object_type == "historic_order":
        return f"hist:{row.object_id}"
    return f"pay:{row.pk}"


def rollup_refresh(track: Track | None = None, settle: timedelta | None = None) -> RollupReport:
    """Fold everything new into the rollups and recompute what it touched. Safe to run any time,
    twice, or side by side.

    Rows recorded less than ``settle`` ago (``QUANZI_ROLLUP_SETTLE_SECONDS`` by default) wait for
    the next run: an id is taken at insert but seen at commit, so the watermark must not pass a
    row whose transaction may still have an older one open. Pass ``timedelta(0)`` when nothing
    else is writing (a load, the demo).
    """
    if settle is None:
        settle = timedelta(seconds=settings.QUANZI_ROLLUP_SETTLE_SECONDS)
    cutoff = timezone.now() - settle  # recorded_at is the database's time, not the test clock
    report = RollupReport()
    analyze_at = ANALYZE_FROM
    RollupState.objects.get_or_create(name=STATE)
    while True:
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(name=STATE)
            dirty = _Dirty()
            batch = [
                Fact(*values)
                for values in Activity.objects.filter(id__gt=state.last_activity_id)
                .order_by("id")
                .values_list(*_FACT_FIELDS)[:CHUNK]
            ]
            settled = _settled(batch, lambda a: a.recorded_at, cutoff)
            rows = [a for a in settled if a.community_id is not None]
            dirty.staged.update(
                a.member_id for a in settled if a.kind == ActivityKind.STAGE and a.member_id
            )
            messages = _settled(
                list(
                    ChatMessage.objects.filter(id__gt=state.last_message_id)
                    .order_by("id")
                    .values_list("id", "community_id", "group_id", "sent_at", "created_at")[:CHUNK]
                ),
                lambda m: m[4],
                cutoff,
            )
            if not settled and not messages:
                break
            if rows:
                _fold_activities(rows, dirty)
            if settled:
                state.last_activity_id = settled[-1].pk
            for _, community_id, group_id, sent_at, _ in messages:
                dirty.touch(community_id, group_id, local_day(sent_at))
            if messages:
                state.last_message_id = messages[-1][0]
            _remember(dirty)
            state.updated_at = clock.now()
            state.save()
        report.activities += len(settled)
        report.messages += len(messages)
        if track:
            track(len(rows) + len(messages))
        if report.activities + report.messages >= analyze_at:
            # The fold's own lookups (a member's facts, seats and orders) go by index only once
            # the planner knows the tables have grown: renew their statistics as they double.
            _analyze(MemberDay, MemberFact, Purchase)
            analyze_at *= 2
    big = report.activities + report.messages >= ANALYZE_FROM
    if big:
        # A big load (an import, a simulation) leaves the planner guessing until autovacuum
        # comes by; the recompute's lookups and the dashboards' joins need fresh statistics now.
        _analyze(MemberDay, MemberFact, Purchase)
    today = local_day(clock.now())
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(name=STATE)
        if state.carried_on != today:
            carried = _Dirty()
            _touch_quiet_scopes(carried, today)
            _remember(carried)
            state.carried_on = today
            state.save(update_fields=["carried_on"])
    _recompute(report)
    if big:
        _analyze(MemberFact, ScopeDay, CohortCell, GroupPair, SeatCount)
    return report


def _touch_quiet_scopes(dirty: _Dirty, today: date) -> None:
    """The first run of a day carries every scope's daily rows on to today, those nothing
    happened in as well: members carry forward, the 7-day engaged count moves on (a member who
    posted two days ago still counts), and a new week gets its cohort cells."""
    archived = set(Group.objects.filter(archived_at__isnull=False).values_list("pk", flat=True))
    quiet = (
        ScopeDay.objects.values("community_id", "group_id")
        .annotate(last=Max("day"))
        .filter(last__lt=today)
        .values_list("community_id", "group_id", "last")
    )
    for community_id, group_id, last in quiet:
        if group_id not in archived:
            dirty.touch(community_id, group_id, last + timedelta(days=1))


def _analyze(*models: type[Any]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


_T = TypeVar("_T")


def _settled(rows: list[_T], recorded: Callable[[_T], datetime], cutoff: datetime) -> list[_T]:
    """The rows up to (not including) the first one recorded after ``cutoff``."""
    for index, row in enumerate(rows):
        if recorded(row) >= cutoff:
            return rows[:index]
    return rows


# -- folding a chunk ------------------------------------------------------------------------


def _fold_activities(rows: list[Fact], dirty: _Dirty) -> None:
    days: dict[tuple[int, int, int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    facts: dict[tuple[int, int, int], dict[str, Any]] = defaultdict(dict)
    paid: dict[tuple[int, str], list[Any]] = {}
    referred: list[tuple[int, int, datetime]] = []  # (community, referrer, when)
    met: dict[tuple[int, int, int], set[date]] = defaultdict(set)  # interaction days
    for row in rows:
        cid = row.community_id
        assert cid is not None
        day = local_day(row.occurred_at)
        dirty.touch(cid, row.group_id or 0, day)
        scopes = [COMMUNITY_SCOPE] + ([row.group_id] if row.group_id else [])
        if row.member_id is not None:
            for gid in scopes:
                counts = days[(cid, gid, row.member_id, day)]
                counts[0] += 1
                counts[1] += row.kind in ENGAGED
                counts[2] += row.kind == ActivityKind.MESSAGE
                counts[3] += row.kind in INTERACTIONS
                fact = facts[(cid, gid, row.member_id)]
                _later(fact, "last_active_at", row.occurred_at)
                if row.kind in ENGAGED:
                    _later(fact, "last_engaged_at", row.occurred_at)
                if row.kind in INTERACTIONS:
                    met[(cid, gid, row.member_id)].add(day)
                if row.kind == ActivityKind.VISIT:
                    _earlier(fact, "first_visit_at", row.occurred_at)
        target = row.target_member_id
        if row.kind in INTERACTIONS and target is not None and target != row.member_id:
            # The member replied to, mentioned or liked takes part in the scope too: they get a
            # fact, so "interacted since" is one column of theirs, whenever their seat is read.
            for gid in scopes:
                days[(cid, gid, target, day)][3] += 1
                met[(cid, gid, target)].add(day)
        if row.kind in (ActivityKind.JOIN, ActivityKind.LEAVE) and row.member_id:
            dirty.seats.add((cid, row.member_id))
        referral = (row.data or {}).get("action") in REFERRALS_MADE
        if row.kind == ActivityKind.REFERRAL and row.target_member_id and referral:
            referred.append((cid, row.target_member_id, row.occurred_at))
        if row.kind == ActivityKind.PAY and row.member_id:
            entry = paid.setdefault(
                (cid, order_key(row)), [row.member_id, row.occurred_at, 0, "", ""]
            )
            entry[2] += row.amount_minor or 0
            entry[3] = entry[3] or row.currency
            entry[4] = entry[4] or row.channel
    seated = _groups_of_many({(cid, mid) for cid, mid, _ in referred})
    for cid, mid, moment in referred:
        for gid in [*seated.get((cid, mid), ()), COMMUNITY_SCOPE]:
            _earlier(facts[(cid, gid, mid)], "first_referral_at", moment)
    _upsert_member_days(days)
    _merge_interactions(met, facts)
    touched = _upsert_purchases(paid)
    _fold_purchases(touched, facts)
    # A group's daily orders count its members' orders: a changed order moves the days of every
    # group the buyer is in, and a member new to a group brings their past orders into it.
    # One lookup of the stored group facts serves both.
    people = {(p.community_id, p.member_id) for p in touched}
    people.update((cid, mid) for cid, gid, mid in facts if gid != COMMUNITY_SCOPE)
    stored = _fact_groups(people)
    _touch_orders_in_groups(touched, facts, stored, dirty)
    _touch_past_orders(_new_group_facts(facts, stored), dirty)
    _upsert_facts(facts)


def _merge_interactions(
    met: dict[tuple[int, int, int], set[date]], facts: dict[tuple[int, int, int], dict[str, Any]]
) -> None:
    """Each fact's interaction days in the chunk join the days it has stored: the new last
    interaction day and day bits, read and written under the state lock that every writer of
    them holds."""
    stored: dict[tuple[int, int, int], tuple[date | None, list[int]]] = {}
    people = sorted({(cid, mid) for cid, _, mid in met})
    for part in _chunks(people):
        rows = MemberFact.objects.filter(
            community_id__in={c for c, _ in part}, member_id__in={m for _, m in part}
        ).values_list("community_id", "group_id", "member_id", "last_interaction_day", *_MET)
        for cid, gid, mid, anchor, *bits in rows:
            if (cid, gid, mid) in met:
                stored[(cid, gid, mid)] = (anchor, bits)
    for key, days in met.items():
        anchor, bits = stored.get(key, (None, None))
        last, merged = daybits.merge(anchor, bits, days)
        facts[key]["last_interaction_day"] = last
        facts[key]["_met"] = merged


def _fact_groups(people: set[tuple[int, int]]) -> dict[tuple[int, int], set[int]]:
    """The groups in which each (community, member) has a fact."""
    out: dict[tuple[int, int], set[int]] = defaultdict(set)
    for part in _chunks(sorted(people)):
        rows = (
            MemberFact.objects.filter(
                community_id__in={c for c, _ in part}, member_id__in={m for _, m in part}
            )
            .exclude(group_id=COMMUNITY_SCOPE)
            .values_list("community_id", "member_id", "group_id")
        )
        for cid, mid, gid in rows:
            if (cid, mid) in people:
                out[(cid, mid)].add(gid)
    return out


def _touch_orders_in_groups(
    touched: list[Purchase],
    facts: dict[tuple[int, int, int], dict[str, Any]],
    stored: dict[tuple[int, int], set[int]],
    dirty: _Dirty,
) -> None:
    buyers = {(p.community_id, p.member_id) for p in touched}
    groups = {buyer: set(stored.get(buyer, ())) for buyer in buyers}
    for cid, gid, mid in facts:
        if gid != COMMUNITY_SCOPE and (cid, mid) in buyers:
            groups[(cid, mid)].add(gid)
    for p in touched:
        for gid in groups.get((p.community_id, p.member_id), ()):
            dirty.touch(p.community_id, gid, p.day)


def _new_group_facts(
    keys: Iterable[tuple[int, int, int]], stored: dict[tuple[int, int], set[int]] | None = None
) -> set[tuple[int, int, int]]:
    """The (community, group, member) facts among ``keys`` that are not stored yet (``stored``:
    the groups each member has a fact in, when already looked up)."""
    wanted = {key for key in keys if key[1] != COMMUNITY_SCOPE}
    if not wanted:
        return set()
    have = stored if stored is not None else _fact_groups({(c, m) for c, _, m in wanted})
    return {(cid, gid, mid) for cid, gid, mid in wanted if gid not in have.get((cid, mid), ())}


def _touch_past_orders(keys: set[tuple[int, int, int]], dirty: _Dirty) -> None:
    """Mark each new group fact's group dirty from the member's first paid order."""
    if not keys:
        return
    people = {(cid, mid) for cid, _, mid in keys}
    first: dict[tuple[int, int], date] = {}
    for part in _chunks(sorted(people)):
        rows = (
            Purchase.objects.filter(
                community_id__in={c for c, _ in part}, member_id__in={m for _, m in part}
            )
            .values("community_id", "member_id")
            .annotate(day=Min("day"))
            .values_list("community_id", "member_id", "day")
        )
        for cid, mid, day in rows:
            first[(cid, mid)] = day
    for cid, gid, mid in keys:
        if (cid, mid) in first:
            dirty.touch(cid, gid, first[(cid, mid)])


def _earlier(fact: dict[str, Any], name: str, moment: datetime) -> None:
    if fact.get(name) is None or moment < fact[name]:
        fact[name] = moment


def _later(fact: dict[str, Any], name: str, moment: date) -> None:
    if fact.get(name) is None or moment > fact[name]:
        fact[name] = moment


def _groups_of_many(people: set[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
    """The groups each (community, member) has or had a seat in."""
    out: dict[tuple[int, int], list[int]] = defaultdict(list)
    for part in _chunks(sorted(people)):
        seats = GroupMembership.objects.filter(
            member_id__in={m for _, m in part},
            group__community_id__in={c for c, _ in part},
            status__in=_SEATED,
        ).values_list("group__community_id", "member_id", "group_id")
        for cid, mid, gid in seats:
            if (cid, mid) in people:
                out[(cid, mid)].append(gid)
    return out


def _chunks(items: list[Any], size: int = 2000) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(
    model: type[Any],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    updates: dict[str, str],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE in plain SQL: the ORM's bulk_create spends most of
    a rollup preparing values one by one. ``updates`` maps a column to its SQL expression over
    the stored row (``t``) and the new one (``excluded``); both SQLite and PostgreSQL speak this
    dialect. ``rows`` must not repeat a key.

    PostgreSQL gets each column as one array and unnests them: one statement and one round trip
    per 20,000 rows instead of one per row. SQLite, in process, takes them one by one."""
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(columns)
    sets = ", ".join(f"{column} = {expression}" for column, expression in updates.items())
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(
                f"%s::{model._meta.get_field(column).db_type(connection)}[]" for column in columns
            )
            sql = (
                f"INSERT INTO {table} AS t ({names}) "  # noqa: S608 - model constants
                f"SELECT * FROM unnest({arrays}) {conflict}"
            )
            for part in _chunks(rows, 20_000):
                cursor.execute(sql, [list(column) for column in zip(*part, strict=True)])
            return
        # SQLite keeps times as naive UTC text and days as ISO text: convert those columns only.
        ops = connection.ops
        converters = [
            ops.adapt_datetimefield_value
            if model._meta.get_field(column).get_internal_type() == "DateTimeField"
            else (
                _iso if model._meta.get_field(column).get_internal_type() == "DateField" else None
            )
            for column in columns
        ]
        if any(converters):
            rows = [
                tuple(
                    v if convert is None or v is None else convert(v)
                    for convert, v in zip(converters, row, strict=True)
                )
                for row in rows
            ]
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} AS t ({names}) VALUES ({marks}) {conflict}"  # noqa: S608
        for part in _chunks(rows, 5000):
            cursor.executemany(sql, part)


def _iso(day: date) -> str:
    return day.isoformat()


def _earliest(column: str) -> str:
    return (
        f"CASE WHEN excluded.{column} IS NULL THEN t.{column} WHEN t.{column} IS NULL "
        f"THEN excluded.{column} WHEN excluded.{column} < t.{column} THEN excluded.{column} "
        f"ELSE t.{column} END"
    )


def _latest(column: str) -> str:
    return (
        f"CASE WHEN excluded.{column} IS NULL THEN t.{column} WHEN t.{column} IS NULL "
        f"THEN excluded.{column} WHEN excluded.{column} > t.{column} THEN excluded.{column} "
        f"ELSE t.{column} END"
    )


_DAY_KEYS = ("community_id", "group_id", "member_id", "day")
_DAY_COUNTERS = ("actions", "engaged", "messages", "interactions")


def _upsert_member_days(days: dict[tuple[int, int, int, date], list[int]]) -> None:
    """Counters add up: a row already there gets the chunk's counts added to its own."""
    _upsert(
        MemberDay,
        _DAY_KEYS,
        (*_DAY_KEYS, *_DAY_COUNTERS),
        [(*key, *counts) for key, counts in days.items()],
        {c: f"t.{c} + excluded.{c}" for c in _DAY_COUNTERS},
    )


def _upsert_purchases(paid: dict[tuple[int, str], list[Any]]) -> list[Purchase]:
    """Store the chunk's paid orders; an order whose lines span two chunks adds up. Returns them
    all: a grown order moves its buyer's revenue as a new one moves their counts."""
    existing: dict[tuple[int, str], Purchase] = {}
    for part in _chunks(list(paid)):
        found = Purchase.objects.filter(
            community_id__in={cid for cid, _ in part}, order_key__in=[key for _, key in part]
        )
        for row in found:
            if (row.community_id, row.order_key) in paid:
                existing[(row.community_id, row.order_key)] = row
    out = []
    for (cid, key), (member_id, paid_at, amount, currency, channel) in paid.items():
        old = existing.get((cid, key))
        row = Purchase(
            community_id=cid,
            member_id=old.member_id if old else member_id,
            order_key=key,
            paid_at=old.paid_at if old else paid_at,
            day=old.day if old else local_day(paid_at),
            amount_minor=amount + (old.amount_minor if old else 0),
            currency=currency or (old.currency if old else "CNY"),
            channel=(old.channel if old else "") or channel,
        )
        out.append(row)
    Purchase.objects.bulk_create(
        out,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["community_id", "order_key"],
        update_fields=["amount_minor", "currency", "channel"],
    )
    return out


def _fold_purchases(
    touched: list[Purchase], facts: dict[tuple[int, int, int], dict[str, Any]]
) -> None:
    """Paid-order milestones of the members who bought, in every scope they have a fact in."""
    if not touched:
        return
    buyers = {(p.community_id, p.member_id) for p in touched}
    by_buyer: dict[tuple[int, int], list[Purchase]] = defaultdict(list)
    for part in _chunks(sorted(buyers)):
        found = Purchase.objects.filter(
            community_id__in={cid for cid, _ in part}, member_id__in=[mid for _, mid in part]
        ).only("community_id", "member_id", "paid_at", "day", "amount_minor")
        for row in found:
            if (row.community_id, row.member_id) in buyers:
                by_buyer[(row.community_id, row.member_id)].append(row)
    groups = _groups_of_many(buyers)
    for (cid, mid), purchases in by_buyer.items():
        purchases.sort(key=lambda p: p.paid_at)
        per_day = Counter(p.day for p in purchases)
        last_day = max(per_day)
        paid_bits = daybits.encode(per_day, last_day)
        repaid_bits = daybits.encode([d for d, n in per_day.items() if n > 1], last_day)
        summary = {
            "first_paid_at": purchases[0].paid_at,
            "second_paid_at": purchases[1].paid_at if len(purchases) > 1 else None,
            "last_paid_at": purchases[-1].paid_at,
            "previous_paid_day": purchases[-2].day if len(purchases) > 1 else None,
            "paid_orders": len(purchases),
            "paid_days": len({p.day for p in purchases}),
            "revenue_minor": sum(p.amount_minor for p in purchases),
            "last_paid_day": last_day,
            **dict(zip(_PAID_BITS, paid_bits, strict=True)),
            **dict(zip(_REPAID_BITS, repaid_bits, strict=True)),
        }
        for gid in [COMMUNITY_SCOPE, *groups.get((cid, mid), ())]:
            facts[(cid, gid, mid)]["_paid"] = summary


_TIMES_EARLIER = ("first_visit_at", "first_referral_at")
_TIMES_LATER = ("last_active_at", "last_engaged_at", "last_interaction_day")
_MET = tuple(f"interaction_bits_{k}" for k in range(daybits.COLUMNS))
_PAID_BITS = tuple(f"paid_bits_{k}" for k in range(daybits.COLUMNS))
_REPAID_BITS = tuple(f"repaid_bits_{k}" for k in range(daybits.COLUMNS))


_FACT_KEYS = ("community_id", "group_id", "member_id")
# The columns a new fact starts at 0 in (the raw INSERT gives no defaults of its own).
_FACT_ZEROS = (
    "paid_orders",
    "paid_days",
    "revenue_minor",
    "group_count",
    *_MET,
    *_PAID_BITS,
    *_REPAID_BITS,
)


def _zeros(*written: str) -> tuple[str, ...]:
    return tuple(name for name in _FACT_ZEROS if name not in written)


def _upsert_facts(facts: dict[tuple[int, int, int], dict[str, Any]]) -> None:
    """First times only move earlier and last times later; a buyer's paid summary (recomputed
    from their orders) replaces the stored one."""
    times = (*_TIMES_EARLIER, *_TIMES_LATER)
    zeros = _zeros(*_MET)
    # A fact with interactions in the chunk brings its merged day bits; the others keep theirs.
    met = "CASE WHEN excluded.last_interaction_day IS NULL THEN t.{0} ELSE excluded.{0} END"
    _upsert(
        MemberFact,
        _FACT_KEYS,
        (*_FACT_KEYS, *times, *zeros, *_MET),
        [
            (
                *key,
                *(values.get(name) for name in times),
                *(0 for _ in zeros),
                *values.get("_met", daybits.EMPTY),
            )
            for key, values in facts.items()
        ],
        {
            **{name: _earliest(name) for name in _TIMES_EARLIER},
            **{name: _latest(name) for name in _TIMES_LATER},
            **{name: met.format(name) for name in _MET},
        },
    )
    paid = [(key, values["_paid"]) for key, values in facts.items() if "_paid" in values]
    zeros = _zeros(*_PAID_FIELDS)
    _upsert(
        MemberFact,
        _FACT_KEYS,
        (*_FACT_KEYS, *_PAID_FIELDS, *zeros),
        [
            (*key, *(summary[name] for name in _PAID_FIELDS), *(0 for _ in zeros))
            for key, summary in paid
        ],
        {name: f"excluded.{name}" for name in _PAID_FIELDS},
    )


_PAID_FIELDS = (
    "first_paid_at",
    "second_paid_at",
    "last_paid_at",
    "previous_paid_day",
    "paid_orders",
    "paid_days",
    "revenue_minor",
    "last_paid_day",
    *_PAID_BITS,
    *_REPAID_BITS,
)


# -- recomputing what a run touched ---------------------------------------------------------


_PENDING_KEYS = ("kind", "community_id", "group_id", "member_id")


def _remember(dirty: _Dirty) -> None:
    """Write what a step left to recompute, in the step's own transaction. A community whose
    days moved has its snapshots due too: its facts moved with them."""
    snapshots = {community_id for community_id, _ in dirty.days}
    if dirty.staged:
        # A stage change names a member, not a community: the lifecycle counts of every
        # community they are in move.
        snapshots.update(
            MemberFact.objects.filter(group_id=COMMUNITY_SCOPE, member_id__in=dirty.staged)
            .values_list("community_id", flat=True)
            .distinct()
        )
    rows = [
        *((PendingKind.SCOPE.value, c, g, 0, since) for (c, g), since in dirty.days.items()),
        *((PendingKind.SEATS.value, c, 0, m, None) for c, m in dirty.seats),
        *((PendingKind.PAIRS.value, c, 0, 0, None) for c in dirty.pairs),
        *((PendingKind.SNAPSHOTS.value, c, 0, 0, None) for c in snapshots),
    ]
    _upsert(
        RollupPending,
        _PENDING_KEYS,
        (*_PENDING_KEYS, "since"),
        rows,
        {"since": _earliest("since")},
    )


def _recompute(report: RollupReport) -> None:
    """Recompute everything pending, this run's and any stopped run's. Each step (a thousand
    members' seats, one scope's days, one community's pairs and snapshots) reads its pending
    rows, recomputes and removes them in one transaction under the state row's lock: a fold,
    which takes the same lock, never slips a row in between, and no step holds the database
    for longer than itself."""
    while True:
        with transaction.atomic():
            RollupState.objects.select_for_update().get(name=STATE)
            part = list(
                RollupPending.objects.filter(kind=PendingKind.SEATS)
                .order_by("community_id", "member_id")
                .values_list("pk", "community_id", "member_id")[:1000]
            )
            if not part:
                break
            step = _Dirty(pairs={cid for _, cid, _ in part})
            _refresh_seats([(cid, mid) for _, cid, mid in part], step)
            _remember(step)
            RollupPending.objects.filter(pk__in=[pk for pk, _, _ in part]).delete()
    scopes = list(
        RollupPending.objects.filter(kind=PendingKind.SCOPE)
        .order_by("community_id", "group_id")
        .values_list("pk", flat=True)
    )
    for pk in scopes:
        with transaction.atomic():
            # One recompute at a time: a second run waits here, then finds nothing left.
            RollupState.objects.select_for_update().get(name=STATE)
            row = RollupPending.objects.filter(pk=pk).first()
            if row is None or row.since is None:
                continue
            report.scope_days += _scope_days(row.community_id, row.group_id, row.since)
            report.scopes += 1
            _cohorts(row.community_id, row.group_id, row.since)
            row.delete()
    communities = sorted(
        set(
            RollupPending.objects.filter(kind__in=[PendingKind.PAIRS, PendingKind.SNAPSHOTS])
            .values_list("community_id", flat=True)
            .distinct()
        )
    )
    for community_id in communities:
        with transaction.atomic():
            RollupState.objects.select_for_update().get(name=STATE)
            due = RollupPending.objects.filter(
                community_id=community_id, kind__in=[PendingKind.PAIRS, PendingKind.SNAPSHOTS]
            )
            kinds = set(due.values_list("kind", flat=True))
            if PendingKind.PAIRS in kinds:
                _pairs(community_id)
            if kinds:
                snapshot_store(community_id)
                report.snapshots += 1
            due.delete()
    # Communities with rollups but no snapshots for today (a first run after an upgrade).
    for community_id in sorted(snapshots_missing()):
        snapshot_store(community_id)
        report.snapshots += 1


def _refresh_seats(part: list[tuple[int, int]], dirty: _Dirty) -> None:
    """Join and leave times and seat counts of members whose seats moved, from the seats."""
    wanted = set(part)
    members = {mid for _, mid in part}
    communities = {cid for cid, _ in part}
    seats = GroupMembership.objects.filter(
        member_id__in=members, group__community_id__in=communities, status__in=_SEATED
    ).values_list("group__community_id", "group_id", "member_id", "joined_at", "ended_at", "status")
    per: dict[tuple[int, int, int], list[tuple[datetime | None, datetime | None, bool]]] = (
        defaultdict(list)
    )
    for cid, gid, mid, joined, ended, status in seats:
        if (cid, mid) in wanted:
            seat = (joined, ended, status == SeatStatus.ACTIVE)
            per[(cid, gid, mid)].append(seat)
            per[(cid, COMMUNITY_SCOPE, mid)].append(seat)
    out: list[tuple[Any, ...]] = []
    seat_columns = ("joined_at", "left_at", "group_count")
    zeros = _zeros(*seat_columns)
    for key, rows in per.items():
        live = sum(1 for r in rows if r[2])
        joins_at = [r[0] for r in rows if r[0] is not None]
        ends_at = [r[1] for r in rows if r[1] is not None]
        joined = min(joins_at) if joins_at else None
        left = None if live else max(ends_at, default=None)
        if joined is not None and left is not None and left < joined:
            # Seats that ended before they began (out-of-order history) never made a member:
            # leaving as they join keeps the daily member line equal to a count of the facts.
            left = joined
        out.append(
            (
                *key,
                joined,
                left,
                live if key[1] == COMMUNITY_SCOPE else min(live, 1),
                *(0 for _ in zeros),
            )
        )
        for moment in [*joins_at, *ends_at]:
            dirty.touch(key[0], key[1], local_day(moment))
    _touch_past_orders(_new_group_facts(per), dirty)
    _upsert(
        MemberFact,
        _FACT_KEYS,
        (*_FACT_KEYS, *seat_columns, *zeros),
        out,
        {name: f"excluded.{name}" for name in seat_columns},
    )
    # A group's facts carry the member's community-wide orders and referrals, whenever the seat
    # came: copied from the community's fact, so a purchase folded before the seat counts too.
    copied = (*_PAID_FIELDS, "first_referral_at")
    whole = {
        (row[0], row[1]): row[2:]
        for row in MemberFact.objects.filter(
            community_id__in=communities, group_id=COMMUNITY_SCOPE, member_id__in=members
        ).values_list("community_id", "member_id", *copied)
    }
    zeros = _zeros(*copied)
    group_rows = [
        (*key, *whole[(key[0], key[2])], *(0 for _ in zeros))
        for key in per
        if key[1] != COMMUNITY_SCOPE and (key[0], key[2]) in whole
    ]
    _upsert(
        MemberFact,
        _FACT_KEYS,
        (*_FACT_KEYS, *copied, *zeros),
        group_rows,
        {name: f"excluded.{name}" for name in copied},
    )


def _scope_filter(community_id: int, group_id: int) -> dict[str, int]:
    return {"community_id": community_id, "group_id": group_id}


def _scope_days(community_id: int, group_id: int, since: date) -> int:
    """Recompute a scope's daily rows from ``since`` to today (members carry forward, so a
    change on one day moves every later day's count)."""
    today = local_day(clock.now())
    first = min(since, today)
    scope = _scope_filter(community_id, group_id)
    facts = MemberFact.objects.filter(**scope, joined_at__isnull=False)
    # Members at the end of each day: joined before it ended, not left by then. Those before
    # ``first`` are counted by the database; only the moves since are read.
    start = day_start(first)
    base = facts.filter(joined_at__lt=start).count() - facts.filter(left_at__lt=start).count()
    joins: dict[date, int] = defaultdict(int)
    leaves: dict[date, int] = defaultdict(int)
    for (joined,) in (
        facts.filter(joined_at__gte=start).values_list("joined_at").iterator(chunk_size=20_000)
    ):
        assert joined is not None
        joins[local_day(joined)] += 1
    for (left,) in (
        facts.filter(left_at__gte=start).values_list("left_at").iterator(chunk_size=20_000)
    ):
        assert left is not None
        leaves[local_day(left)] += 1
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    md = MemberDay.objects.filter(**scope, day__gte=first)
    for row in md.values("day").annotate(
        active=Count("member_id"),
        engaged=Count("member_id", filter=Q(engaged__gt=0)),
    ):
        per_day[row["day"]]["active_members"] = row["active"]
        per_day[row["day"]]["engaged_members"] = row["engaged"]
    # Engaged over the 7 days ending each day: each engaged day covers itself and the next six;
    # a sweep in day order adds each member once per covered day (a difference array).
    covered_to: dict[int, date] = {}
    diff: dict[date, int] = defaultdict(int)
    for member_id, day in (
        MemberDay.objects.filter(**scope, day__gte=first - timedelta(days=6), engaged__gt=0)
        .order_by("day")
        .values_list("member_id", "day")
        .iterator(chunk_size=20_000)
    ):
        cover_from, cover_to = day, day + timedelta(days=6)
        if member_id in covered_to:
            cover_from = max(cover_from, covered_to[member_id] + timedelta(days=1))
        if cover_from <= cover_to:
            diff[cover_from] += 1
            diff[cover_to + timedelta(days=1)] -= 1
            covered_to[member_id] = cover_to
    engaged_7d: dict[date, int] = {}
    running = sum(n for d, n in diff.items() if d < first)
    day = first
    while day <= today:
        running += diff.get(day, 0)
        engaged_7d[day] = running
        day += timedelta(days=1)
    msgs = ChatMessage.objects.filter(community_id=community_id, sent_at__gte=day_start(first))
    if group_id:
        msgs = msgs.filter(group_id=group_id)
    for sent_at, promo, operator, kol, sender in msgs.values_list(
        "sent_at", "is_promotion", "from_operator", "from_kol", "member_id"
    ).iterator(chunk_size=20_000):
        counts = per_day[local_day(sent_at)]
        counts["messages"] += 1
        counts["ad_messages"] += promo and not operator
        counts["kol_messages"] += kol
        counts["unknown_messages"] += sender is None
    visits = Activity.objects.filter(
        community_id=community_id, kind=ActivityKind.VISIT, occurred_at__gte=day_start(first)
    )
    if group_id:
        visits = visits.filter(group_id=group_id)
    for (moment,) in visits.values_list("occurred_at").iterator(chunk_size=20_000):
        per_day[local_day(moment)]["visits"] += 1
    buys = Purchase.objects.filter(community_id=community_id, day__gte=first)
    if group_id:
        buys = buys.filter(member_id__in=MemberFact.objects.filter(**scope).values("member_id"))
    for row in buys.values("day").annotate(
        payers=Count("member_id", distinct=True), orders=Count("id"), revenue=Sum("amount_minor")
    ):
        per_day[row["day"]]["payers"] = row["payers"]
        per_day[row["day"]]["orders"] = row["orders"]
        per_day[row["day"]]["revenue_minor"] = row["revenue"] or 0
    out: list[tuple[Any, ...]] = []
    members = base
    day = first
    while day <= today:
        members += joins.get(day, 0) - leaves.get(day, 0)
        counts = per_day.get(day, {})
        out.append(
            (
                community_id,
                group_id,
                day,
                members,
                joins.get(day, 0),
                leaves.get(day, 0),
                engaged_7d[day],
                *(counts.get(k, 0) for k in _DAY_COUNTS),
            )
        )
        day += timedelta(days=1)
    values = ("members", "joins", "leaves", "engaged_7d", *_DAY_COUNTS)
    _upsert(
        ScopeDay,
        ("community_id", "group_id", "day"),
        ("community_id", "group_id", "day", *values),
        out,
        {name: f"excluded.{name}" for name in values},
    )
    return len(out)


_DAY_COUNTS = (
    "visits",
    "messages",
    "ad_messages",
    "kol_messages",
    "unknown_messages",
    "active_members",
    "engaged_members",
    "payers",
    "orders",
    "revenue_minor",
)


def _cohorts(community_id: int, group_id: int, since: date) -> None:
    """Weekly join cohorts of the scope and, for each of the next weeks, how many of each cohort
    had any activity in the scope that week.

    A change on or after ``since`` moves only the cells of its week and later: activity before
    that week is as it was, and a member's join moves their cohort only by a seat whose day is
    itself a change. So those cells are recounted from that week's member-days on (a run of the
    rollup job reads a week of them, not the twelve every cohort spans), and the earlier cells
    of the cohorts that joined within ``COHORT_WEEKS`` weeks before it keep their counts and
    take their cohort's size."""
    scope = _scope_filter(community_id, group_id)
    changed = week_of(since)
    horizon = changed - timedelta(weeks=COHORT_WEEKS)
    cohort_of: dict[int, date] = {}
    for member_id, joined in (
        MemberFact.objects.filter(**scope, joined_at__gte=day_start(horizon))
        .values_list("member_id", "joined_at")
        .iterator(chunk_size=20_000)
    ):
        assert joined is not None
        cohort_of[member_id] = week_of(local_day(joined))
    sizes: dict[date, int] = defaultdict(int)
    for week in cohort_of.values():
        sizes[week] += 1
    # In member order, so each member's weeks are counted once without holding every set.
    active: dict[tuple[date, int], int] = defaultdict(int)
    current, seen = -1, set[int]()
    rows = MemberDay.objects.filter(**scope, day__gte=changed, actions__gt=0)
    for member_id, day in (
        rows.order_by("member_id", "day")
        .values_list("member_id", "day")
        .iterator(chunk_size=20_000)
        if cohort_of
        else ()
    ):
        if member_id != current:
            current, seen = member_id, set()
        cohort = cohort_of.get(member_id)
        if cohort is None:
            continue
        index = (week_of(day) - cohort).days // 7
        if 0 <= index <= COHORT_WEEKS and index not in seen:
            seen.add(index)
            active[(cohort, index)] += 1
    this_week = week_of(local_day(clock.now()))
    cells = []
    for cohort, size in sizes.items():
        last = min(COHORT_WEEKS, (this_week - cohort).days // 7)
        for index in range(_first_changed(cohort, changed), last + 1):
            cells.append(
                CohortCell(
                    **scope,
                    cohort_week=cohort,
                    week_index=index,
                    size=size,
                    retained=active.get((cohort, index), 0),
                )
            )
    stored = CohortCell.objects.filter(**scope, cohort_week__gte=horizon)
    stored.filter(cohort_week__gte=changed).delete()
    earlier = stored.filter(cohort_week__lt=changed)
    earlier.exclude(cohort_week__in=list(sizes)).delete()
    for cohort, size in sizes.items():
        if cohort < changed:
            kept = earlier.filter(cohort_week=cohort)
            kept.filter(week_index__gte=_first_changed(cohort, changed)).delete()
            kept.update(size=size)
    CohortCell.objects.bulk_create(cells, batch_size=2000)


def _first_changed(cohort: date, changed: date) -> int:
    """The first of a cohort's week indexes on or after the week ``changed``."""
    return max(0, (changed - cohort).days // 7)


def _pairs(community_id: int) -> None:
    """How many members each two groups of the community share now, each group's live seats,
    and the community's members with a live seat in one group or more, and in two or more."""
    live = GroupMembership.objects.filter(
        group__community_id=community_id, status=SeatStatus.ACTIVE
    )
    groups_of: dict[int, list[int]] = defaultdict(list)
    for member_id, group_id in live.values_list("member_id", "group_id").iterator(
        chunk_size=20_000
    ):
        groups_of[member_id].append(group_id)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for groups in groups_of.values():
        if len(groups) < 2:
            continue
        ordered = sorted(set(groups))
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                shared[(a, b)] += 1
    sizes: dict[int, int] = defaultdict(int)
    for groups in groups_of.values():
        for group_id in set(groups):
            sizes[group_id] += 1
    counts = [SeatCount(community_id=community_id, group_id=g, members=n) for g, n in sizes.items()]
    counts.append(
        SeatCount(
            community_id=community_id,
            group_id=COMMUNITY_SCOPE,
            members=len(groups_of),
            multi=sum(1 for groups in groups_of.values() if len(set(groups)) >= 2),
        )
    )
    SeatCount.objects.filter(community_id=community_id).delete()
    SeatCount.objects.bulk_create(counts, batch_size=2000)
    GroupPair.objects.filter(community_id=community_id).delete()
    GroupPair.objects.bulk_create(
        [
            GroupPair(community_id=community_id, group_a_id=a, group_b_id=b, shared=n)
            for (a, b), n in shared.items()
        ],
        batch_size=2000,
    )


def live_group_ids(community_id: int) -> list[int]:
    return list(
        Group.objects.filter(community_id=community_id, archived_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def first_and_last_day(community_id: int) -> tuple[date | None, date | None]:
    span = ScopeDay.objects.filter(community_id=community_id, group_id=COMMUNITY_SCOPE).aggregate(
        first=Min("day"), last=Max("day")
    )
    return span["first"], span["last"]


def iter_days(start: date, end: date) -> Iterable[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)
