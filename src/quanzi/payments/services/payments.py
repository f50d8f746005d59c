"""Payments: started for an order, confirmed by an operator or a provider, applied once.

A payment succeeds in ``_succeed`` only: it locks the payment row, so of any number of
concurrent confirmations (an operator, ten copies of a notification, the reconciliation job)
exactly one changes it, posts the ledger transaction and tells the orders app; the rest find it
paid and change nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.money import Money
from quanzi.payments import hooks
from quanzi.payments.errors import AmountMismatch, PaymentClosed, PaymentError
from quanzi.payments.models import Payment, PaymentStatus, Provider
from quanzi.payments.providers import provider_for
from quanzi.payments.services.ledger import post_payment
from quanzi.payments.wechatpay import ProviderError

MODES = ("native", "jsapi", "transfer")


def payment_start(
    *,
    community_id: int,
    member_id: int,
    reference: str,
    amount_minor: int,
    currency: str,
    description: str,
    provider: str,
    expires_at: datetime,
    mode: str = "native",
    payer_openid: str = "",
) -> Payment:
    """The open payment for ``reference`` at ``provider``, created (and registered with the
    provider) on first call; a retry returns the same payment with the same checkout."""
    if provider not in Provider.values:
        raise PaymentError(
            _("Unknown payment provider %(name)r.") % {"name": provider}, field="provider"
        )
    if mode not in MODES:
        raise PaymentError(_("Pay by native, jsapi or transfer."), field="mode")
    backend = provider_for(provider)  # refuses an unconfigured provider before any write
    # One trade type per number at WeChat Pay: a member who switches (the QR code on a computer,
    # then inside WeChat) gets a new payment, and the old one is closed first.
    stale = (
        Payment.objects.filter(reference=reference, provider=provider, status=PaymentStatus.CREATED)
        .exclude(provider=Provider.MANUAL)
        .order_by("-pk")
        .first()
    )
    if stale is not None and stale.checkout and stale.checkout.get("mode") != mode:
        stale = payment_close(payment=stale)
        if stale.status == PaymentStatus.SUCCEEDED:
            return stale  # it was paid meanwhile
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(reference=reference, provider=provider, status=PaymentStatus.CREATED)
            .order_by("-pk")
            .first()
        )
        if payment is not None and payment.amount_minor != amount_minor:
            raise Conflict(_("This order's amount changed; start again."), field="amount_minor")
        if payment is None:
            attempt = Payment.objects.filter(reference=reference).count() + 1
            try:
                with transaction.atomic():
                    payment = Payment.objects.create(
                        community_id=community_id,
                        member_id=member_id,
                        reference=reference,
                        provider=provider,
                        out_trade_no=f"{reference}-{attempt}",
                        description=description[:127],
                        amount_minor=amount_minor,
                        currency=currency,
                        created_at=clock.now(),
                        expires_at=expires_at,
                    )
            except IntegrityError:
                raise Conflict(
                    _("A payment for this order is being started; try again."),
                    field="reference",
                ) from None
    if payment.checkout.get("mode") == mode or (provider == Provider.MANUAL and payment.checkout):
        return payment
    # The provider call happens outside any transaction: a slow provider holds no lock. The
    # out_trade_no is fixed, so a retry after a failure registers the same payment again.
    checkout = backend.start(payment, mode=mode, payer_openid=payer_openid)
    Payment.objects.filter(pk=payment.pk).update(checkout=checkout)
    payment.checkout = checkout
    return payment


def _succeed(
    payment_id: int,
    *,
    transaction_id: str,
    amount_minor: int,
    paid_at: datetime,
    actor_id: int | None = None,
) -> tuple[Payment, bool]:
    """Mark the payment paid, once; ``(payment, changed)``."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment, False
        if amount_minor != payment.amount_minor:
            raise AmountMismatch(
                _("%(paid)s arrived; this payment is for %(due)s.")
                % {
                    "paid": Money(amount_minor, payment.currency),
                    "due": Money(payment.amount_minor, payment.currency),
                },
                field="amount_minor",
            )
        # A closed payment that is paid anyway (a transfer confirmed after the order lapsed)
        # still succeeds: the money is real, and the orders app decides to keep or refund it.
        payment.status = PaymentStatus.SUCCEEDED
        payment.paid_at = min(paid_at, clock.now())
        payment.transaction_id = transaction_id[:64]
        payment.confirmed_by_id = actor_id
        payment.save(update_fields=["status", "paid_at", "transaction_id", "confirmed_by_id"])
        post_payment(payment, actor_id=actor_id)
        hooks.payment_succeeded(payment)
        return payment, True


def payment_confirm_manual(
    *, payment: Payment, amount_minor: int, note: str = "", actor_id: int | None = None
) -> Payment:
    """An operator confirms an offline transfer; the amount received must be the amount due."""
    if payment.provider != Provider.MANUAL:
        raise PaymentError(
            _("Only transfers are confirmed by hand; this payment confirms itself."),
            field="provider",
        )
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise PaymentError(_("Give the amount received, in fen."), field="amount_minor")
    note = (note or "").strip()[:60]
    payment, _changed = _succeed(
        payment.pk,
        transaction_id=f"manual:{note}" if note else "manual",
        amount_minor=amount_minor,
        paid_at=clock.now(),
        actor_id=actor_id,
    )
    return payment


def payment_reconcile(*, payment: Payment) -> Payment:
    """Ask the provider how the payment stands and apply what it says: a notification that
    never arrived is recovered here."""
    if payment.status == PaymentStatus.SUCCEEDED:
        return payment
    seen = provider_for(payment.provider).query(payment)
    if seen is None:
        return payment
    if seen.paid:
        payment, _changed = _succeed(
            payment.pk,
            transaction_id=seen.transaction_id,
            amount_minor=seen.amount_minor,
            paid_at=seen.paid_at or clock.now(),
        )
        return payment
    if seen.closed and payment.status == PaymentStatus.CREATED:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.CLOSED, closed_at=clock.now()
        )
        payment.refresh_from_db()
    return payment


def payment_close(*, payment: Payment) -> Payment:
    """Stop an unpaid payment: the provider refuses to take money for it from now on.

    Should the provider answer that it was paid meanwhile, the payment is applied instead and
    ``PaymentClosed`` is not raised: the caller sees a paid payment and keeps the order.
    """
    if payment.status != PaymentStatus.CREATED:
        return payment
    backend = provider_for(payment.provider)
    try:
        backend.close(payment)
    except ProviderError as exc:
        if exc.provider_code != "ORDERPAID":
            raise
    payment = payment_reconcile(payment=payment)
    if payment.status == PaymentStatus.CREATED:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.CLOSED, closed_at=clock.now()
        )
        payment.refresh_from_db()
    return payment


__all__ = [
    "PaymentClosed",
    "payment_close",
    "payment_confirm_manual",
    "payment_reconcile",
    "payment_start",
]
