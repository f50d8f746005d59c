"""API v1: What crystals buy (the rewards catalogue), redemptions, and what contributors are
given: cash rewards paid out with commission, and perks.

A redemption spends the oldest crystals first and is refused whole (409, nothing spent) when
the member holds fewer than it costs; cancelling one returns its crystals.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, PatchIn
from quanzi.catalog.api._common import community_by_id, product_by_id
from quanzi.core.errors import NotFound
from quanzi.core.models import LedgerAccount
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    fields_as_sent,
    matching,
    member_by_id,
    one_of,
    path_text,
)
from quanzi.rewards.models import CrystalReward, Redemption, RedemptionStatus, RewardKind
from quanzi.rewards.services import cash, redemptions

router = Router(tags=["redemptions"])

AS_SENT = {"community": "community_id", "member": "member_id", "product": "product_id"}


# The catalogue


class RewardOut(Schema):
    id: int
    community_id: int
    name: str
    kind: str = Field(description=one_of(RewardKind.values))
    cost: int = Field(description="Crystals.")
    product_id: int | None = Field(description="A product reward's product.")
    coupon_value_minor: int = Field(description="A coupon's value in fen.")
    stock: int | None = Field(description="null: unlimited.")
    active: bool
    created_at: datetime


class RewardPage(Schema):
    items: list[RewardOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class RewardFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    available: bool = Field(False, description="true: only active rewards in stock.")


class RewardIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    name: str = Field(description="1-100 characters.")
    kind: str = Field(description=one_of(RewardKind.values))
    cost: int = Field(description="1-1000000 crystals.")
    product_id: int | None = Field(None, ge=1, le=BIGINT, description="product only.")
    coupon_value_minor: int = Field(0, description="coupon only: its value in fen.")
    stock: int | None = Field(None, description="null: unlimited.")


class RewardUpdateIn(PatchIn):
    active: bool | None = Field(None, description="false: off the list.")
    cost: int | None = Field(None, description="For redemptions from now on.")


def reward_out(reward: CrystalReward) -> dict[str, Any]:
    return {
        "id": reward.pk,
        "community_id": reward.community_id,
        "name": reward.name,
        "kind": reward.kind,
        "cost": reward.cost,
        "product_id": reward.product_id,
        "coupon_value_minor": reward.coupon_value_minor,
        "stock": reward.stock,
        "active": reward.active,
        "created_at": reward.created_at,
    }


def _reward(reward_id: int, field: str = "reward_id") -> CrystalReward:
    found = CrystalReward.objects.filter(pk=reward_id).first() if 1 <= reward_id <= BIGINT else None
    if found is None:
        raise NotFound(_("No reward #%(pk)s.") % {"pk": reward_id}, field=field)
    return found


@router.get("/crystal-rewards", response={200: RewardPage, **ERRORS})
def crystal_reward_list(
    request: HttpRequest, filters: Query[RewardFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Rewards, cheapest first."""
    qs = CrystalReward.objects.order_by("community_id", "cost", "pk")
    if filters.community_id is not None:
        qs = qs.filter(community_id=filters.community_id)
    if filters.available:
        qs = qs.filter(active=True).exclude(stock=0)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [reward_out(reward) for reward in paged["items"]]
    return paged


@router.post("/crystal-rewards", response={201: RewardOut, **ERRORS})
def crystal_reward_create(request: HttpRequest, payload: RewardIn) -> Status[dict[str, Any]]:
    """Offer something for crystals: a product, a coupon or a perk. A product of another
    community, a coupon worth nothing: 422 naming the field."""
    community = community_by_id(payload.community_id)
    product = product_by_id(payload.product_id) if payload.product_id is not None else None
    with fields_as_sent(**AS_SENT):
        reward = redemptions.crystal_reward_create(
            community=community,
            name=payload.name,
            kind=payload.kind,
            cost=payload.cost,
            product=product,
            coupon_value_minor=payload.coupon_value_minor,
            stock=payload.stock,
            actor_id=request.user.pk,
        )
    return Status(201, reward_out(reward))


@router.patch("/crystal-rewards/{reward_id}", response={200: RewardOut, **ERRORS})
def crystal_reward_update(
    request: HttpRequest, reward_id: int, payload: RewardUpdateIn
) -> dict[str, Any]:
    """Take a reward off the list or put it back, or change its cost."""
    reward = redemptions.crystal_reward_update(
        reward=_reward(reward_id),
        actor_id=request.user.pk,
        **payload.model_dump(exclude_unset=True),
    )
    return reward_out(reward)


# Redemptions


class RedemptionOut(Schema):
    code: str = Field(description="10 characters, shown when it is handed over.")
    community_id: int
    member_id: int
    reward_id: int | None = Field(description="null: a perk an operator gave.")
    name: str
    quantity: int
    crystals: int = Field(description="Crystals spent (0 for a perk).")
    status: str = Field(description=one_of(RedemptionStatus.values))
    note: str
    created_at: datetime
    closed_at: datetime | None = Field(description="Handed over or cancelled then.")


class RedemptionPage(Schema):
    items: list[RedemptionOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class RedemptionFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    member_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(RedemptionStatus.values))

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in RedemptionStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(RedemptionStatus.values)}")
        return value


class RedemptionIn(In):
    reward_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    quantity: int = Field(1, description="1-99.")


class FulfilIn(In):
    note: str = Field("", description="Up to 200 characters.")


class RedemptionCancelIn(In):
    reason: str = Field("", description="Up to 200 characters.")


class PerkIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    name: str = Field(description="What they are given, 1-100 characters.")
    note: str = Field("", description="Why, up to 200 characters.")


