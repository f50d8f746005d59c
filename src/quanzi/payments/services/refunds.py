"""Refunds: reserved against the payment, paid out by the provider under a stable number.

A refund is three steps so that no lock is held while the provider is asked:
1. one transaction raises ``payment.refunded_minor`` by a conditional update that refuses to pass
   the amount paid, and creates the refund (``processing``) under its ``out_refund_no``;
2. the provider is asked to refund under that number: a retry, by us or by the job after a
   crash, is the same refund at the provider, never a second;
3. the outcome is applied once, under the refund's row lock: success posts the ledger
   transaction and tells the orders app; a final failure gives the reserved amount back.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.money import Money
from quanzi.payments import hooks
from quanzi.payments.errors import OverRefund, PaymentError
from quanzi.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.providers import ProviderRefund, provider_for
from quanzi.payments.services.ledger import post_refund
from quanzi.payments.wechatpay import ProviderError

log = logging.getLogger(__name__)


def refund_start(
    *,
    payment: Payment,
    amount_minor: int,
    out_refund_no: str,
    reference: str,
    reason: str,
    actor_id: int | None = None,
) -> Refund:
    """Refund ``amount_minor`` of ``payment`` under ``out_refund_no``; calling again with the
    same number returns (and, while it is processing, retries) the same refund."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise PaymentError(_("A refund is a positive amount in fen."), field="amount_minor")
    if not out_refund_no or len(out_refund_no) > 64:
        raise PaymentError(_("A refund needs its number."), field="out_refund_no")
    with transaction.atomic():
        refund = Refund.objects.select_related("payment").filter(out_refund_no=out_refund_no)
        existing = refund.first()
        if existing is None:
            try:
                existing = _reserve(
                    payment, amount_minor, out_refund_no, reference, reason[:80], actor_id
                )
            except OverRefund:
                # A concurrent call under this number reserved the amount and committed while
                # we waited on the payment row: that refund is this one.
                existing = refund.first()
                if existing is None:
                    raise
        if existing.payment_id != payment.pk or existing.amount_minor != amount_minor:
            raise Conflict(
                _("Refund number %(no)s was used for another refund.") % {"no": out_refund_no},
                field="out_refund_no",
            )
    if existing.status == RefundStatus.PROCESSING:
        return refund_attempt(refund=existing)
    return existing


def _reserve(
    payment: Payment,
    amount: int,
    out_refund_no: str,
    reference: str,
    reason: str,
    actor_id: int | None,
) -> Refund:
    fresh = Payment.objects.get(pk=payment.pk)
    if fresh.status != PaymentStatus.SUCCEEDED:
        raise Conflict(_("Only a paid payment can be refunded."), field="payment")
    taken = Payment.objects.filter(
        pk=payment.pk, refunded_minor__lte=F("amount_minor") - amount
    ).update(refunded_minor=F("refunded_minor") + amount)
    if not taken:
        left = fresh.amount_minor - Payment.objects.get(pk=payment.pk).refunded_minor
        raise OverRefund(
            _("At most %(left)s of this payment is left to refund.")
            % {"left": Money(max(left, 0), fresh.currency)},
            field="amount_minor",
        )
    try:
        with transaction.atomic():
            return Refund.objects.select_related("payment").create(
                payment=fresh,
                out_refund_no=out_refund_no,
                reference=reference,
                amount_minor=amount,
                reason=reason,
                created_at=clock.now(),
                actor_id=actor_id,
            )
    except IntegrityError:
        # The same number, started concurrently: the outer transaction rolls back our
        # reservation and the caller retries into the existing refund.
        raise Conflict(
            _("This refund is being started; try again."), field="out_refund_no"
        ) from None


def refund_attempt(*, refund: Refund) -> Refund:
    """Ask the provider to pay the refund out (again, under the same number) and apply the
    answer. A provider that cannot be reached leaves it processing for the job to retry."""
    if refund.status != RefundStatus.PROCESSING:
        return refund
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    backend = provider_for(refund.payment.provider)
    try:
        outcome = backend.refund(refund)
    except ProviderError as exc:
        # NOT_ENOUGH (the merchant balance is short) is retried under the same number once it
        # is topped up, as WeChat Pay asks; a malformed request never succeeds and fails now.
        if exc.provider_code in ("INVALID_REQUEST", "PARAM_ERROR"):
            return refund_settle(
                refund=refund, outcome=ProviderRefund(RefundStatus.FAILED, failure=exc.message)
            )
        log.warning("refund %s: provider unreachable, will retry: %s", refund.pk, exc)
        Refund.objects.filter(pk=refund.pk).update(failure=str(exc.message)[:200])
        refund.failure = str(exc.message)[:200]
        return refund
    return refund_settle(refund=refund, outcome=outcome)


def refund_settle(
    *, refund: Refund, outcome: ProviderRefund, actor_id: int | None = None
) -> Refund:
    """Apply the provider's answer once: success posts and notifies, failure gives back."""
    if outcome.status == RefundStatus.PROCESSING:
        if outcome.provider_refund_id and not refund.provider_refund_id:
            Refund.objects.filter(pk=refund.pk).update(
                provider_refund_id=outcome.provider_refund_id
            )
        return refund
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if refund.status != RefundStatus.PROCESSING:
            return refund
        refund.provider_refund_id = outcome.provider_refund_id or refund.provider_refund_id
        if outcome.status == RefundStatus.SUCCEEDED:
            refund.status = RefundStatus.SUCCEEDED
            refund.succeeded_at = clock.now()
            refund.failure = ""
            refund.save(update_fields=["status", "succeeded_at", "failure", "provider_refund_id"])
            post_refund(refund, actor_id=actor_id or refund.actor_id)
            hooks.refund_succeeded(refund)
        else:
            refund.status = RefundStatus.FAILED
            refund.failure = (outcome.failure or "failed")[:200]
            refund.save(update_fields=["status", "failure", "provider_refund_id"])
            Payment.objects.filter(pk=refund.payment_id).update(
                refunded_minor=F("refunded_minor") - refund.amount_minor
            )
            hooks.refund_failed(refund)
        return refund


def refunds_retry(*, limit: int = 200) -> int:
    """Ask again about refunds still processing (the job): a crash or an unreachable provider
    between steps 1 and 3 is finished here, under the same refund numbers."""
    done = 0
    for refund in Refund.objects.select_related("payment").filter(status=RefundStatus.PROCESSING)[
        :limit
    ]:
        backend = provider_for(refund.payment.provider)
        try:
            seen = backend.query_refund(refund)
        except ProviderError:
            continue
        if seen is None:
            refund = refund_attempt(refund=refund)
        else:
            refund = refund_settle(refund=refund, outcome=seen)
        done += refund.status != RefundStatus.PROCESSING
    return done
