"""The demo hub's crystals: earn rules, levels and a rewards shelf in the seafood circle set up
before its orders (so purchases and invited friends earn as they happen), then four months of
posts, check-ins and adopted feedback, redemptions, a cash reward and a perk.

Made through the services with the clock set back to each moment (``demo_distribution.at``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from quanzi.catalog.models import Product
from quanzi.communities.models import Community, Group
from quanzi.core.errors import ApplicationError
from quanzi.demo_distribution import WEEKS, at
from quanzi.members.models import Member
from quanzi.rewards.models import CrystalAction, CrystalReward, RewardKind
from quanzi.rewards.services.cash import cash_reward_grant
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.expiry import crystals_expire
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import (
    crystal_reward_create,
    perk_grant,
    redemption_fulfil,
    redemption_place,
)
from quanzi.rewards.services.rules import crystal_rule_set, reward_settings_update

A = CrystalAction


def rewards_setup(now: datetime) -> None:
    """Rules and levels of the seafood circle, from before its first shared sale."""
    seafood = Community.objects.get(slug="seafood-fruit")
    with at(now - timedelta(weeks=WEEKS, days=5)):
        reward_settings_update(community=seafood, daily_cap=100, weekly_cap=400, expiry_days=365)
        crystal_rule_set(community=seafood, action=A.POST, amount=5, daily_cap=20)
        crystal_rule_set(community=seafood, action=A.CHECK_IN, amount=10)
        crystal_rule_set(community=seafood, action=A.INVITE_PAID, amount=50, weekly_cap=150)
        crystal_rule_set(community=seafood, action=A.FEEDBACK, amount=30, weekly_cap=60)
        crystal_rule_set(community=seafood, action=A.PURCHASE, amount=1)
        core = (
            Group.objects.filter(community=seafood, archived_at__isnull=True)
            .order_by("-pk")
            .first()
        )
        growth_level_set(community=seafood, level="seed", min_earned=100, badge="种子")
        growth_level_set(
            community=seafood,
            level="core",
            min_earned=500,
            discount_percent=5,
            group=core,
            badge="核心",
        )
        growth_level_set(
            community=seafood, level="kol", min_earned=2_000, discount_percent=8, badge="达人"
        )


def rewards_load(rng: random.Random, now: datetime) -> int:
    """Months of contributions and a rewards shelf; returns the number of grants made."""
    seafood = Community.objects.get(slug="seafood-fruit")
    start = now - timedelta(weeks=WEEKS)
    members = list(
        Member.objects.filter(group_seats__group__community=seafood).distinct().order_by("pk")
    )
    active = members[:40]
    made = 0
    for week in range(WEEKS):
        for who in active:
            if rng.random() < 0.5:
                continue
            for n in range(rng.randint(1, 4)):
                moment = start + timedelta(weeks=week, hours=rng.randint(9, 160))
                if moment >= now:
                    continue
                action = rng.choices([A.POST, A.CHECK_IN, A.FEEDBACK], weights=[8, 2, 1], k=1)[0]
                with at(moment):
                    grant = crystals_earn(
                        community=seafood,
                        member=who,
                        action=action,
                        source=f"demo:{action}:{week}:{who.pk}:{n}",
                    )
                made += grant is not None
    fish = Product.objects.filter(community=seafood, name__startswith="舟山带鱼").first()
    with at(now - timedelta(days=40)):
        coupon = crystal_reward_create(
            community=seafood,
            name="¥10 无门槛优惠券",
            kind=RewardKind.COUPON,
            cost=200,
            coupon_value_minor=1_000,
        )
        sample = crystal_reward_create(
            community=seafood,
            name="带鱼小样 1 斤",
            kind=RewardKind.PRODUCT,
            cost=500,
            product=fish,
            stock=20,
        )
        crystal_reward_create(
            community=seafood, name="线下品鉴会名额", kind=RewardKind.PERK, cost=800, stock=10
        )
    shelf: list[CrystalReward] = [coupon, sample]
    for n, who in enumerate(active[:12]):
        with at(now - timedelta(days=rng.randint(1, 35))):
            try:
                redemption = redemption_place(reward=shelf[n % 2], member=who)
            except ApplicationError:  # not enough crystals yet: the shelf waits for them
                continue
            if n % 3:
                redemption_fulfil(redemption=redemption, note="群内已发放")
    if active:
        with at(now - timedelta(days=9)):
            cash_reward_grant(
                community=seafood,
                member=active[0],
                amount_minor=5_000,
                reason="整理了《海鲜冷冻保存指南》，群里人人收藏",
                idempotency_key="demo:cash:guide",
            )
            perk_grant(
                community=seafood,
                member=active[1],
                name="新品试吃官",
                note="连续三个月反馈被采纳",
            )
    crystals_expire(now=now)
    return made
