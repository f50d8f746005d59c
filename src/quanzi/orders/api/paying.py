"""API v1: Paying for an order: start a payment (transfer, QR code or in WeChat), list them.

Confirming a transfer and asking the provider again are ``/payments/{out_trade_no}/...`` in
the payments API.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.schemas import ERRORS
from quanzi.orders.api._common import one_of, order_by_number
from quanzi.orders.services import paying
from quanzi.payments.api import PaymentOut
from quanzi.payments.models import Payment, Provider

router = Router(tags=["orders"])

MODES = ["native", "jsapi"]


class PaymentStartIn(Schema):
    provider: str | None = Field(
        None, description=one_of(Provider.values) + "; null: the order's provider."
    )
    mode: str = Field(
        "native",
        description="WeChat Pay: native (a QR code to scan) or jsapi (inside WeChat, with "
        "openid). Transfers ignore it.",
    )
    openid: str = Field("", max_length=128, description="jsapi: the payer's openid.")

    @field_validator("provider")
    @classmethod
    def known_provider(cls, value: str | None) -> str | None:
        if value is not None and value not in Provider.values:
            raise ValueError(f"unknown provider; use one of {', '.join(Provider.values)}")
        return value

    @field_validator("mode")
    @classmethod
    def known_mode(cls, value: str) -> str:
        if value not in MODES:
            raise ValueError(f"unknown mode; use one of {', '.join(MODES)}")
        return value


@router.post("/orders/{number}/payments", response={201: PaymentOut, 200: PaymentOut, **ERRORS})
def order_payment_start(
    request: HttpRequest, number: str, payload: PaymentStartIn
) -> Status[Payment]:
    """The payment the member completes: 201 with a new one, or 200 with the open payment
    already started at that provider (the same checkout). An order not awaiting payment, or
    lapsed: 409 wrong_state."""
    order = order_by_number(number)
    before = set(Payment.objects.filter(reference=order.number).values_list("pk", flat=True))
    payment = paying.order_pay_start(
        order=order, provider=payload.provider, mode=payload.mode, payer_openid=payload.openid
    )
    return Status(200 if payment.pk in before else 201, payment)


@router.get("/orders/{number}/payments", response={200: list[PaymentOut], **ERRORS})
def order_payment_list(request: HttpRequest, number: str) -> list[Payment]:
    """Every payment started for the order, oldest first."""
    return paying.order_payments(order_by_number(number))
