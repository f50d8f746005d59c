"""The distribution app hears of paid orders and refunds here (registered at start-up, after
the orders app's own handlers, so an order is already marked paid or refunded)."""

from __future__ import annotations

from quanzi.core import clock
from quanzi.distribution.services.commissions import commissions_accrue, commissions_on_refund
from quanzi.orders.models import AfterSale, Order
from quanzi.payments import hooks
from quanzi.payments.models import Payment, Refund


def on_paid(payment: Payment) -> None:
    order = Order.objects.filter(number=payment.reference).select_related("community").first()
    if order is not None:
        commissions_accrue(order)


def on_refunded(refund: Refund) -> None:
    case = AfterSale.objects.filter(refund_no=refund.reference).select_related("order").first()
    if case is None or case.extra_payment:
        return
    commissions_on_refund(
        case.order, refund_no=refund.out_refund_no, at=refund.succeeded_at or clock.now()
    )


hooks.on_payment_succeeded(on_paid)
hooks.on_refund_succeeded(on_refunded)
