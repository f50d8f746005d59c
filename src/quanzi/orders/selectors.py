"""Reads of the orders domain: order lists with filters, the pick list, the after-sales queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum

from quanzi.communities.models import Community
from quanzi.members.models import Member
from quanzi.orders.models import (
    OPEN_AFTER_SALE,
    AfterSale,
    Order,
    OrderLine,
    OrderStatus,
)

# An order with a refund request awaiting decision or payout is not shipped meanwhile.
HOLDING_SHIPMENT = ("requested", "refunding")


def order_list(
    *,
    community: Community | None = None,
    member: Member | None = None,
    status: str = "",
    drop_id: int | None = None,
    number: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    needs_shipping: bool | None = None,
) -> QuerySet[Order]:
    qs = Order.objects.select_related("member", "community", "shipment").prefetch_related("lines")
    if community is not None:
        qs = qs.filter(community=community)
    if member is not None:
        qs = qs.filter(member=member)
    if status:
        qs = qs.filter(status=status)
    if drop_id is not None:
        qs = qs.filter(drop_id=drop_id)
    if number:
        qs = qs.filter(number__icontains=number.strip())
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    if needs_shipping is not None:
        qs = qs.filter(needs_shipping=needs_shipping)
    return qs.order_by("-created_at", "-pk")


def order_get(number_or_pk: str | int) -> Order | None:
    qs = Order.objects.select_related("member", "community", "drop").prefetch_related("lines")
    if isinstance(number_or_pk, int) or (
        str(number_or_pk).isdigit() and len(str(number_or_pk)) < 12
    ):
        return qs.filter(pk=int(number_or_pk)).first()
    return qs.filter(number=str(number_or_pk)).first()


@dataclass(frozen=True)
class PickRow:
    product_id: int
    sku_id: int | None
    name: str
    options: dict[str, str]
    units: int
    orders: int
    cold_chain: bool


def pick_list(*, community: Community) -> list[PickRow]:
    """What to pack for every paid order not yet shipped, by product and spec."""
    rows = (
        OrderLine.objects.filter(
            order__community=community, order__status=OrderStatus.PAID, kind="physical"
        )
        # What the to-ship list leaves out (an open refund request) is not packed either.
        .exclude(order__after_sales__status__in=HOLDING_SHIPMENT)
        .values("product_id", "sku_id", "product__name", "product__cold_chain")
        .annotate(units=Sum("quantity"), orders=Count("order", distinct=True))
        .order_by("product__name", "sku_id")
    )
    options = dict(
        OrderLine.objects.filter(sku_id__in=[r["sku_id"] for r in rows if r["sku_id"]])
        .values_list("sku_id", "options")
        .distinct()
    )
    return [
        PickRow(
            product_id=r["product_id"],
            sku_id=r["sku_id"],
            name=r["product__name"],
            options=options.get(r["sku_id"], {}) or {},
            units=r["units"],
            orders=r["orders"],
            cold_chain=r["product__cold_chain"],
        )
        for r in rows
    ]


def after_sale_queue(
    *, community: Community | None = None, open_only: bool = True
) -> QuerySet[AfterSale]:
    qs = AfterSale.objects.select_related("order", "order__member", "line").prefetch_related(
        "evidence"
    )
    if community is not None:
        qs = qs.filter(order__community=community)
    if open_only:
        qs = qs.filter(status__in=OPEN_AFTER_SALE)
    return qs.order_by("created_at", "pk")


def order_counts(*, community: Community) -> dict[str, int]:
    counts = dict(
        Order.objects.filter(community=community)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts["after_sales_open"] = AfterSale.objects.filter(
        order__community=community, status__in=OPEN_AFTER_SALE
    ).count()
    return counts


def orders_to_ship(*, community: Community) -> QuerySet[Order]:
    return order_list(community=community, status=OrderStatus.PAID, needs_shipping=True).filter(
        ~Q(after_sales__status__in=HOLDING_SHIPMENT)
    )
