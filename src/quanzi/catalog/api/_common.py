"""Helpers shared by the catalog API modules (and by the orders API, which sits above)."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).

from django.utils.translation import gettext as _

from quanzi.catalog import selectors
from quanzi.catalog.models import Product, ShippingTemplate, Sku
from quanzi.communities.models import Community
from quanzi.core.errors import NotFound

# Bounds that keep a number inside a database column, so an absurd value is a 422, not a 500.
BIGINT = 2**63 - 1
INT = 2**31 - 1


def one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


def community_by_id(community_id: int, field: str = "community_id") -> Community:
    community = Community.objects.filter(pk=community_id).first()
    if community is None:
        raise NotFound(_("No community #%(pk)s.") % {"pk": community_id}, field=field)
    return community


def product_by_id(product_id: int, field: str = "product_id") -> Product:
    product = selectors.product_list().filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product #%(pk)s.") % {"pk": product_id}, field=field)
    return product


def sku_by_id(sku_id: int, field: str = "sku_id", product: Product | None = None) -> Sku:
    qs = Sku.objects.select_related("product")
    if product is not None:
        qs = qs.filter(product=product)
    sku = qs.filter(pk=sku_id).first()
    if sku is None:
        if product is not None:
            raise NotFound(
                _("%(product)s has no SKU #%(pk)s.") % {"product": product.name, "pk": sku_id},
                field=field,
            )
        raise NotFound(_("No SKU #%(pk)s.") % {"pk": sku_id}, field=field)
    return sku


def template_by_id(
    community: Community, template_id: int, field: str = "shipping_template_id"
) -> ShippingTemplate:
    template = selectors.shipping_template_list(community=community).filter(pk=template_id).first()
    if template is None:
        raise NotFound(
            _("%(community)s has no shipping template #%(pk)s.")
            % {"community": community.name, "pk": template_id},
            field=field,
        )
    return template
