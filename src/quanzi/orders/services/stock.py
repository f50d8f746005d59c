"""The units an order holds: per-member tallies and stock on SKUs and drops.

Every path takes its row locks in one order — the order row, then tallies (by scope), then
drops and SKUs (by primary key) — so checkout, expiry and late payments never deadlock on each
other. Each change is one conditional ``UPDATE`` that refuses to pass a limit or go below zero;
the CHECK constraints on the rows are the backstop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from quanzi.catalog.models import Drop, DropStatus, Sku
from quanzi.catalog.services.errors import OutOfStock
from quanzi.orders.models import Order, PurchaseTally
from quanzi.orders.services.errors import DropClosed, LimitReached


@dataclass(frozen=True, order=True)
class Hold:
    """``quantity`` units of a SKU or a drop ("drop" sorts before "sku")."""

    kind: str  # "drop" | "sku"
    pk: int
    quantity: int


@dataclass(frozen=True, order=True)
class Limit:
    scope: str  # "product:12" | "drop:3"
    limit: int
    quantity: int
    label: str


def merge_holds(holds: list[Hold]) -> list[Hold]:
    total: dict[tuple[str, int], int] = defaultdict(int)
    for hold in holds:
        total[(hold.kind, hold.pk)] += hold.quantity
    return [Hold(kind, pk, q) for (kind, pk), q in sorted(total.items())]


def tally_take(member_id: int, limits: list[Limit]) -> None:
    """Count ``quantity`` more units against each limit, or refuse with 409 ``limit_reached``."""
    for item in sorted(limits):
        rows = PurchaseTally.objects.filter(
            member_id=member_id, scope=item.scope, quantity__lte=item.limit - item.quantity
        )
        # One statement when the member has bought here before (the usual case); the row is
        # made on the first purchase only.
        taken = rows.update(quantity=F("quantity") + item.quantity)
        if (
            not taken
            and not PurchaseTally.objects.filter(member_id=member_id, scope=item.scope).exists()
        ):
            try:
                with transaction.atomic():
                    PurchaseTally.objects.create(member_id=member_id, scope=item.scope)
            except IntegrityError:
                pass  # made by this member's concurrent order; the update below queues on it
            taken = rows.update(quantity=F("quantity") + item.quantity)
        if not taken:
            raise LimitReached(
                _("%(name)s: at most %(limit)s per member.")
                % {"name": item.label, "limit": item.limit},
                field="quantity",
            )


def tally_give_back(member_id: int, scopes: dict[str, int]) -> None:
    for scope, quantity in sorted(scopes.items()):
        PurchaseTally.objects.filter(
            member_id=member_id, scope=scope, quantity__gte=quantity
        ).update(quantity=F("quantity") - quantity)


def stock_take(holds: list[Hold], *, now: object) -> None:
    """Reserve every hold, all or none (the caller's transaction rolls back on refusal)."""
    for hold in merge_holds(holds):
        if hold.kind == "drop":
            taken = Drop.objects.filter(
                pk=hold.pk,
                status=DropStatus.LIVE,
                starts_at__lte=now,
                ends_at__gt=now,
                stock__gte=hold.quantity,
            ).update(stock=F("stock") - hold.quantity, reserved=F("reserved") + hold.quantity)
            if not taken:
                drop = Drop.objects.filter(pk=hold.pk).first()
                if (
                    drop is None
                    or drop.status != DropStatus.LIVE
                    or not (
                        drop.starts_at <= now < drop.ends_at  # type: ignore[operator]
                    )
                ):
                    raise DropClosed(_("This group-buy is not open."), field="drop")
                raise OutOfStock(_("Sold out: not enough left in stock."), field="quantity")
        else:
            taken = Sku.objects.filter(pk=hold.pk, stock__gte=hold.quantity).update(
                stock=F("stock") - hold.quantity, reserved=F("reserved") + hold.quantity
            )
            if not taken:
                raise OutOfStock(_("Sold out: not enough left in stock."), field="quantity")


def stock_give_back(holds: list[Hold]) -> None:
    """Reserved units back to stock (an unpaid order lapsed or was cancelled)."""
    for hold in merge_holds(holds):
        model = Drop if hold.kind == "drop" else Sku
        model.objects.filter(pk=hold.pk, reserved__gte=hold.quantity).update(
            stock=F("stock") + hold.quantity, reserved=F("reserved") - hold.quantity
        )


def stock_sell(holds: list[Hold]) -> None:
    """Reserved units leave with a paid order."""
    for hold in merge_holds(holds):
        if hold.kind == "drop":
            Drop.objects.filter(pk=hold.pk, reserved__gte=hold.quantity).update(
                reserved=F("reserved") - hold.quantity, sold=F("sold") + hold.quantity
            )
        else:
            Sku.objects.filter(pk=hold.pk, reserved__gte=hold.quantity).update(
                reserved=F("reserved") - hold.quantity
            )


def holds_of(order: Order) -> list[Hold]:
    """The units an order took, worked out from its lines (bundles hold their components)."""
    holds: list[Hold] = []
    for line in order.lines.select_related("product").all():
        if order.drop_id is not None:
            holds.append(Hold("drop", order.drop_id, line.quantity))
        elif line.sku_id is not None:
            holds.append(Hold("sku", line.sku_id, line.quantity))
        for item in line.product.bundle_items.all():
            if item.sku_id is not None:
                holds.append(Hold("sku", item.sku_id, item.quantity * line.quantity))
    return merge_holds(holds)


def limits_of(order: Order) -> list[Limit]:
    """The per-member limits an order counts against, with its units under each."""
    labels: dict[str, tuple[int, str]] = {}
    for line in order.lines.select_related("product").all():
        if order.drop_id is not None and order.drop and order.drop.per_member_limit:
            labels[f"drop:{order.drop_id}"] = (order.drop.per_member_limit, order.drop.title)
        if line.product.per_member_limit:
            labels[f"product:{line.product_id}"] = (
                line.product.per_member_limit,
                line.product.name,
            )
    return [
        Limit(scope, labels[scope][0], quantity, labels[scope][1])
        for scope, quantity in tallies_of(order).items()
    ]


def tallies_of(order: Order) -> dict[str, int]:
    scopes: dict[str, int] = defaultdict(int)
    for line in order.lines.select_related("product").all():
        if order.drop_id is not None and order.drop and order.drop.per_member_limit:
            scopes[f"drop:{order.drop_id}"] += line.quantity
        if line.product.per_member_limit:
            scopes[f"product:{line.product_id}"] += line.quantity
    return dict(scopes)
