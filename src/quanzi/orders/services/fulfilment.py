"""Fulfilment of physical goods: ship with carrier and tracking, delivered, received.

Virtual goods are delivered at payment (``paying``). A shipped order counts as received when
the member confirms, or ``QUANZI_AUTO_RECEIVE_DAYS`` after delivery (after shipping when no
delivery is reported), by the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.orders.models import Order, OrderStatus, Shipment
from quanzi.orders.services.errors import OrderError, WrongState
from quanzi.outbox.services import outbox_enqueue

CARRIERS = (
    "顺丰速运",
    "京东物流",
    "中通快递",
    "圆通速递",
    "韵达快递",
    "申通快递",
    "EMS",
    "极兔速递",
)


def _locked(order: Order, *allowed: str) -> Order:
    order = Order.objects.select_for_update().select_related("member").get(pk=order.pk)
    if order.status not in allowed:
        raise WrongState(
            _("This order is %(status)s.") % {"status": order.get_status_display()},
            field="status",
        )
    return order


def _record(order: Order, action: str, actor_id: int | None, **data: object) -> None:
    activity_record(
        kind=ActivityKind.OPERATOR if actor_id else ActivityKind.ORDER,
        member_id=order.member_id,
        community_id=order.community_id,
        actor_id=actor_id,
        object_type="order",
        object_id=order.number,
        data={"action": action, **data},
    )


def order_ship(
    *, order: Order, carrier: str, tracking_no: str, actor_id: int | None = None
) -> Order:
    """Hand the parcel to the carrier; the member is told the tracking number."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if not carrier or len(carrier) > 50:
        raise OrderError(_("Name the carrier."), field="carrier")
    plain = tracking_no.replace("-", "")
    if not tracking_no or len(tracking_no) > 50 or not (plain.isascii() and plain.isalnum()):
        raise OrderError(
            _("A tracking number is letters and digits (at most 50)."), field="tracking_no"
        )
    with transaction.atomic():
        order = _locked(order, OrderStatus.PAID)
        if not order.needs_shipping:
            raise WrongState(_("Nothing in this order ships."), field="status")
        if order.after_sales.filter(status__in=("requested", "refunding")).exists():
            raise WrongState(
                _("A refund request is open on this order; decide it first."), field="status"
            )
        moment = clock.now()
        Shipment.objects.create(
            order=order,
            carrier=carrier,
            tracking_no=tracking_no,
            shipped_at=moment,
            shipped_by_id=actor_id,
        )
        order.status = OrderStatus.SHIPPED
        order.shipped_at = moment
        order.save(update_fields=["status", "shipped_at"])
        _record(order, "shipped", actor_id, carrier=carrier, tracking_no=tracking_no)
        outbox_enqueue(
            member=order.member,
            template="order_shipped",
            body=_("Your order %(number)s is on its way: %(carrier)s %(tracking)s.")
            % {"number": order.number, "carrier": carrier, "tracking": tracking_no},
            purpose="service",
            dedupe_key=f"order-shipped:{order.number}",
            community_id=order.community_id,
        )
        return order


def order_mark_delivered(*, order: Order, actor_id: int | None = None) -> Order:
    with transaction.atomic():
        order = _locked(order, OrderStatus.SHIPPED)
        moment = clock.now()
        order.status = OrderStatus.DELIVERED
        order.delivered_at = moment
        order.save(update_fields=["status", "delivered_at"])
        Shipment.objects.filter(order=order).update(delivered_at=moment)
        _record(order, "delivered", actor_id)
        return order


def order_confirm_receipt(
    *, order: Order, actor_id: int | None = None, auto: bool = False, now: datetime | None = None
) -> Order:
    """The member (or the job, ``auto``) confirms the goods arrived."""
    with transaction.atomic():
        order = _locked(order, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        moment = now or clock.now()
        order.status = OrderStatus.COMPLETED
        order.received_at = moment
        order.auto_received = auto
        if order.delivered_at is None:
            order.delivered_at = moment
        order.save(update_fields=["status", "received_at", "auto_received", "delivered_at"])
        _record(order, "received", actor_id, auto=auto)
        return order


def orders_auto_receive(*, now: datetime | None = None, limit: int = 1000) -> int:
    moment = now or clock.now()
    cutoff = moment - timedelta(days=settings.QUANZI_AUTO_RECEIVE_DAYS)
    due = Order.objects.filter(
        Q(status=OrderStatus.DELIVERED, delivered_at__lte=cutoff)
        | Q(status=OrderStatus.SHIPPED, shipped_at__lte=cutoff)
    ).order_by("pk")[:limit]
    done = 0
    for order in due:
        try:
            order_confirm_receipt(order=order, auto=True, now=moment)
        except WrongState:
            continue
        done += 1
    return done
