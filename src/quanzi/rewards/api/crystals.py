"""API v1: Crystals (水晶): the community's terms and earn rules, earning (bots report posts,
check-ins and adopted feedback; operators award), balances, statements, the leaderboard.

Purchases and invitations that become paying members earn by themselves when the order is
paid, and are clawed back when it is refunded; they are not reported here.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime, PatchIn
from quanzi.catalog.api._common import community_by_id
from quanzi.communities.selectors import community_by_slug
from quanzi.core.models import LedgerEntry
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    fields_as_sent,
    member_by_id,
    one_of,
    path_text,
)
from quanzi.rewards import selectors
from quanzi.rewards.models import CrystalAction, CrystalGrant, CrystalRule, RewardSettings
from quanzi.rewards.services import earning, rules
from quanzi.rewards.services.accounts import wallet_code

router = Router(tags=["crystals"])

# What callers report; purchases and paid invitations are earned when the order is paid.
REPORTED = [
    CrystalAction.POST.value,
    CrystalAction.CHECK_IN.value,
    CrystalAction.FEEDBACK.value,
    CrystalAction.MANUAL.value,
]
RULED = [a for a in CrystalAction.values if a != CrystalAction.MANUAL]
AS_SENT = {"community": "community_id", "member": "member_id"}


# Terms and rules


class CrystalSettingsOut(Schema):
    community_id: int
    daily_cap: int = Field(
        description="Crystals a member may earn a day over every rule (0: no cap)."
    )
    weekly_cap: int = Field(description="The same a week, Monday first (0: no cap).")
    expiry_days: int = Field(description="Crystals expire this many days after earned (0: never).")
    updated_at: datetime | None = Field(description="null: the defaults, never changed.")


class CrystalSettingsIn(PatchIn):
    daily_cap: int | None = Field(None, description="0-100000000; 0: no cap.")
    weekly_cap: int | None = Field(None, description="0-100000000, not below the daily cap.")
    expiry_days: int | None = Field(None, description="0-3650; 0: never.")


class CrystalRuleOut(Schema):
    action: str = Field(description=one_of(RULED))
    amount: int = Field(description="Crystals each time; per whole yuan paid for a purchase.")
    daily_cap: int = Field(description="Per member and day (0: no cap).")
    weekly_cap: int = Field(description="Per member and week (0: no cap).")
    active: bool
    updated_at: datetime


class CrystalRuleIn(In):
    amount: int = Field(description="1-1000000 crystals.")
    daily_cap: int = Field(0, description="0: no cap.")
    weekly_cap: int = Field(0, description="0: no cap; not below the daily cap.")
    active: bool = True


def _settings_out(terms: RewardSettings, community_id: int) -> dict[str, Any]:
    return {
        "community_id": community_id,
        "daily_cap": terms.daily_cap,
        "weekly_cap": terms.weekly_cap,
        "expiry_days": terms.expiry_days,
        "updated_at": terms.updated_at,
    }


def _rule_out(rule: CrystalRule) -> dict[str, Any]:
    return {
        "action": rule.action,
        "amount": rule.amount,
        "daily_cap": rule.daily_cap,
        "weekly_cap": rule.weekly_cap,
        "active": rule.active,
        "updated_at": rule.updated_at,
    }


@router.get("/communities/{slug}/crystal-settings", response={200: CrystalSettingsOut, **ERRORS})
def crystal_settings_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The caps over every rule together and the expiry; no caps and no expiry until set."""
    community = community_by_slug(path_text(slug, 50))
    return _settings_out(rules.reward_settings_get(community), community.pk)


@router.patch("/communities/{slug}/crystal-settings", response={200: CrystalSettingsOut, **ERRORS})
def crystal_settings_update(
    request: HttpRequest, slug: str, payload: CrystalSettingsIn
) -> dict[str, Any]:
    """Change the terms sent; the others stay. Out of range, or a weekly cap below the daily
    one: 422 naming it, nothing changed. Crystals already earned keep their expiry."""
    community = community_by_slug(path_text(slug, 50))
    current = rules.reward_settings_get(community)
    changes = payload.model_dump(exclude_unset=True)
    terms = rules.reward_settings_update(
        community=community,
        daily_cap=changes.get("daily_cap", current.daily_cap),
        weekly_cap=changes.get("weekly_cap", current.weekly_cap),
        expiry_days=changes.get("expiry_days", current.expiry_days),
        actor_id=request.user.pk,
    )
    return _settings_out(terms, community.pk)