def redemption_out(redemption: Redemption) -> dict[str, Any]:
    return {
        "code": redemption.code,
        "community_id": redemption.community_id,
        "member_id": redemption.member_id,
        "reward_id": redemption.reward_id,
        "name": redemption.name,
        "quantity": redemption.quantity,
        "crystals": redemption.crystals,
        "status": redemption.status,
        "note": redemption.note,
        "created_at": redemption.created_at,
        "closed_at": redemption.closed_at,
    }


def _redemption(code: str) -> Redemption:
    code = path_text(code, 16).upper()
    found = Redemption.objects.filter(code=code).first() if code else None
    if found is None:
        raise NotFound(_("No redemption %(code)s.") % {"code": code}, field="code")
    return found


@router.get("/redemptions", response={200: RedemptionPage, **ERRORS})
def redemption_list(
    request: HttpRequest, filters: Query[RedemptionFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Redemptions and perks, newest first."""
    qs = Redemption.objects.order_by("-created_at", "-pk")
    qs = matching(
        qs, community_id=filters.community_id, member_id=filters.member_id, status=filters.status
    )
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [redemption_out(r) for r in paged["items"]]
    return paged


@router.post("/redemptions", response={201: RedemptionOut, **ERRORS})
def redemption_place(request: HttpRequest, payload: RedemptionIn) -> Status[dict[str, Any]]:
    """Redeem a reward on the member's behalf, oldest crystals first. Fewer crystals than it
    costs: 409 not_enough_crystals naming crystals; off the list or out of stock: 409
    reward_unavailable. Nothing is spent when refused. Send an ``Idempotency-Key`` so a retry
    spends once."""
    reward = _reward(payload.reward_id)
    member = member_by_id(payload.member_id)
    with fields_as_sent(**AS_SENT):
        redemption = redemptions.redemption_place(
            reward=reward, member=member, quantity=payload.quantity
        )
    return Status(201, redemption_out(redemption))


@router.get("/redemptions/{code}", response={200: RedemptionOut, **ERRORS})
def redemption_get(request: HttpRequest, code: str) -> dict[str, Any]:
    return redemption_out(_redemption(code))


@router.post("/redemptions/{code}/actions/fulfil", response={200: RedemptionOut, **ERRORS})
def redemption_fulfil(request: HttpRequest, code: str, payload: FulfilIn) -> dict[str, Any]:
    """Handed over. Handed over or cancelled already: 409 naming status."""
    redemption = redemptions.redemption_fulfil(
        redemption=_redemption(code), actor_id=request.user.pk, note=payload.note
    )
    return redemption_out(redemption)


@router.post("/redemptions/{code}/actions/cancel", response={200: RedemptionOut, **ERRORS})
def redemption_cancel(
    request: HttpRequest, code: str, payload: RedemptionCancelIn
) -> dict[str, Any]:
    """Cancel before it is handed over: the crystals come back (debt repaid first) and the
    units go back into stock. Handed over or cancelled already: 409 naming status."""
    redemption = redemptions.redemption_cancel(
        redemption=_redemption(code), actor_id=request.user.pk, reason=payload.reason
    )
    return redemption_out(redemption)


@router.post("/perks", response={201: RedemptionOut, **ERRORS}, tags=["contributors"])
def perk_grant(request: HttpRequest, payload: PerkIn) -> Status[dict[str, Any]]:
    """Give a contributor a perk (a product, a meal, a ticket): a redemption costing no
    crystals, handed over like any other."""
    community = community_by_id(payload.community_id)
    member = member_by_id(payload.member_id)
    with fields_as_sent(**AS_SENT):
        redemption = redemptions.perk_grant(
            community=community,
            member=member,
            name=payload.name,
            note=payload.note,
            actor_id=request.user.pk,
        )
    return Status(201, redemption_out(redemption))


# Cash rewards


class CashRewardIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    amount_minor: int = Field(description="Fen, 1 to 100,000,000 (¥1,000,000).")
    reason: str = Field(description="What for, 1-200 characters.")
    idempotency_key: str | None = Field(
        None,
        description="Your reference: the same key grants once. Defaults to the "
        "Idempotency-Key header; one of them is required.",
    )


class CashRewardOut(Schema):
    transaction_id: int
    community_id: int
    member_id: int
    amount_minor: int
    currency: str
    reason: str
    payable_minor: int = Field(description="The member's payable balance now.")


@router.post("/cash-rewards", response={201: CashRewardOut, **ERRORS}, tags=["contributors"])
def cash_reward_grant(request: HttpRequest, payload: CashRewardIn) -> Status[dict[str, Any]]:
    """Owe a contributor cash: it joins their payable commission and leaves with the next
    payout batch. The same key grants once and answers with the first grant."""
    community = community_by_id(payload.community_id)
    member = member_by_id(payload.member_id)
    key = payload.idempotency_key
    if key is None:
        key = request.headers.get("Idempotency-Key", "")
    with fields_as_sent(**AS_SENT):
        txn = cash.cash_reward_grant(
            community=community,
            member=member,
            amount_minor=payload.amount_minor,
            reason=payload.reason,
            actor_id=request.user.pk,
            idempotency_key=key,
        )
    credit = txn.entries.select_related("account").filter(amount__gt=0).get()
    return Status(
        201,
        {
            "transaction_id": txn.pk,
            "community_id": community.pk,
            "member_id": int(txn.object_id),  # a reused key answers with the first grant
            "amount_minor": credit.amount,
            "currency": credit.currency,
            "reason": txn.memo.removeprefix("cash reward: "),
            "payable_minor": LedgerAccount.objects.values_list("balance", flat=True).get(
                pk=credit.account_id
            ),
        },
    )
