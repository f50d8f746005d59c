"""Which sharer a paid order belongs to.

A live customer binding (锁客) wins; otherwise the last sharer whose link the buyer opened
within the attribution window before ordering. The buyer never refers themself, nor does
anyone merged into the same person. Decided once, at payment, and kept.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction

from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import (
    AttributionVia,
    MemberReferral,
    OrderAttribution,
    ReferralTouch,
)
from quanzi.distribution.services.identity import records_of, same_person
from quanzi.distribution.services.links import REFERRAL_CHANNEL
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.orders.models import Order


def order_attribute(order: Order) -> OrderAttribution | None:
    """The order's attribution, decided now if it was not yet (inside the payment's
    transaction). ``None`` when nobody brought this order."""
    existing = OrderAttribution.objects.filter(order=order).first()
    if existing is not None:
        return existing
    terms = distribution_settings_get(order.community)
    ordered = order.created_at
    ids = sorted({order.member_id, *records_of(order.member_id)})
    sharer_id = link_id = None
    touched_at = None
    via = ""
    binding = (
        MemberReferral.objects.filter(
            community_id=order.community_id, member_id__in=ids, bound_until__gt=ordered
        )
        .order_by("at")
        .first()
    )
    if (
        binding is not None
        and binding.at <= ordered
        and not same_person(binding.referrer_id, order.member_id)
    ):
        sharer_id, link_id, touched_at, via = (
            binding.referrer_id,
            binding.link_id,
            binding.at,
            AttributionVia.BINDING,
        )
    else:
        since = ordered - timedelta(days=terms.attribution_days)
        for touch in ReferralTouch.objects.filter(
            community_id=order.community_id, member_id__in=ids, at__gte=since, at__lte=ordered
        ).order_by("-at", "-pk")[:20]:
            if not same_person(touch.sharer_id, order.member_id):
                sharer_id, link_id, touched_at, via = (
                    touch.sharer_id,
                    touch.link_id,
                    touch.at,
                    AttributionVia.LINK,
                )
                break
    if sharer_id is None or touched_at is None:
        return None
    moment = order.paid_at or ordered
    try:
        with transaction.atomic():
            attribution = OrderAttribution.objects.create(
                order=order,
                community_id=order.community_id,
                buyer_id=order.member_id,
                sharer_id=sharer_id,
                link_id=link_id,
                via=via,
                touched_at=touched_at,
                at=moment,
            )
    except IntegrityError:
        return OrderAttribution.objects.get(order=order)
    activity_record(
        kind=ActivityKind.REFERRAL,
        occurred_at=moment,
        member_id=order.member_id,
        target_member_id=sharer_id,
        community_id=order.community_id,
        channel=REFERRAL_CHANNEL,
        amount=Money(order.total_minor, order.currency),
        object_type="order",
        object_id=order.number,
        data={"action": "attributed", "via": via, "link": link_id},
    )
    return attribution
