"""Crystals buy rewards, oldest crystals first; a refusal spends and posts nothing; a
cancellation gives the crystals and the stock back. Contributors get perks and cash."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.catalog.tests.factories import product
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind, LedgerAccount, LedgerEntry
from quanzi.rewards.models import CrystalGrant, CrystalReward, Redemption, RedemptionStatus
from quanzi.rewards.selectors import crystal_balance, member_level, rewards_available
from quanzi.rewards.services.cash import cash_reward_grant
from quanzi.rewards.services.errors import NotEnoughCrystals, RewardsError, RewardUnavailable
from quanzi.rewards.services.redemptions import (
    CODE_ALPHABET,
    crystal_reward_create,
    crystal_reward_update,
    perk_grant,
    redemption_cancel,
    redemption_fulfil,
    redemption_place,
)
from quanzi.rewards.services.rules import reward_settings_update
from quanzi.rewards.tests.factories import (
    award,
    books_balanced,
    circle,
    grants_match_wallet,
    member,
    rewards_state,
)

pytestmark = pytest.mark.django_db


def coupon(home: Any, cost: int = 40, **kwargs: Any) -> CrystalReward:
    kwargs.setdefault("coupon_value_minor", 1_000)
    return crystal_reward_create(
        community=home, name="10元优惠券", kind="coupon", cost=cost, **kwargs
    )


def test_a_redemption_spends_the_oldest_crystals_first(frozen_clock: Any) -> None:
    # Given: 30 crystals, then 50 an hour later
    home, who = circle(), member()
    older = award(home, who, 30)
    frozen_clock.advance(timedelta(hours=1))
    newer = award(home, who, 50)
    reward = coupon(home, cost=40, stock=5)

    # When
    redemption = redemption_place(reward=reward, member=who)

    # Then: the older grant is used up, 10 come from the newer one
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.remaining, newer.remaining) == (0, 40)
    assert crystal_balance(home, who) == 40
    assert (redemption.status, redemption.crystals, redemption.quantity, redemption.name) == (
        RedemptionStatus.PLACED,
        40,
        1,
        "10元优惠券",
    )
    assert len(redemption.code) == 10
    assert set(redemption.code) <= set(CODE_ALPHABET)
    assert CrystalReward.objects.get(pk=reward.pk).stock == 4
    assert sorted(
        LedgerEntry.objects.filter(transaction__kind="crystals.redeem").values_list(
            "account__code", "amount"
        )
    ) == [
        (f"crystals:{home.pk}:member:{who.pk}", -40),
        (f"crystals:{home.pk}:redeemed", 40),
    ]
    assert (
        Activity.objects.filter(
            kind=ActivityKind.CRYSTALS, object_type="redemption", data__direction="redeem"
        ).count()
        == 1
    )
    grants_match_wallet(home, who)
    books_balanced()


def test_redeeming_more_crystals_than_held_is_refused_and_nothing_is_posted() -> None:
    home, who = circle(), member()
    award(home, who, 30)
    reward = coupon(home, cost=40, stock=5)
    before = rewards_state()

    with pytest.raises(NotEnoughCrystals) as refused:
        redemption_place(reward=reward, member=who)

    assert refused.value.status == 409
    assert refused.value.fields == {"crystals": ["This costs 40 crystals; you hold 30."]}
    assert rewards_state() == before
    # Two of a cheaper reward cost double
    cheap = coupon(home, cost=20)
    with pytest.raises(NotEnoughCrystals, match=r"This costs 60 crystals; you hold 30\."):
        redemption_place(reward=cheap, member=who, quantity=3)
    placed = redemption_place(reward=cheap, member=who, quantity=1)
    assert placed.crystals == 20


def test_stock_runs_out_and_an_inactive_reward_is_not_redeemed() -> None:
    home, who = circle(), member()
    award(home, who, 500)
    reward = coupon(home, cost=10, stock=2)

    redemption_place(reward=reward, member=who, quantity=2)
    before = rewards_state()
    with pytest.raises(RewardUnavailable) as refused:
        redemption_place(reward=reward, member=who)
    assert refused.value.status == 409
    assert refused.value.fields == {"quantity": ["10元优惠券: only 0 left."]}
    assert rewards_state() == before
    assert list(rewards_available(home)) == []

    unlimited = coupon(home, cost=10)
    assert list(rewards_available(home)) == [unlimited]
    crystal_reward_update(reward=unlimited, active=False, actor_id=7)
    assert list(rewards_available(home)) == []
    before = rewards_state()
    with pytest.raises(RewardUnavailable) as refused:
        redemption_place(reward=unlimited, member=who)
    assert refused.value.fields == {"reward": ["10元优惠券 can no longer be redeemed."]}
    assert rewards_state() == before


def test_a_cancelled_redemption_gives_the_crystals_and_the_stock_back() -> None:
    home, who = circle(), member()
    award(home, who, 100)
    reward = coupon(home, cost=40, stock=3)
    redemption = redemption_place(reward=reward, member=who)
    level_before = member_level(home, who).earned_total

    cancelled = redemption_cancel(redemption=redemption, actor_id=7, reason="out of coupons")

    assert (cancelled.status, cancelled.note) == (RedemptionStatus.CANCELLED, "out of coupons")
    assert cancelled.closed_at is not None
    assert crystal_balance(home, who) == 100
    assert CrystalReward.objects.get(pk=reward.pk).stock == 3
    back = CrystalGrant.objects.get(source=f"redemption:{redemption.code}")
    assert (back.action, back.amount, back.remaining) == ("manual", 40, 40)
    # Handed back, not earned again: the level does not count them twice
    assert member_level(home, who).earned_total == level_before == 100
    # Closed: neither cancelled again nor handed over
    before = rewards_state()
    for call in (redemption_cancel, redemption_fulfil):
        with pytest.raises(Conflict):
            call(redemption=redemption)
    assert rewards_state() == before
    grants_match_wallet(home, who)
    books_balanced()


def test_a_handed_over_redemption_stays_spent() -> None:
    home, who = circle(), member()
    award(home, who, 100)
    redemption = redemption_place(reward=coupon(home, cost=40), member=who)

    done = redemption_fulfil(redemption=redemption, actor_id=7, note="券已发")

    assert (done.status, done.note) == (RedemptionStatus.FULFILLED, "券已发")
    with pytest.raises(Conflict):
        redemption_cancel(redemption=done)
    assert crystal_balance(home, who) == 60


def test_crystals_past_their_expiry_are_not_spent_even_before_the_job_runs(
    frozen_clock: Any,
) -> None:
    home, who = circle(), member()
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=7)
    award(home, who, 50)
    frozen_clock.advance(timedelta(days=7))

    with pytest.raises(NotEnoughCrystals, match="you hold 0"):
        redemption_place(reward=coupon(home, cost=40), member=who)
    # Refused, so the expiry it found is the job's to post
    assert crystal_balance(home, who) == 50


def test_a_reward_is_created_with_field_errors_for_bad_values() -> None:
    home, other = circle(), circle()
    elsewhere = product(other)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "", "kind": "perk", "cost": 5}, "name"),
        ({"name": "x", "kind": "cash", "cost": 5}, "kind"),
        ({"name": "x", "kind": "perk", "cost": 0}, "cost"),
        ({"name": "x", "kind": "perk", "cost": 5, "stock": -1}, "stock"),
        ({"name": "x", "kind": "product", "cost": 5}, "product"),
        ({"name": "x", "kind": "product", "cost": 5, "product": elsewhere}, "product"),
        ({"name": "x", "kind": "coupon", "cost": 5}, "coupon_value_minor"),
        ({"name": "x", "kind": "perk", "cost": 5, "coupon_value_minor": 100}, "coupon_value_minor"),
    ]
    for kwargs, field in cases:
        with pytest.raises(RewardsError) as refused:
            crystal_reward_create(community=home, **kwargs)
        assert field in refused.value.fields, (kwargs, refused.value.fields)
    goods = crystal_reward_create(
        community=home, name="带鱼", kind="product", cost=300, product=product(home), stock=10
    )
    assert (goods.kind, goods.stock, goods.active) == ("product", 10, True)


def test_a_perk_for_a_contributor_costs_no_crystals() -> None:
    home, who = circle(), member()
    before = LedgerEntry.objects.count()

    perk = perk_grant(
        community=home, member=who, name="线下见面会门票", note="top poster", actor_id=7
    )

    assert (perk.reward, perk.crystals, perk.status, perk.name) == (
        None,
        0,
        RedemptionStatus.PLACED,
        "线下见面会门票",
    )
    assert LedgerEntry.objects.count() == before
    assert Redemption.objects.filter(member=who).count() == 1
    assert redemption_cancel(redemption=perk).status == RedemptionStatus.CANCELLED


def test_a_cash_reward_is_payable_with_commission_and_granted_once_per_key() -> None:
    home, who = circle(), member()

    first = cash_reward_grant(
        community=home,
        member=who,
        amount_minor=5_000,
        reason="organised the beach clean-up",
        actor_id=7,
        idempotency_key="cleanup-2024-05",
    )
    again = cash_reward_grant(
        community=home,
        member=who,
        amount_minor=5_000,
        reason="organised the beach clean-up",
        actor_id=7,
        idempotency_key="cleanup-2024-05",
    )

    assert again.pk == first.pk
    payable = LedgerAccount.objects.get(code=f"commission:{home.pk}:member:{who.pk}:payable")
    expense = LedgerAccount.objects.get(code=f"commission:{home.pk}:expense")
    assert (payable.balance, payable.currency, expense.balance) == (5_000, "CNY", -5_000)
    assert Activity.objects.filter(data__action="cash_reward", member_id=who.pk).count() == 1
    with pytest.raises(RewardsError) as refused:
        cash_reward_grant(
            community=home,
            member=who,
            amount_minor=0,
            reason="x",
            idempotency_key="k2",
        )
    assert "amount_minor" in refused.value.fields
    books_balanced()
