"""API v1: Commissions and what a member has earned: pending, payable, in a payout, paid.

Commission accrues when an attributed order is paid, matures when the return window closes
(the ``distribution.mature_commissions`` job, or ``POST /commissions/actions/mature``), and is
reversed before maturity or clawed back after it when the order is refunded.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id
from quanzi.distribution.api._common import BIGINT, In, matching, member_by_id, one_of
from quanzi.distribution.models import (
    Commission,
    CommissionStatus,
)
from quanzi.distribution.selectors import commission_totals
from quanzi.distribution.services.commissions import commissions_mature_due

router = Router(tags=["commissions"])


class CommissionOut(Schema):
    id: int
    community_id: int
    order_number: str
    line_id: int
    buyer_id: int
    beneficiary_id: int
    distributor_id: int
    level: int = Field(description="1: the direct referrer; 2: the one above.")
    rule_id: int
    rule_kind: str = Field(description="The rule as it was when earned.")
    percent_bp: int
    fixed_minor: int
    quantity: int
    base_minor: int = Field(description="The line's amount paid after discounts, in fen.")
    amount_minor: int = Field(description="Accrued at payment.")
    reversed_minor: int = Field(description="Taken back by refunds before maturity.")
    clawed_minor: int = Field(description="Taken back by refunds after maturity.")
    net_minor: int = Field(description="amount - reversed - clawed.")
    currency: str
    status: str = Field(description=one_of(CommissionStatus.values))
    window_days: int = Field(description="Days after receipt before it matures.")
    accrued_at: datetime
    matured_at: datetime | None


class CommissionPage(Schema):
    items: list[CommissionOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class CommissionFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    beneficiary_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(CommissionStatus.values))
    order: str = Field("", max_length=40, description="An order number.")
    level: int | None = Field(None, ge=1, le=2)

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in CommissionStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(CommissionStatus.values)}")
        return value


class EarningsFilters(In):
    community_id: int = Field(ge=1, le=BIGINT)


class EarningsOut(Schema):
    community_id: int
    member_id: int
    currency: str
    pending_minor: int = Field(description="Accrued, the return window still open.")
    payable_minor: int = Field(
        description="Matured and not yet in a payout; below 0 after a clawback, which blocks "
        "payouts until later earnings cover it."
    )
    in_payout_minor: int = Field(description="In an open payout batch.")
    paid_minor: int = Field(description="In payout batches marked paid.")


class MaturedOut(Schema):
    matured: int = Field(description="Commissions moved from pending to payable by this run.")


def commission_out(commission: Commission) -> dict[str, Any]:
    return {
        "id": commission.pk,
        "community_id": commission.community_id,
        "order_number": commission.order.number,
        "line_id": commission.line_id,
        "buyer_id": commission.buyer_id,
        "beneficiary_id": commission.beneficiary_id,
        "distributor_id": commission.distributor_id,
        "level": commission.level,
        "rule_id": commission.rule_id,
        "rule_kind": commission.rule_kind,
        "percent_bp": commission.percent_bp,
        "fixed_minor": commission.fixed_minor,
        "quantity": commission.quantity,
        "base_minor": commission.base_minor,
        "amount_minor": commission.amount_minor,
        "reversed_minor": commission.reversed_minor,
        "clawed_minor": commission.clawed_minor,
        "net_minor": commission.net_minor,
        "currency": commission.currency,
        "status": commission.status,
        "window_days": commission.window_days,
        "accrued_at": commission.accrued_at,
        "matured_at": commission.matured_at,
    }


@router.get("/commissions", response={200: CommissionPage, **ERRORS})
def commission_list(
    request: HttpRequest, filters: Query[CommissionFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Commissions, newest first."""
    qs = Commission.objects.select_related("order").order_by("-accrued_at", "-pk")
    qs = matching(
        qs,
        community_id=filters.community_id,
        beneficiary_id=filters.beneficiary_id,
        status=filters.status,
    )
    if filters.order.strip():
        qs = qs.filter(order__number=filters.order.strip())
    if filters.level is not None:
        qs = qs.filter(level=filters.level)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [commission_out(c) for c in paged["items"]]
    return paged


@router.get("/members/{member_id}/earnings", response={200: EarningsOut, **ERRORS})
def member_earnings(
    request: HttpRequest, member_id: int, filters: Query[EarningsFilters]
) -> dict[str, Any]:
    """What the member has earned in the community, from the ledger balances."""
    community = community_by_id(filters.community_id)
    member = member_by_id(member_id)
    totals = commission_totals(community.pk, [member.pk])  # reading creates no account
    return {
        "community_id": community.pk,
        "member_id": member.pk,
        "currency": community.currency,
        "pending_minor": totals.pending,
        "payable_minor": totals.payable,
        "in_payout_minor": totals.in_payout,
        "paid_minor": totals.paid,
    }


@router.post("/commissions/actions/mature", response={200: MaturedOut, **ERRORS})
def commission_mature_due(request: HttpRequest) -> dict[str, int]:
    """Mature now every pending commission whose return window has closed (up to 500 a
    call; call again while it answers 500). The ``distribution.mature_commissions`` job does
    the same every 15 minutes; running both, or twice, pays nothing twice."""
    return {"matured": commissions_mature_due()}
