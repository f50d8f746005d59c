"""Paying for an order: starting a payment, and applying one that succeeded.

``order_apply_payment`` runs inside the payment's transaction (a ``payments`` hook), under the
order's row lock, so an order expiring while its payment arrives ends one way or the other:
- still pending: paid, its reserved units sold, virtual goods delivered;
- lapsed meanwhile: its units are taken again if they are still there and the member's
  per-member limits allow them (paid and kept), otherwise the money is refunded in full (paid
  and refunded); never stock lost or doubled, never a limit passed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.catalog.models import ProductKind
from quanzi.communities.models import Group
from quanzi.communities.services.joining import group_join
from quanzi.communities.services.memberships import (
    membership_grant_for_product,
    membership_pay,
    membership_start,
)
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.orders.models import AfterSale, Order, OrderLine, OrderStatus, StockHold
from quanzi.orders.services.errors import LimitReached, WrongState
from quanzi.orders.services.stock import (
    holds_of,
    limits_of,
    stock_sell,
    stock_take,
    tally_take,
)
from quanzi.payments.models import Payment, PaymentStatus
from quanzi.payments.services.payments import payment_start

log = logging.getLogger(__name__)


def order_pay_start(
    *, order: Order, provider: str | None = None, mode: str = "native", payer_openid: str = ""
) -> Payment:
    """The payment the member completes: transfer instructions, a QR code or JSAPI params."""
    if order.status != OrderStatus.PENDING:
        raise WrongState(
            _("This order is %(status)s; there is nothing to pay.")
            % {"status": order.get_status_display()},
            field="status",
        )
    if order.expires_at <= clock.now():
        raise WrongState(_("This order has lapsed; order again."), field="status")
    names = list(order.lines.values_list("name", flat=True))
    description = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"
    return payment_start(
        community_id=order.community_id,
        member_id=order.member_id,
        reference=order.number,
        amount_minor=order.total_minor,
        currency=order.currency,
        description=description,
        provider=provider or order.provider,
        expires_at=order.expires_at,
        mode="transfer" if (provider or order.provider) == "manual" else mode,
        payer_openid=payer_openid,
    )


def order_apply_payment(payment: Payment) -> None:
    """A payment for ``payment.reference`` succeeded (payments hook, inside its transaction)."""
    order = Order.objects.select_for_update().filter(number=payment.reference).first()
    if order is None:
        return  # not an order's payment
    moment = payment.paid_at or clock.now()
    if order.status == OrderStatus.PENDING and order.paid_at is None:
        _mark_paid(order, payment.provider, moment)
        return
    if order.status == OrderStatus.CANCELLED and order.paid_at is None:
        # Lapsed while the member paid: take the units again if they are still there and
        # the member's limits still allow them (they may have ordered again meanwhile).
        reason = _("Paid after the order lapsed; sold out meanwhile.")
        try:
            with transaction.atomic():
                tally_take(order.member_id, limits_of(order))
                holds = holds_of(order)
                if holds:
                    stock_take(holds, now=_open_moment(order))
                    order.stock = StockHold.RESERVED
            _mark_paid(order, payment.provider, moment, revived=payment.out_trade_no)
            return
        except LimitReached:
            reason = _("Paid after the order lapsed; the member's limit was reached meanwhile.")
        except ApplicationError:  # sold out, or the group-buy has closed
            pass
        order.paid_at = moment
        order.save(update_fields=["paid_at"])
        _refund_whole_payment(order, payment, reason)
        return
    # Paid twice (a transfer and WeChat Pay, say): the second payment goes back.
    _refund_whole_payment(order, payment, _("A second payment for an order already paid."))


def _open_moment(order: Order) -> datetime:
    """A drop order revived after its drop ended still takes its units from the drop's stock,
    so the check is made as of the order's creation."""
    return order.created_at


def _refund_whole_payment(order: Order, payment: Payment, reason: str) -> None:
    from quanzi.orders.services.aftersales import after_sale_open_system

    after_sale_open_system(
        order=order, payment=payment, amount_minor=payment.amount_minor, reason=reason
    )


