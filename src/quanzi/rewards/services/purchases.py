"""Crystals of orders: a purchase earns per yuan paid, a friend's first paid order earns the
one who invited them, and a refund takes back what the money no longer pays for.

Called by the payments hooks inside the payment's or refund's transaction, after the orders
app applied it (the order is paid, its lines' refunds counted). A refusal here never fails
the payment: it is rolled back to a savepoint, logged, and left to the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q, Sum

from quanzi.core.errors import ApplicationError
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import MemberReferral
from quanzi.distribution.services.identity import person_of, records_of, same_person
from quanzi.members.models import Member
from quanzi.orders.models import PAID_STATUSES, AfterSale, Order, OrderStatus
from quanzi.payments.models import Payment, Refund
from quanzi.rewards.models import CrystalAction, CrystalGrant
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.earning import crystals_earn

log = logging.getLogger(__name__)


def _goods_paid(order: Order) -> tuple[int, int]:
    """The lines' amount after discounts (shipping left out), and what of it was refunded."""
    sums = order.lines.aggregate(total=Sum("total_minor"), refunded=Sum("refunded_minor"))
    return int(sums["total"] or 0), int(sums["refunded"] or 0)


def _purchase_source(order: Order) -> str:
    return f"order:{order.number}"


def _invite_note(order: Order) -> str:
    return f"order:{order.number}"


def _first_paid(order: Order, records: list[int]) -> bool:
    """No earlier paid order in the community by any of the buyer's records."""
    assert order.paid_at is not None
    return not (
        Order.objects.filter(
            community_id=order.community_id,
            member_id__in=records,
            status__in=PAID_STATUSES,
            paid_at__isnull=False,
            total_minor__gt=0,
        )
        .exclude(pk=order.pk)
        .filter(Q(paid_at__lt=order.paid_at) | Q(paid_at=order.paid_at, pk__lt=order.pk))
        .exists()
    )


def crystals_for_paid_order(order: Order) -> list[CrystalGrant]:
    """What a paid order earns: PURCHASE crystals for the buyer, and INVITE_PAID crystals for
    whoever brought them in when this is their first paid order here (never for the buyer's
    own other identity). Crystals go to the person: the record that absorbed a merged one.
    Safe to call twice: each grant is made once."""
    grants: list[CrystalGrant] = []
    if not order.is_paid:
        return grants
    community = order.community
    buyer = Member.objects.get(pk=person_of(order.member_id))
    if not buyer.is_active_record:
        return grants  # anonymised: nobody to credit
    total, _refunded = _goods_paid(order)
    earned = CrystalGrant.objects.filter(
        community=community, action=CrystalAction.PURCHASE, source=_purchase_source(order)
    ).first()  # by whichever record of the person it was made for
    purchase = earned or crystals_earn(
        community=community,
        member=buyer,
        action=CrystalAction.PURCHASE,
        source=_purchase_source(order),
        paid_minor=total,
        occurred_at=order.paid_at,
    )
    if purchase is not None:
        grants.append(purchase)
    records = records_of(buyer.pk)
    referral = (
        MemberReferral.objects.filter(community=community, member_id__in=records)
        .order_by("at", "pk")
        .first()
    )
    if referral is None or not _first_paid(order, records):
        return grants
    if same_person(referral.referrer_id, buyer.pk):
        return grants  # one person with two records earns nothing from themself
    referrer = Member.objects.get(pk=person_of(referral.referrer_id))
    if not referrer.is_active_record:
        return grants  # anonymised: nobody to credit
    invite = crystals_earn(
        community=community,
        member=referrer,
        action=CrystalAction.INVITE_PAID,
        source=f"member:{buyer.pk}",
        note=_invite_note(order),
        occurred_at=order.paid_at,
    )
    if invite is not None:
        grants.append(invite)
    return grants


def crystals_for_refund(order: Order, refund_no: str) -> int:
    """Take back what the order's purchase crystals no longer stand on after a refund: the
    crystals are recomputed on the amount still paid (within what the caps gave at the time).
    A refund in full also takes back the invitation crystals the order earned. Returns the
    crystals clawed; a refund applied twice claws once."""
    clawed = 0
    total, refunded = _goods_paid(order)
    whole_refund = refunded >= total or order.status == OrderStatus.REFUNDED
    # By order, not by member: a merge since may have moved the grant to the person's record.
    purchase = CrystalGrant.objects.filter(
        community_id=order.community_id,
        action=CrystalAction.PURCHASE,
        source=_purchase_source(order),
    ).first()
    if purchase is not None:
        yuan = total // 100
        rate = purchase.requested // yuan if yuan else 0
        still = 0 if whole_refund else min(purchase.amount, rate * ((total - refunded) // 100))
        due = purchase.amount - still - purchase.clawed
        if due > 0:
            clawed += crystal_grant_claw(grant=purchase, crystals=due, reference=refund_no)
    if whole_refund:
        invite = CrystalGrant.objects.filter(
            community_id=order.community_id,
            action=CrystalAction.INVITE_PAID,
            note=_invite_note(order),
        ).first()
        if invite is not None and invite.amount > invite.clawed:
            clawed += crystal_grant_claw(
                grant=invite, crystals=invite.amount - invite.clawed, reference=refund_no
            )
    return clawed


def _without_failing(what: str, order: Order, call: Callable[[], object]) -> None:
    try:
        with transaction.atomic():
            call()
    except ApplicationError as exc:
        log.warning("crystals for order %s (%s) not applied: %s", order.number, what, exc)
        activity_record(
            kind=ActivityKind.OPERATOR,
            member_id=order.member_id,
            community_id=order.community_id,
            object_type="order",
            object_id=order.number,
            data={"action": "crystals_failed", "on": what, "reason": exc.message},
        )


def crystals_on_payment(payment: Payment) -> None:
    """payments hook: a payment succeeded (the orders app has applied it)."""
    order = Order.objects.filter(number=payment.reference).first()
    if order is None or not order.is_paid:
        return  # not an order's payment, or one refunded at once (lapsed and sold out)
    _without_failing("payment", order, lambda: crystals_for_paid_order(order))


def crystals_on_refund(refund: Refund) -> None:
    """payments hook: a refund succeeded (the orders app has counted it on the order)."""
    case = AfterSale.objects.filter(refund_no=refund.reference).select_related("order").first()
    if case is None or case.extra_payment:
        return  # not an order's refund, or a second payment given back: nothing earned on it
    order = case.order
    _without_failing("refund", order, lambda: crystals_for_refund(order, refund.reference))
