"""Settling group-buy drops once they end.

A drop is settled when it has ended and none of its orders still awaits payment (those lapse
within ``QUANZI_ORDER_EXPIRY_MINUTES``). With a minimum number of buyers it is then either a
success, or cancelled: every paid order is refunded in full by a system after-sales case, each
case opened once per payment, so the job can run any number of times.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.catalog.models import Drop, DropStatus
from quanzi.catalog.services.drops import drop_close
from quanzi.core import clock
from quanzi.orders.models import AfterSaleStatus, Order, OrderStatus
from quanzi.orders.services.aftersales import after_sale_open_system, refundable_minor
from quanzi.orders.services.paying import succeeded_payment


def drop_buyers(drop: Drop) -> int:
    """Distinct members with a paid order in the drop that was not refunded in full."""
    return (
        Order.objects.filter(drop=drop, paid_at__isnull=False)
        .exclude(status__in=(OrderStatus.CANCELLED, OrderStatus.REFUNDED))
        .values("member_id")
        .distinct()
        .count()
    )


def drops_settle(*, now: datetime | None = None) -> int:
    moment = now or clock.now()
    settled = 0
    for drop in Drop.objects.filter(status=DropStatus.LIVE, ends_at__lte=moment).order_by("pk"):
        if Order.objects.filter(drop=drop, status=OrderStatus.PENDING).exists():
            continue  # wait for the last unpaid orders to be paid or lapse
        if drop.min_buyers and drop_buyers(drop) < drop.min_buyers:
            _cancel(drop)
            drop_close(drop=drop, status=DropStatus.CANCELLED)
        else:
            drop_close(
                drop=drop, status=DropStatus.SUCCEEDED if drop.min_buyers else DropStatus.ENDED
            )
        settled += 1
    return settled


def _cancel(drop: Drop) -> None:
    reason = _("The group-buy did not reach %(n)s buyers.") % {"n": drop.min_buyers}
    paid = Order.objects.filter(drop=drop, paid_at__isnull=False).exclude(
        status=OrderStatus.REFUNDED
    )
    for order in paid.order_by("pk"):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            payment = succeeded_payment(order)  # not a second payment, refunded already
            # The group-buy's refund supersedes the member's own undecided requests on the
            # order; a refund already approved and on its way finishes, and counts.
            for case in order.after_sales.filter(
                status__in=(AfterSaleStatus.REQUESTED, AfterSaleStatus.AWAITING_RETURN),
                opened_by__in=("member", "operator"),
            ):
                case.status = AfterSaleStatus.WITHDRAWN
                case.decision_note = str(reason)[:500]
                case.save(update_fields=["status", "decision_note"])
            left = refundable_minor(order)
            if payment is None or left <= 0:
                continue
            case = after_sale_open_system(
                order=order, payment=payment, amount_minor=left, reason=reason
            )
            if not case.restock:
                case.restock = order.needs_shipping
                case.save(update_fields=["restock"])
