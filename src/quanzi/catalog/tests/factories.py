"""Test data for the catalog domain, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from quanzi.catalog.models import Product, ProductKind, ShippingRule, ShippingTemplate, Sku
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community, plan
from quanzi.core.models import Activity

__all__ = ["community", "on_sale_sku", "plan", "product", "sku", "state", "template"]

_seq = itertools.count(1)


def product(
    in_community: Community | None = None, kind: str = ProductKind.COURSE, **kwargs: Any
) -> Product:
    kwargs.setdefault("name", f"{kind} {next(_seq)}")
    kwargs.setdefault("price_minor", 9_900)
    home = in_community or community()
    if kind == ProductKind.MEMBERSHIP:
        kwargs.setdefault("plan", plan(home))
    return product_create(community=home, kind=kind, **kwargs)


def sku(of_product: Product | None = None, **kwargs: Any) -> Sku:
    kwargs.setdefault("options", {"规格": f"{next(_seq)}斤"})
    return sku_create(product=of_product or product(kind=ProductKind.PHYSICAL), **kwargs)


def on_sale_sku(stock: int) -> Sku:
    """A SKU of a physical product on sale with ``stock`` units."""
    goods = product(kind=ProductKind.PHYSICAL, weight_grams=1_000)
    made = sku(goods, stock=stock)
    product_update(product=goods, active=True)
    return made


def template(in_community: Community | None = None, **kwargs: Any) -> ShippingTemplate:
    kwargs.setdefault("name", f"Template {next(_seq)}")
    kwargs.setdefault("rules", [RuleSpec(["*"], 1_000, 500)])
    return shipping_template_create(community=in_community or community(), **kwargs)


@dataclass(frozen=True)
class CatalogState:
    products: list[tuple[Any, ...]]
    skus: list[tuple[Any, ...]]
    templates: int
    rules: int
    activities: int


def state() -> CatalogState:
    """Everything a catalog service could change, to show a refused call changed nothing."""
    return CatalogState(
        products=list(
            Product.objects.order_by("pk").values_list(
                "pk",
                "name",
                "price_minor",
                "active",
                "plan_id",
                "weight_grams",
                "packaging",
                "cold_chain",
                "cold_chain_note",
                "updated_at",
            )
        ),
        skus=list(Sku.objects.order_by("pk").values_list("pk", "options_key", "stock", "reserved")),
        templates=ShippingTemplate.objects.count(),
        rules=ShippingRule.objects.count(),
        activities=Activity.objects.count(),
    )
