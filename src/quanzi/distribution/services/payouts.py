"""Payout batches: payable balances set aside, paid by bank or WeChat transfer, marked paid.

Creating a batch moves each item's amount from the beneficiary's payable balance to their
``payout`` account, so a second batch cannot pay the same money; marking it paid moves it to
the community's ``paid`` account; cancelling puts it back. A payable balance below zero (a
clawback after maturity) blocks payouts until later earnings cover it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.crypto import encrypt
from quanzi.core.errors import Conflict
from quanzi.core.lock_objects import ledger_accounts_for_update
from quanzi.core.models import ActivityKind, LedgerAccount
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.distribution.models import (
    Distributor,
    PayoutBatch,
    PayoutItem,
    PayoutStatus,
)
from quanzi.distribution.services.accounts import paid_account, payable_account, payout_account
from quanzi.distribution.services.errors import DistributionError
from quanzi.distribution.services.settings import distribution_settings_get


@dataclass(frozen=True)
class PayoutRequest:
    member_id: int
    amount_minor: int


def _payable_accounts(community: Community) -> list[LedgerAccount]:
    prefix = f"commission:{community.pk}:member:"
    return list(
        LedgerAccount.objects.filter(code__startswith=prefix, code__endswith=":payable").order_by(
            "pk"
        )
    )


def _member_of(account: LedgerAccount) -> int:
    return int(account.code.split(":")[3])


def _new_batch(community: Community, note: str, actor_id: int | None, total: int) -> PayoutBatch:
    """A batch numbered PO<date><n>; a number taken by a concurrent batch a moment ago makes
    it try the next one."""
    stamp = clock.now().strftime("%Y%m%d")
    count = PayoutBatch.objects.filter(number__startswith=f"PO{stamp}").count()
    for _attempt in range(20):
        count += 1
        try:
            with transaction.atomic():
                return PayoutBatch.objects.create(
                    community=community,
                    currency=community.currency,
                    number=f"PO{stamp}{count:03d}",
                    note=note,
                    created_at=clock.now(),
                    created_by_id=actor_id,
                    total_minor=total,
                )
        except IntegrityError:
            continue
    raise Conflict(_("Another payout batch is being made; try again."), field="number")


def _move(
    batch: PayoutBatch,
    item: PayoutItem,
    *,
    step: str,
    source: LedgerAccount,
    target: LedgerAccount,
    actor_id: int | None,
    occurred_at: datetime | None = None,
) -> None:
    """One step of an item's way (``hold``, ``paid`` or ``cancel``): its amount leaves
    ``source`` for ``target``, once per item and step however often it is retried."""
    ledger_post(
        legs=[Leg(source, -item.amount_minor), Leg(target, item.amount_minor)],
        kind=f"payout.{step}",
        memo=batch.number,
        idempotency_key=f"payout:{item.pk}:{step}",
        actor_id=actor_id,
        object_type="payout_item",
        object_id=item.pk,
        occurred_at=occurred_at,
    )


def payout_batch_create(
    *,
    community: Community,
    items: Sequence[PayoutRequest] | None = None,
    note: str = "",
    actor_id: int | None = None,
) -> PayoutBatch:
    """A batch paying ``items``, or, without them, everyone's whole payable balance at or
    above the community's smallest payout. Refused whole, nothing posted, if any amount is
    not a positive whole fen or exceeds what that person may be paid."""
    note = (note or "").strip()
    if len(note) > 200:
        raise DistributionError(_("At most %(n)s characters.") % {"n": 200}, field="note")
    terms = distribution_settings_get(community)
    with transaction.atomic():
        if items is None:
            accounts = _payable_accounts(community)
            locked = ledger_accounts_for_update(a.pk for a in accounts)
            wanted = [
                PayoutRequest(_member_of(a), locked[a.pk].balance)
                for a in accounts
                if locked[a.pk].balance >= terms.min_payout_minor
            ]
            if not wanted:
                raise Conflict(
                    _("Nobody has %(min)s or more to be paid.")
                    % {"min": Money(terms.min_payout_minor, community.currency)},
                    field="items",
                )
        else:
            wanted = _checked(community, items)
        batch = _new_batch(community, note, actor_id, sum(w.amount_minor for w in wanted))
        for want in wanted:
            item = PayoutItem.objects.create(
                batch=batch, beneficiary_id=want.member_id, amount_minor=want.amount_minor
            )
            _move(
                batch,
                item,
                step="hold",
                source=payable_account(community.pk, want.member_id, community.currency),
                target=payout_account(community.pk, want.member_id, community.currency),
                actor_id=actor_id,
            )
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            amount=Money(batch.total_minor, batch.currency),
            object_type="payout_batch",
            object_id=batch.number,
            data={"action": "payout_batch_created", "items": len(wanted)},
        )
        return batch


def _checked(community: Community, items: Sequence[PayoutRequest]) -> list[PayoutRequest]:
    if not items:
        raise DistributionError(_("Name at least one person to pay."), field="items")
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for i, item in enumerate(items):
        amount = item.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            errors[f"items.{i}.amount_minor"] = [_("Pay at least 1 fen.")]
        if item.member_id in seen:
            errors[f"items.{i}.member_id"] = [_("This person is in the batch twice.")]
        seen.add(item.member_id)
    if errors:
        raise DistributionError(next(iter(errors.values()))[0], fields=errors)
    accounts = {
        item.member_id: payable_account(community.pk, item.member_id, community.currency)
        for item in items
    }
    locked = ledger_accounts_for_update(a.pk for a in accounts.values())
    for i, item in enumerate(items):
        balance = locked[accounts[item.member_id].pk].balance
        if balance < 0:
            errors[f"items.{i}.amount_minor"] = [
                _(
                    "This person owes %(debt)s from clawed-back commission; nothing can be paid until it is covered."
                )
                % {"debt": Money(-balance, community.currency)}
            ]
        elif item.amount_minor > balance:
            errors[f"items.{i}.amount_minor"] = [
                _("%(amount)s is more than the %(balance)s payable.")
                % {
                    "amount": Money(item.amount_minor, community.currency),
                    "balance": Money(balance, community.currency),
                }
            ]
    if errors:
        raise Conflict(next(iter(errors.values()))[0], fields=errors, code="payout_exceeds_payable")
    return list(items)


def _items(batch: PayoutBatch) -> list[PayoutItem]:
    return list(batch.items.order_by("pk"))


def payout_batch_mark_paid(
    *, batch: PayoutBatch, references: dict[int, str] | None = None, actor_id: int | None = None
) -> PayoutBatch:
    """The transfers were made: the batch is paid, each beneficiary hears of it in the log."""
    references = references or {}
    with transaction.atomic():
        batch = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != PayoutStatus.OPEN:
            raise Conflict(
                _("This batch is %(status)s already.") % {"status": batch.get_status_display()},
                field="status",
            )
        moment = clock.now()
        for item in _items(batch):
            _move(
                batch,
                item,
                step="paid",
                source=payout_account(batch.community_id, item.beneficiary_id, batch.currency),
                target=paid_account(batch.community_id, batch.currency),
                actor_id=actor_id,
                occurred_at=moment,
            )
            reference = str(references.get(item.beneficiary_id, ""))[:64]
            if reference:
                item.reference = reference
                item.save(update_fields=["reference"])
            activity_record(
                kind=ActivityKind.REFERRAL,
                occurred_at=moment,
                member_id=item.beneficiary_id,
                community_id=batch.community_id,
                amount=Money(item.amount_minor, batch.currency),
                actor_id=actor_id,
                object_type="payout_batch",
                object_id=batch.number,
                data={"action": "payout_paid", "reference": reference},
            )
        batch.status = PayoutStatus.PAID
        batch.closed_at = moment
        batch.closed_by_id = actor_id
        batch.save(update_fields=["status", "closed_at", "closed_by_id"])
        return batch


def payout_batch_cancel(
    *, batch: PayoutBatch, reason: str, actor_id: int | None = None
) -> PayoutBatch:
    """Not paid after all: every amount goes back to its payable balance."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise DistributionError(_("Say why (1-%(n)s characters).") % {"n": 200}, field="reason")
    with transaction.atomic():
        batch = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != PayoutStatus.OPEN:
            raise Conflict(
                _("This batch is %(status)s already.") % {"status": batch.get_status_display()},
                field="status",
            )
        for item in _items(batch):
            _move(
                batch,
                item,
                step="cancel",
                source=payout_account(batch.community_id, item.beneficiary_id, batch.currency),
                target=payable_account(batch.community_id, item.beneficiary_id, batch.currency),
                actor_id=actor_id,
            )
        batch.status = PayoutStatus.CANCELLED
        batch.note = f"{batch.note} · {reason}"[:200] if batch.note else reason
        batch.closed_at = clock.now()
        batch.closed_by_id = actor_id
        batch.save(update_fields=["status", "note", "closed_at", "closed_by_id"])
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=batch.community_id,
            object_type="payout_batch",
            object_id=batch.number,
            data={"action": "payout_batch_cancelled", "reason": reason},
        )
        return batch


