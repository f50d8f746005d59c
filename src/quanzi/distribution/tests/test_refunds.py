"""Refunds against commission: before the return window closes the pending commission is
reversed; after it, even before the maturation job has run, the commission matures and is
clawed back from the payable balance; a payable balance taken below zero blocks payouts until
later earnings cover it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community
from quanzi.core.errors import Conflict
from quanzi.core.models import LedgerEntry, LedgerTransaction
from quanzi.distribution.models import Commission, CommissionStatus, PayoutItem
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.tests.factories import (
    approved,
    in_payout,
    payable,
    pending,
    percent,
    received,
    refund,
    shared,
)
from quanzi.distribution.tests.kit import books_balanced, expense, postings
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order, OrderStatus
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db

WINDOW = timedelta(days=7)
SECOND = timedelta(seconds=1)


def commission_postings(commission: Commission) -> list[tuple[str, dict[str, int]]]:
    """Each posting about ``commission``: its kind and what it did to which account (by the
    last part of the account code: pending, payable, expense)."""
    out = []
    for txn in LedgerTransaction.objects.filter(
        object_type="commission", object_id=str(commission.pk)
    ).order_by("pk"):
        legs = {
            code.rsplit(":", 1)[-1]: amount
            for code, amount in LedgerEntry.objects.filter(transaction=txn).values_list(
                "account__code", "amount"
            )
        }
        out.append((txn.kind, legs))
    return out


def sale(frozen_clock: Any, price: int = 10_000) -> tuple[Any, Member, Order]:
    """A 100.00 sale through an approved sharer at 10 %, the goods received now."""
    home = community()
    sku = goods(home, price_minor=price, stock=20)
    sharer = member()
    approved(home, sharer)
    percent(home, 1_000)
    order = received(shared(sku, sharer, member()))
    return home, sharer, order


def test_a_refund_one_second_before_the_window_closes_reverses_pending_commission(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given: 10.00 pending on a 100.00 sale whose goods arrived at T
    home, sharer, order = sale(frozen_clock)
    arrived = order.received_at
    assert arrived is not None
    assert (pending(home, sharer), payable(home, sharer)) == (1_000, 0)

    # When: 40.00 is refunded at T + 7 days - 1 second
    frozen_clock.set(arrived + WINDOW - SECOND)
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, 4_000)

    # Then: the pending commission comes down to 10 % of the 60.00 still paid
    commission = Commission.objects.get()
    assert (commission.status, commission.reversed_minor, commission.clawed_minor) == (
        CommissionStatus.PENDING,
        400,
        0,
    )
    assert (pending(home, sharer), payable(home, sharer), expense(home)) == (600, 0, 600)
    assert commission_postings(commission) == [
        ("commission.accrue", {"pending": 1_000, "expense": -1_000}),
        ("commission.reverse", {"pending": -400, "expense": 400}),
    ]

    # When: the window closes and the job runs
    frozen_clock.set(arrived + WINDOW)
    assert commissions_mature_due() == 1

    # Then: the 6.00 left matures
    assert (pending(home, sharer), payable(home, sharer), expense(home)) == (0, 600, 600)
    assert commission_postings(commission)[-1] == (
        "commission.mature",
        {"pending": -600, "payable": 600},
    )
    books_balanced()


def test_a_refund_one_second_after_the_window_closes_claws_back_even_before_the_job_ran(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given: the same 10.00 pending; the maturation job has not run
    home, sharer, order = sale(frozen_clock)
    arrived = order.received_at
    assert arrived is not None

    # When: 40.00 is refunded at T + 7 days + 1 second
    refunded_at = arrived + WINDOW + SECOND
    frozen_clock.set(refunded_at)
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, 4_000)

    # Then: the commission matured when the window closed (10.00 payable) and 4.00 of it is
    # clawed back: 6.00 payable, nothing pending
    commission = Commission.objects.get()
    assert (commission.status, commission.reversed_minor, commission.clawed_minor) == (
        CommissionStatus.MATURED,
        0,
        400,
    )
    assert commission.matured_at == refunded_at
    assert (pending(home, sharer), payable(home, sharer), expense(home)) == (0, 600, 600)
    assert commission_postings(commission) == [
        ("commission.accrue", {"pending": 1_000, "expense": -1_000}),
        ("commission.mature", {"pending": -1_000, "payable": 1_000}),
        ("commission.claw", {"payable": -400, "expense": 400}),
    ]

    # And the job, run late, finds nothing left to do
    before = postings()
    assert commissions_mature_due() == 0
    assert postings() == before
    books_balanced()


@pytest.mark.parametrize("matured", [False, True])
def test_a_partial_then_a_full_refund_takes_all_the_commission_back_once(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any, matured: bool
) -> None:
    # Given: 10.00 commission, pending or matured
    home, sharer, order = sale(frozen_clock)
    if matured:
        frozen_clock.advance(WINDOW)
        assert commissions_mature_due() == 1
        assert payable(home, sharer) == 1_000

    # When: 30.00 back, then the rest of the order (the other 70.00 and the 10.00 shipping)
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, 3_000)
    partly = Commission.objects.get()
    assert partly.net_minor == 700
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, order.total_minor - 3_000, line=False)

    # Then: nothing left to anyone, the order refunded, and each refund posted once
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    commission = Commission.objects.get()
    assert commission.net_minor == 0
    taken = "clawed_minor" if matured else "reversed_minor"
    assert getattr(commission, taken) == 1_000
    assert (pending(home, sharer), payable(home, sharer), expense(home)) == (0, 0, 0)
    kinds = [kind for kind, _legs in commission_postings(commission)]
    back = "commission.claw" if matured else "commission.reverse"
    assert kinds.count(back) == 2
    if not matured:
        # Fully reversed before maturity: the job never matures it
        assert commission.status == CommissionStatus.REVERSED
        frozen_clock.advance(WINDOW)
        assert commissions_mature_due() == 0
        assert payable(home, sharer) == 0
    books_balanced()


def test_a_debt_from_a_clawback_blocks_payouts_until_later_commission_covers_it(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given: 10.00 matured and paid out to the sharer
    home, sharer, order = sale(frozen_clock)
    frozen_clock.advance(WINDOW)
    commissions_mature_due()
    paid = payout_batch_create(community=home)
    payout_batch_mark_paid(batch=paid)
    assert (payable(home, sharer), in_payout(home, sharer)) == (0, 0)

    # When: the whole order is refunded after the window: 10.00 is clawed back
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, order.total_minor, line=False)

    # Then: the sharer owes 10.00
    assert payable(home, sharer) == -1_000

    # And: no payout for them, naming the debt, nothing posted
    before, items = postings(), PayoutItem.objects.count()
    with pytest.raises(Conflict) as refused:
        payout_batch_create(community=home, items=[PayoutRequest(sharer.pk, 1)])
    assert "items.0.amount_minor" in refused.value.fields
    assert "owes ¥10.00" in refused.value.message
    with pytest.raises(Conflict):
        payout_batch_create(community=home)  # and nobody is found for a whole-balance batch
    assert (postings(), PayoutItem.objects.count()) == (before, items)

    # When: a later 100.00 sale earns 10.00 and matures
    sku = order.lines.get().sku
    assert sku is not None
    later = received(shared(sku, sharer, member()))
    frozen_clock.advance(WINDOW)
    assert commissions_mature_due() == 1
    assert Commission.objects.get(order=later).amount_minor == 1_000
    assert payable(home, sharer) == 0

    # Then: exactly covered, still nothing to pay
    with pytest.raises(Conflict):
        payout_batch_create(community=home, items=[PayoutRequest(sharer.pk, 1)])

    # When: one more sale matures
    received(shared(sku, sharer, member()))
    frozen_clock.advance(WINDOW)
    assert commissions_mature_due() == 1

    # Then: the sharer is paid what is left after the debt
    batch = payout_batch_create(community=home)
    assert list(batch.items.values_list("beneficiary_id", "amount_minor")) == [(sharer.pk, 1_000)]
    assert (payable(home, sharer), in_payout(home, sharer)) == (0, 1_000)
    books_balanced()
