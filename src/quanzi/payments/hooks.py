"""How higher apps hear of money moving without this app knowing them.

The orders app registers its handlers at start-up. Handlers run inside the transaction that
changed the payment or refund, so the order and the payment commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanzi.payments.models import Payment, Refund

PaymentHandler = Callable[["Payment"], None]
RefundHandler = Callable[["Refund"], None]

_on_paid: list[PaymentHandler] = []
_on_refunded: list[RefundHandler] = []
_on_refund_failed: list[RefundHandler] = []


def on_payment_succeeded(handler: PaymentHandler) -> PaymentHandler:
    if handler not in _on_paid:
        _on_paid.append(handler)
    return handler


def on_refund_succeeded(handler: RefundHandler) -> RefundHandler:
    if handler not in _on_refunded:
        _on_refunded.append(handler)
    return handler


def on_refund_failed(handler: RefundHandler) -> RefundHandler:
    if handler not in _on_refund_failed:
        _on_refund_failed.append(handler)
    return handler


def payment_succeeded(payment: Payment) -> None:
    for handler in _on_paid:
        handler(payment)


def refund_succeeded(refund: Refund) -> None:
    for handler in _on_refunded:
        handler(refund)


def refund_failed(refund: Refund) -> None:
    for handler in _on_refund_failed:
        handler(refund)
