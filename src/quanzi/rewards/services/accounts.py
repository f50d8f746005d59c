"""The ledger accounts of crystals (currency ``CRYSTAL``), per community and member.

Balances read as follows:

- a member's ``wallet``: crystals held, never below zero; always the sum of the member's
  grants' ``remaining``.
- a member's ``debt``: what a clawback could not take because it was spent, as a negative
  balance (never above zero); repaid from the next earnings before anything reaches the wallet.
- the community's ``issued``: the other side of every earn and clawback (negative).
- the community's ``redeemed`` and ``expired``: where spent and expired crystals go (positive).
"""

from __future__ import annotations

from quanzi.core.models import AccountKind, LedgerAccount
from quanzi.core.services.ledger import ledger_account_get_or_create

CURRENCY = "CRYSTAL"


def wallet_code(community_id: int, member_id: int) -> str:
    return f"crystals:{community_id}:member:{member_id}"


def debt_code(community_id: int, member_id: int) -> str:
    return f"crystals:{community_id}:member:{member_id}:debt"


def wallet_account(community_id: int, member_id: int) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=wallet_code(community_id, member_id),
        kind=AccountKind.LIABILITY,
        currency=CURRENCY,
        name="crystals held",
        allow_negative=False,
    )


def debt_account(community_id: int, member_id: int) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=debt_code(community_id, member_id),
        kind=AccountKind.ASSET,
        currency=CURRENCY,
        name="crystals owed",
        allow_negative=True,
    )


def _community_account(community_id: int, role: str, kind: AccountKind) -> LedgerAccount:
    """The community's ``issued``, ``redeemed`` or ``expired`` account (see above); none is
    a wallet, so none refuses to go below zero."""
    return ledger_account_get_or_create(
        code=f"crystals:{community_id}:{role}",
        kind=kind,
        currency=CURRENCY,
        name=f"crystals {role}",
        allow_negative=True,
    )


def issued_account(community_id: int) -> LedgerAccount:
    return _community_account(community_id, "issued", AccountKind.EQUITY)


def redeemed_account(community_id: int) -> LedgerAccount:
    return _community_account(community_id, "redeemed", AccountKind.EXPENSE)


def expired_account(community_id: int) -> LedgerAccount:
    return _community_account(community_id, "expired", AccountKind.INCOME)
