"""Reads of the core primitives."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from quanzi.core.models import LedgerAccount, LedgerEntry


@dataclass(frozen=True, slots=True)
class BalanceDrift:
    account_id: int
    code: str
    cached: int
    derived: int


def ledger_balance_derived(*, account: LedgerAccount) -> int:
    """The balance as the sum of the account's entries: the truth the cache must equal."""
    total = LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def ledger_drift() -> list[BalanceDrift]:
    """Accounts whose cached balance differs from the sum of their entries."""
    derived = dict(
        LedgerEntry.objects.values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    drift = []
    for account in LedgerAccount.objects.only("id", "code", "balance").iterator():
        total = int(derived.get(account.pk) or 0)
        if total != account.balance:
            drift.append(BalanceDrift(account.pk, account.code, account.balance, total))
    return drift


def ledger_unbalanced_transactions() -> list[int]:
    """Ids of transactions whose entries do not sum to zero (there should never be any)."""
    return list(
        LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .values_list("transaction_id", flat=True)
    )
