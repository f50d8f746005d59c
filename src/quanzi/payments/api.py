"""API v1 routes of the payments domain: confirming a transfer, asking the provider again.

A payment is started for an order through ``POST /orders/{number}/payments`` (the orders API);
its schema lives here so both APIs answer the same shape.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from quanzi.api.schemas import ERRORS
from quanzi.core.errors import NotFound
from quanzi.payments.models import Payment, PaymentStatus, Provider, RefundStatus
from quanzi.payments.services import payments

router = Router(tags=["payments"])

BIGINT = 2**63 - 1


def _one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


class PaymentOut(Schema):
    id: int
    out_trade_no: str = Field(description="The merchant's number for this payment attempt.")
    reference: str = Field(description="What it pays: the order number.")
    community_id: int
    member_id: int
    provider: str = Field(description=_one_of(Provider.values))
    status: str = Field(description=_one_of(PaymentStatus.values))
    description: str
    amount_minor: int
    currency: str
    refunded_minor: int
    transaction_id: str = Field(description="The provider's transaction id, once paid.")
    checkout: dict[str, Any] = Field(
        description='What the member completes: {"mode": "transfer", "instructions", '
        '"reference"}, {"mode": "native", "code_url"} or {"mode": "jsapi", "jsapi": {...}}.'
    )
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class PaymentRefundOut(Schema):
    out_refund_no: str
    amount_minor: int
    status: str = Field(description=_one_of(RefundStatus.values))
    provider_refund_id: str
    failure: str = Field(description="Why it failed, or the last provider error while retried.")
    created_at: datetime
    succeeded_at: datetime | None


class ConfirmIn(Schema):
    amount_minor: int = Field(
        le=BIGINT, description="The amount received, in fen: it must equal the amount due."
    )
    note: str = Field("", max_length=60, description="The bank reference, say.")


def _payment(out_trade_no: str) -> Payment:
    payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
    if payment is None:
        raise NotFound(_("No payment %(no)s.") % {"no": out_trade_no[:64]}, field="out_trade_no")
    return payment


@router.post("/payments/{out_trade_no}/confirm", response={200: PaymentOut, **ERRORS})
def payment_confirm(request: HttpRequest, out_trade_no: str, payload: ConfirmIn) -> Payment:
    """Confirm an offline transfer by hand: the order it pays is paid. Another amount than
    the one due: 422 amount_mismatch, nothing changed. Confirmed twice: the same answer."""
    return payments.payment_confirm_manual(
        payment=_payment(out_trade_no),
        amount_minor=payload.amount_minor,
        note=payload.note,
        actor_id=request.user.pk,
    )


@router.post("/payments/{out_trade_no}/reconcile", response={200: PaymentOut, **ERRORS})
def payment_reconcile(request: HttpRequest, out_trade_no: str) -> Payment:
    """Ask the provider how the payment stands and apply what it says (a notification that
    never arrived is recovered here). Transfers are only confirmed by hand."""
    return payments.payment_reconcile(payment=_payment(out_trade_no))
