"""The demo hub's distribution: group leaders and sharers of the seafood circle, four months of
shared sales, commission that matured week by week, monthly payouts, and a refund or two.

History is made through the services themselves, with the clock set back to each moment, so
every commission, ledger posting and activity carries the time it would have had.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community, Group
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.distribution.models import DistributorRole
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.distributors import (
    distributor_apply,
    distributor_approve,
    distributor_reject,
)
from quanzi.distribution.services.links import referral_link_get_or_create, referral_visit
from quanzi.distribution.services.payouts import (
    distributor_set_payee,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.distribution.services.settings import distribution_settings_update
from quanzi.members.models import Member
from quanzi.orders.models import Order
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.services.fulfilment import order_confirm_receipt, order_ship

WEEKS = 17


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Services run as if it were ``moment``."""
    with mock.patch.object(clock, "now", return_value=moment):
        yield


def _pay(order: Order) -> None:
    from quanzi.demo_shop import _pay as pay

    pay(order)


def distribution_load(rng: random.Random, now: datetime) -> int:
    """Distributors, rules and months of commission in the seafood circle; returns the number
    of shared orders placed."""
    from quanzi.demo_shop import _address

    seafood = Community.objects.get(slug="seafood-fruit")
    start = now - timedelta(weeks=WEEKS)
    members = list(
        Member.objects.filter(group_seats__group__community=seafood).distinct().order_by("pk")
    )
    leaders, sharers, friends = members[:2], members[2:6], members[6:]
    group = Group.objects.filter(community=seafood).order_by("pk").first()
    with at(start - timedelta(days=3)):
        distribution_settings_update(
            community=seafood, binding_days=30, attribution_days=7, return_window_days=7
        )
        commission_rule_create(community=seafood, kind="percent", percent_bp=800)
        commission_rule_create(
            community=seafood,
            kind="percent",
            percent_bp=1_200,
            role=DistributorRole.GROUP_LEADER,
            category="海鲜",
        )
        pickups = ["舟山新城 · 海港小区东门快递柜", "定海 · 人民路水果店"]
        for leader, pickup in zip(leaders, pickups, strict=False):
            d = distributor_apply(
                community=seafood,
                member=leader,
                role=DistributorRole.GROUP_LEADER,
                group=group,
                pickup_point=pickup,
                application="小区团购群 300 人，可做自提点",
            )
            distributor_approve(distributor=d, note="自提点已实地看过")
            distributor_set_payee(
                distributor=d, name=leader.display_name[:10], account="6222021234567890123"
            )
        for n, sharer in enumerate(sharers):
            role = DistributorRole.INFLUENCER if n == 0 else DistributorRole.SHARER
            d = distributor_apply(
                community=seafood, member=sharer, role=role, application="经常在朋友圈分享"
            )
            distributor_approve(distributor=d)
            distributor_set_payee(
                distributor=d, name=sharer.display_name[:10], account=f"wxid_demo{n}88"
            )
    if len(friends) > 2:
        late = distributor_apply(
            community=seafood, member=friends[0], role=DistributorRole.SHARER, application="想试试"
        )
        rejected = distributor_apply(
            community=seafood, member=friends[1], role=DistributorRole.SHARER, application="做代购"
        )
        distributor_reject(distributor=rejected, reason="主要做其他平台代购，与本圈定位不符")
        del late
    skus = list(
        Sku.objects.filter(product__community=seafood, product__active=True, stock__gt=20)
        .select_related("product")
        .order_by("pk")
    )
    if not skus:
        return 0
    earners = leaders + sharers
    buyers = friends[2:]
    placed = 0
    for week in range(WEEKS):
        week_start = start + timedelta(weeks=week)
        for _n in range(rng.randint(3, 6)):
            sharer = rng.choice(earners)
            friend = rng.choice(buyers)
            sku = rng.choice(skus)
            moment = week_start + timedelta(hours=rng.randint(8, 150))
            if moment >= now - timedelta(hours=2):
                continue
            with at(moment):
                label = "小红书 · 梭子蟹开箱" if sharer == sharers[0] else ""
                link = referral_link_get_or_create(
                    community=seafood, sharer=sharer, product=sku.product, label=label
                )
                referral_visit(link=link, member=friend)
            with at(moment + timedelta(minutes=rng.randint(3, 90))):
                try:
                    order = order_create(
                        member=friend,
                        community=seafood,
                        lines=[
                            LineIn(
                                product_id=sku.product_id,
                                sku_id=sku.pk,
                                quantity=rng.choice([1, 1, 2]),
                            )
                        ],
                        address=_address(rng, friend),
                        channel="referral",
                    )
                except ApplicationError:  # sold out or a member limit: a real week has those too
                    continue
                _pay(order)
            placed += 1
            shipped = moment + timedelta(days=1)
            if shipped >= now:
                continue
            with at(shipped):
                order = order_ship(
                    order=order,
                    carrier="顺丰速运",
                    tracking_no=f"SF{rng.randint(10**11, 10**12 - 1)}",
                )
            received = moment + timedelta(days=3)
            if received >= now:
                continue
            with at(received):
                order = order_confirm_receipt(order=order)
            if rng.random() < 0.06:  # a few refunds: before and after the window closed
                later = received + timedelta(days=rng.choice([2, 12]))
                if later < now:
                    with at(later):
                        line = order.lines.first()
                        assert line is not None
                        case = after_sale_open(
                            order=order,
                            kind="refund_only",
                            amount_minor=line.total_minor // 2,
                            reason="有几条不新鲜",
                            line_id=line.pk,
                        )
                        after_sale_approve(case=case, note="按一半退款")
        week_end = week_start + timedelta(weeks=1)
        with at(min(week_end, now)):
            commissions_mature_due(now=min(week_end, now))
        if week % 4 == 3 and week_end < now:
            with at(week_end + timedelta(hours=10)):
                try:
                    batch = payout_batch_create(community=seafood, note="月度结算")
                except ApplicationError:  # nobody above the minimum this month
                    continue
            with at(week_end + timedelta(days=1, hours=10)):
                payout_batch_mark_paid(batch=batch)
    commissions_mature_due(now=now)
    return placed
