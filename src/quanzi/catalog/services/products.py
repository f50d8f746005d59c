"""Products and their SKUs: what an operator puts on sale."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.catalog.models import BundleItem, Product, ProductKind, ShippingTemplate, Sku
from quanzi.catalog.services.errors import CatalogError
from quanzi.catalog.services.recording import recorded
from quanzi.catalog.services.validation import price as _price
from quanzi.catalog.services.validation import text as _text
from quanzi.communities.models import Community, Group, MembershipPlan
from quanzi.core.errors import Conflict

# Sentinel for product_update: "leave the plan as it is" differs from "no plan" (None).
_UNCHANGED: Any = object()


def _check(product: Product, *, plan: MembershipPlan | None) -> None:
    """The rules every product keeps, checked on its values after a create or an update."""
    _price(product.price_minor, "price_minor")
    if product.kind == ProductKind.MEMBERSHIP:
        if plan is None:
            raise CatalogError(_("A membership product names the plan it grants."), field="plan")
        if plan.community_id != product.community_id:
            raise CatalogError(_("The plan belongs to another community."), field="plan")
    elif plan is not None:
        raise CatalogError(_("Only a membership product grants a plan."), field="plan")
    if product.kind == ProductKind.PHYSICAL:
        if product.cold_chain_note and not product.cold_chain:
            raise CatalogError(
                _("A cold-chain note needs cold-chain shipping."), field="cold_chain_note"
            )
    elif product.weight_grams or product.packaging or product.cold_chain:
        raise CatalogError(
            _("Weight, packaging and cold chain are for physical goods only."), field="kind"
        )
    if product.grants_group_id is not None:
        if product.kind == ProductKind.PHYSICAL:
            raise CatalogError(_("Physical goods do not grant a group seat."), field="grants_group")
        if product.grants_group and product.grants_group.community_id != product.community_id:
            raise CatalogError(_("The group belongs to another community."), field="grants_group")
    if product.shipping_template_id is not None:
        if product.kind != ProductKind.PHYSICAL:
            raise CatalogError(
                _("Only physical goods have a shipping template."), field="shipping_template"
            )
        template = product.shipping_template
        if template is not None and template.community_id != product.community_id:
            raise CatalogError(
                _("The shipping template belongs to another community."),
                field="shipping_template",
            )
    if product.per_member_limit is not None and not 1 <= product.per_member_limit <= 100_000:
        raise CatalogError(_("A per-member limit is 1 to 100,000."), field="per_member_limit")
    if product.weight_grams is not None and not 1 <= product.weight_grams <= 1_000_000:
        raise CatalogError(_("A weight is 1 g to 1,000 kg."), field="weight_grams")
    # Without a SKU there is no stock to sell from.
    if (
        product.active
        and product.kind == ProductKind.PHYSICAL
        and (product.pk is None or not Sku.objects.filter(product_id=product.pk).exists())
    ):
        raise CatalogError(
            _("Physical goods go on sale once they have a SKU (a spec to sell)."),
            field="active",
        )


def product_create(
    *,
    community: Community,
    name: str,
    kind: str,
    price_minor: int,
    description: str = "",
    active: bool | None = None,
    plan: MembershipPlan | None = None,
    weight_grams: int | None = None,
    packaging: str = "",
    cold_chain: bool = False,
    cold_chain_note: str = "",
    grants_group: Group | None = None,
    per_member_limit: int | None = None,
    category: str = "",
    shipping_template: ShippingTemplate | None = None,
    actor_id: int | None = None,
) -> Product:
    """A product of ``kind``. Virtual products go on sale at once unless ``active=False``;
    physical goods start off sale, and go on sale by ``product_update`` once they have a SKU."""
    if kind not in ProductKind.values:
        raise CatalogError(
            _("Unknown product kind %(kind)r; use %(choices)s.")
            % {"kind": kind, "choices": ", ".join(ProductKind.values)},
            field="kind",
        )
    if community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    product = Product(
        community=community,
        name=_text(name, "name", 100, required=True),
        kind=kind,
        description=_text(description, "description", 5000),
        price_minor=price_minor,
        currency=community.currency,
        active=(kind != ProductKind.PHYSICAL) if active is None else active,
        plan=plan,
        weight_grams=weight_grams,
        packaging=_text(packaging, "packaging", 200),
        cold_chain=cold_chain,
        cold_chain_note=_text(cold_chain_note, "cold_chain_note", 200),
        grants_group=grants_group,
        per_member_limit=per_member_limit,
        category=_text(category, "category", 50),
        shipping_template=shipping_template,
    )
    _check(product, plan=plan)
    with transaction.atomic():
        product.save()
        recorded(
            "product_created",
            "product",
            product.pk,
            actor_id=actor_id,
            community_id=community.pk,
            data={"kind": kind, "price_minor": product.price_minor},
        )
    return product


def product_update(
    *,
    product: Product,
    actor_id: int | None = None,
    name: str | None = None,
    description: str | None = None,
    price_minor: int | None = None,
    active: bool | None = None,
    plan: MembershipPlan | None = _UNCHANGED,
    weight_grams: int | None = None,
    packaging: str | None = None,
    cold_chain: bool | None = None,
    cold_chain_note: str | None = None,
    grants_group: Group | None = _UNCHANGED,
    per_member_limit: int | None = _UNCHANGED,
    category: str | None = None,
    shipping_template: ShippingTemplate | None = _UNCHANGED,
) -> Product:
    """Change what is given; the kind and community never change. Refused as a whole if the
    result breaks a rule, so nothing is half applied."""
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        fields: list[str] = []
        if name is not None:
            product.name = _text(name, "name", 100, required=True)
            fields.append("name")
        if description is not None:
            product.description = _text(description, "description", 5000)
            fields.append("description")
        if price_minor is not None:
            product.price_minor = price_minor
            fields.append("price_minor")
        if active is not None:
            product.active = active
            fields.append("active")
        if plan is not _UNCHANGED:
            product.plan = plan
            fields.append("plan")
        if weight_grams is not None:
            product.weight_grams = weight_grams
            fields.append("weight_grams")
        if packaging is not None:
            product.packaging = _text(packaging, "packaging", 200)
            fields.append("packaging")
        if cold_chain is not None:
            product.cold_chain = cold_chain
            fields.append("cold_chain")
        if cold_chain_note is not None:
            product.cold_chain_note = _text(cold_chain_note, "cold_chain_note", 200)
            fields.append("cold_chain_note")
        for attr, value in (
            ("grants_group", grants_group),
            ("per_member_limit", per_member_limit),
            ("shipping_template", shipping_template),
        ):
            if value is not _UNCHANGED:
                setattr(product, attr, value)
                fields.append(attr)
        if category is not None:
            product.category = _text(category, "category", 50)
            fields.append("category")
        if not fields:
            return product
        _check(product, plan=product.plan)
        product.save(update_fields=[*fields, "updated_at"])
        recorded(
            "product_updated",
            "product",
            product.pk,
            actor_id=actor_id,
            community_id=product.community_id,
            data={"fields": fields},
        )
        return product


def _options(options: dict[str, str] | None) -> tuple[dict[str, str], str]:
    options = options or {}
    if not isinstance(options, dict):
        raise CatalogError(_('Spec options are pairs like {"规格": "2斤"}.'), field="options")
    clean: dict[str, str] = {}
    for key, value in options.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise CatalogError(_('Spec options are pairs like {"规格": "2斤"}.'), field="options")
        k, v = key.strip(), value.strip()
        if not k or not v or len(k) > 30 or len(v) > 60:
            raise CatalogError(
                _("Each spec option has a name (up to 30 characters) and a value (up to 60)."),
                field="options",
            )
        clean[k] = v
    if len(clean) > 5:
        raise CatalogError(_("A SKU has at most 5 spec options."), field="options")
    return clean, json.dumps(clean, sort_keys=True, ensure_ascii=False)


def sku_create(
    *,
    product: Product,
    options: dict[str, str] | None = None,
    price_minor: int | None = None,
    stock: int = 0,
    actor_id: int | None = None,
) -> Sku:
    clean, key = _options(options)
    if price_minor is not None:
        _price(price_minor, "price_minor")
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= 10_000_000:
        raise CatalogError(_("Opening stock is 0 to 10,000,000."), field="stock")
    try:
        with transaction.atomic():
            sku = Sku.objects.create(
                product=product,
                options=clean,
                options_key=key,
                price_minor=price_minor,
                stock=stock,
            )
            recorded(
                "sku_created",
                "sku",
                sku.pk,
                actor_id=actor_id,
                community_id=product.community_id,
                data={"product_id": product.pk, "options": clean, "stock": stock},
            )
            return sku
    except IntegrityError:
        raise Conflict(
            _("This product has a SKU with these options already."), field="options"
        ) from None


def bundle_item_add(
    *,
    bundle: Product,
    component: Product,
    quantity: int = 1,
    sku: Sku | None = None,
    actor_id: int | None = None,
) -> BundleItem:
    """Put ``quantity`` of ``component`` in ``bundle``; physical components name their SKU,
    whose stock the bundle's orders reserve."""
    if bundle.kind != ProductKind.BUNDLE:
        raise CatalogError(_("Only a bundle holds other products."), field="bundle")
    if component.pk == bundle.pk or component.kind == ProductKind.BUNDLE:
        raise CatalogError(_("A bundle holds products, not bundles."), field="component")
    if component.community_id != bundle.community_id:
        raise CatalogError(_("The product belongs to another community."), field="component")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        raise CatalogError(_("A bundle holds 1 to 100 of each product."), field="quantity")
    if component.kind == ProductKind.PHYSICAL:
        if sku is None:
            skus = list(component.skus.all()[:2])
            if len(skus) != 1:
                raise CatalogError(_("Choose the spec the bundle holds."), field="sku")
            sku = skus[0]
        if sku.product_id != component.pk:
            raise CatalogError(_("The spec belongs to another product."), field="sku")
    elif sku is not None:
        raise CatalogError(_("Only physical goods have specs."), field="sku")
    try:
        with transaction.atomic():
            item = BundleItem.objects.create(
                bundle=bundle, component=component, sku=sku, quantity=quantity
            )
            recorded(
                "bundle_item_added",
                "product",
                bundle.pk,
                actor_id=actor_id,
                community_id=bundle.community_id,
                data={"component": component.pk, "quantity": quantity},
            )
            return item
    except IntegrityError:
        raise Conflict(_("The bundle holds this product already."), field="component") from None
