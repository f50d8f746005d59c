"""Reconciliation: what a lost notification or a crash left undone is finished here."""

from __future__ import annotations

from datetime import timedelta

from quanzi.core import clock
from quanzi.core.scheduling import job
from quanzi.payments.models import Payment, PaymentStatus, Provider
from quanzi.payments.providers import ProviderError
from quanzi.payments.services.payments import payment_reconcile
from quanzi.payments.services.refunds import refunds_retry


def payments_reconcile(*, limit: int = 500) -> int:
    """Query the provider for open payments a minute or more old; returns how many turned
    out paid. Notifications normally arrive first; this catches the ones that did not."""
    now = clock.now()
    paid = 0
    open_payments = Payment.objects.filter(
        status=PaymentStatus.CREATED,
        created_at__lte=now - timedelta(minutes=1),
        created_at__gte=now - timedelta(days=2),
    ).exclude(provider=Provider.MANUAL)
    for payment in open_payments.order_by("created_at")[:limit]:
        try:
            payment = payment_reconcile(payment=payment)
        except ProviderError:
            continue  # unreachable now; the next run asks again
        paid += payment.status == PaymentStatus.SUCCEEDED
    return paid


@job("payments.reconcile", every=timedelta(minutes=2))
def reconcile() -> str:
    """Recover payments whose notification never arrived; finish refunds still processing."""
    paid = payments_reconcile()
    refunded = refunds_retry()
    return f"{paid} payment(s) recovered, {refunded} refund(s) settled"