def distributor_set_payee(
    *, distributor: Distributor, name: str, account: str, actor_id: int | None = None
) -> Distributor:
    """Where the distributor's payouts go: a name and a bank card or WeChat account, for
    every role the member holds in the community."""
    name = (name or "").strip()
    account = "".join((account or "").split())
    errors: dict[str, list[str]] = {}
    if not 1 <= len(name) <= 50:
        errors["name"] = [_("Give the account holder's name (1-50 characters).")]
    if not 4 <= len(account) <= 64:
        errors["account"] = [_("Give a bank card or WeChat account (4-64 characters).")]
    if errors:
        raise DistributionError(next(iter(errors.values()))[0], fields=errors)
    masked = f"{account[:2]}****{account[-4:]}"
    with transaction.atomic():
        # Payouts go to the person, not the role: every role of theirs here gets the payee.
        Distributor.objects.filter(
            community_id=distributor.community_id, member_id=distributor.member_id
        ).update(
            payee_name=name,
            payee_account_encrypted=encrypt(account),
            payee_account_masked=masked,
        )
        distributor.refresh_from_db()
        activity_record(
            kind=ActivityKind.OPERATOR if actor_id else ActivityKind.MEMBER,
            member_id=distributor.member_id,
            community_id=distributor.community_id,
            actor_id=actor_id,
            object_type="distributor",
            object_id=distributor.pk,
            data={"action": "payee_set"},
        )
        return distributor


__all__ = [
    "PayoutRequest",
    "distributor_set_payee",
    "payout_batch_cancel",
    "payout_batch_create",
    "payout_batch_mark_paid",
]
