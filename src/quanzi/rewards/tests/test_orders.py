"""A paid order earns purchase crystals per yuan of goods; the buyer's first paid order earns
whoever invited them; a refund takes back what the money no longer pays for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind, LedgerTransaction
from quanzi.distribution.models import MemberReferral
from quanzi.members.models import Member
from quanzi.members.services import member_anonymise, member_merge
from quanzi.orders.models import AfterSale, Order, OrderStatus
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.tests.factories import goods, paid_order
from quanzi.payments.models import Refund
from quanzi.rewards.models import CrystalGrant
from quanzi.rewards.selectors import crystal_balance, crystal_debt
from quanzi.rewards.services.purchases import crystals_on_refund
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import (
    books_balanced,
    circle,
    grants_match_wallet,
    member,
    rule,
)

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


@pytest.fixture
def run_on_commit(
    django_capture_on_commit_callbacks: Capture,
) -> Callable[[Callable[[], Any]], Any]:
    """Call a service and run what it left for after the commit (the refund), as in production."""

    def run(call: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def refund(run_on_commit: Any, placed: Order, amount_minor: int) -> AfterSale:
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=amount_minor, reason="not as described"
    )
    run_on_commit(lambda: after_sale_approve(case=case))
    case.refresh_from_db()
    assert case.status == "refunded"
    placed.refresh_from_db()
    return case


def purchase_grant(placed: Order) -> CrystalGrant:
    return CrystalGrant.objects.get(action="purchase", source=f"order:{placed.number}")


def refer(home: Any, buyer: Member, referrer: Member) -> MemberReferral:
    now = clock.now()
    return MemberReferral.objects.create(
        community=home, member=buyer, referrer=referrer, at=now, bound_until=now
    )


def test_a_paid_order_earns_per_yuan_of_goods_shipping_left_out() -> None:
    # Given: 1 crystal per yuan; two fish at 50.00 and 15.00 shipping
    home, buyer = circle(purchase=1), member()
    sku = goods(home, stock=5, price_minor=5_000)

    # When
    placed = paid_order(sku, buyer, quantity=2)

    # Then
    assert placed.total_minor == 11_500
    grant = purchase_grant(placed)
    assert (grant.member_id, grant.requested, grant.amount) == (buyer.pk, 100, 100)
    assert grant.earned_at == placed.paid_at
    assert crystal_balance(home, buyer) == 100
    books_balanced()


def test_a_partial_then_full_refund_claws_back_what_the_money_no_longer_pays_for(
    run_on_commit: Any,
) -> None:
    home, buyer = circle(purchase=1), member()
    placed = paid_order(goods(home, stock=5, price_minor=5_000), buyer, quantity=2)

    # When: 30.00 back
    first = refund(run_on_commit, placed, 3_000)

    # Then: 70.00 of goods still paid earn 70
    grant = purchase_grant(placed)
    assert (grant.amount, grant.clawed, grant.remaining) == (100, 30, 70)
    assert crystal_balance(home, buyer) == 70
    claws = Activity.objects.filter(kind=ActivityKind.CRYSTALS, data__direction="claw")
    assert [(a.data["crystals"], a.data["reference"]) for a in claws] == [(30, first.refund_no)]

    # When: the refund is heard again, nothing more is taken
    posted = LedgerTransaction.objects.count()
    crystals_on_refund(Refund.objects.get(reference=first.refund_no))
    assert LedgerTransaction.objects.count() == posted

    # When: the rest comes back (goods and shipping)
    refund(run_on_commit, placed, placed.total_minor - placed.refunded_minor)

    # Then
    assert placed.status == OrderStatus.REFUNDED
    grant.refresh_from_db()
    assert (grant.clawed, grant.remaining) == (100, 0)
    assert (crystal_balance(home, buyer), crystal_debt(home, buyer)) == (0, 0)
    grants_match_wallet(home, buyer)
    books_balanced()


def test_a_refund_after_the_crystals_were_spent_leaves_a_debt(run_on_commit: Any) -> None:
    home, buyer = circle(purchase=1), member()
    placed = paid_order(goods(home, stock=5, price_minor=5_000), buyer, quantity=2)
    reward = crystal_reward_create(community=home, name="贴纸", kind="perk", cost=90)
    redemption_place(reward=reward, member=buyer)

    refund(run_on_commit, placed, placed.total_minor)

    assert (crystal_balance(home, buyer), crystal_debt(home, buyer)) == (0, 90)
    grants_match_wallet(home, buyer)
    books_balanced()


def test_a_friends_first_paid_order_earns_the_one_who_invited_them_once(
    run_on_commit: Any,
) -> None:
    home = circle(purchase=1)
    rule(home, "invite_paid", 200)
    sharer, friend = member(), member()
    refer(home, friend, sharer)
    sku = goods(home, stock=5, price_minor=5_000)

    first = paid_order(sku, friend)
    paid_order(sku, friend)

    invites = CrystalGrant.objects.filter(action="invite_paid")
    assert [(g.member_id, g.source, g.amount, g.note) for g in invites] == [
        (sharer.pk, f"member:{friend.pk}", 200, f"order:{first.number}")
    ]
    assert crystal_balance(home, sharer) == 200

    # When: the first order is refunded in full, the invitation is taken back too
    refund(run_on_commit, first, first.total_minor)
    assert crystal_balance(home, sharer) == 0
    assert CrystalGrant.objects.get(action="invite_paid").clawed == 200
    books_balanced()


def test_an_invitation_earns_nothing_when_it_was_not_the_first_paid_order() -> None:
    home = circle(purchase=1)
    rule(home, "invite_paid", 200)
    sharer, friend = member(), member()
    sku = goods(home, stock=5, price_minor=5_000)
    paid_order(sku, friend)
    refer(home, friend, sharer)  # the binding came after the first order

    paid_order(sku, friend)

    assert not CrystalGrant.objects.filter(action="invite_paid").exists()


def test_inviting_oneself_under_another_record_earns_nothing() -> None:
    home = circle()
    rule(home, "invite_paid", 200)
    friend, second_phone = member(), member()
    refer(home, friend, second_phone)
    # The "referrer" turns out to be the buyer's own other record
    member_merge(source=second_phone, target=friend)
    friend.refresh_from_db()

    paid_order(goods(home, stock=5), friend)

    assert not CrystalGrant.objects.filter(action="invite_paid").exists()
    assert crystal_balance(home, second_phone) == 0


def test_a_merged_referrer_earns_on_the_record_that_absorbed_them_and_an_anonymised_one_not() -> (
    None
):
    home = circle()
    rule(home, "invite_paid", 200)
    old_record, person, friend, gone, other_friend = (member() for _ in range(5))
    refer(home, friend, old_record)
    refer(home, other_friend, gone)
    member_merge(source=old_record, target=person)
    member_anonymise(member=gone)
    sku = goods(home, stock=5)

    paid_order(sku, friend)
    paid_order(sku, other_friend)

    invites = CrystalGrant.objects.filter(action="invite_paid")
    assert [(g.member_id, g.source) for g in invites] == [(person.pk, f"member:{friend.pk}")]
    assert crystal_balance(home, old_record) == 0


def test_a_refusal_in_the_rewards_never_fails_the_payment(monkeypatch: Any) -> None:
    from quanzi.rewards.services import purchases

    home, buyer = circle(purchase=1), member()

    def broken(**kwargs: Any) -> None:
        from quanzi.rewards.services.errors import RewardsError

        raise RewardsError("rule broken", field="action")

    monkeypatch.setattr(purchases, "crystals_earn", broken)
    placed = paid_order(goods(home, stock=5), buyer)

    assert placed.status == OrderStatus.PAID
    assert not CrystalGrant.objects.exists()
    failure = Activity.objects.get(kind=ActivityKind.OPERATOR, data__action="crystals_failed")
    assert (failure.object_id, failure.data["reason"]) == (placed.number, "rule broken")


def test_purchase_crystals_keep_the_caps_they_met_when_part_is_refunded(
    run_on_commit: Any,
) -> None:
    # Given: a daily cap of 60 cut the order's 100 down to 60
    home, buyer = circle(), member()
    rule(home, "purchase", 1, daily_cap=60)
    placed = paid_order(goods(home, stock=5, price_minor=5_000), buyer, quantity=2)
    assert purchase_grant(placed).amount == 60

    # When: 30.00 come back, the 70.00 still paid would earn 70, above the 60 given
    refund(run_on_commit, placed, 3_000)

    # Then: nothing is taken; at half refunded, 10 are
    assert purchase_grant(placed).clawed == 0
    refund(run_on_commit, placed, 2_000)
    assert purchase_grant(placed).clawed == 10
    assert crystal_balance(home, buyer) == 50
    assert clock.now() - placed.paid_at < timedelta(hours=1)  # type: ignore[operator]
