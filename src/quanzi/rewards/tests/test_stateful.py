"""Random histories of earning, spending, clawing back, cancelling and expiring crystals, with
time passing, keep the books: after every step every ledger transaction sums to zero, every
cached balance equals its entries, each wallet holds exactly what its grants have left and is
never negative, and no debt is ever positive."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.db.models import F, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from quanzi.core.models import LedgerAccount
from quanzi.rewards.models import CrystalGrant, MemberLevel, Redemption, RedemptionStatus
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.errors import NotEnoughCrystals
from quanzi.rewards.services.expiry import crystals_expire
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import (
    crystal_reward_create,
    redemption_cancel,
    redemption_place,
)
from quanzi.rewards.services.rules import crystal_rule_set, reward_settings_update
from quanzi.rewards.tests.factories import books_balanced, circle, member, rewards_state

PEOPLE = 2
_refs = itertools.count(1)
who = st.integers(min_value=0, max_value=PEOPLE - 1)


class CrystalsMachine(RuleBasedStateMachine):
    clock: ClassVar[Any] = None
    # What the runs did, to show they were not all refusals.
    seen: ClassVar[Counter[str]] = Counter()

    @initialize()
    def open_a_circle(self) -> None:
        self.clock.advance(timedelta(days=1))
        self.home = circle()
        crystal_rule_set(community=self.home, action="post", amount=10, daily_cap=25)
        crystal_rule_set(community=self.home, action="check_in", amount=15, weekly_cap=40)
        reward_settings_update(community=self.home, daily_cap=40, weekly_cap=120, expiry_days=3)
        growth_level_set(community=self.home, level="seed", min_earned=30)
        growth_level_set(community=self.home, level="core", min_earned=120)
        self.reward = crystal_reward_create(
            community=self.home, name="贴纸", kind="perk", cost=15, stock=None
        )
        self.people = [member() for _ in range(PEOPLE)]
        for person in self.people:
            # Something to spend, claw back and expire from the first step on
            crystals_earn(
                community=self.home,
                member=person,
                action="manual",
                source="welcome",
                amount=20,
                note="welcome",
            )

    @rule(index=who, action=st.sampled_from(["post", "check_in"]), again=st.booleans())
    def earn(self, index: int, action: str, again: bool) -> None:
        source = f"{action}:{next(_refs) if not again else 1}"
        crystals_earn(community=self.home, member=self.people[index], action=action, source=source)

    @rule(index=who, amount=st.integers(min_value=1, max_value=60))
    def award(self, index: int, amount: int) -> None:
        crystals_earn(
            community=self.home,
            member=self.people[index],
            action="manual",
            source=f"award:{next(_refs)}",
            amount=amount,
            note="thanks",
        )

    @rule(index=who, quantity=st.integers(min_value=1, max_value=3))
    def spend(self, index: int, quantity: int) -> None:
        before = rewards_state()
        try:
            redemption_place(reward=self.reward, member=self.people[index], quantity=quantity)
        except NotEnoughCrystals:
            assert rewards_state() == before
        else:
            self.seen["spent"] += 1

    @rule(pick=st.integers(min_value=0, max_value=1_000), share=st.integers(1, 100))
    def claw(self, pick: int, share: int) -> None:
        grants = list(CrystalGrant.objects.filter(community=self.home).order_by("pk"))
        if not grants:
            return
        grant = grants[pick % len(grants)]
        clawed = crystal_grant_claw(
            grant=grant, crystals=max(grant.amount * share // 100, 1), reference=f"R{next(_refs)}"
        )
        self.seen["clawed"] += int(clawed > 0)

    @rule(pick=st.integers(min_value=0, max_value=1_000))
    def cancel(self, pick: int) -> None:
        placed = list(
            Redemption.objects.filter(community=self.home, status=RedemptionStatus.PLACED).order_by(
                "pk"
            )
        )
        if placed:
            redemption_cancel(redemption=placed[pick % len(placed)])

    @rule(hours=st.integers(min_value=1, max_value=80))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def expire(self) -> None:
        self.seen["expired"] += crystals_expire(now=self.clock())
        assert not CrystalGrant.objects.filter(
            community=self.home, expires_at__lte=self.clock(), remaining__gt=0
        ).exists()

    @invariant()
    def the_books_balance(self) -> None:
        books_balanced()

    @invariant()
    def wallets_hold_what_their_grants_have_left_and_no_debt_is_positive(self) -> None:
        for person in self.people:
            left = CrystalGrant.objects.filter(community=self.home, member=person).aggregate(
                n=Sum("remaining")
            )["n"]
            assert crystal_balance(self.home, person) == int(left or 0)
        prefix = f"crystals:{self.home.pk}:member:"
        for code, balance in LedgerAccount.objects.filter(code__startswith=prefix).values_list(
            "code", "balance"
        ):
            if code.endswith(":debt"):
                assert balance <= 0, code
            else:
                assert balance >= 0, code

    @invariant()
    def grants_never_give_more_than_they_earned(self) -> None:
        assert not CrystalGrant.objects.filter(
            community=self.home, remaining__gt=F("amount") - F("debt_repaid") - F("expired")
        ).exists()
        assert not CrystalGrant.objects.filter(community=self.home, clawed__gt=F("amount")).exists()

    @invariant()
    def levels_follow_crystals_earned_net_of_clawbacks(self) -> None:
        for row in MemberLevel.objects.filter(community=self.home):
            earned = (
                CrystalGrant.objects.filter(community=self.home, member_id=row.member_id)
                .exclude(source__startswith="redemption:")
                .aggregate(n=Sum(F("amount") - F("clawed")))["n"]
            )
            assert row.earned_total == int(earned or 0)
            expected = "core" if row.earned_total >= 120 else "seed"
            if row.earned_total < 30:
                expected = "novice"
            assert row.level == expected


@pytest.mark.django_db
def test_random_crystal_histories_keep_the_books(frozen_clock: Any) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    CrystalsMachine.clock = frozen_clock
    CrystalsMachine.seen.clear()
    try:
        run_state_machine_as_test(
            CrystalsMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            ),
        )
    finally:
        CrystalsMachine.clock = None
    # The machine did spend, claw and expire at all (a run of refusals would prove little)
    assert CrystalsMachine.seen["spent"] > 0, CrystalsMachine.seen
    assert CrystalsMachine.seen["clawed"] > 0, CrystalsMachine.seen
    assert CrystalsMachine.seen["expired"] > 0, CrystalsMachine.seen
