"""Reads of the catalog domain."""

from __future__ import annotations

from django.db.models import QuerySet

from quanzi.catalog.models import Product, ShippingTemplate, Sku
from quanzi.communities.models import Community


def product_list(*, community: Community | None = None, on_sale: bool = False) -> QuerySet[Product]:
    qs = Product.objects.select_related("community", "plan")
    if community is not None:
        qs = qs.filter(community=community)
    return qs.filter(active=True) if on_sale else qs


def product_skus(product: Product) -> QuerySet[Sku]:
    return Sku.objects.filter(product=product).order_by("pk")


def shipping_template_list(*, community: Community) -> QuerySet[ShippingTemplate]:
    return ShippingTemplate.objects.filter(community=community).prefetch_related("rules")
