"""What a sale pays: the most specific rule (product, then category, then the community; a
role's own rule before the generic one), a fixed amount per unit never above the line, always on
what the buyer actually paid for the goods after discounts, never on shipping, and on
membership fees only for a plan the operator opened to commission."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.catalog.models import ProductKind, Sku
from quanzi.communities.models import MembershipPlan
from quanzi.communities.tests.factories import community, paid, plan
from quanzi.core import clock
from quanzi.distribution.models import Commission
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.distribution.tests.factories import approved, pending, percent, shared
from quanzi.distribution.tests.kit import books_balanced, buy_virtual, expense, visit
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.tests.factories import ADDRESS, goods, pay, virtual

pytestmark = pytest.mark.django_db


def commission_by_product(order: Order) -> dict[int, int]:
    return dict(
        Commission.objects.filter(order=order).values_list("line__product_id", "amount_minor")
    )


def basket(skus: list[Sku], who: Any) -> Order:
    """``who`` orders one of each SKU in one order and pays."""
    placed = order_create(
        member=who,
        community=skus[0].product.community,
        lines=[LineIn(s.product_id, 1, s.pk) for s in skus],
        address=ADDRESS,
    )
    pay(placed)
    placed.refresh_from_db()
    return placed


def test_a_product_rule_beats_its_category_which_beats_the_whole_community(
    frozen_clock: Any,
) -> None:
    # Given: 5 % on everything, 10 % on seafood, 20 % on the king crab; three 100.00 products
    home = community()
    crab = goods(home, price_minor=10_000, category="海鲜")
    shrimp = goods(home, price_minor=10_000, category="海鲜")
    tea = goods(home, price_minor=10_000, category="茶叶")
    sharer, friend = member(), member()
    approved(home, sharer)
    percent(home, 500)
    percent(home, 1_000, category="海鲜")
    percent(home, 2_000, product=crab.product)

    # When: a friend who opened the sharer's link buys one of each
    visit(home, sharer, friend)
    order = basket([crab, shrimp, tea], friend)

    # Then
    assert commission_by_product(order) == {
        crab.product_id: 2_000,
        shrimp.product_id: 1_000,
        tea.product_id: 500,
    }
    assert pending(home, sharer) == 3_500
    assert expense(home) == 3_500
    books_balanced()


def test_a_rule_for_the_role_beats_the_generic_rule_even_when_it_pays_less(
    frozen_clock: Any,
) -> None:
    # Given: 10 % for everyone, 3 % for group leaders; a group leader and a sharer
    home = community()
    sku = goods(home, price_minor=10_000)
    leader, sharer = member(), member()
    approved(home, leader, role="group_leader")
    approved(home, sharer, role="sharer")
    percent(home, 1_000)
    percent(home, 300, role="group_leader")

    # When: each brings a buyer
    shared(sku, leader, member())
    shared(sku, sharer, member())

    # Then: the leader's own rule applies; the sharer falls back on the generic one
    assert (pending(home, leader), pending(home, sharer)) == (300, 1_000)


def test_scope_comes_before_role(frozen_clock: Any) -> None:
    # Given: a generic rule on the product and a group leader's rule on the whole community
    home = community()
    sku = goods(home, price_minor=10_000)
    leader = member()
    approved(home, leader, role="group_leader")
    percent(home, 800, role="group_leader")
    percent(home, 1_500, product=sku.product)

    # When
    shared(sku, leader, member())

    # Then: the product's rule is the most specific
    assert pending(home, leader) == 1_500


@pytest.mark.parametrize(
    ("fixed", "quantity", "expected"),
    [
        (3_000, 3, 9_000),  # 30.00 a unit, three units of 50.00
        (8_000, 2, 10_000),  # 80.00 a unit would be 160.00: capped at the 100.00 paid
    ],
)
def test_a_fixed_amount_per_unit_is_never_more_than_the_line(
    frozen_clock: Any, fixed: int, quantity: int, expected: int
) -> None:
    # Given: a fixed commission per unit on a 50.00 product
    home = community()
    sku = goods(home, price_minor=5_000)
    sharer = member()
    approved(home, sharer)
    commission_rule_create(community=home, kind="fixed", fixed_minor=fixed)

    # When
    order = shared(sku, sharer, member(), quantity=quantity)

    # Then
    line = order.lines.get()
    assert line.total_minor == 5_000 * quantity
    commission = Commission.objects.get()
    assert (commission.amount_minor, commission.quantity) == (expected, quantity)
    assert commission.amount_minor <= line.total_minor
    assert pending(home, sharer) == expected


def test_commission_is_on_what_was_paid_after_discounts_and_never_on_shipping(
    frozen_clock: Any,
) -> None:
    # Given: a friend holding a membership with 10 % off; 10 % commission; a 100.00 product
    # that ships for 10.00
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, friend = member(), member()
    paid(friend, plan(home, discount_percent=10), at=clock.now() - timedelta(days=1))
    approved(home, sharer)
    percent(home, 1_000)

    # When: the friend buys two through the sharer's link
    order = shared(sku, sharer, friend, quantity=2)

    # Then: 10 % of the 180.00 paid for the goods, not of 200.00 list price, not of shipping
    line = order.lines.get()
    assert (line.total_minor, order.shipping_minor) == (18_000, 1_500)
    assert order.total_minor == 18_000 + 1_500
    commission = Commission.objects.get()
    assert (commission.base_minor, commission.amount_minor) == (18_000, 1_800)
    assert pending(home, sharer) == 1_800


@pytest.mark.parametrize("enabled", [False, True])
def test_a_membership_fee_earns_only_when_the_plan_is_opened_to_commission(
    frozen_clock: Any, enabled: bool
) -> None:
    # Given: a 365.00 annual plan sold as a product, and 10 % on everything
    home = community()
    annual = plan(home)
    MembershipPlan.objects.filter(pk=annual.pk).update(commission_enabled=enabled)
    card = virtual(home, kind=ProductKind.MEMBERSHIP, plan=annual, price_minor=36_500)
    course = virtual(home, price_minor=9_900)
    sharer, friend, other = member(), member(), member()
    approved(home, sharer)
    percent(home, 1_000)

    # When: one friend buys the membership and another a course, both through the sharer
    visit(home, sharer, friend)
    membership = buy_virtual(card, friend)
    visit(home, sharer, other)
    buy_virtual(course, other)

    # Then: the course always pays; the membership only when the operator enabled it
    assert membership.total_minor == 36_500
    assert Commission.objects.filter(order=membership).exists() is enabled
    assert pending(home, sharer) == 990 + (3_650 if enabled else 0)
    books_balanced()
