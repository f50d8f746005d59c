"""A realistic community at any size, for benchmarks and demos (``quanzi simulate``).

What it makes, deterministic for a seed, ending at ``clock.now()``:

- groups of uneven sizes; members seated in one group, a quarter of them in a second and some
  in a third (overlap), joining over the period with an early burst (cohorts), a few leaving;
- one KOL seat per group, who talks a lot;
- a day-by-day stream of activity with a weekly rhythm and heavy tails (long-time members talk
  most): messages (each also a chat message), replies, mentions and likes between members of a
  group, posts, votes, check-ins, paid orders (repeat buyers come back), tracked-link visits
  before joining and referrals;
- about one group in seven dying: its activity fades over the last third of the period while ads
  from strangers rise and its KOL goes quiet; one in seven growing; the rest steady.

Rows go in by the thousand (PostgreSQL's COPY, or one ``executemany`` on SQLite), so ten
million activities take minutes, and memory stays bounded: one day is generated at a time.
"""

from __future__ import annotations

import json
import time as timer
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.analytics.models import ChatMessage, ChatSender
from quanzi.communities.models import Community, Group, GroupMembership, KolSeat, SeatStatus
from quanzi.communities.services.setup import community_create
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity
from quanzi.members.models import Member

Track = Callable[[str, int, int], None]  # (step, done, total)

KINDS = np.array(["message", "reply", "mention", "like", "post", "vote", "check_in", "pay", "view"])
WEIGHTS = np.array([0.46, 0.15, 0.04, 0.10, 0.03, 0.03, 0.04, 0.10, 0.05])
WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.35, 1.3])  # Monday first
AD_TEXTS = (
    "兼职日赚300 加我微信 wxid_{n} 私聊",
    "扫码领券 https://t.cn/A{n}",
    "代购正品 低价包邮 +v {n}",
)
CHATTER = (
    "今天团的螃蟹到了吗",
    "早上好",
    "这个怎么用?",
    "谢谢群主",
    "明天几点开团",
    "已下单",
    "好吃!",
)
BATCH = 20_000


@dataclass
class SimulationReport:
    community: Community
    members: int
    groups: int
    seats: int
    activities: int
    messages: int
    orders: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.community.slug}: {self.members:,} members in {self.groups:,} groups "
            f"({self.seats:,} seats), {self.activities:,} activities, {self.messages:,} chat "
            f"messages, {self.orders:,} paid orders in {self.seconds:.1f} s"
        )


def _check(members: int, groups: int, days: int, activities: int) -> None:
    if members < 1:
        raise ApplicationError(_("--members must be at least 1."), field="members")
    if groups < 1:
        raise ApplicationError(_("--groups must be at least 1."), field="groups")
    if groups > members:
        raise ApplicationError(_("--groups cannot be more than --members."), field="groups")
    if not 1 <= days <= 3650:
        raise ApplicationError(_("--days is 1 to 3650."), field="days")
    if activities < 0:
        raise ApplicationError(_("--activities cannot be negative."), field="activities")


