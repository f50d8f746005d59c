"""Test data for orders, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Sum

from quanzi.catalog.models import Drop, DropStatus, Product, ProductKind, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.tests.factories import template
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.core import clock, selectors
from quanzi.core.models import Activity, LedgerTransaction
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import AfterSale, Order, OrderLine, PurchaseTally, StockHold
from quanzi.orders.services.checkout import Address, LineIn, order_create
from quanzi.orders.services.paying import order_pay_start
from quanzi.outbox.models import OutboxMessage
from quanzi.payments.models import NotificationNonce, Payment, Refund
from quanzi.payments.services.payments import payment_confirm_manual
from quanzi.payments.wechatpay.fake import FakeWeChatPay

__all__ = [
    "ADDRESS",
    "OrdersState",
    "books_balanced",
    "buyer",
    "community",
    "drop",
    "goods",
    "order",
    "paid_order",
    "pay",
    "running_fake",
    "stamp",
    "state",
    "units",
    "virtual",
]

_seq = itertools.count(1)

ADDRESS = Address(
    name="王小明", phone="13800138000", region="浙江", address="舟山市定海区海港路 8 号"
)


def goods(
    home: Community | None = None, *, stock: int = 10, price_minor: int = 5_000, **kwargs: Any
) -> Sku:
    """A physical product on sale with one SKU holding ``stock`` units."""
    home = home or community()
    kwargs.setdefault("shipping_template", template(home))
    product = product_create(
        community=home,
        name=f"带鱼 {next(_seq)}",
        kind=ProductKind.PHYSICAL,
        price_minor=price_minor,
        weight_grams=1_000,
        **kwargs,
    )
    sku = sku_create(product=product, options={"规格": "2斤"}, stock=stock)
    product_update(product=product, active=True)
    return sku


def virtual(home: Community | None = None, **kwargs: Any) -> Product:
    kwargs.setdefault("kind", ProductKind.COURSE)
    kwargs.setdefault("price_minor", 9_900)
    return product_create(community=home or community(), name=f"课程 {next(_seq)}", **kwargs)


def buyer(home: Community | None = None) -> Member:
    return member()


def order(sku: Sku, who: Member | None = None, quantity: int = 1, **kwargs: Any) -> Order:
    kwargs.setdefault("address", ADDRESS)
    return order_create(
        member=who or buyer(),
        community=sku.product.community,
        lines=[LineIn(product_id=sku.product_id, sku_id=sku.pk, quantity=quantity)],
        **kwargs,
    )


def pay(placed: Order) -> Payment:
    payment = order_pay_start(order=placed)
    return payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)


def paid_order(sku: Sku, who: Member | None = None, quantity: int = 1) -> Order:
    placed = order(sku, who, quantity)
    pay(placed)
    placed.refresh_from_db()
    return placed


def drop(
    product_or_sku: Product | Sku,
    *,
    units: int = 10,
    price_minor: int = 3_000,
    hours: int = 24,
    **kwargs: Any,
) -> Drop:
    """A group-buy open from now for ``hours``; a SKU's product sells that SKU."""
    if isinstance(product_or_sku, Sku):
        product, sku = product_or_sku.product, product_or_sku
    else:
        product, sku = product_or_sku, None
    now = clock.now()
    return drop_create(
        product=product,
        title=f"团购 {next(_seq)}",
        price_minor=price_minor,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=hours),
        units=units,
        sku=sku,
        **kwargs,
    )


def units(sku: Sku) -> int:
    """Every unit of a SKU wherever it is: on sale, held by unpaid orders, set aside in live
    drops, or gone with paid orders and not put back. Only adjustments change this."""
    fresh = Sku.objects.get(pk=sku.pk)
    in_drops = (
        Drop.objects.filter(sku=fresh, status=DropStatus.LIVE).aggregate(
            n=Sum(F("stock") + F("reserved"))
        )["n"]
        or 0
    )
    sold = (
        OrderLine.objects.filter(sku=fresh, order__stock=StockHold.SOLD).aggregate(
            n=Sum(F("quantity") - F("restocked"))
        )["n"]
        or 0
    )
    return fresh.stock + fresh.reserved + in_drops + sold


def books_balanced() -> None:
    """Every ledger transaction sums to zero and every cached balance is its entries' sum."""
    assert selectors.ledger_unbalanced_transactions() == []
    assert selectors.ledger_drift() == []


@dataclass(frozen=True)
class OrdersState:
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    tallies: list[tuple[Any, ...]]
    skus: list[tuple[Any, ...]]
    drops: list[tuple[Any, ...]]
    payments: list[tuple[Any, ...]]
    refunds: list[tuple[Any, ...]]
    after_sales: list[tuple[Any, ...]]
    nonces: int
    ledger: int
    activities: int
    outbox: int


def state() -> OrdersState:
    """Everything a commerce service could change, to show a refused call changed nothing."""
    return OrdersState(
        orders=list(
            Order.objects.order_by("pk").values_list(
                "pk", "status", "stock", "total_minor", "refunded_minor", "paid_at", "shipped_at"
            )
        ),
        lines=list(
            OrderLine.objects.order_by("pk").values_list("pk", "refunded_minor", "restocked")
        ),
        tallies=list(PurchaseTally.objects.order_by("pk").values_list("pk", "scope", "quantity")),
        skus=list(Sku.objects.order_by("pk").values_list("pk", "stock", "reserved")),
        drops=list(
            Drop.objects.order_by("pk").values_list("pk", "status", "stock", "reserved", "sold")
        ),
        payments=list(
            Payment.objects.order_by("pk").values_list("pk", "status", "refunded_minor", "paid_at")
        ),
        refunds=list(Refund.objects.order_by("pk").values_list("pk", "status")),
        after_sales=list(AfterSale.objects.order_by("pk").values_list("pk", "status", "restock")),
        nonces=NotificationNonce.objects.count(),
        ledger=LedgerTransaction.objects.count(),
        activities=Activity.objects.count(),
        outbox=OutboxMessage.objects.count(),
    )


@contextmanager
def running_fake() -> Iterator[FakeWeChatPay]:
    """A fake WeChat Pay on loopback for a module's tests (``reset()`` it between tests)."""
    with FakeWeChatPay() as fake:
        yield fake


def stamp(moment: datetime) -> int:
    """A notification timestamp for ``moment`` (the fake stamps real time by default)."""
    return int(moment.timestamp())
