"""Reads of crystals, rewards and levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from quanzi.communities.models import Community
from quanzi.core.models import LedgerAccount, LedgerEntry
from quanzi.members.models import Level, Member
from quanzi.rewards.models import CrystalGrant, CrystalReward, GrowthLevel, MemberLevel
from quanzi.rewards.services.accounts import debt_code, wallet_code
from quanzi.rewards.services.levels import RANK
from quanzi.rewards.services.wallet import RETURNED_PREFIX


def _balance(code: str) -> int:
    found = LedgerAccount.objects.filter(code=code).values_list("balance", flat=True).first()
    return int(found or 0)


def crystal_balance(community: Community, member: Member) -> int:
    """Crystals the member holds in the community."""
    return _balance(wallet_code(community.pk, member.pk))


def crystal_debt(community: Community, member: Member) -> int:
    """Crystals the member owes (clawed back after they were spent), as a positive number."""
    return -_balance(debt_code(community.pk, member.pk))


@dataclass(frozen=True, slots=True)
class HistoryRow:
    kind: str  # crystals.earn, .redeem, .claw, .expire, .returned
    memo: str
    at: datetime
    amount: int  # + in, - out
    balance_after: int


def crystal_history(community: Community, member: Member, limit: int = 50) -> list[HistoryRow]:
    """The member's wallet statement, newest first."""
    entries = (
        LedgerEntry.objects.filter(account__code=wallet_code(community.pk, member.pk))
        .select_related("transaction")
        .order_by("-pk")[: max(limit, 0)]
    )
    return [
        HistoryRow(
            kind=e.transaction.kind,
            memo=e.transaction.memo,
            at=e.transaction.occurred_at,
            amount=e.amount,
            balance_after=e.balance_after,
        )
        for e in entries
    ]


@dataclass(frozen=True, slots=True)
class LeaderRow:
    member_id: int
    display_name: str
    crystals: int


def crystal_leaderboard(
    community: Community, since: datetime | None = None, limit: int = 10
) -> list[LeaderRow]:
    """Top earners: crystals earned (net of clawbacks) since ``since``, most first."""
    grants = CrystalGrant.objects.filter(community=community).exclude(
        source__startswith=RETURNED_PREFIX
    )
    if since is not None:
        grants = grants.filter(earned_at__gte=since)
    rows = (
        grants.values("member_id", "member__display_name")
        .annotate(crystals=Sum(F("amount") - F("clawed")))
        .filter(crystals__gt=0)
        .order_by("-crystals", "member_id")[: max(limit, 0)]
    )
    return [LeaderRow(r["member_id"], r["member__display_name"], int(r["crystals"])) for r in rows]


@dataclass(frozen=True, slots=True)
class LevelView:
    level: str
    earned_total: int
    discount_percent: int
    badge: str
    next_level: str | None
    next_needs: int | None  # crystals still to earn for the next level


def member_level(community: Community, member: Member) -> LevelView:
    row = MemberLevel.objects.filter(community=community, member=member).first()
    level = row.level if row is not None else Level.NOVICE
    earned = row.earned_total if row is not None else 0
    levels = list(GrowthLevel.objects.filter(community=community))
    current = next((g for g in levels if g.level == level), None)
    above = sorted((g for g in levels if RANK[g.level] > RANK[level]), key=lambda g: RANK[g.level])
    upcoming = above[0] if above else None
    return LevelView(
        level=level,
        earned_total=earned,
        discount_percent=current.discount_percent if current else 0,
        badge=current.badge if current else "",
        next_level=upcoming.level if upcoming else None,
        next_needs=max(upcoming.min_earned - earned, 0) if upcoming else None,
    )


def level_discount_percent(member: Member, community: Community) -> int:
    """The discount of the member's growth level in the community (a checkout provider, in
    one query: a member without a level row is a novice)."""
    level = Coalesce(
        Subquery(
            MemberLevel.objects.filter(community=community, member=member).values("level")[:1]
        ),
        Value(Level.NOVICE),
    )
    found = (
        GrowthLevel.objects.filter(community=community, level=level)
        .values_list("discount_percent", flat=True)
        .first()
    )
    return int(found or 0)


def rewards_available(community: Community) -> QuerySet[CrystalReward]:
    """What members can redeem now: active and in stock, cheapest first."""
    return CrystalReward.objects.filter(community=community, active=True).filter(
        Q(stock__isnull=True) | Q(stock__gt=0)
    )