def simulate(
    *,
    members: int,
    groups: int,
    days: int,
    activities: int | None = None,
    seed: int = 0,
    slug: str = "",
    track: Track | None = None,
) -> SimulationReport:
    activities = members * 10 if activities is None else activities
    _check(members, groups, days, activities)
    slug = slug or f"sim-{members}-{groups}-{days}-{seed}"
    if Community.objects.filter(slug=slug).exists():
        raise ApplicationError(
            _("Community %(slug)s exists already; pick another with --community.") % {"slug": slug},
            field="community",
        )
    started = timer.monotonic()
    rng = np.random.default_rng(seed)
    end = clock.now()
    first_day = timezone.localtime(end).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) - timedelta(days=days - 1)
    note = track or (lambda step, done, total: None)
    latest = end - timedelta(seconds=1)  # nothing happens after now
    with transaction.atomic():
        community = community_create(
            slug=slug, name=f"模拟社群 {members:,}", kind="product", description="quanzi simulate"
        )
        group_ids = _groups(community, groups)
    # Seats: every member in one group (sizes uneven), some in a second and third.
    sizes = rng.dirichlet(np.full(groups, 2.0))
    primary = rng.choice(groups, size=members, p=sizes)
    join_day = np.minimum((rng.beta(1.2, 2.2, size=members) * days).astype(int), days - 1)
    member_ids = _members(members, note)
    seat_rows: list[tuple[int, int, int, bool]] = []  # (member index, group index, day, left)
    for i in range(members):
        seat_rows.append((i, int(primary[i]), int(join_day[i]), False))
    extra = rng.random(members)
    for share, spread in ((0.25, 30), (0.05, 60)):  # a second group, then a third
        for index in np.nonzero(extra < share)[0]:
            i, other = int(index), int(rng.integers(groups))
            if groups > 1 and other != primary[i]:
                day = min(days - 1, int(join_day[i]) + int(rng.integers(0, spread)))
                seat_rows.append((i, other, day, False))
    seen: set[tuple[int, int]] = set()
    unique_seats = []
    for row in seat_rows:
        if (row[0], row[1]) not in seen:
            seen.add((row[0], row[1]))
            unique_seats.append(row)
    leave_at: dict[int, int] = {
        int(k): min(days - 1, unique_seats[int(k)][2] + int(rng.integers(7, 90)))
        for k in np.nonzero(rng.random(len(unique_seats)) < 0.05)[0]
    }
    seat_facts = _seats(unique_seats, leave_at, group_ids, member_ids, first_day, latest, note)
    arrivals = _arrivals(
        rng, unique_seats[:members], join_day, member_ids, community, first_day, latest
    )
    # Health trajectories: dying groups fade over the last third, growing ones gain.
    fate = rng.random(groups)
    dying = fate < 1 / 7
    growing = (fate >= 1 / 7) & (fate < 2 / 7)
    kol_index = _kols(unique_seats, groups, group_ids, member_ids)
    senders = _senders(community, member_ids, groups, note)
    # Members of each group in join order, to pick speakers who have joined already.
    by_group: list[list[tuple[int, int]]] = [[] for _ in range(groups)]
    for member_index, group_index, day, _left in unique_seats:
        by_group[group_index].append((day, member_index))
    for rows in by_group:
        rows.sort()
    group_days = [np.array([d for d, _m in rows]) for rows in by_group]
    group_members = [np.array([m for _d, m in rows]) for rows in by_group]
    group_weight = np.array([len(rows) for rows in by_group], dtype=float)
    seat_count = len(unique_seats)
    join_rows = seat_facts + arrivals
    stream = max(activities - join_rows, 0)
    per_day = WEEKDAY[[(first_day + timedelta(days=d)).weekday() for d in range(days)]]
    per_day = per_day * np.linspace(0.7, 1.2, days)  # a community that grows
    counts = rng.multinomial(stream, per_day / per_day.sum())
    order_no = 0
    written = messages = orders = 0
    activity_rows: list[tuple[Any, ...]] = []
    message_rows: list[tuple[Any, ...]] = []
    tail = days * 2 // 3
    for day in range(days):
        base = first_day + timedelta(days=day)
        fade = np.ones(groups)
        if day >= tail:
            progress = (day - tail) / max(days - tail, 1)
            fade = np.where(dying, 1.0 - 0.9 * progress, fade)
            fade = np.where(growing, 1.0 + 0.8 * progress, fade)
        eligible = np.array(
            [np.searchsorted(group_days[g], day, side="right") for g in range(groups)]
        )
        weight = group_weight * fade * (eligible > 0)
        if weight.sum() <= 0 or counts[day] == 0:
            continue
        chosen_groups = rng.choice(groups, size=int(counts[day]), p=weight / weight.sum())
        kinds = rng.choice(KINDS, size=int(counts[day]), p=WEIGHTS / WEIGHTS.sum())
        seconds = np.sort(rng.integers(7 * 3600, 23 * 3600, size=int(counts[day])))
        u = rng.random(size=(int(counts[day]), 2))
        for k in range(int(counts[day])):
            g = int(chosen_groups[k])
            n_eligible = int(eligible[g])
            # Heavy tail: the longest-standing members speak most; the KOL a lot more.
            speaker = int(group_members[g][int(n_eligible * u[k, 0] ** 2.2)])
            late_dying = dying[g] and day >= tail
            if u[k, 1] < 0.06 and not late_dying:
                speaker = kol_index[g]
            kind = str(kinds[k])
            moment = min(base + timedelta(seconds=int(seconds[k])), latest)
            target = None
            if kind in ("reply", "mention", "like"):
                if late_dying:
                    kind = "message"  # nobody answers anyone in a dying group
                else:
                    target = int(group_members[g][int(n_eligible * rng.random())])
                    if target == speaker:
                        kind = "message"
                        target = None
            amount = None
            data: dict[str, Any] = {}
            object_type = ""
            group_id: int | None = group_ids[g]
            if kind == "pay":
                order_no += 1
                amount = int(max(990, rng.lognormal(9.3, 0.6)))
                data = {"order": f"SIM{order_no}"}
                object_type = "product"
                group_id = None
                orders += 1
            activity_rows.append(
                (
                    kind,
                    moment,
                    moment,
                    member_ids[speaker],
                    member_ids[target] if target is not None else None,
                    community.pk,
                    group_id,
                    "",
                    "",
                    amount,
                    "CNY" if amount else "",
                    None,
                    "simulate",
                    object_type,
                    "",
                    json.dumps(data),
                )
            )
            if kind in ("message", "reply", "mention"):
                message_rows.append(
                    (
                        community.pk,
                        group_ids[g],
                        senders[speaker],
                        member_ids[speaker],
                        f"s{written + len(activity_rows)}",
                        moment,
                        "text",
                        CHATTER[k % len(CHATTER)],
                        member_ids[target] if kind == "reply" and target is not None else None,
                        "[]",
                        False,
                        "[]",
                        False,
                        speaker == kol_index[g],
                        "import",
                        moment,
                    )
                )
        # Ads from strangers: a trickle everywhere, a flood in dying groups near the end.
        for g in range(groups):
            rate = 0.4 if (dying[g] and day >= tail) else 0.01
            n_ads = int(rng.poisson(rate * max(eligible[g], 1) / 10)) if eligible[g] else 0
            for a in range(min(n_ads, 50)):
                moment = min(
                    base + timedelta(seconds=int(rng.integers(8 * 3600, 23 * 3600))), latest
                )
                message_rows.append(
                    (
                        community.pk,
                        group_ids[g],
                        senders[-1 - (g % 3)],
                        None,
                        f"ad{day}-{g}-{a}",
                        moment,
                        "text",
                        AD_TEXTS[a % 3].format(n=a),
                        None,
                        "[]",
                        True,
                        '["contact_push"]',
                        False,
                        False,
                        "import",
                        moment,
                    )
                )
        if len(activity_rows) >= BATCH or day == days - 1:
            written += _copy_activities(activity_rows)
            messages += _copy_messages(message_rows)
            activity_rows, message_rows = [], []
            note("activities", written + join_rows, activities)
    written += _copy_activities(activity_rows)
    messages += _copy_messages(message_rows)
    _analyze()
    return SimulationReport(
        community=community,
        members=members,
        groups=groups,
        seats=seat_count,
        activities=written + join_rows,
        messages=messages,
        orders=orders,
        seconds=timer.monotonic() - started,
    )


