"""Reads of distribution: a person's commission balances, without creating anything."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Sum

from quanzi.core.models import LedgerAccount
from quanzi.distribution.models import PayoutItem, PayoutStatus


@dataclass(frozen=True)
class CommissionTotals:
    pending: int
    payable: int
    in_payout: int
    paid: int


def commission_totals(community_id: int, member_ids: Iterable[int]) -> CommissionTotals:
    """Pending, payable (negative: owed back), in an open payout batch, and paid out, summed
    over every record of the person (merged ones too). Accounts never used read as zero."""
    ids = list(member_ids)
    codes = {
        f"commission:{community_id}:member:{pk}:{kind}": kind
        for pk in ids
        for kind in ("pending", "payable", "payout")
    }
    sums = {"pending": 0, "payable": 0, "payout": 0}
    for code, balance in LedgerAccount.objects.filter(code__in=codes).values_list(
        "code", "balance"
    ):
        sums[codes[code]] += balance
    paid = (
        PayoutItem.objects.filter(
            beneficiary_id__in=ids,
            batch__community_id=community_id,
            batch__status=PayoutStatus.PAID,
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    return CommissionTotals(sums["pending"], sums["payable"], sums["payout"], paid)
