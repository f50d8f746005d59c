"""API v1: Fulfilment: ship with carrier and tracking number, delivered, received."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from quanzi.api.schemas import ERRORS
from quanzi.orders.api._common import OrderOut, order_by_number, stored_order_out
from quanzi.orders.services import fulfilment

router = Router(tags=["orders"])


class ShipIn(Schema):
    carrier: str = Field(
        max_length=50, description="Usually one of: " + ", ".join(fulfilment.CARRIERS)
    )
    tracking_no: str = Field(max_length=50, description="Letters, digits and dashes.")


@router.post("/orders/{number}/shipment", response={200: OrderOut, **ERRORS})
def order_ship(request: HttpRequest, number: str, payload: ShipIn) -> dict[str, Any]:
    """The parcel left: the order is shipped and the member told the tracking number. Only
    a paid order with goods to ship and no refund request open (else 409 wrong_state)."""
    fulfilment.order_ship(
        order=order_by_number(number),
        carrier=payload.carrier,
        tracking_no=payload.tracking_no,
        actor_id=request.user.pk,
    )
    return stored_order_out(request, order_by_number(number))


@router.post("/orders/{number}/delivered", response={200: OrderOut, **ERRORS})
def order_delivered(request: HttpRequest, number: str) -> dict[str, Any]:
    """The carrier delivered a shipped order; it counts as received after the hub's days."""
    fulfilment.order_mark_delivered(order=order_by_number(number), actor_id=request.user.pk)
    return stored_order_out(request, order_by_number(number))


@router.post("/orders/{number}/received", response={200: OrderOut, **ERRORS})
def order_received(request: HttpRequest, number: str) -> dict[str, Any]:
    """The member has the goods (confirmed on their behalf): the order is completed."""
    fulfilment.order_confirm_receipt(order=order_by_number(number), actor_id=request.user.pk)
    return stored_order_out(request, order_by_number(number))
