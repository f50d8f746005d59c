"""The moves every crystal write shares: lock a member's books, credit a grant (debt first),
take crystals oldest first, expire a grant.

Every write of a member's crystals locks the member's wallet account before it reads a grant
or a balance, so two writes for one member run one after the other: a cap, a balance or a
grant's ``remaining`` read under the lock stays true until the commit. Accounts are locked in
primary-key order (``ledger_accounts_for_update``), the order ``ledger_post`` takes them in,
so rewards writes cannot deadlock with one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from quanzi.core.lock_objects import ledger_accounts_for_update
from quanzi.core.models import ActivityKind, LedgerAccount, LedgerTransaction
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.rewards.models import CrystalGrant
from quanzi.rewards.services.accounts import debt_account, issued_account, wallet_account


@dataclass(frozen=True, slots=True)
class Books:
    """A member's crystal accounts in one community, locked by the current transaction."""

    wallet: LedgerAccount
    debt: LedgerAccount
    issued: LedgerAccount
    others: dict[str, LedgerAccount]

    def held(self) -> int:
        """Crystals in the wallet now (read again: a posting in this transaction moves it)."""
        return _balance(self.wallet)

    def owed(self) -> int:
        """Crystals owed now, as a positive number."""
        return -_balance(self.debt)


def _balance(account: LedgerAccount) -> int:
    return int(LedgerAccount.objects.values_list("balance", flat=True).get(pk=account.pk))


def books_lock(community_id: int, member_id: int, **others: LedgerAccount) -> Books:
    """Lock the member's wallet and debt, the community's issuance and ``others``, in pk
    order; call inside the write's transaction, before reading grants or balances."""
    wallet = wallet_account(community_id, member_id)
    debt = debt_account(community_id, member_id)
    issued = issued_account(community_id)
    locked = ledger_accounts_for_update(
        [wallet.pk, debt.pk, issued.pk, *(a.pk for a in others.values())]
    )
    return Books(
        wallet=locked[wallet.pk],
        debt=locked[debt.pk],
        issued=locked[issued.pk],
        others={name: locked[a.pk] for name, a in others.items()},
    )


def credit_legs(books: Books, source: LedgerAccount, crystals: int) -> tuple[list[Leg], int]:
    """Legs moving ``crystals`` out of ``source``: debt repaid first, the rest to the wallet.
    Returns the legs and how much repaid debt."""
    repaid = min(crystals, books.owed())
    legs = [Leg(source, -crystals)]
    if repaid:
        legs.append(Leg(books.debt, repaid))
    if crystals - repaid:
        legs.append(Leg(books.wallet, crystals - repaid))
    return legs, repaid


def take_fifo(community_id: int, member_id: int, crystals: int, *, skip: int | None = None) -> int:
    """Take up to ``crystals`` from the member's grants' ``remaining``, oldest first (by
    earned_at, then pk). The caller holds the wallet lock and posts the matching ledger legs.
    Returns what was taken (less than asked when the grants hold less)."""
    left = crystals
    grants = (
        CrystalGrant.objects.filter(community_id=community_id, member_id=member_id, remaining__gt=0)
        .order_by("earned_at", "pk")
        .values_list("pk", "remaining")
    )
    if skip is not None:
        grants = grants.exclude(pk=skip)
    for pk, remaining in grants.iterator():
        if left <= 0:
            break
        take = min(remaining, left)
        CrystalGrant.objects.filter(pk=pk).update(remaining=F("remaining") - take)
        left -= take
    return crystals - left


def expire_grant(grant_id: int, books: Books, now: datetime) -> int:
    """Expire what is left of a grant past its expiry: wallet to the community's expired
    account (``books.others["expired"]``, locked by the caller with the member's books).
    Returns the crystals expired (0 when there was nothing to expire: not due, already
    expired, or spent meanwhile)."""
    grant = (
        CrystalGrant.objects.select_for_update()
        .filter(pk=grant_id, expires_at__lte=now, remaining__gt=0)
        .first()
    )
    if grant is None:
        return 0
    crystals = grant.remaining
    expired = books.others["expired"]  # locked by the caller with the member's books
    ledger_post(
        legs=[Leg(books.wallet, -crystals), Leg(expired, crystals)],
        kind="crystals.expire",
        memo=f"expired {grant.action} {grant.source}"[:255],
        idempotency_key=f"crystals:expire:{grant.pk}",
        object_type="crystal_grant",
        object_id=grant.pk,
        occurred_at=now,
    )
    CrystalGrant.objects.filter(pk=grant.pk).update(remaining=0, expired=F("expired") + crystals)
    activity_record(
        kind=ActivityKind.CRYSTALS,
        occurred_at=now,
        member_id=grant.member_id,
        community_id=grant.community_id,
        object_type="crystal_grant",
        object_id=grant.pk,
        data={"direction": "expire", "action": grant.action, "crystals": crystals},
    )
    return crystals


def posted(key: str) -> bool:
    return LedgerTransaction.objects.filter(idempotency_key=key).exists()


# Crystals handed back by a cancelled redemption come back as a grant with this source prefix:
# they were earned once already, so levels and leaderboards leave them out.
RETURNED_PREFIX = "redemption:"
