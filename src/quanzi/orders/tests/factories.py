"""Test data for orders, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from typing import Any

from quanzi.catalog.models import Product, ProductKind, Sku
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.tests.factories import template
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.services.checkout import Address, LineIn, order_create
from quanzi.orders.services.paying import order_pay_start
from quanzi.payments.models import Payment
from quanzi.payments.services.payments import payment_confirm_manual

__all__ = ["ADDRESS", "buyer", "community", "goods", "order", "paid_order", "virtual"]

_seq = itertools.count(1)

ADDRESS = Address(name="王小明", phone="13800138000", region="浙江", address="舟山市定海区海港路 8 号")


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
