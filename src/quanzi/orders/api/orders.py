"""API v1: Orders: quote, place, list, read, cancel; the pick list.

``POST /orders`` is the checkout hot path (many buyers at once on one drop): it reads the
member and the community with one query each, lets ``order_create`` do the rest, and answers
from the rows in hand plus one query for the lines.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, FORBIDDEN, AwareDatetime
from quanzi.catalog.api._common import community_by_id
from quanzi.communities.models import Community
from quanzi.core.errors import NotFound
from quanzi.members.models import Member
from quanzi.orders import selectors
from quanzi.orders.api._common import (
    BIGINT,
    OrderOut,
    OrderPage,
    Reveal,
    address_view,
    check_reveal,
    one_of,
    order_by_number,
    order_out,
    stored_order_out,
)
from quanzi.orders.models import OrderLine, OrderStatus
from quanzi.orders.services import checkout
from quanzi.orders.services.checkout import MAX_QUANTITY
from quanzi.payments.models import Provider

router = Router(tags=["orders"])


# Input


class LineIn(Schema):
    product_id: int = Field(ge=1, le=BIGINT)
    sku_id: int | None = Field(
        None, ge=1, le=BIGINT, description="The spec; may be left out when there is one."
    )
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)


class AddressIn(Schema):
    name: str = Field(description="The recipient, up to 30 characters.")
    phone: str = Field(description="Up to 20 characters.")
    region: str = Field(description="The province, as the shipping templates name it (浙江).")
    address: str = Field(description="City, district, street and number; up to 200 characters.")


class OrderIn(Schema):
    community_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    lines: list[LineIn] = Field(description="1 to 20 lines; a drop's order has its one product.")
    drop_id: int | None = Field(None, ge=1, le=BIGINT, description="Buy through a group-buy.")
    address: AddressIn | None = Field(None, description="Needed when physical goods ship.")
    note: str = Field("", description="For the operator, up to 200 characters.")
    channel: str = Field("", max_length=100, description="Where the sale came from.")
    provider: str | None = Field(
        None, description=one_of(Provider.values) + "; null: the hub's default."
    )

    @field_validator("provider")
    @classmethod
    def known_provider(cls, value: str | None) -> str | None:
        if value is not None and value not in Provider.values:
            raise ValueError(f"unknown provider; use one of {', '.join(Provider.values)}")
        return value


class OrderFilters(Schema):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    member_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(OrderStatus.values))
    drop_id: int | None = Field(None, ge=1, le=BIGINT)
    number: str = Field("", max_length=40, description="Part of an order number.")
    since: AwareDatetime | None = Field(None, description="Placed at or after.")
    until: AwareDatetime | None = Field(None, description="Placed before.")
    needs_shipping: bool | None = None

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in OrderStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(OrderStatus.values)}")
        return value


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


class PickListFilters(Schema):
    community_id: int = Field(ge=1, le=BIGINT)


# Output


class QuoteLineOut(Schema):
    product_id: int
    sku_id: int | None
    name: str
    kind: str
    quantity: int
    unit_price_minor: int
    discount_minor: int
    total_minor: int


class QuoteOut(Schema):
    community_id: int
    member_id: int
    drop_id: int | None
    currency: str
    subtotal_minor: int
    discount_minor: int
    discount_percent: int = Field(description="The member's best membership discount.")
    shipping_minor: int = Field(description="0 until the address names a region.")
    total_minor: int
    needs_shipping: bool
    lines: list[QuoteLineOut]


class PickRowOut(Schema):
    product_id: int
    sku_id: int | None
    name: str
    options: dict[str, str]
    units: int = Field(description="Units to pack.")
    orders: int = Field(description="Paid orders awaiting shipment that hold them.")
    cold_chain: bool


def _buyer(payload: OrderIn) -> tuple[Member, Community]:
    member = Member.objects.filter(pk=payload.member_id).first()
    if member is None:
        raise NotFound(_("No member #%(pk)s.") % {"pk": payload.member_id}, field="member_id")
    community = Community.objects.filter(pk=payload.community_id).first()
    if community is None:
        raise NotFound(
            _("No community #%(pk)s.") % {"pk": payload.community_id}, field="community_id"
        )
    return member, community


def _lines(payload: OrderIn) -> list[checkout.LineIn]:
    return [
        checkout.LineIn(product_id=line.product_id, quantity=line.quantity, sku_id=line.sku_id)
        for line in payload.lines
    ]


def _address(payload: OrderIn) -> checkout.Address | None:
    a = payload.address
    return None if a is None else checkout.Address(a.name, a.phone, a.region, a.address)


@router.get("/orders", response={200: OrderPage, **ERRORS, **FORBIDDEN})
def order_list(
    request: HttpRequest,
    filters: Query[OrderFilters],
    page: Query[Page.Input],
    disclosure: Query[Reveal],
) -> dict[str, Any]:
    """Orders newest first."""
    check_reveal(request, disclosure.reveal)
    qs = selectors.order_list(
        status=filters.status or "",
        drop_id=filters.drop_id,
        number=filters.number,
        since=filters.since,
        until=filters.until,
        needs_shipping=filters.needs_shipping,
    )
    if filters.community_id is not None:
        qs = qs.filter(community_id=filters.community_id)
    if filters.member_id is not None:
        qs = qs.filter(member_id=filters.member_id)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [
        stored_order_out(request, order, reveal=disclosure.reveal) for order in paged["items"]
    ]
    return paged


@router.post("/orders", response={201: OrderOut, **ERRORS, **FORBIDDEN})
def order_create(
    request: HttpRequest, payload: OrderIn, disclosure: Query[Reveal]
) -> Status[dict[str, Any]]:
    """Place an order: it holds its stock for the hub's expiry time (30 minutes) until paid.
    Sold out: 409 out_of_stock; past a per-member limit: 409 limit_reached; a drop not open:
    409 drop_closed. Nothing is written when refused. Send an ``Idempotency-Key`` so a retry
    after a lost answer places no second order."""
    check_reveal(request, disclosure.reveal)
    member, community = _buyer(payload)
    address = _address(payload)
    order = checkout.order_create(
        member=member,
        community=community,
        lines=_lines(payload),
        drop_id=payload.drop_id,
        address=address,
        note=payload.note,
        channel=payload.channel,
        provider=payload.provider,
    )
    if disclosure.reveal and order.ship_address_enc:
        return Status(201, stored_order_out(request, order, reveal=True))
    shown = None
    if address is not None and order.ship_address_enc:
        # The address as stored (the service trims it), masked, without decrypting it again.
        shown = address_view(
            checkout.Address(
                address.name.strip(),
                address.phone.strip(),
                address.region.strip(),
                address.address.strip(),
            ),
            reveal=False,
        )
    lines = list(OrderLine.objects.filter(order_id=order.pk).order_by("pk"))
    return Status(201, order_out(order, lines=lines, shipment=None, address=shown))


@router.post("/orders/quote", response={200: QuoteOut, **ERRORS})
def order_quote(request: HttpRequest, payload: OrderIn) -> dict[str, Any]:
    """What the order would cost (the member's discount, shipping to the address's region)
    and whether it can be placed now; nothing is written and no stock is held."""
    member, community = _buyer(payload)
    quote = checkout.order_quote(
        member=member,
        community=community,
        lines=_lines(payload),
        drop_id=payload.drop_id,
        region=payload.address.region.strip() if payload.address else "",
    )
    return {
        "community_id": community.pk,
        "member_id": member.pk,
        "drop_id": quote.drop.pk if quote.drop else None,
        "currency": quote.currency,
        "subtotal_minor": quote.subtotal_minor,
        "discount_minor": quote.discount_minor,
        "discount_percent": quote.discount_percent,
        "shipping_minor": quote.shipping_minor,
        "total_minor": quote.total_minor,
        "needs_shipping": quote.needs_shipping,
        "lines": [
            {
                "product_id": line.product.pk,
                "sku_id": line.sku.pk if line.sku else None,
                "name": quote.drop.title if quote.drop else line.product.name,
                "kind": line.product.kind,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "discount_minor": line.discount_minor,
                "total_minor": line.total_minor,
            }
            for line in quote.lines
        ],
    }


@router.get("/orders/pick-list", response={200: list[PickRowOut], **ERRORS})
def order_pick_list(request: HttpRequest, filters: Query[PickListFilters]) -> list[Any]:
    """What to pack for every paid order not yet shipped, by product and spec."""
    return list(selectors.pick_list(community=community_by_id(filters.community_id)))


@router.get("/orders/{number}", response={200: OrderOut, **ERRORS, **FORBIDDEN})
def order_get(request: HttpRequest, number: str, disclosure: Query[Reveal]) -> dict[str, Any]:
    """One order by its number (or id)."""
    check_reveal(request, disclosure.reveal)
    return stored_order_out(request, order_by_number(number), reveal=disclosure.reveal)


@router.post("/orders/{number}/cancel", response={200: OrderOut, **ERRORS})
def order_cancel(request: HttpRequest, number: str, payload: CancelIn) -> dict[str, Any]:
    """Cancel an order awaiting payment: its stock goes back on sale and its payment is
    closed. Paid meanwhile, or in any other state: 409 wrong_state."""
    checkout.order_cancel(
        order=order_by_number(number), reason=payload.reason, actor_id=request.user.pk
    )
    return stored_order_out(request, order_by_number(number))
