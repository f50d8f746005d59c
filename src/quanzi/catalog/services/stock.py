"""Stock: adjusted by operators, reserved by unpaid orders, released when they lapse.

Every change is one conditional ``UPDATE ... WHERE stock >= n`` with ``F()`` expressions: the
database checks and changes the row in one statement, so two buyers can never both take the last
unit (on PostgreSQL the second waits for the first's row lock, then re-checks the condition on
the row as the first left it). No read-then-write in Python, no lost updates. The CHECK
constraint ``stock >= 0`` is the backstop should any future code path forget the condition.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from quanzi.catalog.models import Sku
from quanzi.catalog.services.errors import CatalogError, NotReserved, OutOfStock
from quanzi.catalog.services.recording import recorded
from quanzi.core.errors import NotFound

MAX_UNITS = 10_000_000


def _units(value: int, field: str, *, allow_negative: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(_("A quantity is a whole number."), field=field)
    low = -MAX_UNITS if allow_negative else 1
    if value == 0 or not low <= value <= MAX_UNITS:
        raise CatalogError(
            _("A quantity is 1 to %(max)s units.") % {"max": f"{MAX_UNITS:,}"}, field=field
        )
    return value


def _missing_or(sku_id: int, refusal: Exception) -> Exception:
    """A conditional update that matched no row: either the SKU is gone or the condition failed."""
    if not Sku.objects.filter(pk=sku_id).exists():
        return NotFound(_("No such SKU."), field="sku")
    return refusal


def stock_adjust(*, sku: Sku, delta: int, reason: str, actor_id: int | None = None) -> Sku:
    """Add (goods arrived) or remove (spoiled, miscounted) units of sellable stock.

    A removal of more units than are in stock is refused whole: it never clamps to zero, since
    the operator's count is then wrong and should be looked at. Reserved units are not touched.
    """
    _units(delta, "delta", allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        raise CatalogError(_("Say why the stock changes."), field="reason")
    if len(reason) > 200:
        raise CatalogError(_("A reason is at most 200 characters."), field="reason")
    with transaction.atomic():
        rows = Sku.objects.filter(pk=sku.pk)
        if delta < 0:
            rows = rows.filter(stock__gte=-delta)
        if not rows.update(stock=F("stock") + delta):
            raise _missing_or(
                sku.pk,
                OutOfStock(
                    _("Only units in stock can be removed; fewer than %(n)s are left.")
                    % {"n": -delta},
                    field="delta",
                ),
            )
        sku = Sku.objects.select_related("product").get(pk=sku.pk)
        recorded(
            "stock_adjusted",
            "sku",
            sku.pk,
            actor_id=actor_id,
            community_id=sku.product.community_id,
            data={"delta": delta, "reason": reason, "stock": sku.stock},
        )
        return sku


def stock_reserve(*, sku: Sku, quantity: int) -> None:
    """Move ``quantity`` units from stock to reserved, all or none; 409 ``out_of_stock`` when
    fewer are left.

    A step of order creation: the order service that calls it records the order as the fact,
    and the two commit or roll back together. Callers reserving several SKUs reserve them in
    primary-key order, so two orders cannot deadlock on each other's rows.
    """
    _units(quantity, "quantity")
    with transaction.atomic():
        taken = Sku.objects.filter(pk=sku.pk, stock__gte=quantity).update(
            stock=F("stock") - quantity, reserved=F("reserved") + quantity
        )
        if not taken:
            raise _missing_or(
                sku.pk, OutOfStock(_("Sold out: not enough left in stock."), field="quantity")
            )


def stock_release(*, sku: Sku, quantity: int) -> None:
    """Return ``quantity`` reserved units to stock (an unpaid order lapsed or was cancelled).

    Refused with 409 ``not_reserved`` when fewer are reserved, so a release applied twice can
    never create stock out of nothing.
    """
    _units(quantity, "quantity")
    with transaction.atomic():
        released = Sku.objects.filter(pk=sku.pk, reserved__gte=quantity).update(
            stock=F("stock") + quantity, reserved=F("reserved") - quantity
        )
        if not released:
            raise _missing_or(
                sku.pk,
                NotReserved(_("Fewer units than that are reserved."), field="quantity"),
            )
