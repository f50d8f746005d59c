"""Group-buy drops (团购): a product at a drop price, for a limited time and stock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.catalog.models import Drop, DropStatus, Product, ProductKind, Sku
from quanzi.catalog.services.errors import CatalogError, OutOfStock
from quanzi.catalog.services.recording import recorded
from quanzi.catalog.services.validation import price as _price
from quanzi.catalog.services.validation import text as _text
from quanzi.core import clock
from quanzi.core.errors import Conflict

MAX_UNITS = 1_000_000


def drop_create(
    *,
    product: Product,
    title: str,
    price_minor: int,
    starts_at: datetime,
    ends_at: datetime,
    units: int,
    sku: Sku | None = None,
    per_member_limit: int | None = None,
    min_buyers: int | None = None,
    actor_id: int | None = None,
) -> Drop:
    """Open a drop. Physical goods set its units aside from the SKU's stock at once (refused
    when the SKU has fewer); they go back when the drop is settled."""
    title = _text(title, "title", 100, required=True)
    _price(price_minor, "price_minor")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise CatalogError(_("A time needs a time zone."), field=name)
    if ends_at <= starts_at:
        raise CatalogError(_("A drop ends after it starts."), field="ends_at")
    if ends_at <= clock.now():
        raise CatalogError(_("A drop cannot end in the past."), field="ends_at")
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
        raise CatalogError(
            _("A drop has 1 to %(max)s units.") % {"max": f"{MAX_UNITS:,}"}, field="units"
        )
    for name, limit in (("per_member_limit", per_member_limit), ("min_buyers", min_buyers)):
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_UNITS
        ):
            raise CatalogError(_("Give a whole number of 1 or more."), field=name)
    if min_buyers is not None and min_buyers > units:
        raise CatalogError(
            _("The minimum number of buyers cannot exceed the units."), field="min_buyers"
        )
    if product.kind == ProductKind.BUNDLE:
        raise CatalogError(_("Bundles are not sold in drops."), field="product")
    if product.kind == ProductKind.PHYSICAL:
        if sku is None:
            skus = list(product.skus.all()[:2])
            if len(skus) != 1:
                raise CatalogError(_("Choose the spec the drop sells."), field="sku")
            sku = skus[0]
        if sku.product_id != product.pk:
            raise CatalogError(_("The spec belongs to another product."), field="sku")
    elif sku is not None:
        raise CatalogError(_("Only physical goods have specs."), field="sku")
    if product.community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    with transaction.atomic():
        if sku is not None:
            taken = Sku.objects.filter(pk=sku.pk, stock__gte=units).update(stock=F("stock") - units)
            if not taken:
                raise OutOfStock(
                    _("The spec has fewer than %(n)s units in stock.") % {"n": units},
                    field="units",
                )
        drop = Drop.objects.create(
            community_id=product.community_id,
            product=product,
            sku=sku,
            title=title,
            price_minor=price_minor,
            currency=product.currency,
            starts_at=starts_at,
            ends_at=ends_at,
            units=units,
            stock=units,
            per_member_limit=per_member_limit,
            min_buyers=min_buyers,
        )
        recorded(
            "drop_created",
            "drop",
            drop.pk,
            actor_id=actor_id,
            community_id=drop.community_id,
            data={"units": units, "price_minor": price_minor, "min_buyers": min_buyers},
        )
        return drop


def drop_close(*, drop: Drop, status: str, actor_id: int | None = None) -> Drop:
    """Settle a drop whose orders are all decided: its unsold units go back to the SKU.

    Called by the orders app's settlement job, under no other lock; applying it twice changes
    nothing the second time.
    """
    if status not in (DropStatus.SUCCEEDED, DropStatus.CANCELLED, DropStatus.ENDED):
        raise CatalogError(_("A drop ends succeeded, cancelled or ended."), field="status")
    with transaction.atomic():
        drop = Drop.objects.select_for_update().get(pk=drop.pk)
        if drop.status != DropStatus.LIVE:
            return drop
        unsold = drop.stock + drop.reserved
        if drop.sku_id is not None and unsold:
            Sku.objects.filter(pk=drop.sku_id).update(stock=F("stock") + unsold)
        drop.status = status
        drop.settled_at = clock.now()
        drop.stock = 0
        drop.reserved = 0
        drop.save(update_fields=["status", "settled_at", "stock", "reserved"])
        recorded(
            "drop_settled",
            "drop",
            drop.pk,
            actor_id=actor_id,
            community_id=drop.community_id,
            data={"status": status, "returned_units": unsold, "sold": drop.sold},
        )
        return drop