def _arrivals(
    rng: np.random.Generator,
    primary: Sequence[tuple[int, int, int, bool]],
    join_day: np.ndarray,
    member_ids: list[int],
    community: Community,
    first_day: datetime,
    latest: datetime,
) -> int:
    """A third of the members came through a tracked link (a visit a little before joining);
    one in ten was brought by an earlier member (a referral)."""
    rows: list[tuple[Any, ...]] = []
    for member_index, _group, day, _left in primary:
        joined = min(first_day + timedelta(days=day, hours=9), latest)
        roll = rng.random()
        if roll < 0.35:
            seen = joined - timedelta(hours=int(rng.integers(1, 48)))
            rows.append(
                (
                    "visit",
                    seen,
                    seen,
                    member_ids[member_index],
                    None,
                    community.pk,
                    None,
                    "simulate",
                    "",
                    None,
                    "",
                    None,
                    "simulate",
                    "referral_link",
                    "",
                    "{}",
                )
            )
        if roll < 0.10 and day > 0:
            earlier = int(rng.integers(0, len(member_ids)))
            if join_day[earlier] < day and earlier != member_index:
                rows.append(
                    (
                        "referral",
                        joined,
                        joined,
                        member_ids[member_index],
                        member_ids[earlier],
                        community.pk,
                        None,
                        "referral",
                        "",
                        None,
                        "",
                        None,
                        "simulate",
                        "referral_link",
                        "",
                        '{"action": "referred"}',
                    )
                )
    rows.sort(key=lambda r: r[1])
    return _copy_activities(rows)


