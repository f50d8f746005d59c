"""A payment or refund heard twice, a job run twice: each thing is posted exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community
from quanzi.core.models import Activity
from quanzi.distribution import payment_hooks
from quanzi.distribution.models import Commission, OrderAttribution
from quanzi.distribution.services.commissions import (
    commission_mature,
    commissions_accrue,
    commissions_mature_due,
    commissions_on_refund,
)
from quanzi.distribution.tests.factories import (
    approved,
    payable,
    pending,
    percent,
    received,
    refund,
    shared,
)
from quanzi.distribution.tests.kit import books_balanced, postings, terms, visit
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.tests.factories import goods
from quanzi.payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int, int]:
    return (
        Commission.objects.count(),
        OrderAttribution.objects.count(),
        postings(),
        Activity.objects.count(),
    )


def two_level_sale(frozen_clock: Any) -> tuple[Any, Any, Any, Order]:
    """A 100.00 sale through S (10 %), whom U brought (3 % at level 2, enabled)."""
    home = community()
    terms(home, second_level=True)
    sku = goods(home, price_minor=10_000)
    upline, sharer = member(), member()
    approved(home, upline)
    approved(home, sharer)
    visit(home, upline, sharer)
    percent(home, 1_000)
    percent(home, 300, level=2)
    order = shared(sku, sharer, member())
    return home, upline, sharer, order


def test_accruing_an_order_twice_creates_nothing_new(frozen_clock: Any) -> None:
    # Given: a paid order that accrued 10.00 and 3.00
    home, upline, sharer, order = two_level_sale(frozen_clock)
    assert (pending(home, sharer), pending(home, upline)) == (1_000, 300)
    before = written()

    # When: accrued again, directly and through the payment hook
    assert commissions_accrue(order) == []
    payment = Payment.objects.get(reference=order.number)
    payment_hooks.on_paid(payment)
    payment_hooks.on_paid(payment)

    # Then: the same two commissions, the same money, nothing else logged
    assert written() == before
    assert (pending(home, sharer), pending(home, upline)) == (1_000, 300)
    books_balanced()


def test_a_refund_heard_twice_takes_back_once(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given: 40.00 of the 100.00 refunded: 4.00 and 1.20 reversed
    home, upline, sharer, order = two_level_sale(frozen_clock)
    with django_capture_on_commit_callbacks(execute=True):
        case = refund(order, 4_000)
    assert (pending(home, sharer), pending(home, upline)) == (600, 180)
    heard = Refund.objects.get(reference=case.refund_no)
    before = written()

    # When: the same refund is applied again, by the service and by the hook
    order.refresh_from_db()
    assert commissions_on_refund(order, refund_no=heard.out_refund_no, at=frozen_clock()) == 0
    payment_hooks.on_refunded(heard)

    # Then: nothing more is taken back
    assert written() == before
    assert (pending(home, sharer), pending(home, upline)) == (600, 180)
    reversed_ = sorted(Commission.objects.values_list("level", "reversed_minor"))
    assert reversed_ == [(1, 400), (2, 120)]
    books_balanced()


def test_maturing_twice_pays_once(frozen_clock: Any) -> None:
    # Given: a commission whose window has closed
    home, upline, sharer, order = two_level_sale(frozen_clock)
    received(order)
    frozen_clock.advance(timedelta(days=7))
    first = Commission.objects.get(level=1)

    # When: one worker matures it, then the job runs, twice
    assert commission_mature(first) is True
    assert commission_mature(first) is False
    assert commissions_mature_due() == 1  # only the level-2 one was left
    before = written()
    assert commissions_mature_due() == 0

    # Then
    assert written() == before
    assert (payable(home, sharer), payable(home, upline)) == (1_000, 300)
    assert (pending(home, sharer), pending(home, upline)) == (0, 0)
    books_balanced()