def order_settle_free(order: Order) -> None:
    """An order with nothing to pay (a free course, a total discounted to zero) is paid at
    once: no payment, no ledger posting, its goods delivered as a paid order's are."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.total_minor != 0 or order.status != OrderStatus.PENDING:
        raise WrongState(_("Only an order with nothing to pay is settled free."), field="order")
    _mark_paid(order, "free", clock.now())


def _mark_paid(order: Order, provider: str, moment: datetime, *, revived: str = "") -> None:
    if order.stock == StockHold.RESERVED:
        stock_sell(holds_of(order))
        order.stock = StockHold.SOLD
    order.paid_at = moment
    order.provider = provider
    # A lapsed order revived by its late payment is no longer cancelled.
    order.cancelled_at = None
    order.cancel_reason = ""
    lines = list(order.lines.select_related("product", "product__plan").all())
    virtual_only = not order.needs_shipping
    order.status = OrderStatus.COMPLETED if virtual_only else OrderStatus.PAID
    if virtual_only:
        order.delivered_at = moment
        order.received_at = moment
    order.save()
    for line in lines:
        _record_pay(order, line, moment)
    for line in lines:
        _deliver(order, line, moment)
    if revived:
        activity_record(
            kind=ActivityKind.ORDER,
            occurred_at=moment,
            member_id=order.member_id,
            community_id=order.community_id,
            object_type="order",
            object_id=order.number,
            data={"action": "revived", "payment": revived},
        )


def _record_pay(order: Order, line: OrderLine, moment: datetime) -> None:
    if line.kind == ProductKind.MEMBERSHIP:
        return  # the membership term records its own payment
    activity_record(
        kind=ActivityKind.PAY,
        occurred_at=moment,
        member_id=order.member_id,
        community_id=order.community_id,
        channel=order.channel,
        amount=Money(line.total_minor, order.currency),
        object_type="product",
        object_id=line.product_id,
        data={"order": order.number, "line": line.pk, "quantity": line.quantity},
    )


def _deliver(order: Order, line: OrderLine, moment: datetime) -> None:
    """Virtual goods at payment: membership, plans that come with the product, group seats."""
    product = line.product
    items = [(product, line.quantity)] + [
        (item.component, item.quantity * line.quantity)
        for item in product.bundle_items.select_related("component", "component__plan")
    ]
    member = order.member
    for item, _units in items:
        try:
            with transaction.atomic():
                if item.kind == ProductKind.MEMBERSHIP and item.plan is not None:
                    membership = membership_start(
                        member=member, plan=item.plan, channel=order.channel, now=moment
                    )
                    membership_pay(
                        membership=membership,
                        amount_minor=item.plan.price_minor,
                        payment_ref=f"{order.number}:{line.pk}:{item.pk}",
                        paid_at=moment,
                    )
                membership_grant_for_product(
                    member=member, product_id=item.pk, order_ref=order.number, paid_at=moment
                )
                if item.grants_group_id is not None:
                    group = Group.objects.get(pk=item.grants_group_id)
                    group_join(group=group, member=member, channel=order.channel, check_gate=False)
        except ApplicationError as exc:
            # The money is in and the order stands; the operator sees what could not be given.
            log.warning("order %s: could not deliver %s: %s", order.number, item.pk, exc)
            activity_record(
                kind=ActivityKind.OPERATOR,
                member_id=member.pk,
                community_id=order.community_id,
                object_type="order",
                object_id=order.number,
                data={"action": "delivery_failed", "product": item.pk, "reason": exc.message},
            )
    if line.kind != ProductKind.PHYSICAL:
        OrderLine.objects.filter(pk=line.pk).update(delivered_at=moment)


def order_payments(order: Order) -> list[Payment]:
    return list(Payment.objects.filter(reference=order.number).order_by("pk"))


def succeeded_payment(order: Order) -> Payment | None:
    """The payment that paid the order: the first to succeed, never a second payment that is
    being given back (a transfer confirmed after WeChat Pay had paid, say), whatever order
    the two were started in."""
    extras = AfterSale.objects.filter(
        order=order, extra_payment=True, payment_id__isnull=False
    ).values("payment_id")
    return (
        Payment.objects.filter(reference=order.number, status=PaymentStatus.SUCCEEDED)
        .exclude(pk__in=extras)
        .order_by("paid_at", "pk")
        .first()
    )