def _groups(community: Community, groups: int) -> list[int]:
    Group.objects.bulk_create(
        [Group(community=community, name=f"{n + 1}群", capacity=1_000_000) for n in range(groups)],
        batch_size=2000,
    )
    return list(
        Group.objects.filter(community=community).order_by("pk").values_list("pk", flat=True)
    )


def _members(count: int, note: Track) -> list[int]:
    ids: list[int] = []
    for start in range(0, count, BATCH):
        made = Member.objects.bulk_create(
            [Member(display_name=f"会员{n + 1}") for n in range(start, min(count, start + BATCH))],
            batch_size=BATCH,
        )
        ids += [m.pk for m in made]
        note("members", len(ids), count)
    return ids


def _seats(
    seats: list[tuple[int, int, int, bool]],
    leave_at: dict[int, int],
    group_ids: list[int],
    member_ids: list[int],
    first_day: datetime,
    latest: datetime,
    note: Track,
) -> int:
    """Seat everyone; returns the JOIN and LEAVE activities written."""
    rows = []
    facts = []
    for k, (member_index, group_index, day, _left) in enumerate(seats):
        joined = min(first_day + timedelta(days=day, hours=9, minutes=k % 600), latest)
        left = leave_at.get(k)
        ended = (
            min(first_day + timedelta(days=left, hours=20), latest) if left is not None else None
        )
        if ended is not None and ended <= joined:
            ended = None
        rows.append(
            GroupMembership(
                group_id=group_ids[group_index],
                member_id=member_ids[member_index],
                status=SeatStatus.LEFT if ended else SeatStatus.ACTIVE,
                channel="simulate",
                created_at=joined,
                joined_at=joined,
                ended_at=ended,
                end_reason="left" if ended else "",
            )
        )
        facts.append(("join", joined, member_ids[member_index], group_ids[group_index]))
        if ended:
            facts.append(("leave", ended, member_ids[member_index], group_ids[group_index]))
    for start in range(0, len(rows), BATCH):
        GroupMembership.objects.bulk_create(rows[start : start + BATCH], batch_size=BATCH)
        note("seats", min(start + BATCH, len(rows)), len(rows))
    community_of = dict(Group.objects.filter(pk__in=group_ids).values_list("pk", "community_id"))
    facts.sort(key=lambda f: f[1])
    return _copy_activities(
        [
            (
                kind,
                moment,
                moment,
                member_id,
                None,
                community_of[group_id],
                group_id,
                "simulate",
                "",
                None,
                "",
                None,
                "simulate",
                "group_seat",
                "",
                "{}",
            )
            for kind, moment, member_id, group_id in facts
        ]
    )


