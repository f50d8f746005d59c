"""Crystals are earned by rule, once per source, within the caps of the member's local day
and week, never by a closed member record, and repay debt before reaching the wallet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind, LedgerEntry, LedgerTransaction
from quanzi.members.services import member_anonymise, member_merge
from quanzi.rewards.models import CrystalAction, CrystalGrant, CrystalReward
from quanzi.rewards.selectors import crystal_balance, crystal_debt, crystal_history
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.errors import RewardsError
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.services.rules import crystal_rule_set, reward_settings_update
from quanzi.rewards.tests.factories import (
    award,
    books_balanced,
    circle,
    grants_match_wallet,
    member,
    rewards_state,
    rule,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock(frozen_clock: Any) -> Any:
    frozen_clock.set(WEDNESDAY)
    return frozen_clock


def post(home: Any, who: Any, n: int, at: datetime | None = None) -> CrystalGrant | None:
    return crystals_earn(
        community=home, member=who, action="post", source=f"post:{n}", occurred_at=at
    )


def legs(grant: CrystalGrant) -> list[tuple[str, int]]:
    return sorted(
        LedgerEntry.objects.filter(
            transaction__object_type="crystal_grant", transaction__object_id=str(grant.pk)
        ).values_list("account__code", "amount")
    )


def test_a_post_earns_its_rule_once_whoever_calls_twice(clock: Any) -> None:
    # Given
    home, who = circle(post=10), member()

    # When
    grant = post(home, who, 1)
    again = post(home, who, 1)

    # Then: one grant, one posting, one activity
    assert grant is not None
    assert again is not None
    assert again.pk == grant.pk
    assert (grant.requested, grant.amount, grant.remaining, grant.debt_repaid) == (10, 10, 10, 0)
    assert crystal_balance(home, who) == 10
    assert legs(grant) == [
        (f"crystals:{home.pk}:issued", -10),
        (f"crystals:{home.pk}:member:{who.pk}", 10),
    ]
    assert LedgerTransaction.objects.filter(kind="crystals.earn").count() == 1
    earned = Activity.objects.filter(kind=ActivityKind.CRYSTALS, member_id=who.pk)
    assert [(a.community_id, a.data["crystals"], a.data["source"]) for a in earned] == [
        (home.pk, 10, "post:1")
    ]
    history = crystal_history(home, who, limit=10)
    assert [(h.kind, h.amount, h.balance_after, h.memo) for h in history] == [
        ("crystals.earn", 10, 10, "post post:1")
    ]
    books_balanced()


def test_an_action_without_an_active_rule_earns_nothing_and_strict_callers_hear_why(
    clock: Any,
) -> None:
    home, who = circle(post=10), member()
    rule(home, "check_in", 5, active=False)
    before = rewards_state()

    # Quietly nothing for the hooks
    assert crystals_earn(community=home, member=who, action="feedback", source="f:1") is None
    assert crystals_earn(community=home, member=who, action="check_in", source="c:1") is None
    assert rewards_state() == before

    # A clear 422 for the API
    with pytest.raises(RewardsError) as refused:
        crystals_earn(community=home, member=who, action="check_in", source="c:1", strict=True)
    assert refused.value.status == 422
    assert refused.value.fields == {
        "action": ["Event check-in earns no crystals in this community (no active rule)."]
    }
    assert rewards_state() == before


def test_a_rules_daily_cap_cuts_the_last_earn_down_and_then_earns_nothing(clock: Any) -> None:
    home, who = community_with(post=(10, 25, 0)), member()

    grants = [post(home, who, n) for n in range(1, 5)]

    assert [(g.requested, g.amount) if g else None for g in grants] == [
        (10, 10),
        (10, 10),
        (10, 5),
        None,
    ]
    assert crystal_balance(home, who) == 25
    assert CrystalGrant.objects.filter(member=who).count() == 3
    # The next day the cap starts again
    clock.advance(timedelta(days=1))
    assert post(home, who, 5) is not None
    assert crystal_balance(home, who) == 35
    books_balanced()


def test_a_rules_weekly_cap_counts_monday_to_sunday(clock: Any) -> None:
    home, who = community_with(post=(10, 0, 30)), member()
    monday = datetime(2024, 4, 29, 9, 0, tzinfo=SHANGHAI)

    earned = [
        post(home, who, 1, monday),
        post(home, who, 2, monday + timedelta(hours=1)),
        post(home, who, 3, WEDNESDAY - timedelta(hours=1)),
        post(home, who, 4, WEDNESDAY),
    ]

    assert [g.amount if g else 0 for g in earned] == [10, 10, 10, 0]
    clock.set(datetime(2024, 5, 6, 0, 0, 1, tzinfo=SHANGHAI))  # next Monday
    again = post(home, who, 5)
    assert again is not None
    assert again.amount == 10


def test_the_communitys_caps_count_every_rule_together_but_not_an_operators_award(
    clock: Any,
) -> None:
    home, who = circle(post=10, check_in=10, feedback=10), member()
    reward_settings_update(community=home, daily_cap=15, weekly_cap=40, expiry_days=0)

    first = post(home, who, 1)
    second = crystals_earn(community=home, member=who, action="check_in", source="event:1")
    third = crystals_earn(community=home, member=who, action="feedback", source="idea:1")
    manual = award(home, who, 100)

    assert first is not None
    assert second is not None
    assert (first.amount, second.requested, second.amount, third) == (10, 10, 5, None)
    assert manual.amount == 100  # the operator's award knows no cap, and takes no room
    # Weekly: 15 a day over three days meets the week's 40 on the third
    clock.advance(timedelta(days=1))
    assert [g.amount if g else 0 for g in [post(home, who, 2), post(home, who, 3)]] == [10, 5]
    clock.advance(timedelta(days=1))
    assert [g.amount if g else 0 for g in [post(home, who, 4), post(home, who, 5)]] == [10, 0]
    assert crystal_balance(home, who) == 15 + 100 + 15 + 10
    books_balanced()


def test_days_and_weeks_are_those_of_the_circles_time_zone(clock: Any) -> None:
    home, who = community_with(post=(10, 10, 0)), member()
    first_of_may = datetime(2024, 5, 1, 0, 0, tzinfo=SHANGHAI)  # 2024-04-30 16:00 UTC

    # 00:00 and 23:59:59 of 1 May in Shanghai are one day, though two days in UTC
    assert post(home, who, 1, first_of_may) is not None
    clock.set(datetime(2024, 5, 2, 0, 0, 30, tzinfo=SHANGHAI))
    assert post(home, who, 2, first_of_may + timedelta(hours=23, minutes=59, seconds=59)) is None
    # One second later is 2 May in Shanghai (still 1 May in UTC): a new day
    assert post(home, who, 3, datetime(2024, 5, 2, 0, 0, tzinfo=SHANGHAI)) is not None

    # The week turns at Monday 00:00 Shanghai time
    weekly, other = community_with(post=(10, 0, 10)), member()
    sunday_night = datetime(2024, 5, 5, 23, 59, 59, tzinfo=SHANGHAI)
    clock.set(datetime(2024, 5, 6, 0, 1, tzinfo=SHANGHAI))
    assert post(weekly, other, 1, sunday_night) is not None
    assert post(weekly, other, 2, sunday_night - timedelta(days=6)) is None  # Monday 29 April
    assert post(weekly, other, 3, sunday_night + timedelta(seconds=1)) is not None


def test_a_purchase_earns_per_whole_yuan_paid(clock: Any) -> None:
    home, who = circle(purchase=2), member()

    grant = crystals_earn(
        community=home, member=who, action="purchase", source="order:A", paid_minor=12_345
    )
    small = crystals_earn(
        community=home, member=who, action="purchase", source="order:B", paid_minor=99
    )

    assert grant is not None
    assert grant.amount == 246
    assert small is None


def test_an_operators_award_names_its_amount_and_why(clock: Any) -> None:
    home, who = circle(post=10), member()
    before = rewards_state()

    for kwargs, field in [
        ({"amount": 50, "note": ""}, "note"),
        ({"amount": 0, "note": "why"}, "amount"),
        ({"note": "why"}, "amount"),
    ]:
        with pytest.raises(RewardsError) as refused:
            crystals_earn(community=home, member=who, action="manual", source="m:1", **kwargs)
        assert field in refused.value.fields
    with pytest.raises(RewardsError) as refused:
        crystals_earn(community=home, member=who, action="post", source="p:1", amount=50)
    assert "amount" in refused.value.fields
    assert rewards_state() == before

    grant = award(home, who, 50, note="best recipe of the month", actor_id=7)
    assert (grant.action, grant.amount, grant.note, grant.actor_id) == (
        "manual",
        50,
        "best recipe of the month",
        7,
    )


def test_crystals_expire_after_the_circles_expiry_days(clock: Any) -> None:
    home, who = circle(post=10), member()
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=30)

    grant = post(home, who, 1)

    assert grant is not None
    assert grant.expires_at == WEDNESDAY + timedelta(days=30)


def test_a_merged_or_anonymised_member_record_earns_nothing(clock: Any) -> None:
    home = circle(post=10)
    merged, survivor, gone = member(), member(), member()
    member_merge(source=merged, target=survivor)
    member_anonymise(member=gone)
    merged.refresh_from_db()
    gone.refresh_from_db()
    before = rewards_state()

    for closed in (merged, gone):
        with pytest.raises(Conflict) as refused:
            post(home, closed, 1)
        assert refused.value.status == 409
        assert "member" in refused.value.fields
    assert rewards_state() == before


def test_what_a_clawback_cannot_take_is_debt_repaid_from_the_next_earnings(clock: Any) -> None:
    # Given: 100 crystals, 80 of them spent
    home, who = circle(post=10), member()
    grant = award(home, who, 100)
    reward = crystal_reward_create(community=home, name="带鱼一盒", kind="perk", cost=80)
    redemption_place(reward=reward, member=who)
    assert crystal_balance(home, who) == 20

    # When: the grant is taken back in full
    clawed = crystal_grant_claw(grant=grant, crystals=100, reference="R1")

    # Then: 20 from the wallet, 80 owed; the wallet is empty, not negative
    grant.refresh_from_db()
    assert clawed == 100
    assert (grant.clawed, grant.remaining) == (100, 0)
    assert (crystal_balance(home, who), crystal_debt(home, who)) == (0, 80)
    assert sorted(
        LedgerEntry.objects.filter(transaction__kind="crystals.claw").values_list(
            "account__code", "amount"
        )
    ) == [
        (f"crystals:{home.pk}:issued", 100),
        (f"crystals:{home.pk}:member:{who.pk}", -20),
        (f"crystals:{home.pk}:member:{who.pk}:debt", -80),
    ]
    # And the same reference claws nothing twice
    assert crystal_grant_claw(grant=grant, crystals=100, reference="R1") == 0

    # When: the member earns again, the debt is repaid first
    small = post(home, who, 1)
    assert small is not None
    assert (small.amount, small.debt_repaid, small.remaining) == (10, 10, 0)
    assert legs(small) == [
        (f"crystals:{home.pk}:issued", -10),
        (f"crystals:{home.pk}:member:{who.pk}:debt", 10),
    ]
    assert (crystal_balance(home, who), crystal_debt(home, who)) == (0, 70)
    big = award(home, who, 100)
    assert (big.debt_repaid, big.remaining) == (70, 30)
    assert (crystal_balance(home, who), crystal_debt(home, who)) == (30, 0)
    grants_match_wallet(home, who)
    books_balanced()
    assert CrystalReward.objects.get(pk=reward.pk).stock is None


def test_a_rule_is_set_with_field_errors_for_bad_values() -> None:
    home = circle()
    for kwargs, field in [
        ({"action": "manual", "amount": 5}, "action"),
        ({"action": "dance", "amount": 5}, "action"),
        ({"action": "post", "amount": 0}, "amount"),
        ({"action": "post", "amount": 1_000_001}, "amount"),
        ({"action": "post", "amount": 5, "daily_cap": -1}, "daily_cap"),
        ({"action": "post", "amount": 5, "daily_cap": 10, "weekly_cap": 5}, "weekly_cap"),
    ]:
        with pytest.raises(RewardsError) as refused:
            crystal_rule_set(community=home, **kwargs)
        assert field in refused.value.fields, (kwargs, refused.value.fields)

    first = crystal_rule_set(community=home, action="post", amount=5)
    changed = crystal_rule_set(community=home, action="post", amount=8, daily_cap=16)
    assert changed.pk == first.pk
    assert (changed.amount, changed.daily_cap) == (8, 16)


def community_with(**rules: tuple[int, int, int]) -> Any:
    """A circle whose rules are (amount, daily_cap, weekly_cap)."""
    home = circle()
    for action, (amount, daily, weekly) in rules.items():
        crystal_rule_set(
            community=home, action=action, amount=amount, daily_cap=daily, weekly_cap=weekly
        )
    assert all(a in CrystalAction.values for a in rules)
    return home
