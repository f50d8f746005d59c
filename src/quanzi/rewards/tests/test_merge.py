"""Two records of one person merged: the crystals, debt, grants and redemptions follow the
person, and a refund of an order made under the old record claws from the person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from quanzi.members.services import member_merge
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.tests.factories import goods, paid_order
from quanzi.rewards.models import CrystalGrant, MemberLevel, Redemption
from quanzi.rewards.selectors import crystal_balance, crystal_debt, member_level
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import (
    award,
    books_balanced,
    circle,
    grants_match_wallet,
    member,
)

pytestmark = pytest.mark.django_db


def test_a_merge_moves_crystals_debt_grants_and_redemptions_to_the_person() -> None:
    # Given: the old record spent its 40 and then had 30 clawed back: it owes 30; the
    # surviving record holds 20
    home, old, person = circle(), member(), member()
    growth_level_set(community=home, level="seed", min_earned=30)
    spent = award(home, old, 40)
    redemption = redemption_place(
        reward=crystal_reward_create(community=home, name="贴纸", kind="perk", cost=40),
        member=old,
    )
    crystal_grant_claw(grant=spent, crystals=30, reference="R1")
    award(home, person, 20)
    assert (crystal_balance(home, old), crystal_debt(home, old)) == (0, 30)

    # When
    member_merge(source=old, target=person)

    # Then
    assert (crystal_balance(home, old), crystal_debt(home, old)) == (0, 0)
    assert (crystal_balance(home, person), crystal_debt(home, person)) == (20, 30)
    assert not CrystalGrant.objects.filter(member=old).exists()
    assert Redemption.objects.get(pk=redemption.pk).member_id == person.pk
    assert not MemberLevel.objects.filter(member=old).exists()
    view = member_level(home, person)
    assert (view.level, view.earned_total) == ("seed", 10 + 20)
    grants_match_wallet(home, person)
    books_balanced()


def test_a_merge_moves_what_the_old_record_holds() -> None:
    home, old, person = circle(), member(), member()
    award(home, old, 50)
    award(home, person, 20)

    member_merge(source=old, target=person)

    assert (crystal_balance(home, old), crystal_balance(home, person)) == (0, 70)
    # And the person's next earning repays nothing: there was no debt
    assert award(home, person, 5).debt_repaid == 0
    grants_match_wallet(home, person)
    books_balanced()


def test_a_refund_of_an_order_made_under_the_old_record_claws_from_the_person(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    home, old, person = circle(purchase=1), member(), member()
    placed = paid_order(goods(home, stock=5, price_minor=5_000), old)
    assert crystal_balance(home, old) == 50
    member_merge(source=old, target=person)
    assert crystal_balance(home, person) == 50

    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="wrong size"
    )
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)

    assert crystal_balance(home, person) == 0
    assert CrystalGrant.objects.get(action="purchase").clawed == 50
    books_balanced()
