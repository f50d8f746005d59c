"""Memberships of each plan kind: start, payment, renewal early and late, goods, product grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.models import (
    GoodsStatus,
    GroupMembership,
    Membership,
    MembershipPlan,
    MembershipStatus,
    MembershipTerm,
    OwedGoods,
    PlanKind,
    SeatStatus,
    TermKind,
    Tier,
)
from quanzi.communities.services.errors import CommunityError, EntryRefused, TransitionRefused
from quanzi.communities.services.memberships import (
    membership_cancel,
    membership_grant_for_product,
    membership_pay,
    membership_start,
    memberships_expire,
)
from quanzi.communities.tests.factories import community, group, member, paid, plan, state
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.services import member_anonymise

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
YEAR = timedelta(days=365)


def _actions(membership: Membership) -> list[tuple[str, str, str]]:
    return [
        (a.data["action"], a.data.get("from", ""), a.data["to"])
        for a in Activity.objects.filter(
            kind=ActivityKind.MEMBERSHIP, object_id=str(membership.pk)
        ).order_by("pk")
    ]


def test_a_free_plan_joins_at_once_and_seats_the_member(clock_at: Any) -> None:
    # Given
    home = community()
    open_group = group(home, tier=Tier.OPEN)
    free = plan(home, PlanKind.FREE, groups=[open_group])
    person = member()

    # When
    membership = membership_start(member=person, plan=free, channel="douyin", now=clock_at())

    # Then
    membership.refresh_from_db()
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        MembershipStatus.ACTIVE,
        clock_at(),
        None,
    )
    term = membership.terms.get()
    assert (term.kind, term.amount_minor, term.payment_ref, term.ends_at) == ("new", 0, None, None)
    seat = GroupMembership.objects.get(member=person)
    assert (seat.group_id, seat.status, seat.channel) == (open_group.pk, "active", "douyin")
    assert _actions(membership) == [("started", "", "pending"), ("activated", "pending", "active")]
    assert not Activity.objects.filter(kind=ActivityKind.PAY).exists()


def test_a_paid_plan_waits_for_its_payment(clock_at: Any) -> None:
    # Given
    home = community()
    junior = group(home, tier=Tier.JUNIOR)
    annual = plan(home, groups=[junior])
    person = member()

    # When
    membership = membership_start(member=person, plan=annual, now=clock_at())

    # Then
    assert (membership.status, membership.starts_at, membership.ends_at) == ("pending", None, None)
    assert membership.terms.count() == 0
    assert not GroupMembership.objects.filter(member=person).exists()


def test_paying_the_exact_price_activates_the_membership_for_its_term(clock_at: Any) -> None:
    # Given
    home = community()
    junior = group(home, tier=Tier.JUNIOR)
    annual = plan(home, groups=[junior])
    person = member()
    membership = membership_start(member=person, plan=annual, channel="weibo", now=clock_at())
    paid_at = clock_at.advance(timedelta(hours=2))

    # When
    term = membership_pay(
        membership=membership, amount_minor=36_500, payment_ref="wx-0001", paid_at=paid_at
    )

    # Then
    membership.refresh_from_db()
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        "active",
        paid_at,
        paid_at + YEAR,
    )
    assert (term.kind, term.starts_at, term.ends_at, term.amount_minor, term.payment_ref) == (
        TermKind.NEW,
        paid_at,
        paid_at + YEAR,
        36_500,
        "wx-0001",
    )
    pay = Activity.objects.get(kind=ActivityKind.PAY)
    assert (pay.member_id, pay.amount_minor, pay.currency, pay.channel, pay.occurred_at) == (
        person.pk,
        36_500,
        "CNY",
        "weibo",
        paid_at,
    )
    assert GroupMembership.objects.get(member=person, group=junior).status == "active"
    assert _actions(membership)[-1] == ("activated", "pending", "active")


@pytest.mark.parametrize("amount", [36_499, 36_501, 0, -36_500])
def test_a_wrong_amount_is_refused_and_nothing_changes(clock_at: Any, amount: int) -> None:
    # Given
    annual = plan(groups=[])
    membership = membership_start(member=member(), plan=annual, now=clock_at())
    before = state()

    # When
    with pytest.raises(CommunityError) as refused:
        membership_pay(membership=membership, amount_minor=amount, payment_ref="wx-1")

    # Then
    assert list(refused.value.fields) == ["amount_minor"]
    assert refused.value.message.endswith("costs ¥365.00.")
    assert state() == before


def test_the_same_payment_reference_twice_grants_one_term(clock_at: Any) -> None:
    # Given
    annual = plan()
    membership = membership_start(member=member(), plan=annual, now=clock_at())
    first = membership_pay(membership=membership, amount_minor=36_500, payment_ref="wx-7")
    after_first = state()

    # When: the payment notification arrives again, later
    clock_at.advance(DAY)
    again = membership_pay(membership=membership, amount_minor=36_500, payment_ref="wx-7")

    # Then
    assert again.pk == first.pk
    assert state() == after_first


def test_a_payment_reference_cannot_pay_a_second_membership(clock_at: Any) -> None:
    # Given
    annual = plan()
    one = paid(member(), annual, at=clock_at(), ref="wx-shared")
    other = membership_start(member=member(), plan=annual, now=clock_at())
    before = state()

    # When
    with pytest.raises(Conflict) as refused:
        membership_pay(membership=other, amount_minor=36_500, payment_ref="wx-shared")

    # Then
    assert refused.value.fields == {
        "payment_ref": ["This payment was applied to another membership."]
    }
    assert state() == before
    assert one.terms.count() == 1


@pytest.mark.parametrize(("ref", "field"), [("", "payment_ref"), ("x" * 101, "payment_ref")])
def test_a_payment_needs_a_reference(clock_at: Any, ref: str, field: str) -> None:
    membership = membership_start(member=member(), plan=plan(), now=clock_at())
    before = state()
    with pytest.raises(CommunityError) as refused:
        membership_pay(membership=membership, amount_minor=36_500, payment_ref=ref)
    assert list(refused.value.fields) == [field]
    assert state() == before


def test_a_payment_from_the_future_is_refused(clock_at: Any) -> None:
    membership = membership_start(member=member(), plan=plan(), now=clock_at())
    before = state()
    with pytest.raises(CommunityError) as refused:
        membership_pay(
            membership=membership,
            amount_minor=36_500,
            payment_ref="wx-future",
            paid_at=clock_at() + timedelta(hours=1),
        )
    assert list(refused.value.fields) == ["paid_at"]
    assert state() == before


def test_an_early_renewal_extends_from_the_old_end(clock_at: Any) -> None:
    # Given: a year paid on day 0
    start = clock_at()
    membership = paid(member(), plan(), at=start)
    paid_at = clock_at.advance(YEAR - 10 * DAY)

    # When: renewed ten days before the end
    term = membership_pay(
        membership=membership, amount_minor=36_500, payment_ref="wx-renew", paid_at=paid_at
    )

    # Then: nothing of the ten days is lost
    membership.refresh_from_db()
    assert (term.kind, term.starts_at, term.ends_at, term.paid_at) == (
        TermKind.RENEWAL,
        start + YEAR,
        start + 2 * YEAR,
        paid_at,
    )
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        "active",
        start,
        start + 2 * YEAR,
    )
    assert _actions(membership)[-1] == ("renewed_early", "active", "active")


def test_a_late_renewal_extends_from_the_payment_date(clock_at: Any) -> None:
    # Given: a year that ended 40 days ago and was expired by the job
    start = clock_at()
    membership = paid(member(), plan(), at=start)
    clock_at.set(start + YEAR)
    assert memberships_expire(now=clock_at()) == 1
    paid_at = clock_at.advance(40 * DAY)

    # When
    term = membership_pay(
        membership=membership, amount_minor=36_500, payment_ref="wx-late", paid_at=paid_at
    )

    # Then: a new unbroken period starts at the payment
    membership.refresh_from_db()
    assert (term.kind, term.starts_at, term.ends_at) == (
        TermKind.RENEWAL,
        paid_at,
        paid_at + YEAR,
    )
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        "active",
        paid_at,
        paid_at + YEAR,
    )
    assert _actions(membership)[-2:] == [
        ("expired", "active", "expired"),
        ("renewed_late", "expired", "active"),
    ]


def test_a_late_renewal_counts_from_the_payment_even_before_the_expiry_job_ran(
    clock_at: Any,
) -> None:
    # Given: the year has ended but the expiry job has not run yet, so the row still says active
    start = clock_at()
    membership = paid(member(), plan(), at=start)
    paid_at = clock_at.advance(YEAR + 3 * DAY)

    # When
    term = membership_pay(
        membership=membership, amount_minor=36_500, payment_ref="wx-late", paid_at=paid_at
    )

    # Then: the three days without membership are not charged for
    membership.refresh_from_db()
    assert (term.starts_at, term.ends_at) == (paid_at, paid_at + YEAR)
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        "active",
        paid_at,
        paid_at + YEAR,
    )
    assert _actions(membership)[-1] == ("renewed_late", "active", "active")


def test_a_payment_made_before_the_end_but_applied_after_expiry_is_early(clock_at: Any) -> None:
    # Given: paid two days before the end; the notification arrives after the expiry job ran
    start = clock_at()
    membership = paid(member(), plan(), at=start)
    clock_at.set(start + YEAR + DAY)
    memberships_expire(now=clock_at())

    # When
    term = membership_pay(
        membership=membership,
        amount_minor=36_500,
        payment_ref="wx-slow-notify",
        paid_at=start + YEAR - 2 * DAY,
    )

    # Then: the member paid in time, so the year continues from the old end
    membership.refresh_from_db()
    assert (term.starts_at, term.ends_at) == (start + YEAR, start + 2 * YEAR)
    assert (membership.status, membership.starts_at, membership.ends_at) == (
        "active",
        start,
        start + 2 * YEAR,
    )


def test_a_lifetime_membership_cannot_be_renewed(clock_at: Any) -> None:
    # Given
    lifetime = plan(kind=PlanKind.LIFETIME)
    membership = paid(member(), lifetime, at=clock_at())
    assert (membership.status, membership.ends_at) == ("active", None)
    before = state()

    # When
    with pytest.raises(Conflict) as refused:
        membership_pay(membership=membership, amount_minor=99_900, payment_ref="wx-again")

    # Then
    assert refused.value.fields == {"membership": ["This membership is for life already."]}
    assert state() == before


def test_a_free_membership_takes_no_payment(clock_at: Any) -> None:
    membership = membership_start(member=member(), plan=plan(kind=PlanKind.FREE), now=clock_at())
    before = state()
    with pytest.raises(Conflict):
        membership_pay(membership=membership, amount_minor=0, payment_ref="free-1")
    assert state() == before


def test_each_fee_goods_term_owes_goods_of_equal_value(clock_at: Any) -> None:
    # Given
    slimming = plan(kind=PlanKind.FEE_GOODS, price_minor=29_900, goods_value_minor=32_000)
    person = member()
    membership = paid(person, slimming, at=clock_at())
    clock_at.advance(YEAR - DAY)

    # When: renewed
    membership_pay(membership=membership, amount_minor=29_900, payment_ref="wx-goods-2")

    # Then: one goods row per paid term
    goods = list(OwedGoods.objects.order_by("pk"))
    terms = list(MembershipTerm.objects.filter(membership=membership).order_by("pk"))
    assert [g.term_id for g in goods] == [t.pk for t in terms]
    assert {(g.member_id, g.description, g.value_minor, g.currency, g.status) for g in goods} == {
        (person.pk, "2 boxes of slimming tea", 32_000, "CNY", GoodsStatus.OWED)
    }


def test_a_product_grant_plan_cannot_be_joined_alone(clock_at: Any) -> None:
    grant = plan(kind=PlanKind.PRODUCT_GRANT, product_id=77)
    person = member()
    before = state()
    with pytest.raises(EntryRefused):
        membership_start(member=person, plan=grant, now=clock_at())
    assert state() == before


def test_buying_the_product_grants_the_membership_once_per_order(clock_at: Any) -> None:
    # Given: "buy the course, membership for a year"
    home = community()
    junior = group(home, tier=Tier.JUNIOR)
    grant = plan(home, PlanKind.PRODUCT_GRANT, product_id=77, duration_days=365, groups=[junior])
    plan(home, PlanKind.PRODUCT_GRANT, product_id=78)  # another product's plan
    person = member()

    # When
    terms = membership_grant_for_product(member=person, product_id=77, order_ref="order-1")
    after_first = state()
    again = membership_grant_for_product(member=person, product_id=77, order_ref="order-1")

    # Then
    assert [t.pk for t in again] == [t.pk for t in terms]
    assert state() == after_first
    (term,) = terms
    assert (term.payment_ref, term.amount_minor, term.ends_at) == (
        f"order-1:plan{grant.pk}",
        0,
        clock_at() + YEAR,
    )
    membership = Membership.objects.get(member=person)
    assert (membership.plan_id, membership.status) == (grant.pk, "active")
    assert GroupMembership.objects.get(member=person).group_id == junior.pk


def test_a_second_order_of_the_product_extends_a_yearly_grant(clock_at: Any) -> None:
    # Given
    grant = plan(kind=PlanKind.PRODUCT_GRANT, product_id=77, duration_days=365)
    person = member()
    membership_grant_for_product(member=person, product_id=77, order_ref="order-1")
    clock_at.advance(100 * DAY)

    # When
    membership_grant_for_product(member=person, product_id=77, order_ref="order-2")

    # Then
    membership = Membership.objects.get(member=person, plan=grant)
    assert membership.ends_at == clock_at() - 100 * DAY + 2 * YEAR
    assert membership.terms.count() == 2


def test_a_lifetime_grant_is_not_granted_again(clock_at: Any) -> None:
    # Given
    plan(kind=PlanKind.PRODUCT_GRANT, product_id=77)
    person = member()
    membership_grant_for_product(member=person, product_id=77, order_ref="order-1")
    before = state()

    # When
    terms = membership_grant_for_product(member=person, product_id=77, order_ref="order-2")

    # Then
    assert terms == []
    assert state() == before


def test_starting_a_plan_twice_returns_the_same_membership(clock_at: Any) -> None:
    annual = plan()
    person = member()
    first = membership_start(member=person, plan=annual, now=clock_at())
    before = state()
    assert membership_start(member=person, plan=annual, now=clock_at()).pk == first.pk
    assert state() == before


def test_a_pending_membership_can_be_cancelled_and_then_not_paid(clock_at: Any) -> None:
    # Given
    membership = membership_start(member=member(), plan=plan(), now=clock_at())

    # When
    cancelled = membership_cancel(membership=membership)

    # Then
    assert cancelled.status == MembershipStatus.CANCELLED
    before = state()
    with pytest.raises(TransitionRefused):
        membership_pay(membership=membership, amount_minor=36_500, payment_ref="wx-late")
    assert state() == before


def test_an_active_membership_cannot_be_cancelled(clock_at: Any) -> None:
    membership = paid(member(), plan(), at=clock_at())
    before = state()
    with pytest.raises(TransitionRefused) as refused:
        membership_cancel(membership=membership)
    assert refused.value.code == "transition_refused"
    assert refused.value.message == "A active membership cannot become cancelled."
    assert state() == before


def test_a_closed_member_or_a_withdrawn_plan_cannot_start(clock_at: Any) -> None:
    # Given
    annual = plan()
    gone, person = member(), member()
    member_anonymise(member=gone)
    gone.refresh_from_db()
    withdrawn = plan()
    MembershipPlan.objects.filter(pk=withdrawn.pk).update(active=False)
    withdrawn.refresh_from_db()
    before = state()

    # When / Then
    with pytest.raises(Conflict) as closed:
        membership_start(member=gone, plan=annual, now=clock_at())
    with pytest.raises(Conflict) as offered:
        membership_start(member=person, plan=withdrawn, now=clock_at())
    assert closed.value.fields == {"member": ["This member record is closed."]}
    assert list(offered.value.fields) == ["plan"]
    assert state() == before


def test_seats_wait_when_the_plans_group_is_full(clock_at: Any) -> None:
    # Given: the paid group holds one member
    home = community()
    junior = group(home, tier=Tier.JUNIOR, capacity=1)
    annual = plan(home, groups=[junior])
    paid(member(), annual, at=clock_at())

    # When
    late = paid(member(), annual, at=clock_at())

    # Then: paid, active, and first on the waiting list
    assert late.status == "active"
    seat = GroupMembership.objects.get(member=late.member)
    assert seat.status == SeatStatus.WAITING