@router.get("/communities/{slug}/crystal-rules", response={200: list[CrystalRuleOut], **ERRORS})
def crystal_rule_list(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The community's earn rules, one per action; an action without one earns nothing."""
    community = community_by_slug(path_text(slug, 50))
    return [
        _rule_out(rule)
        for rule in CrystalRule.objects.filter(community=community).order_by("action")
    ]


@router.put("/communities/{slug}/crystal-rules/{action}", response={200: CrystalRuleOut, **ERRORS})
def crystal_rule_set(
    request: HttpRequest, slug: str, action: str, payload: CrystalRuleIn
) -> dict[str, Any]:
    """Create or replace the rule of an action (post, invite_paid, check_in, feedback,
    purchase). An unknown action, or manual (an award names its own amount): 422 naming
    action."""
    rule = rules.crystal_rule_set(
        community=community_by_slug(path_text(slug, 50)),
        action=path_text(action, 16),
        amount=payload.amount,
        daily_cap=payload.daily_cap,
        weekly_cap=payload.weekly_cap,
        active=payload.active,
        actor_id=request.user.pk,
    )
    return _rule_out(rule)


# Earning


class EarnIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    action: str = Field(description=one_of(REPORTED))
    source: str = Field(
        description="What earned it, unique per action and member: the post's, check-in's or "
        "feedback's id, or the award's reference; 1-100 characters. The same source earns once."
    )
    amount: int | None = Field(
        None, description="manual only: the crystals awarded, 1-1000000. Rules set the others."
    )
    note: str = Field("", description="manual: why (required), up to 200 characters.")
    occurred_at: AwareDatetime | None = Field(
        None, description="When it happened (caps count by its day and week); default now."
    )

    @field_validator("action")
    @classmethod
    def reported_action(cls, value: str) -> str:
        if value not in REPORTED:
            raise ValueError(
                f"use one of {', '.join(REPORTED)}; purchases and paid invitations earn "
                "when the order is paid"
            )
        return value


class GrantOut(Schema):
    id: int
    community_id: int
    member_id: int
    action: str = Field(description=one_of(CrystalAction.values))
    source: str
    requested: int = Field(description="What the rule gave before the caps.")
    amount: int = Field(description="What was earned after the caps.")
    debt_repaid: int = Field(description="Of the amount, what paid off crystals owed.")
    remaining: int = Field(description="Still in the wallet, unspent.")
    clawed: int
    expired: int
    earned_at: datetime
    expires_at: datetime | None
    note: str


class EarnOut(Schema):
    earned: int = Field(description="Crystals this call earned (0: capped, or earned before).")
    repeated: bool = Field(description="This source had earned already: nothing new.")
    grant: GrantOut | None = Field(description="null: the caps left nothing to earn.")
    balance: int = Field(description="The member's crystals now.")


class BalanceFilters(In):
    community_id: int = Field(ge=1, le=BIGINT)


class BalanceOut(Schema):
    community_id: int
    member_id: int
    balance: int = Field(description="Crystals held now; never below 0.")
    debt: int = Field(
        description="Crystals owed (clawed back after they were spent), repaid from the next "
        "earnings first."
    )
    earned_total: int = Field(description="Earned over time net of clawbacks: sets the level.")


class HistoryOut(Schema):
    kind: str = Field(
        description="crystals.earn, crystals.redeem, crystals.claw, crystals.expire, "
        "crystals.returned"
    )
    memo: str
    at: datetime
    amount: int = Field(description="+ in, - out.")
    balance_after: int


class HistoryPage(Schema):
    items: list[HistoryOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class LeaderboardFilters(In):
    since: AwareDatetime | None = Field(None, description="Earned at or after; null: ever.")
    limit: int = Field(10, ge=1, le=100)


class LeaderOut(Schema):
    rank: int
    member_id: int
    display_name: str
    crystals: int = Field(description="Earned (net of clawbacks) since ``since``.")


def grant_out(grant: CrystalGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "community_id": grant.community_id,
        "member_id": grant.member_id,
        "action": grant.action,
        "source": grant.source,
        "requested": grant.requested,
        "amount": grant.amount,
        "debt_repaid": grant.debt_repaid,
        "remaining": grant.remaining,
        "clawed": grant.clawed,
        "expired": grant.expired,
        "earned_at": grant.earned_at,
        "expires_at": grant.expires_at,
        "note": grant.note,
    }


@router.post("/crystals/earn", response={201: EarnOut, 200: EarnOut, **ERRORS})
def crystals_earn(request: HttpRequest, payload: EarnIn) -> Status[dict[str, Any]]:
    """Credit the crystals an action earns: 201 with the new grant; 200 when this source had
    earned already (nothing new) or the caps leave nothing today (grant null). An action
    without an active rule: 422 naming action. manual is the operator's award: it names
    amount and a note and knows no cap."""
    community = community_by_id(payload.community_id)
    member = member_by_id(payload.member_id)
    source = payload.source.strip()
    before = CrystalGrant.objects.filter(
        community=community, member=member, action=payload.action, source=source
    ).exists()
    with fields_as_sent(**AS_SENT):
        grant = earning.crystals_earn(
            community=community,
            member=member,
            action=payload.action,
            source=payload.source,
            amount=payload.amount,
            note=payload.note,
            actor_id=request.user.pk,
            occurred_at=payload.occurred_at,
            strict=True,
        )
    repeated = before and grant is not None
    fresh = grant is not None and not repeated
    return Status(
        201 if fresh else 200,
        {
            "earned": grant.amount if fresh and grant is not None else 0,
            "repeated": repeated,
            "grant": grant_out(grant) if grant is not None else None,
            "balance": selectors.crystal_balance(community, member),
        },
    )


@router.get("/members/{member_id}/crystals", response={200: BalanceOut, **ERRORS})
def crystal_balance(
    request: HttpRequest, member_id: int, filters: Query[BalanceFilters]
) -> dict[str, Any]:
    """The member's crystals in the community: held, owed, and earned over time."""
    community = community_by_id(filters.community_id)
    member = member_by_id(member_id)
    return {
        "community_id": community.pk,
        "member_id": member.pk,
        "balance": selectors.crystal_balance(community, member),
        "debt": selectors.crystal_debt(community, member),
        "earned_total": selectors.member_level(community, member).earned_total,
    }


@router.get("/members/{member_id}/crystals/history", response={200: HistoryPage, **ERRORS})
def crystal_history(
    request: HttpRequest,
    member_id: int,
    filters: Query[BalanceFilters],
    page: Query[Page.Input],
) -> dict[str, Any]:
    """The member's crystal statement in the community, newest first."""
    community = community_by_id(filters.community_id)
    member = member_by_id(member_id)
    qs = (
        LedgerEntry.objects.filter(account__code=wallet_code(community.pk, member.pk))
        .select_related("transaction")
        .order_by("-pk")
    )
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [
        {
            "kind": entry.transaction.kind,
            "memo": entry.transaction.memo,
            "at": entry.transaction.occurred_at,
            "amount": entry.amount,
            "balance_after": entry.balance_after,
        }
        for entry in paged["items"]
    ]
    return paged


@router.get("/communities/{slug}/crystal-leaderboard", response={200: list[LeaderOut], **ERRORS})
def crystal_leaderboard(
    request: HttpRequest, slug: str, filters: Query[LeaderboardFilters]
) -> list[dict[str, Any]]:
    """The top earners (crystals earned net of clawbacks), most first."""
    rows = selectors.crystal_leaderboard(
        community_by_slug(path_text(slug, 50)), since=filters.since, limit=filters.limit
    )
    return [
        {
            "rank": n,
            "member_id": row.member_id,
            "display_name": row.display_name,
            "crystals": row.crystals,
        }
        for n, row in enumerate(rows, start=1)
    ]
