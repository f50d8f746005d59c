"""Which sharer an order belongs to: the last link opened within the window, or the one who
brought the member while a customer binding lasts; never the buyer themself, nor anyone merged
into the same person; and only an approved distributor is paid for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community
from quanzi.core.models import LedgerTransaction
from quanzi.distribution.models import (
    AttributionVia,
    Commission,
    MemberReferral,
    OrderAttribution,
    ReferralTouch,
)
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.distributors import distributor_apply, distributor_suspend
from quanzi.distribution.tests.factories import (
    approved,
    payable,
    pending,
    percent,
    received,
    shared,
)
from quanzi.distribution.tests.kit import books_balanced, earned, terms, visit
from quanzi.members.models import Member
from quanzi.members.services import member_merge
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.tests.factories import goods, paid_order

pytestmark = pytest.mark.django_db


def attributed_to(order: Order) -> tuple[int, str] | None:
    found = OrderAttribution.objects.filter(order=order).first()
    return None if found is None else (found.sharer_id, found.via)


def test_the_last_sharer_within_the_window_wins(frozen_clock: Any) -> None:
    # Given: two approved sharers at 10 %, both share a 100.00 product with the same friend
    home = community()
    sku = goods(home, price_minor=10_000)
    first, last, friend = member(), member(), member()
    approved(home, first)
    approved(home, last)
    percent(home, 1_000)
    visit(home, first, friend, product=sku.product)
    frozen_clock.advance(timedelta(days=1))
    visit(home, last, friend, product=sku.product)
    frozen_clock.advance(timedelta(days=1))

    # When: the friend buys
    order = paid_order(sku, friend)

    # Then: the last link opened takes the sale, the first earns nothing
    assert attributed_to(order) == (last.pk, AttributionVia.LINK)
    assert earned(last) == [(1, 1_000)]
    assert earned(first) == []
    assert (pending(home, last), pending(home, first)) == (1_000, 0)
    books_balanced()


@pytest.mark.parametrize(
    ("age", "counts"),
    [
        (timedelta(days=7), True),
        (timedelta(days=7, seconds=1), False),
    ],
)
def test_a_link_opened_longer_ago_than_the_window_does_not_count(
    frozen_clock: Any, age: timedelta, counts: bool
) -> None:
    # Given: a sharer's link opened by a friend, ``age`` before the friend orders
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, friend = member(), member()
    approved(home, sharer)
    percent(home, 1_000)
    visit(home, sharer, friend, product=sku.product)
    frozen_clock.advance(age)

    # When
    order = paid_order(sku, friend)

    # Then: exactly 7 days old still counts, one second more does not
    if counts:
        assert attributed_to(order) == (sharer.pk, AttributionVia.LINK)
        assert pending(home, sharer) == 1_000
    else:
        assert attributed_to(order) is None
        assert not Commission.objects.exists()
        assert pending(home, sharer) == 0


def test_a_customer_binding_keeps_a_new_member_with_who_brought_them_until_it_ends(
    frozen_clock: Any,
) -> None:
    # Given: 30-day customer binding; a new member first opens A's link, later B's
    home = community()
    terms(home, binding_days=30)
    sku = goods(home, price_minor=10_000)
    a, b, newcomer = member(), member(), member()
    approved(home, a)
    approved(home, b)
    percent(home, 1_000)
    start = frozen_clock()
    visit(home, a, newcomer)
    frozen_clock.set(start + timedelta(days=10))
    visit(home, b, newcomer, product=sku.product)

    # When: the newcomer buys right after opening B's link
    during = paid_order(sku, newcomer)

    # Then: A brought them, and A keeps them
    assert attributed_to(during) == (a.pk, AttributionVia.BINDING)
    assert earned(a) == [(1, 1_000)]
    assert earned(b) == []

    # When: 25 days in, with no link opened for two weeks, the newcomer buys again
    frozen_clock.set(start + timedelta(days=25))
    quiet = paid_order(sku, newcomer)

    # Then: still A's (the binding does not need a recent link)
    assert attributed_to(quiet) == (a.pk, AttributionVia.BINDING)

    # When: the binding has ended (30 days and a second), B shares again and the newcomer buys
    frozen_clock.set(start + timedelta(days=30, seconds=1))
    visit(home, b, newcomer, product=sku.product)
    after = paid_order(sku, newcomer)

    # Then: the last link wins again
    assert attributed_to(after) == (b.pk, AttributionVia.LINK)
    assert earned(a) == [(1, 1_000), (1, 1_000)]
    assert earned(b) == [(1, 1_000)]
    books_balanced()


def test_an_old_customer_is_not_bound_to_whoever_shares_with_them_later(
    frozen_clock: Any,
) -> None:
    # Given: binding on; a member who already bought here
    home = community()
    terms(home, binding_days=30)
    sku = goods(home, price_minor=10_000)
    a, b, regular = member(), member(), member()
    approved(home, a)
    approved(home, b)
    percent(home, 1_000)
    paid_order(sku, regular)

    # When: A shares with them, then B two days later, and they buy
    visit(home, a, regular)
    frozen_clock.advance(timedelta(days=2))
    visit(home, b, regular, product=sku.product)
    order = paid_order(sku, regular)

    # Then: nobody brought them (they came on their own), so the last link wins
    assert not MemberReferral.objects.filter(member=regular).exists()
    assert attributed_to(order) == (b.pk, AttributionVia.LINK)


def test_buying_through_ones_own_link_earns_nothing(frozen_clock: Any) -> None:
    # Given: an approved sharer at 10 %
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer = member()
    approved(home, sharer)
    percent(home, 1_000)
    # When: the sharer opens their own link and buys
    order = shared(sku, sharer, sharer)

    # Then: no touch, no attribution, no commission, nothing on the commission books
    assert not ReferralTouch.objects.exists()
    assert attributed_to(order) is None
    assert not Commission.objects.exists()
    assert pending(home, sharer) == 0
    assert not LedgerTransaction.objects.filter(kind__startswith="commission.").exists()


@pytest.mark.parametrize("merged", ["buyer_into_sharer", "sharer_into_buyer"])
def test_a_sharer_merged_with_the_buyer_earns_nothing(frozen_clock: Any, merged: str) -> None:
    # Given: a sharer and a friend who opened the sharer's link (two records then)
    home = community()
    terms(home, binding_days=30)
    sku = goods(home, price_minor=10_000)
    sharer, friend = member(), member()
    approved(home, sharer)
    percent(home, 1_000)
    visit(home, sharer, friend, product=sku.product)
    assert ReferralTouch.objects.filter(member=friend, sharer=sharer).exists()

    # When: the operator finds they are one person and merges the records; the person buys
    if merged == "buyer_into_sharer":
        member_merge(source=friend, target=sharer)
        buyer = Member.objects.get(pk=sharer.pk)
    else:
        member_merge(source=sharer, target=friend)
        buyer = Member.objects.get(pk=friend.pk)
    order = paid_order(sku, buyer)

    # Then: neither the touch nor the binding pays anyone
    assert attributed_to(order) is None
    assert not Commission.objects.exists()
    assert pending(home, sharer) == 0


def test_a_merged_friend_still_counts_for_a_different_sharer(frozen_clock: Any) -> None:
    # Given: a friend with two records; the old record opened a sharer's link
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, old_record, friend = member(), member(), member()
    approved(home, sharer)
    percent(home, 1_000)
    visit(home, sharer, old_record, product=sku.product)

    # When: the records are merged and the person buys under the surviving record
    member_merge(source=old_record, target=friend)
    order = paid_order(sku, Member.objects.get(pk=friend.pk))

    # Then: the sharer brought this person, and earns
    assert attributed_to(order) == (sharer.pk, AttributionVia.LINK)
    assert pending(home, sharer) == 1_000


def test_a_suspended_distributor_earns_nothing_new_but_keeps_what_was_accrued(
    frozen_clock: Any,
) -> None:
    # Given: a sharer who earned 10.00 on a sale
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, friend, other = member(), member(), member()
    role = approved(home, sharer)
    percent(home, 1_000)
    first = shared(sku, sharer, friend)
    received(first)
    assert pending(home, sharer) == 1_000

    # When: suspended, and another friend buys through the sharer's link
    distributor_suspend(distributor=role, reason="刷单嫌疑")
    second = shared(sku, sharer, other)

    # Then: the sale is still the sharer's (attribution is a fact), but pays nothing
    assert attributed_to(second) == (sharer.pk, AttributionVia.LINK)
    assert earned(sharer) == [(1, 1_000)]
    assert pending(home, sharer) == 1_000

    # And what was accrued matures as usual
    frozen_clock.advance(timedelta(days=7))
    assert commissions_mature_due() == 1
    assert (pending(home, sharer), payable(home, sharer)) == (0, 1_000)
    books_balanced()


@pytest.mark.parametrize("applied", [False, True])
def test_a_member_who_is_not_an_approved_distributor_is_credited_but_not_paid(
    frozen_clock: Any, applied: bool
) -> None:
    # Given: a member who shares a link (applied, not yet approved; or never applied)
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, friend = member(), member()
    percent(home, 1_000)
    if applied:
        distributor_apply(community=home, member=sharer, role="sharer")

    # When: a friend buys through it
    order = shared(sku, sharer, friend)

    # Then: the order is attributed to the sharer, with no commission and nothing pending
    assert attributed_to(order) == (sharer.pk, AttributionVia.LINK)
    assert not Commission.objects.exists()
    assert pending(home, sharer) == 0
