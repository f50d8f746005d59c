"""Growth levels follow what a member earned (net of clawbacks): a level-up is recorded,
seats the member in the level's group and brings its discount at checkout."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.communities.models import GroupMembership, SeatStatus
from quanzi.communities.tests.factories import group
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Level, Member
from quanzi.orders.services.checkout import LineIn, order_quote
from quanzi.orders.tests.factories import drop, goods
from quanzi.rewards.models import MemberLevel
from quanzi.rewards.selectors import level_discount_percent, member_level
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.errors import RewardsError
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import award, circle, member

pytestmark = pytest.mark.django_db


def level_changes(who: Member) -> list[tuple[str, str]]:
    """The member's growth-level changes in a community (the lifecycle records the
    member-wide level separately, without a community)."""
    return [
        (a.data["from"], a.data["to"])
        for a in Activity.objects.filter(
            kind=ActivityKind.LEVEL, member_id=who.pk, community_id__isnull=False
        ).order_by("pk")
    ]


def test_a_member_levels_up_gets_a_seat_and_levels_down_when_crystals_are_clawed() -> None:
    # Given: seed at 50 crystals with a seat in the seed group, core at 200
    home, who = circle(), member()
    seeds = group(home, name="种子用户群")
    growth_level_set(community=home, level="seed", min_earned=50, group=seeds, badge="🌱")
    growth_level_set(community=home, level="core", min_earned=200, discount_percent=10)

    # When: 30, then 30 more
    award(home, who, 30)
    assert member_level(home, who).level == Level.NOVICE
    grant = award(home, who, 30)

    # Then: seed, recorded, seated, and the member's level says so
    view = member_level(home, who)
    assert (view.level, view.earned_total, view.badge, view.next_level, view.next_needs) == (
        "seed",
        60,
        "🌱",
        "core",
        140,
    )
    assert level_changes(who) == [("novice", "seed")]
    seat = GroupMembership.objects.get(group=seeds, member=who)
    assert (seat.status, seat.channel) == (SeatStatus.ACTIVE, "level")
    who.refresh_from_db()
    assert who.level == Level.SEED

    # When: spending never lowers a level
    reward = crystal_reward_create(community=home, name="贴纸", kind="perk", cost=60)
    redemption_place(reward=reward, member=who)
    assert member_level(home, who).level == Level.SEED

    # When: a clawback does
    crystal_grant_claw(grant=grant, crystals=30, reference="R1")
    assert member_level(home, who).level == Level.NOVICE
    assert level_changes(who) == [("novice", "seed"), ("seed", "novice")]
    who.refresh_from_db()
    assert who.level == Level.NOVICE
    # The seat the level gave stays: taking people out of a group is the operator's call
    assert GroupMembership.objects.get(group=seeds, member=who).status == SeatStatus.ACTIVE


def test_a_full_group_does_not_stop_the_level_up() -> None:
    home, who, first = circle(), member(), member()
    small = group(home, capacity=1)
    growth_level_set(community=home, level="seed", min_earned=10, group=small)
    award(home, first, 10)

    award(home, who, 10)

    assert member_level(home, who).level == Level.SEED
    assert not GroupMembership.objects.filter(group=small, member=who).exists()
    failed = Activity.objects.get(member_id=who.pk, data__action="level_seat_failed")
    assert failed.group_id == small.pk


def test_levels_need_more_crystals_the_higher_they_are() -> None:
    home, elsewhere = circle(), circle()
    growth_level_set(community=home, level="core", min_earned=200)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"level": "seed", "min_earned": 200}, "min_earned"),
        ({"level": "kol", "min_earned": 150}, "min_earned"),
        ({"level": "boss", "min_earned": 1}, "level"),
        ({"level": "seed", "min_earned": 10, "discount_percent": 51}, "discount_percent"),
        ({"level": "seed", "min_earned": 10, "group": group(elsewhere)}, "group"),
    ]
    for kwargs, field in cases:
        with pytest.raises(RewardsError) as refused:
            growth_level_set(community=home, **kwargs)
        assert field in refused.value.fields, (kwargs, refused.value.fields)

    # Changing a level is an upsert
    again = growth_level_set(community=home, level="core", min_earned=300, discount_percent=5)
    assert (again.min_earned, again.discount_percent) == (300, 5)


def test_changed_levels_are_applied_to_members_who_earned_before(
    django_capture_on_commit_callbacks: Any,
) -> None:
    home, who = circle(), member()
    award(home, who, 80)
    assert member_level(home, who).level == Level.NOVICE

    with django_capture_on_commit_callbacks(execute=True):
        growth_level_set(community=home, level="seed", min_earned=50)

    assert MemberLevel.objects.get(community=home, member=who).level == Level.SEED


def test_the_highest_level_across_circles_is_the_members_level() -> None:
    low, high, who = circle(), circle(), member()
    growth_level_set(community=low, level="seed", min_earned=10)
    growth_level_set(community=high, level="kol", min_earned=10)

    award(high, who, 10)
    award(low, who, 10)

    who.refresh_from_db()
    assert who.level == Level.KOL


def test_a_levels_discount_applies_at_checkout_but_not_to_group_buys() -> None:
    # Given: core members get 10 % off
    home, who, novice = circle(), member(), member()
    growth_level_set(community=home, level="core", min_earned=100, discount_percent=10)
    award(home, who, 100)
    sku = goods(home, stock=10, price_minor=5_000)

    # When
    quote = order_quote(member=who, community=home, lines=[LineIn(sku.product_id, 2, sku.pk)])
    plain = order_quote(member=novice, community=home, lines=[LineIn(sku.product_id, 2, sku.pk)])
    group_buy = drop(sku, units=5)
    in_drop = order_quote(
        member=who, community=home, lines=[LineIn(sku.product_id, 1)], drop_id=group_buy.pk
    )

    # Then
    assert level_discount_percent(who, home) == 10
    assert (quote.discount_percent, quote.discount_minor) == (10, 1_000)
    assert (plain.discount_percent, plain.discount_minor) == (0, 0)
    assert (in_drop.discount_percent, in_drop.discount_minor) == (0, 0)
