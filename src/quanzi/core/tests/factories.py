"""Test data for the core primitives, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from quanzi.core.models import LedgerAccount, LedgerEntry, LedgerTransaction
from quanzi.core.services.ledger import Leg, ledger_account_get_or_create, ledger_post

_seq = itertools.count(1)


def account(
    label: str = "acct",
    *,
    kind: str = "asset",
    currency: str = "CNY",
    allow_negative: bool = True,
) -> LedgerAccount:
    """A fresh account with a code no other test uses."""
    return ledger_account_get_or_create(
        code=f"test:{label}:{next(_seq)}",
        kind=kind,
        currency=currency,
        allow_negative=allow_negative,
    )


def fund(target: LedgerAccount, amount: int, *, source: LedgerAccount | None = None) -> None:
    """Move ``amount`` into ``target`` from an account that may go negative."""
    source = source or account("source", currency=target.currency)
    ledger_post(
        legs=[Leg(account=source, amount=-amount), Leg(account=target, amount=amount)],
        kind="test_funding",
    )


@dataclass(frozen=True)
class LedgerState:
    transactions: int
    entries: int
    balances: dict[str, int]


def ledger_state() -> LedgerState:
    """Everything a posting could change, to show a refused one changed nothing."""
    return LedgerState(
        transactions=LedgerTransaction.objects.count(),
        entries=LedgerEntry.objects.count(),
        balances=dict(LedgerAccount.objects.values_list("code", "balance")),
    )
