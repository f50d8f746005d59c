"""The ledger accounts of commission and cash rewards, per community and beneficiary.

Balances read as what the beneficiary holds (positive) against the community's commission
expense (negative):

- ``pending``: accrued at payment, not yet past the return window. Never negative.
- ``payable``: matured commission and cash rewards, to be paid out. A clawback after
  maturity may take it below zero; a negative balance blocks payouts until it is covered.
- ``payout``: set aside in an open payout batch. Never negative.
- the community's ``expense`` (all commission and rewards granted, net of reversals) and
  ``paid`` (what left by bank or WeChat transfer).
"""

from __future__ import annotations

from django.conf import settings

from quanzi.core.models import AccountKind, LedgerAccount
from quanzi.core.services.ledger import ledger_account_get_or_create


def _currency(currency: str | None) -> str:
    return currency or settings.QUANZI_CURRENCY


def pending_account(
    community_id: int, member_id: int, currency: str | None = None
) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"commission:{community_id}:member:{member_id}:pending",
        kind=AccountKind.LIABILITY,
        currency=_currency(currency),
        name="commission pending",
        allow_negative=False,
    )


def payable_account(
    community_id: int, member_id: int, currency: str | None = None
) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"commission:{community_id}:member:{member_id}:payable",
        kind=AccountKind.LIABILITY,
        currency=_currency(currency),
        name="commission payable",
        allow_negative=True,
    )


def payout_account(community_id: int, member_id: int, currency: str | None = None) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"commission:{community_id}:member:{member_id}:payout",
        kind=AccountKind.LIABILITY,
        currency=_currency(currency),
        name="commission in a payout batch",
        allow_negative=False,
    )


def expense_account(community_id: int, currency: str | None = None) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"commission:{community_id}:expense",
        kind=AccountKind.EXPENSE,
        currency=_currency(currency),
        name="commission and cash rewards",
    )


def paid_account(community_id: int, currency: str | None = None) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"commission:{community_id}:paid",
        kind=AccountKind.ASSET,
        currency=_currency(currency),
        name="commission paid out",
    )
