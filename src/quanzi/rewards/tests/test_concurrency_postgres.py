"""Crystals under real concurrency (PostgreSQL only, real threads, one connection each): two
earns racing a daily cap, two calls racing for one source, two redemptions racing for one
balance. Each ends one way, the cap and the balance kept."""

from __future__ import annotations

import time
from typing import Any

import pytest

from quanzi.members.tests.factories import in_threads
from quanzi.rewards.models import CrystalGrant, Redemption
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services import earning
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.errors import NotEnoughCrystals
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import award, books_balanced, circle, member, rule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_earns_cannot_both_pass_a_daily_cap(monkeypatch: Any) -> None:
    # Given: a post earns 10, at most 10 a day; the member's accounts exist (an award, which
    # counts against no cap), so nothing but the wallet lock orders the two earns
    home, who = circle(), member()
    rule(home, "post", 10, daily_cap=10)
    award(home, who, 5)
    # Race injection: each earn dawdles between counting the cap and writing its grant
    counted = earning._room

    def slow_room(*args: Any, **kwargs: Any) -> int | None:
        room = counted(*args, **kwargs)
        time.sleep(0.3)
        return room

    monkeypatch.setattr(earning, "_room", slow_room)

    # When: two posts are credited at the same instant
    results = in_threads(
        2,
        lambda i: crystals_earn(community=home, member=who, action="post", source=f"post:{i}"),
    )

    # Then: one earns 10, the other nothing
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.amount if r else 0 for r in results) == [0, 10]
    assert crystal_balance(home, who) == 15
    assert CrystalGrant.objects.filter(member=who, action="post").count() == 1
    books_balanced()


def test_one_source_credited_by_many_at_once_earns_once() -> None:
    home, who = circle(), member()
    rule(home, "check_in", 15)
    award(home, who, 5)

    results = in_threads(
        4,
        lambda i: crystals_earn(community=home, member=who, action="check_in", source="event:9"),
    )

    assert not any(isinstance(r, Exception) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert crystal_balance(home, who) == 20
    books_balanced()


def test_two_concurrent_redemptions_cannot_spend_the_same_crystals() -> None:
    home, who = circle(), member()
    award(home, who, 40)
    reward = crystal_reward_create(community=home, name="贴纸", kind="perk", cost=30)

    results = in_threads(2, lambda i: redemption_place(reward=reward, member=who))

    assert sorted(type(r).__name__ for r in results) == ["NotEnoughCrystals", "Redemption"]
    refused = next(r for r in results if isinstance(r, NotEnoughCrystals))
    assert refused.fields == {"crystals": ["This costs 30 crystals; you hold 10."]}
    assert Redemption.objects.count() == 1
    assert crystal_balance(home, who) == 10
    books_balanced()
