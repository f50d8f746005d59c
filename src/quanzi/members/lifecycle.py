"""Lifecycle stage and growth level, from the activity log (DESIGN.md, metric definitions).

stage: customer (1 paid order) -> user (>= 2 paid orders, or active 4 of the last 8 weeks)
       -> fan (a user who referred someone or contributed) -> iron fan (a fan in a core group,
       active recently, and a repeat buyer). No paid order: no stage yet.
level: novice -> seed (active 2 of 8 weeks) -> core (active 6 of 8 weeks, in a core group, or
       5 contributions) -> KOL (holds a KOL seat); never below a growth level the member earned
       with crystals in any community (``hooks.level_floors``).
Thresholds are ``settings.QUANZI_LIFECYCLE``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members import hooks
from quanzi.members.models import Level, Member, Stage

ENGAGEMENT = [
    ActivityKind.MESSAGE,
    ActivityKind.REPLY,
    ActivityKind.MENTION,
    ActivityKind.LIKE,
    ActivityKind.POST,
    ActivityKind.VOTE,
    ActivityKind.CHECK_IN,
]
CONTRIBUTION = [ActivityKind.POST]


@dataclass(frozen=True, slots=True)
class Facts:
    paid_orders: int = 0
    active_weeks: int = 0
    referrals: int = 0
    contributions: int = 0
    active_recently: bool = False
    in_core_group: bool = False
    holds_kol_seat: bool = False


def stage_for(f: Facts) -> str:
    rules = settings.QUANZI_LIFECYCLE
    if f.paid_orders < 1:
        return Stage.NONE
    is_user = (
        f.paid_orders >= rules["user_min_paid_orders"]
        or f.active_weeks >= rules["user_active_weeks"]
    )
    if not is_user:
        return Stage.CUSTOMER
    is_fan = (
        f.referrals >= rules["fan_min_referrals"]
        or f.contributions >= rules["fan_min_contributions"]
    )
    if not is_fan:
        return Stage.USER
    if f.in_core_group and f.active_recently and f.paid_orders >= rules["iron_fan_min_paid_orders"]:
        return Stage.IRON_FAN
    return Stage.FAN


def level_for(f: Facts) -> str:
    rules = settings.QUANZI_LIFECYCLE
    if f.holds_kol_seat:
        return Level.KOL
    if (
        f.active_weeks >= rules["core_active_weeks"]
        or f.in_core_group
        or f.contributions >= rules["core_min_contributions"]
    ):
        return Level.CORE
    if f.active_weeks >= rules["seed_active_weeks"]:
        return Level.SEED
    return Level.NOVICE


def _aliases(member_ids: list[int]) -> dict[int, int]:
    """Every id the activity log may hold for these members -> the member's current id."""
    alias = {pk: pk for pk in member_ids}
    for old, new in Member.objects.filter(merged_into__in=member_ids).values_list(
        "pk", "merged_into"
    ):
        if new is not None:
            alias[old] = new
    return alias


def facts_for(member_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, Facts]:
    """Facts for many members with a fixed number of grouped queries over the activity log."""
    ids = list(member_ids)
    if not ids:
        return {}
    moment = now or clock.now()
    rules = settings.QUANZI_LIFECYCLE
    window_start = moment - timedelta(weeks=rules["window_weeks"])
    recent_start = moment - timedelta(days=rules["iron_fan_recent_days"])
    alias = _aliases(ids)
    log = Activity.objects.filter(member_id__in=list(alias), occurred_at__lte=moment)

    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        log.filter(kind__in=[ActivityKind.PAY, ActivityKind.REFERRAL, *CONTRIBUTION])
        .values("member_id", "kind")
        .annotate(n=Count("id"))
    ):
        if row["member_id"] is not None:
            counts[alias[row["member_id"]]][row["kind"]] += row["n"]

    weeks: dict[int, set[int]] = defaultdict(set)
    recent: set[int] = set()
    # (moment - N weeks, moment]: exactly N week buckets; with >= the window's first instant
    # fell in an N+1th bucket and a member could be "active 9 of the last 8 weeks".
    for member_id, occurred_at in log.filter(
        kind__in=ENGAGEMENT, occurred_at__gt=window_start
    ).values_list("member_id", "occurred_at"):
        if member_id is None:
            continue
        owner = alias[member_id]
        weeks[owner].add(int((moment - occurred_at).total_seconds() // (7 * 86400)))
        if occurred_at >= recent_start:
            recent.add(owner)

    core = set().union(*(provider(ids) for provider in hooks.core_group_members))
    kols = set().union(*(provider(ids) for provider in hooks.kol_seat_holders))
    return {
        pk: Facts(
            paid_orders=counts[pk][ActivityKind.PAY],
            active_weeks=len(weeks[pk]),
            referrals=counts[pk][ActivityKind.REFERRAL],
            contributions=sum(counts[pk][k] for k in CONTRIBUTION),
            active_recently=pk in recent,
            in_core_group=pk in core,
            holds_kol_seat=pk in kols,
        )
        for pk in ids
    }


def lifecycle_recompute(
    member_ids: Iterable[int], *, now: datetime | None = None
) -> dict[str, int]:
    """Recompute stage and level; each change is saved and recorded as an activity.

    Safe to run twice: a second run finds nothing to change.
    """
    ids = list(
        Member.objects.filter(
            pk__in=list(member_ids), merged_into__isnull=True, anonymised_at__isnull=True
        ).values_list("pk", flat=True)
    )
    facts = facts_for(ids, now=now)
    floors = _level_floors(ids)
    changed = {"stage": 0, "level": 0}
    with transaction.atomic():
        for member in Member.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            f = facts[member.pk]
            stage = stage_for(f)
            level = max(level_for(f), floors.get(member.pk, Level.NOVICE), key=_RANK.__getitem__)
            updates = []
            if stage != member.stage:
                activity_record(
                    kind=ActivityKind.STAGE,
                    member_id=member.pk,
                    source="lifecycle",
                    data={"from": member.stage, "to": stage},
                )
                member.stage = stage
                updates.append("stage")
                changed["stage"] += 1
            if level != member.level:
                activity_record(
                    kind=ActivityKind.LEVEL,
                    member_id=member.pk,
                    source="lifecycle",
                    data={"from": member.level, "to": level},
                )
                member.level = level
                updates.append("level")
                changed["level"] += 1
            if updates:
                member.save(update_fields=[*updates, "updated_at"])
    return changed


_RANK = {level: n for n, level in enumerate(Level.values)}  # novice < seed < core < kol


def _level_floors(ids: list[int]) -> dict[int, str]:
    """The highest level other apps say each member holds at least (earned with crystals)."""
    floors: dict[int, str] = {}
    for provider in hooks.level_floors:
        for pk, level in provider(ids).items():
            if _RANK.get(level, 0) > _RANK.get(floors.get(pk, Level.NOVICE), 0):
                floors[pk] = level
    return floors


def lifecycle_recompute_soon(member_id: int) -> None:
    """Recompute one member once the current transaction has committed.

    Called by the services whose facts move a stage or level (a payment, a seat in a core
    group, a KOL seat, a merge). A failure is logged, never raised into the request: the
    scheduled job recomputes everyone anyway.
    """
    transaction.on_commit(lambda: lifecycle_recompute([member_id]), robust=True)
