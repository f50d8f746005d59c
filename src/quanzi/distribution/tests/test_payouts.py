"""Payout batches: everyone's payable balance (at or above the smallest payout) or chosen
amounts set aside, each fen paid once, marked paid or cancelled back to payable; an amount
above what a person may be paid is refused whole, nothing posted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.distribution.models import PayoutBatch, PayoutItem, PayoutStatus
from quanzi.distribution.services.accounts import paid_account
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_cancel,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.tests.factories import (
    approved,
    balance,
    in_payout,
    payable,
    percent,
    received,
    shared,
)
from quanzi.distribution.tests.kit import books_balanced, postings
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db


def earns(frozen_clock: Any, home: Community, amounts: list[int]) -> list[Member]:
    """One approved sharer per amount, each with that much matured commission (10 % of a sale
    of ten times as much)."""
    percent(home, 1_000)
    people = []
    for amount in amounts:
        sharer = member()
        approved(home, sharer)
        received(shared(goods(home, price_minor=amount * 10), sharer, member()))
        people.append(sharer)
    frozen_clock.advance(timedelta(days=7))
    assert commissions_mature_due() == len(amounts)
    return people


def nothing_changed(call: Any, before: tuple[int, int, int]) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    assert (postings(), PayoutBatch.objects.count(), PayoutItem.objects.count()) == before
    return refused.value


def counts() -> tuple[int, int, int]:
    return postings(), PayoutBatch.objects.count(), PayoutItem.objects.count()


def test_a_batch_pays_everyone_at_or_above_the_smallest_payout(frozen_clock: Any) -> None:
    # Given: matured 10.00, 0.50 and 3.00; the smallest payout is 1.00 (the default)
    home = community()
    big, small, middle = earns(frozen_clock, home, [1_000, 50, 300])

    # When
    batch = payout_batch_create(community=home, note="三月结算")

    # Then: 10.00 and 3.00 set aside; 0.50 waits for more
    assert sorted(batch.items.values_list("beneficiary_id", "amount_minor")) == sorted(
        [(big.pk, 1_000), (middle.pk, 300)]
    )
    assert (batch.status, batch.total_minor) == (PayoutStatus.OPEN, 1_300)
    assert [(payable(home, p), in_payout(home, p)) for p in (big, small, middle)] == [
        (0, 1_000),
        (50, 0),
        (0, 300),
    ]

    # When: a second batch is asked for
    before = counts()
    refused = nothing_changed(lambda: payout_batch_create(community=home), before)

    # Then: the money is in the first batch already; nobody is found again
    assert isinstance(refused, Conflict)
    assert "items" in refused.fields
    nothing_changed(
        lambda: payout_batch_create(community=home, items=[PayoutRequest(big.pk, 1)]), before
    )
    books_balanced()


def test_a_batch_of_chosen_amounts(frozen_clock: Any) -> None:
    # Given: 10.00 and 3.00 payable
    home = community()
    one, two = earns(frozen_clock, home, [1_000, 300])

    # When: 4.00 of the first is paid, all of the second
    batch = payout_batch_create(
        community=home, items=[PayoutRequest(one.pk, 400), PayoutRequest(two.pk, 300)]
    )

    # Then
    assert batch.total_minor == 700
    assert (payable(home, one), in_payout(home, one)) == (600, 400)
    assert (payable(home, two), in_payout(home, two)) == (0, 300)
    books_balanced()


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([(0, 1_001)], "items.0.amount_minor"),
        ([(0, 500), (1, 301)], "items.1.amount_minor"),
        ([(0, 0)], "items.0.amount_minor"),
        ([(0, -5)], "items.0.amount_minor"),
        ([(0, 100), (0, 100)], "items.1.member_id"),
        ([(2, 1)], "items.0.amount_minor"),  # someone with nothing payable
    ],
)
def test_an_amount_above_what_may_be_paid_is_refused_whole_and_nothing_is_posted(
    frozen_clock: Any, items: list[tuple[int, int]], field: str
) -> None:
    # Given: 10.00 and 3.00 payable, and a member with nothing
    home = community()
    people = [*earns(frozen_clock, home, [1_000, 300]), member()]
    before = counts()

    # When
    refused = nothing_changed(
        lambda: payout_batch_create(
            community=home, items=[PayoutRequest(people[i].pk, amount) for i, amount in items]
        ),
        before,
    )

    # Then: the refusal names the item; balances as they were
    assert field in refused.fields, refused.fields
    assert (payable(home, people[0]), payable(home, people[1])) == (1_000, 300)
    assert (in_payout(home, people[0]), in_payout(home, people[1])) == (0, 0)


def test_marking_a_batch_paid_moves_the_money_out_and_only_once(frozen_clock: Any) -> None:
    # Given: a batch of 10.00 and 3.00
    home = community()
    one, two = earns(frozen_clock, home, [1_000, 300])
    batch = payout_batch_create(community=home)

    # When
    done = payout_batch_mark_paid(batch=batch, references={one.pk: "WX20260301001"})

    # Then: nothing left to pay or held; 13.00 gone out; the transfer's reference kept
    assert done.status == PayoutStatus.PAID
    assert done.closed_at == frozen_clock()
    assert [(payable(home, p), in_payout(home, p)) for p in (one, two)] == [(0, 0), (0, 0)]
    assert balance(paid_account(home.pk)) == 1_300
    assert dict(batch.items.values_list("beneficiary_id", "reference")) == {
        one.pk: "WX20260301001",
        two.pk: "",
    }

    # And: paying it again, or cancelling it now, is refused and posts nothing
    before = counts()
    again = nothing_changed(lambda: payout_batch_mark_paid(batch=batch), before)
    assert "status" in again.fields
    nothing_changed(lambda: payout_batch_cancel(batch=batch, reason="弄错了"), before)
    assert balance(paid_account(home.pk)) == 1_300
    books_balanced()


def test_cancelling_a_batch_returns_the_money_and_it_can_no_longer_be_paid(
    frozen_clock: Any,
) -> None:
    # Given: a batch of 10.00
    home = community()
    (one,) = earns(frozen_clock, home, [1_000])
    batch = payout_batch_create(community=home)
    assert (payable(home, one), in_payout(home, one)) == (0, 1_000)

    # When: cancelled (a reason is required)
    before = counts()
    nothing_changed(lambda: payout_batch_cancel(batch=batch, reason="  "), before)
    cancelled = payout_batch_cancel(batch=batch, reason="银行卡号有误")

    # Then: the 10.00 is payable again
    assert cancelled.status == PayoutStatus.CANCELLED
    assert (payable(home, one), in_payout(home, one)) == (1_000, 0)

    # And: marking the cancelled batch paid is refused, nothing moves
    before = counts()
    refused = nothing_changed(lambda: payout_batch_mark_paid(batch=batch), before)
    assert isinstance(refused, Conflict)
    assert "status" in refused.fields
    assert balance(paid_account(home.pk)) == 0

    # And: a new batch pays the 10.00 once
    again = payout_batch_create(community=home)
    payout_batch_mark_paid(batch=again)
    assert (payable(home, one), in_payout(home, one), balance(paid_account(home.pk))) == (
        0,
        0,
        1_000,
    )
    books_balanced()
