"""Posting to the double-entry ledger.

``ledger_post`` is the only way money, commission or crystals move. It locks the touched accounts
in primary-key order, refuses a posting that would take a non-negative account below zero, writes
the entries with each account's running balance, and updates the cached balances, all in one
transaction. A retry with the same ``idempotency_key`` returns the first transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Value, When
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.core.lock_objects import ledger_accounts_for_update
from quanzi.core.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction


class LedgerError(ApplicationError):
    code = "ledger_invalid"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


@dataclass(frozen=True, slots=True)
class Leg:
    account: LedgerAccount
    amount: int


def ledger_account_get_or_create(
    *,
    code: str,
    kind: str,
    currency: str,
    name: str = "",
    allow_negative: bool = True,
) -> LedgerAccount:
    """The account with this code, created on first use. Its rules never change afterwards."""
    if kind not in AccountKind.values:
        raise LedgerError(_("Unknown account kind %(kind)r.") % {"kind": kind}, field="kind")
    if not code or not currency:
        raise LedgerError(_("An account needs a code and a currency."), field="code")
    try:
        with transaction.atomic():
            account, _created = LedgerAccount.objects.get_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "currency": currency,
                    "name": name,
                    "allow_negative": allow_negative,
                },
            )
    except IntegrityError:  # created by a concurrent caller between our read and insert
        account = LedgerAccount.objects.get(code=code)
    if (account.currency, account.allow_negative, account.kind) != (
        currency,
        allow_negative,
        kind,
    ):
        raise LedgerError(
            _("Account %(code)s exists with other rules.") % {"code": code}, field="code"
        )
    return account


def _validate(legs: Sequence[Leg]) -> str:
    if len(legs) < 2:
        raise LedgerError(_("A transaction needs at least two entries."), field="legs")
    for leg in legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int):
            raise LedgerError(_("Amounts are whole minor units."), field="legs")
        if leg.amount == 0:
            raise LedgerError(_("An entry cannot be zero."), field="legs")
        if leg.account.pk is None:
            raise LedgerError(_("Every entry needs a saved account."), field="legs")
    currencies = {leg.account.currency for leg in legs}
    if len(currencies) != 1:
        raise LedgerError(_("All entries of a transaction share one currency."), field="legs")
    if sum(leg.amount for leg in legs) != 0:
        raise LedgerError(_("A transaction's entries must sum to zero."), field="legs")
    return currencies.pop()


def _same_legs(txn: LedgerTransaction, legs: Sequence[Leg]) -> bool:
    stored = sorted(txn.entries.values_list("account_id", "amount"))
    return stored == sorted((leg.account.pk, leg.amount) for leg in legs)


def ledger_post(
    *,
    legs: Sequence[Leg],
    kind: str,
    memo: str = "",
    idempotency_key: str | None = None,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    occurred_at: datetime | None = None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    currency = _validate(legs)
    try:
        with transaction.atomic():
            # Lock first: a concurrent retry with the same key then waits here and, once the
            # first commits, finds its transaction below instead of posting again.
            locked = ledger_accounts_for_update(leg.account.pk for leg in legs)
            if idempotency_key:
                existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return _replay(existing, legs)

            deltas: dict[int, int] = defaultdict(int)
            for leg in legs:
                deltas[leg.account.pk] += leg.amount
            for account_id, delta in deltas.items():
                account = locked[account_id]
                if not account.allow_negative and account.balance + delta < 0:
                    raise InsufficientFunds(
                        _(
                            "Account %(code)s holds %(balance)s, "
                            "%(amount)s would take it below zero."
                        )
                        % {"code": account.code, "balance": account.balance, "amount": -delta},
                        field="amount",
                    )

            txn = LedgerTransaction.objects.create(
                kind=kind,
                memo=memo,
                idempotency_key=idempotency_key or None,
                occurred_at=occurred_at or clock.now(),
                actor_id=actor_id,
                object_type=object_type,
                object_id=str(object_id),
                reverses=reverses,
            )
            running = {pk: account.balance for pk, account in locked.items()}
            entries = []
            for leg in legs:
                running[leg.account.pk] += leg.amount
                entries.append(
                    LedgerEntry(
                        transaction=txn,
                        account_id=leg.account.pk,
                        amount=leg.amount,
                        currency=currency,
                        balance_after=running[leg.account.pk],
                    )
                )
            LedgerEntry.objects.bulk_create(entries)
            moved = {pk: delta for pk, delta in deltas.items() if delta}
            if moved:
                # One statement for every account: a round trip less per posting.
                LedgerAccount.objects.filter(pk__in=moved).update(
                    balance=F("balance")
                    + Case(
                        *(When(pk=pk, then=Value(delta)) for pk, delta in moved.items()),
                        output_field=BigIntegerField(),
                    )
                )
            return txn
    except IntegrityError:
        # The unique key lost a race with a concurrent post outside our lock's reach.
        if idempotency_key:
            existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _replay(existing, legs)
        raise


def _replay(existing: LedgerTransaction, legs: Sequence[Leg]) -> LedgerTransaction:
    if not _same_legs(existing, legs):
        raise IdempotencyConflict(
            _("This idempotency key was used for a different posting."), field="idempotency_key"
        )
    return existing


def ledger_reverse(
    *, txn: LedgerTransaction, kind: str, memo: str = "", actor_id: int | None = None
) -> LedgerTransaction:
    """Post the mirror image of ``txn``; the original stays as it was. Safe to call twice."""
    legs = [Leg(account=e.account, amount=-e.amount) for e in txn.entries.select_related("account")]
    return ledger_post(
        legs=legs,
        kind=kind,
        memo=memo,
        idempotency_key=f"reverse:{txn.pk}",
        actor_id=actor_id,
        object_type=txn.object_type,
        object_id=txn.object_id,
        reverses=txn,
    )