def _kols(
    seats: Sequence[tuple[int, int, int, bool]],
    groups: int,
    group_ids: list[int],
    member_ids: list[int],
) -> list[int]:
    """The first member seated in each group holds its KOL seat; returns their member index."""
    first: dict[int, int] = {}
    for member_index, group_index, _day, _left in sorted(seats, key=lambda s: s[2]):
        first.setdefault(group_index, member_index)
    KolSeat.objects.bulk_create(
        [
            KolSeat(group_id=group_ids[g], member_id=member_ids[m], title="KOL")
            for g, m in first.items()
        ],
        batch_size=2000,
    )
    return [first.get(g, 0) for g in range(groups)]


def _senders(community: Community, member_ids: list[int], groups: int, note: Track) -> list[int]:
    """A chat identity for every member, plus three advertisers nobody knows (the last three)."""
    now = clock.now()
    ids: list[int] = []
    total = len(member_ids) + 3
    for start in range(0, len(member_ids), BATCH):
        made = ChatSender.objects.bulk_create(
            [
                ChatSender(
                    community=community,
                    external_id=f"wxid_sim{m}",
                    member_id=m,
                    display_name=f"会员{m}",
                    first_seen_at=now,
                    last_seen_at=now,
                )
                for m in member_ids[start : start + BATCH]
            ],
            batch_size=BATCH,
        )
        ids += [s.pk for s in made]
        note("senders", len(ids), total)
    strangers = ChatSender.objects.bulk_create(
        [
            ChatSender(
                community=community,
                external_id=f"wxid_ad{n}",
                display_name=f"广告号{n}",
                first_seen_at=now,
                last_seen_at=now,
            )
            for n in range(3)
        ]
    )
    return ids + [s.pk for s in strangers]


_ACTIVITY_COLUMNS = (
    "kind",
    "occurred_at",
    "recorded_at",
    "member_id",
    "target_member_id",
    "community_id",
    "group_id",
    "channel",
    "content",
    "amount_minor",
    "currency",
    "actor_id",
    "source",
    "object_type",
    "object_id",
    "data",
)
_MESSAGE_COLUMNS = (
    "community_id",
    "group_id",
    "sender_id",
    "member_id",
    "fingerprint",
    "sent_at",
    "kind",
    "text",
    "reply_to_member_id",
    "mentioned_member_ids",
    "is_promotion",
    "promotion_reasons",
    "from_operator",
    "from_kol",
    "source",
    "created_at",
)


def _copy(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    rows = list(rows)
    if not rows:
        return 0
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # SQLite keeps datetimes as UTC text; adapt them as the ORM would.
            adapt = connection.ops.adapt_datetimefield_value
            rows = [tuple(adapt(v) if isinstance(v, datetime) else v for v in r) for r in rows]
            marks = ", ".join(["%s"] * len(columns))
            # The table and column names are this module's constants, never input.
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)


def _analyze() -> None:
    """Fresh planner statistics for what was just loaded: autovacuum comes by when it will, and
    until then PostgreSQL plans the rollup job's seat lookups as if the tables were empty (here:
    2.8 s a query instead of milliseconds). SQLite's planner keeps no such statistics."""
    if connection.vendor != "postgresql":
        return
    loaded = (Member, Group, GroupMembership, KolSeat, ChatSender, ChatMessage, Activity)
    with connection.cursor() as cursor:
        for model in loaded:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _copy_activities(rows: list[tuple[Any, ...]]) -> int:
    return _copy("core_activity", _ACTIVITY_COLUMNS, rows)


def _copy_messages(rows: list[tuple[Any, ...]]) -> int:
    return _copy("analytics_chatmessage", _MESSAGE_COLUMNS, rows)
