"""What the orders API modules share: look-ups, the order's shape, the address disclosure."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema

from quanzi.core import crypto
from quanzi.core.errors import NotFound
from quanzi.members import selectors as members
from quanzi.members.services import member_personal_data_revealed
from quanzi.orders import selectors
from quanzi.orders.models import AfterSale, Order, OrderLine, OrderStatus, Shipment
from quanzi.orders.services.checkout import Address, address_of

BIGINT = 2**63 - 1
INT = 2**31 - 1

REVEAL_HELP = (
    "Show the delivery address unmasked; needs the personal-data permission (else 403). "
    "Each look is recorded."
)


def one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


class Reveal(Schema):
    reveal: bool = Field(False, description=REVEAL_HELP)


class AddressOut(Schema):
    name: str
    phone: str
    region: str = Field(description="The province, as the shipping templates name it.")
    address: str
    masked: bool = Field(description="true unless revealed: phone, name and street hidden.")


class OrderLineOut(Schema):
    id: int
    product_id: int
    sku_id: int | None
    name: str = Field(description="As bought: a later rename changes no order.")
    kind: str
    options: dict[str, str]
    quantity: int
    unit_price_minor: int
    discount_minor: int
    total_minor: int
    refunded_minor: int
    restocked: int = Field(description="Units put back on sale after a refund.")
    delivered_at: datetime | None


class ShipmentOut(Schema):
    carrier: str
    tracking_no: str
    shipped_at: datetime
    delivered_at: datetime | None


class OrderOut(Schema):
    id: int
    number: str
    status: str = Field(description=one_of(OrderStatus.values))
    community_id: int
    member_id: int
    drop_id: int | None
    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    total_minor: int = Field(description="subtotal - discount + shipping, in fen.")
    refunded_minor: int
    provider: str
    channel: str
    note: str
    needs_shipping: bool
    ship_region: str
    address: AddressOut | None = Field(description="Masked unless revealed; null: no goods ship.")
    created_at: datetime
    expires_at: datetime = Field(description="Unpaid by then, it lapses and its stock returns.")
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    shipped_at: datetime | None
    delivered_at: datetime | None
    received_at: datetime | None
    lines: list[OrderLineOut]
    shipment: ShipmentOut | None


class OrderPage(Schema):
    items: list[OrderOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


def check_reveal(request: HttpRequest, reveal: bool) -> None:
    # Refused before anything is read or written, so a refusal changes nothing.
    if reveal and not members.can_see_personal_data(request.user):
        raise members.PermissionRefused(
            _("Seeing delivery addresses unmasked needs the personal-data permission."),
            field="reveal",
        )


def _masked_text(value: str, keep: int) -> str:
    if not value:
        return ""
    keep = min(keep, len(value) // 2)
    return value[:keep] + "*" * (4 if keep else max(len(value), 1))


def address_view(address: Address | None, *, reveal: bool) -> dict[str, Any] | None:
    if address is None:
        return None
    if reveal:
        return {
            "name": address.name,
            "phone": address.phone,
            "region": address.region,
            "address": address.address,
            "masked": False,
        }
    name = address.name
    return {
        "name": (name[:1] + "*" * (len(name) - 1)) if len(name) > 1 else "*",
        "phone": crypto.mask(address.phone.removeprefix("+86")),
        "region": address.region,
        "address": _masked_text(address.address, 6),
        "masked": True,
    }


def order_out(
    order: Order,
    *,
    lines: list[OrderLine],
    shipment: Shipment | None,
    address: dict[str, Any] | None,
) -> dict[str, Any]:
    """The order as the API answers it, from rows already in hand (no query)."""
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "community_id": order.community_id,
        "member_id": order.member_id,
        "drop_id": order.drop_id,
        "currency": order.currency,
        "subtotal_minor": order.subtotal_minor,
        "discount_minor": order.discount_minor,
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
        "refunded_minor": order.refunded_minor,
        "provider": order.provider,
        "channel": order.channel,
        "note": order.note,
        "needs_shipping": order.needs_shipping,
        "ship_region": order.ship_region,
        "address": address,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "paid_at": order.paid_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "received_at": order.received_at,
        "lines": [
            {
                "id": line.pk,
                "product_id": line.product_id,
                "sku_id": line.sku_id,
                "name": line.name,
                "kind": line.kind,
                "options": line.options or {},
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "discount_minor": line.discount_minor,
                "total_minor": line.total_minor,
                "refunded_minor": line.refunded_minor,
                "restocked": line.restocked,
                "delivered_at": line.delivered_at,
            }
            for line in lines
        ],
        "shipment": None
        if shipment is None
        else {
            "carrier": shipment.carrier,
            "tracking_no": shipment.tracking_no,
            "shipped_at": shipment.shipped_at,
            "delivered_at": shipment.delivered_at,
        },
    }


def stored_order_out(request: HttpRequest, order: Order, *, reveal: bool = False) -> dict[str, Any]:
    """An order read from the database (lines prefetched or fetched here), its address
    decrypted and masked unless revealed; a reveal is recorded."""
    address = address_of(order)
    if reveal and address is not None:
        # Who saw whose address, and when, is recorded however it was seen.
        member_personal_data_revealed(
            member=order.member, actor_id=request.user.pk, what="api_order_address"
        )
    return order_out(
        order,
        lines=list(order.lines.all()),
        shipment=getattr(order, "shipment", None),
        address=address_view(address, reveal=reveal),
    )


def order_by_number(number: str) -> Order:
    order = selectors.order_get(number.strip()[:40]) if number.strip() else None
    if order is None:
        raise NotFound(_("No order %(number)s.") % {"number": number[:40]}, field="number")
    return order


def after_sale_by_no(refund_no: str) -> AfterSale:
    case = selectors.after_sale_queue(open_only=False).filter(refund_no=refund_no[:40]).first()
    if case is None:
        raise NotFound(_("No refund %(no)s.") % {"no": refund_no[:40]}, field="refund_no")
    return case
